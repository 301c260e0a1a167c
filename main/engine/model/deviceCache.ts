// Load-time graph rewrite for a device-resident KV cache (DESIGN §3 "Storage, dtype and place"): the graph
// writes each step's new K/V rows into their ring slots itself and re-rotates the anchored keys (the sinks
// at the start of the cache, the pinned tokens at its end) from pristine copies, so the cache can stay in
// GPU memory between steps. Runs in the engine host at model load; edits
// the ONNX protobuf in memory next to the fast outputs (fastOutputs.ts composes both).
//
// The cache tensor fed as `past_key_values.N.key` then holds the sink and pinned keys as the model computed
// them (pristine); the graph rotates them for the step and the model's attention reads that rotated past.
// ScatterND over a [1, H, n, 3] index, rather than Where over a one-hot slot mask: its input is O(n), not
// O(C). onnxruntime 1.30's verbose log (WebGPU EP, lavapipe) places every added node that touches K/V data
// (ScatterND, GatherND, Gather, Mul, Add, Concat, Cast, the data Slices) on WebGPU; only the shape
// arithmetic (Shape, Slice of a shape, Sub) runs on the CPU, as onnxruntime does for the model's own.
//
// Fed empty (no slots, no sinks, no pins: what DecoderSession.run supplies when a run leaves them out), the inputs
// the rewrite adds make the graph compute exactly what it computed before: the model's own interface (the
// RoPE probe, a host-cache runner) keeps working.
import type { GraphFacts, ProducerNode } from './graphFacts';
import {
  FLOAT,
  FLOAT16,
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  GRAPH_NODE,
  GRAPH_OUTPUT,
  INT64,
  MODEL_GRAPH,
  MODEL_OPSET_IMPORT,
  OPSET_DOMAIN,
  OPSET_VERSION,
} from './onnxFields';
import { int64Initializer, node, outputInfo, renamedNode, type GraphRewrite } from './graphNodes';
import { WireWriter, type FieldEdit } from './protoWire';

/** What the rewrite needs of the model beyond its graph (config.json): KV geometry and the RoPE's rotated dims. */
export interface DeviceCacheSpec {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Leading dims of each head that RoPE rotates (rotate_half pairs dim i with i + rotaryDim / 2). */
  readonly rotaryDim: number;
}

/** Names the rewritten graph adds, for the runner's feeds and fetches. */
export interface DeviceCacheGraph {
  /**
   * int64 `[1, kvHeads, m, 3]`: for each of the step's last m new rows and each head h, `(0, h, slot)`.
   * Empty: `[1, kvHeads, 0, 3]` (nothing written).
   */
  readonly slotIndex: string;
  /**
   * float32 `[1, 1, s, headDim]`: per sink slot i < s, `cos` and signed `sin` of its rotation from the
   * pristine key, laid out for `k * cos + k[perm] * sin` (see {@link rotationPerm}). Empty: s = 0.
   */
  readonly sinkCos: string;
  readonly sinkSin: string;
  /** As {@link sinkCos}, for the last p slots of the cache (the pin slots, pinned token r at C - p + r). Empty: p = 0. */
  readonly pinCos: string;
  readonly pinSin: string;
  /** Per layer: the cache after the step (new rows scattered into their slots; sinks and pins still pristine). */
  readonly nextKeys: readonly string[];
  readonly nextValues: readonly string[];
  /** Per layer `[1, kvHeads, m, headDim]`: what the slots held before the step wrote them (the undo journal's rows). */
  readonly oldKeys: readonly string[];
  readonly oldValues: readonly string[];
  /** Outputs the rewrite adds: not part of the model's interface. */
  readonly added: readonly string[];
  /** The model's own outputs (the graph's before any rewrite). */
  readonly modelOutputs: readonly string[];
}

/** The graph edits of the rewrite and what it made. */
export interface DeviceCachePlan extends GraphRewrite {
  readonly device: DeviceCacheGraph;
}

const PREFIX = 'ouro_dev';
/** ScatterND and GatherND came with opset 11. */
const MIN_OPSET = 11;
const MODEL_IR_VERSION = 1;
const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan']);

/**
 * `perm[d]`: the dim whose value rotate_half puts at d (sign folded into the sin table): d + r/2 for
 * d < r/2, d − r/2 for r/2 <= d < r, d itself past the rotary dims (where cos = 1, sin = 0).
 */
export function rotationPerm(headDim: number, rotaryDim: number): number[] {
  const half = rotaryDim >> 1;
  return Array.from({ length: headDim }, (_, d) => (d < half ? d + half : d < rotaryDim ? d - half : d));
}

/**
 * Plans the rewrite of a decoder graph whose facts are `facts` (the whole file in `model`), or says why
 * it does not fit: per layer, the past key's readers read instead `Concat(rotate(past[:, :, :s]),
 * past[:, :, s:C-p], rotate(past[:, :, C-p:]))` with s and p the rows of the sink and pin cos/sin inputs; the graph outputs
 * `ScatterND(past, slotIndex, present's last m rows)` (the next step's past) and `GatherND(past, slotIndex)`
 * (the rows that write replaced), for keys and values.
 */
export function planDeviceCache(model: Uint8Array, facts: GraphFacts, spec: Readonly<DeviceCacheSpec>): DeviceCachePlan | { readonly reason: string } {
  const { layers, headDim, rotaryDim } = spec;
  if (facts.opset === null || facts.opset < MIN_OPSET) return { reason: `default-domain opset ${facts.opset ?? 'missing'} is below ${MIN_OPSET}` };
  if (rotaryDim < 2 || rotaryDim > headDim || rotaryDim % 2 !== 0) return { reason: `rotary dims ${rotaryDim} do not fit heads of ${headDim}` };
  if ([...facts.names].some((name) => name.startsWith(PREFIX))) return { reason: `the graph already uses names starting with ${PREFIX}` };
  const kvType = facts.outputs.get('present.0.key') ?? 0;
  if (kvType !== FLOAT && kvType !== FLOAT16) return { reason: 'present.0.key has no float32 or float16 type' };
  const pastKeys = Array.from({ length: layers }, (_, l) => `past_key_values.${l}.key`);
  const pastValues = Array.from({ length: layers }, (_, l) => `past_key_values.${l}.value`);
  for (const name of [...pastKeys, ...pastValues]) if (!facts.inputs.has(name)) return { reason: `no ${name} input` };
  for (let l = 0; l < layers; l++) {
    for (const kv of ['key', 'value']) if (!facts.outputs.has(`present.${l}.${kv}`)) return { reason: `no present.${l}.${kv} output` };
  }

  // The nodes reading a past key; a read inside a subgraph (Optimum's merged If decoders) could not be redirected.
  const nested = [...facts.producers.values()].find((p) => SUBGRAPH_OPS.has(p.opType));
  if (nested !== undefined) return { reason: `the graph has a ${nested.opType} node (subgraphs are not rewritten)` };
  const c = (name: string) => `${PREFIX}/${name}`;
  const fed = new Map(pastKeys.map((name, l) => [name, c(`fed_key_${l}`)]));
  const readers = new Set<ProducerNode>();
  for (const producer of facts.producers.values()) if (producer.inputs.some((i) => fed.has(i))) readers.add(producer);
  for (const name of pastKeys) {
    let direct = 0;
    for (const p of readers) direct += p.inputs.filter((i) => i === name).length;
    if (direct === 0) return { reason: `no node reads ${name}` };
  }
  const graphSpan = [...readers][0].graph;
  const edits: FieldEdit[] = [];
  for (const p of readers) {
    edits.push({ span: p.node, replacement: new WireWriter().messageField(GRAPH_NODE, renamedNode(model, p.node, fed)).finish() });
  }
  edits.sort((a, b) => a.span.offset - b.span.offset);

  const g = new WireWriter();
  const slotIndex = `${PREFIX}.slot_index`;
  const sinkCos = `${PREFIX}.sink_cos`;
  const sinkSin = `${PREFIX}.sink_sin`;
  const pinCos = `${PREFIX}.pin_cos`;
  const pinSin = `${PREFIX}.pin_sin`;
  // Required inputs: onnxruntime-node feeds only a graph's declared inputs, never an initializer's
  // override, so the session seam fills the empty values when a run leaves them out.
  g.messageField(GRAPH_INPUT, outputInfo(slotIndex, INT64));
  g.messageField(GRAPH_INPUT, outputInfo(sinkCos, FLOAT));
  g.messageField(GRAPH_INPUT, outputInfo(sinkSin, FLOAT));
  g.messageField(GRAPH_INPUT, outputInfo(pinCos, FLOAT));
  g.messageField(GRAPH_INPUT, outputInfo(pinSin, FLOAT));
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('zero'), [0]));
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('two'), [2]));
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('three'), [3]));
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('end'), [2 ** 62]));
  g.messageField(GRAPH_INITIALIZER, int64Initializer(c('perm'), rotationPerm(headDim, rotaryDim)));
  // s = sink rows rotated this step; m = rows written; the new rows are the present's last m.
  g.messageField(GRAPH_NODE, node('Shape', [sinkCos], c('cos_shape')));
  g.messageField(GRAPH_NODE, node('Slice', [c('cos_shape'), c('two'), c('three')], c('sinks')));
  g.messageField(GRAPH_NODE, node('Shape', [slotIndex], c('index_shape')));
  g.messageField(GRAPH_NODE, node('Slice', [c('index_shape'), c('two'), c('three')], c('written')));
  g.messageField(GRAPH_NODE, node('Shape', ['present.0.key'], c('present_shape')));
  g.messageField(GRAPH_NODE, node('Slice', [c('present_shape'), c('two'), c('three')], c('present_length')));
  g.messageField(GRAPH_NODE, node('Sub', [c('present_length'), c('written')], c('new_start')));
  // p = pinned rows rotated this step, the last p of the C fed.
  g.messageField(GRAPH_NODE, node('Shape', [pinCos], c('pin_cos_shape')));
  g.messageField(GRAPH_NODE, node('Slice', [c('pin_cos_shape'), c('two'), c('three')], c('pins')));
  g.messageField(GRAPH_NODE, node('Shape', [pastKeys[0]], c('past_shape')));
  g.messageField(GRAPH_NODE, node('Slice', [c('past_shape'), c('two'), c('three')], c('past_length')));
  g.messageField(GRAPH_NODE, node('Sub', [c('past_length'), c('pins')], c('pin_start')));

  const nextKeys: string[] = [];
  const nextValues: string[] = [];
  const oldKeys: string[] = [];
  const oldValues: string[] = [];
  const half = kvType === FLOAT16;
  /** Rows `from`..`to` of `k` (layer l) rotated by `cos`/`sin`, in float32 (fp16 caches round once, at the end); returns the name. */
  const rotated = (k: string, l: number, kind: string, from: string, to: string, cos: string, sin: string): string => {
    const at = (name: string) => c(`${kind}_${name}_${l}`);
    g.messageField(GRAPH_NODE, node('Slice', [k, from, to, c('two')], at('rows')));
    let rows = at('rows');
    if (half) {
      g.messageField(GRAPH_NODE, node('Cast', [rows], at('f32'), [['to', FLOAT]]));
      rows = at('f32');
    }
    g.messageField(GRAPH_NODE, node('Gather', [rows, c('perm')], at('pair'), [['axis', 3]]));
    g.messageField(GRAPH_NODE, node('Mul', [rows, cos], at('cos')));
    g.messageField(GRAPH_NODE, node('Mul', [at('pair'), sin], at('sin')));
    g.messageField(GRAPH_NODE, node('Add', [at('cos'), at('sin')], half ? at('rotated_f32') : at('rotated')));
    if (half) g.messageField(GRAPH_NODE, node('Cast', [at('rotated_f32')], at('rotated'), [['to', FLOAT16]]));
    return at('rotated');
  };
  for (let l = 0; l < layers; l++) {
    const k = pastKeys[l];
    const at = (name: string) => c(`${name}_${l}`);
    // Sink and pinned keys rotated from the pristine ones; the ring between them as it is.
    const sinks = rotated(k, l, 'sink', c('zero'), c('sinks'), sinkCos, sinkSin);
    const pins = rotated(k, l, 'pin', c('pin_start'), c('end'), pinCos, pinSin);
    g.messageField(GRAPH_NODE, node('Slice', [k, c('sinks'), c('pin_start'), c('two')], at('ring')));
    g.messageField(GRAPH_NODE, node('Concat', [sinks, at('ring'), pins], fed.get(k)!, [['axis', 2]]));
    // The new rows into their slots, and what those slots held (for the undo journal).
    for (const [kind, past, next, old] of [['key', k, nextKeys, oldKeys], ['value', pastValues[l], nextValues, oldValues]] as const) {
      const rows = c(`new_${kind}_${l}`);
      g.messageField(GRAPH_NODE, node('Slice', [`present.${l}.${kind}`, c('new_start'), c('end'), c('two')], rows));
      const nextName = `${PREFIX}.next.${l}.${kind}`;
      const oldName = `${PREFIX}.old.${l}.${kind}`;
      g.messageField(GRAPH_NODE, node('ScatterND', [past, slotIndex, rows], nextName));
      g.messageField(GRAPH_NODE, node('GatherND', [past, slotIndex], oldName));
      g.messageField(GRAPH_OUTPUT, outputInfo(nextName, kvType));
      g.messageField(GRAPH_OUTPUT, outputInfo(oldName, kvType));
      next.push(nextName);
      old.push(oldName);
    }
  }
  return {
    graph: graphSpan,
    edits,
    suffixGraph: g,
    device: {
      slotIndex,
      sinkCos,
      sinkSin,
      pinCos,
      pinSin,
      nextKeys,
      nextValues,
      oldKeys,
      oldValues,
      added: [...nextKeys, ...nextValues, ...oldKeys, ...oldValues],
      modelOutputs: [...facts.outputs.keys()],
    },
  };
}

/**
 * A one-node model, `y = Identity(x)` of `elemType`: run on the GPU provider with a device tensor fed
 * and the output left on the host, it downloads that tensor (onnxruntime-node's own `Tensor.getData()` of
 * a gpu-buffer output aborts the process, in 1.30 and 1.31.1 alike).
 */
export function identityModel(elemType: 'float32' | 'float16'): Uint8Array {
  const type = elemType === 'float16' ? FLOAT16 : FLOAT;
  const g = new WireWriter()
    .messageField(GRAPH_NODE, node('Identity', ['x'], 'y'))
    .stringField(2, `${PREFIX}_download`)
    .messageField(GRAPH_INPUT, outputInfo('x', type))
    .messageField(GRAPH_OUTPUT, outputInfo('y', type));
  return new WireWriter().varintField(MODEL_IR_VERSION, 8).messageField(MODEL_OPSET_IMPORT, new WireWriter().stringField(OPSET_DOMAIN, '').varintField(OPSET_VERSION, 17)).messageField(MODEL_GRAPH, g).finish();
}
