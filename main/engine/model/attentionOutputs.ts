// Load-time graph extension for the attention view (DESIGN §3): outputs with the post-softmax attention
// weights of a step's last query row, reduced in the graph to a mean over heads per layer [L, T] and a
// mean over layers [T] (T = past length fed + n). onnxruntime runs every node whether its output is
// fetched or not (onnxruntime-node exposes no run option to prune by fetches): each layer's row Slice runs
// on every step (see planAttentionOutputs), taking no row at all in a run that does not fetch the
// attention, and the reduction over the rows sits in the then-branch of an If on an added bool input, so
// such a run takes the else-branch (two empty tensors) instead. Engine host, at model load; composed into
// the fast-outputs rewrite, whose other additions it must follow (see planAttentionOutputs).
import { intAttribute, readerNodes, type GraphFacts, type ProducerNode } from './graphFacts';
import { int64Initializer, node, outputInfo } from './graphNodes';
import { BOOL, FLOAT, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_NAME, GRAPH_NODE, GRAPH_OUTPUT, INT64 } from './onnxFields';
import { WireWriter, type FieldSpan } from './protoWire';

/** What the attention extension adds to the model's interface. */
export interface AttentionOutputs {
  /** float32 [L, T]: per layer (in layer order), the last query row's weights averaged over heads. */
  readonly layers: string;
  /** float32 [T]: the mean of `layers` over layers. */
  readonly mean: string;
  /**
   * bool scalar input: true, the run reduces the rows into `layers` and `mean`; false (what a run that
   * fetches neither feeds), they come out empty ([0, 0] and [0]) and the reduction does not run.
   */
  readonly on: string;
  /**
   * int64 [1] input: the first row each layer's Slice takes, -1 (the last row) in a run that fetches the
   * attention, {@link PAST_LAST_ROW} otherwise (no row: nothing copied).
   */
  readonly rowStart: string;
  /** L: how many attention layers were found. */
  readonly layerCount: number;
}

/** What {@link planAttentionOutputs} adds, and the graph field of the Softmax nodes its rows read. */
export interface AttentionOutputsPlan {
  readonly outputs: AttentionOutputs;
  readonly graph: FieldSpan;
}

const PREFIX = 'ouro_attn';
/** Gather's negative indices came with opset 11. */
const MIN_OPSET = 11;
/** ReduceMean takes its axes as an input from opset 18 (an attribute before). */
const REDUCE_AXES_INPUT_OPSET = 18;
/** Nodes walked back from an attention MatMul's value input to the present it reads (repeat_kv, casts). */
const VALUE_TRACE_DEPTH = 12;
const LAYER_VALUE = /^(?:present|present_key_values|past_key_values)\.(\d+)\.value$/;
/** Fused attention ops that compute the weights inside and never expose them. */
const FUSED = new Set(['Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'PackedMultiHeadAttention', 'PackedAttention', 'SparseAttention', 'DecoderMaskedMultiHeadAttention', 'DecoderMaskedSelfAttention', 'PagedAttention']);
/** A row index past any chunk's last row: Slice clamps it to the row count and takes nothing. */
export const PAST_LAST_ROW = 2 ** 62;

const isDefaultDomain = (n: ProducerNode) => n.domain === '' || n.domain === 'ai.onnx';

/**
 * Finds each layer's attention Softmax — over the last axis, its output (through Casts) the first input of
 * the MatMul whose second input comes from `present.N.value` — and appends to `graph` the nodes reducing
 * its last row and the two outputs. Returns what it added, or why the graph does not fit (fused attention
 * ops, a layer without a recognisable Softmax); `graph` is left untouched then.
 *
 * Node order keeps a prefill chunk from holding every layer's weights at once (heads × n × T floats each:
 * +620 MB at n = 256, T = 2,308 on SmolLM2-135M) without a node on the layer's path: onnxruntime orders
 * nodes by a depth-first walk back from the leaf nodes (no consumer), the highest node index first, visiting
 * a node's inputs highest index first too (graph_viewer.cc). The If, the last node added, then leads the
 * walk — provided no leaf has a higher index: `Size(logits)` reads the logits so that their producer is no
 * leaf (quantize_dynamic's int8 head becomes a MatMulIntegerToFloat that onnxruntime's optimizer adds, with
 * the graph's highest index), and the rewrites composed after this one add no leaf (the split attention's
 * nodes all feed the step; the device cache's suffix goes before this one). From the If, the rows' Slices
 * are reached layer 0 first (they are added last layer first), each right after its Softmax.
 */
export function planAttentionOutputs(model: Uint8Array, facts: GraphFacts, graph: WireWriter): AttentionOutputsPlan | { readonly reason: string } {
  const nodes = new Set(facts.producers.values());
  const fused = [...nodes].find((n) => FUSED.has(n.opType) && (n.domain === 'com.microsoft' || isDefaultDomain(n)));
  if (fused !== undefined) return { reason: `attention runs inside fused ${fused.domain || 'ai.onnx'}.${fused.opType} nodes, which do not expose their weights` };
  if (facts.opset === null || facts.opset < MIN_OPSET) return { reason: `default-domain opset ${facts.opset ?? 'missing'} is below ${MIN_OPSET}` };
  if ([...facts.names].some((name) => name.startsWith(PREFIX))) return { reason: `the graph already uses names starting with ${PREFIX}` };
  const layerCount = [...facts.outputs.keys()].filter((name) => /^(?:present|present_key_values)\.\d+\.value$/.test(name)).length;
  if (layerCount === 0) return { reason: 'no present value outputs' };

  const readers = readerNodes(facts);
  const layerOf = (name: string): number | null => {
    let frontier = [name];
    for (let depth = 0; depth < VALUE_TRACE_DEPTH && frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const v of frontier) {
        const m = LAYER_VALUE.exec(v);
        if (m) return Number(m[1]);
        next.push(...(facts.producers.get(v)?.inputs ?? []).filter((i) => i !== ''));
      }
      frontier = next;
    }
    return null;
  };
  /** The layer whose values the attention weights `probs` multiply, following Casts; null when none. */
  const weightedLayer = (probs: string, depth = 0): number | null => {
    for (const r of readers.get(probs) ?? []) {
      if (!isDefaultDomain(r)) continue;
      if (r.opType === 'MatMul' && r.inputs[0] === probs) return layerOf(r.inputs[1]);
      if (r.opType === 'Cast' && depth < 2) {
        const layer = weightedLayer(r.outputs[0], depth + 1);
        if (layer !== null) return layer;
      }
    }
    return null;
  };

  const perLayer = new Map<number, ProducerNode>();
  for (const n of nodes) {
    if (n.opType !== 'Softmax' || !isDefaultDomain(n)) continue;
    const axis = intAttribute(model, n, 'axis');
    if (!(axis === -1 || (axis === null && facts.opset >= 13))) continue;
    const layer = weightedLayer(n.outputs[0]);
    if (layer === null) continue;
    if (perLayer.has(layer)) return { reason: `layer ${layer} has more than one attention Softmax` };
    if (facts.outputs.has(n.outputs[0])) return { reason: `layer ${layer}'s attention weights are a graph output` };
    perLayer.set(layer, n);
  }
  for (let l = 0; l < layerCount; l++) if (!perLayer.has(l)) return { reason: `no attention Softmax found for layer ${l}` };
  const softmaxGraph = perLayer.get(0)!.graph;
  if ([...perLayer.values()].some((n) => n.graph.offset !== softmaxGraph.offset)) return { reason: 'the attention Softmax nodes lie in different graph fields' };

  const added = new WireWriter();
  const c = (name: string) => `${PREFIX}/${name}`;
  added.messageField(GRAPH_INITIALIZER, int64Initializer(c('minus_one'), [-1]));
  added.messageField(GRAPH_INITIALIZER, int64Initializer(c('minus_two'), [-2]));
  added.messageField(GRAPH_INITIALIZER, int64Initializer(c('end'), [2 ** 62]));
  added.messageField(GRAPH_INITIALIZER, int64Initializer(c('layers_heads'), [0, -1]));
  added.messageField(GRAPH_INITIALIZER, int64Initializer(c('zero'), [0]));
  added.messageField(GRAPH_INITIALIZER, int64Initializer(c('empty_layers'), [0, 0]));
  const axesInput = facts.opset >= REDUCE_AXES_INPUT_OPSET;
  for (const axis of [0, 1]) if (axesInput) added.messageField(GRAPH_INITIALIZER, int64Initializer(c(`axis_${axis}`), [axis]));
  const reduceMean = (input: string, axis: number, output: string): WireWriter =>
    axesInput
      ? node('ReduceMean', [input, c(`axis_${axis}`)], output, [['keepdims', 0]])
      : node('ReduceMean', [input], output, [['axes', [axis]], ['keepdims', 0]]);

  // One Slice per layer on every step (the If's branches would read the whole weights, holding every
  // layer's until the If runs), then every layer at once behind the If: on CPU each node costs a few
  // microseconds of dispatch besides its work. Closed, a Slice starts past the last row (a fed input, not a
  // node choosing it) and copies nothing. The engine runs batch 1, so stacking the layers' [1, ..., 1, T]
  // rows on axis 0 puts one layer per row.
  const onInput = `${PREFIX}.on`;
  const rowStart = `${PREFIX}.row_start`;
  added.messageField(GRAPH_INPUT, outputInfo(rowStart, INT64));
  added.messageField(GRAPH_NODE, node('Size', ['logits'], c('logits_size')));
  const rows = Array.from({ length: layerCount }, (_, l) => c(`layer_${l}/last_row`));
  for (let l = layerCount - 1; l >= 0; l--) {
    added.messageField(GRAPH_NODE, node('Slice', [perLayer.get(l)!.outputs[0], rowStart, c('end'), c('minus_two')], rows[l]));
  }
  // The then-branch reads the rows from the outer graph: [L, heads..., 1, T] → [L, heads·T] → [L, heads, T]
  // → mean over heads [L, T].
  const on = new WireWriter().stringField(GRAPH_NAME, c('on'));
  on.messageField(GRAPH_NODE, node('Concat', rows, c('stacked'), [['axis', 0]]));
  on.messageField(GRAPH_NODE, node('Flatten', [c('stacked')], c('flat'), [['axis', 1]]));
  on.messageField(GRAPH_NODE, node('Shape', [rows[0]], c('row_shape')));
  on.messageField(GRAPH_NODE, node('Gather', [c('row_shape'), c('minus_one')], c('keys')));
  on.messageField(GRAPH_NODE, node('Concat', [c('layers_heads'), c('keys')], c('by_head_shape'), [['axis', 0]]));
  on.messageField(GRAPH_NODE, node('Reshape', [c('flat'), c('by_head_shape')], c('by_head')));
  on.messageField(GRAPH_NODE, reduceMean(c('by_head'), 1, c('layers_any')));
  // Cast to float32 whatever the attention's dtype (a no-op copy of L·T values for fp32 graphs).
  on.messageField(GRAPH_NODE, node('Cast', [c('layers_any')], c('on/layers'), [['to', FLOAT]]));
  on.messageField(GRAPH_NODE, reduceMean(c('on/layers'), 0, c('on/mean')));
  on.messageField(GRAPH_OUTPUT, outputInfo(c('on/layers'), FLOAT));
  on.messageField(GRAPH_OUTPUT, outputInfo(c('on/mean'), FLOAT));
  // Closed: empty float tensors of the same ranks (ConstantOfShape's default value is a float32 0).
  const off = new WireWriter().stringField(GRAPH_NAME, c('off'));
  off.messageField(GRAPH_NODE, node('ConstantOfShape', [c('empty_layers')], c('off/layers')));
  off.messageField(GRAPH_NODE, node('ConstantOfShape', [c('zero')], c('off/mean')));
  off.messageField(GRAPH_OUTPUT, outputInfo(c('off/layers'), FLOAT));
  off.messageField(GRAPH_OUTPUT, outputInfo(c('off/mean'), FLOAT));

  const layers = `${PREFIX}.layers`;
  const mean = `${PREFIX}.mean`;
  added.messageField(GRAPH_INPUT, outputInfo(onInput, BOOL));
  added.messageField(GRAPH_NODE, node('If', [onInput], [layers, mean], [['then_branch', on], ['else_branch', off]]));
  added.messageField(GRAPH_OUTPUT, outputInfo(layers, FLOAT));
  added.messageField(GRAPH_OUTPUT, outputInfo(mean, FLOAT));
  graph.raw(added.finish());
  return { outputs: { layers, mean, on: onInput, rowStart, layerCount }, graph: softmaxGraph };
}
