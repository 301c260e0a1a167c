// Load-time graph extension: extra outputs holding only what a step adds (the new K/V rows of every
// present, the last position's logits), so a run fetches kilobytes instead of the whole cache (DESIGN §8),
// and an LM head that projects only the last position. Runs in the engine host at model load; reads the
// ONNX protobuf in memory, never decodes weights.
import { planAttentionOutputs, type AttentionOutputs } from './attentionOutputs';
import { scanModel, type GraphFacts, type ProducerNode } from './graphFacts';
import { int64Initializer, node, outputInfo } from './graphNodes';
import { GRAPH_INITIALIZER, GRAPH_NODE, GRAPH_OUTPUT, MODEL_GRAPH, NODE_INPUT } from './onnxFields';
import { forEachField, spliceFields, WireWriter, type FieldEdit, type FieldSpan } from './protoWire';
import { planDeviceCache, type DeviceCacheGraph, type DeviceCacheSpec } from './deviceCache';
import { planSplitAttention, type SplitAttention } from './splitAttention';
import { withMatMulNBitsAccuracy, type AccuracyLevel } from './matMulNBitsAccuracy';
import { withContribFusions, type ContribFusion, type ContribFusions } from './contribFusion';
import { readWeightsByReference } from './weightsByReference';

/** Outputs a rewritten graph adds next to the original ones (which stay, unchanged). */
export interface FastOutputs {
  /** Present output name → an output with only its last `sequence_length` rows: `[batch, kvHeads, n, headDim]`. */
  readonly newRows: ReadonlyMap<string, string>;
  /**
   * One output holding every present's new rows, `[presents, kvHeads, n, headDim]` with the presents in
   * {@link PackedRows.presents}' order (a Concat of the `newRows` outputs on axis 0), or null when the
   * presents differ in element type. A step fetches it and the last logits: 2 outputs instead of 2L + 1,
   * and onnxruntime-node allocates a buffer, a typed array and a Tensor per fetched output per run
   * (bench/README section 20).
   */
  readonly packedRows: PackedRows | null;
  /**
   * An output with only the last position's logits, `[batch, 1, vocab]`: the model's own `logits` when
   * its LM head now projects only the last position (the graph then computes no other row: prefill 8–14%
   * faster on SmolLM2-135M's shapes), else an added slice of the whole `logits`.
   */
  readonly lastLogits: string;
  /** Whether the LM head was moved behind a last-position slice (so `logits` holds one position). */
  readonly lmHeadSliced: boolean;
  /** The attention view's outputs (model/attentionOutputs), or null with the reason in `attentionNote`. */
  readonly attention: AttentionOutputs | null;
  readonly attentionNote: string | null;
  /**
   * The attention split into past and new rows (model/splitAttention), or null with the reason in
   * `splitNote`: then a present is whole only in a run that feeds `wholePresents` true.
   */
  readonly split: SplitAttention | null;
  readonly splitNote: string | null;
  /** The outputs the extension adds: not part of the model's interface. */
  readonly added: readonly string[];
}

/** The packed new-rows output (FastOutputs.packedRows). */
export interface PackedRows {
  readonly name: string;
  /** Present output names, in the order their rows lie in the output: row block i is presents[i]'s. */
  readonly presents: readonly string[];
}

/** Fields of the graph field `graph` rewritten in place (in file order, not overlapping). */
export interface GraphPatch {
  readonly graph: FieldSpan;
  readonly edits: readonly FieldEdit[];
}

/**
 * The bytes to append to the model file (protobuf merges a second `graph` field into the first), the LM
 * head and `logits` declaration to rewrite in place (null when they are left alone), and what they add.
 */
export interface FastOutputsPlan {
  readonly suffix: Uint8Array;
  readonly patch: GraphPatch | null;
  readonly fast: FastOutputs;
}


const PRESENT = /^(?:present|present_key_values)\.(\d+)\.(key|value)$/;
/** Slice's dynamic starts/ends inputs came with opset 10. */
const MIN_OPSET = 10;
const PREFIX = 'ouro_fast';

/**
 * LM heads that project a `[batch, positions, hidden]` input position by position, so they can take the
 * last position alone: plain and 4-bit-quantized matrix products (op type → domains).
 */
const POSITIONWISE_HEADS: ReadonlyMap<string, readonly string[]> = new Map([
  ['MatMul', ['', 'ai.onnx']],
  ['MatMulNBits', ['com.microsoft']],
]);

/** What the rewrite may add besides the fast outputs. */
export interface FastOutputsOptions {
  /** The attention view's outputs (model/attentionOutputs); default true. False: benchmarks' closed-view baseline. */
  readonly attention?: boolean;
  /**
   * Attention in two parts so no step copies the cache (model/splitAttention); default true. False:
   * benchmarks' baseline, and the device-cache rewrite (which writes the cache from the presents itself).
   */
  readonly splitAttention?: boolean;
}

/**
 * Plans the extension of a decoder graph (the whole .onnx file in `model`): for every `present.N.key/value`
 * output, `Slice(present, -sequence_length, ∞, axis 2)` — the rows the step appended, whatever node
 * produced the present — and `Slice(logits, -1, ∞, axis 1)`. The original outputs stay, so every
 * existing fetch still works. Returns a reason instead when the graph does not fit (no input_ids,
 * logits or presents, opset below 10, external data outside the folder) or the bytes do not parse.
 */
export function planFastOutputs(model: Uint8Array, options: FastOutputsOptions = {}): FastOutputsPlan | { readonly reason: string } {
  let facts: GraphFacts;
  try {
    facts = scanModel(model);
  } catch (e) {
    return { reason: `the model does not parse as ONNX (${e instanceof Error ? e.message : String(e)})` };
  }
  if (facts.opset === null || facts.opset < MIN_OPSET) return { reason: `default-domain opset ${facts.opset ?? 'missing'} is below ${MIN_OPSET}` };
  if (facts.unsafeExternal.length > 0) return { reason: `external data outside the model folder (${facts.unsafeExternal[0]})` };
  if (!facts.inputs.has('input_ids')) return { reason: 'no input_ids input' };
  if (!facts.outputs.has('logits')) return { reason: 'no logits output' };
  const presents = [...facts.outputs.keys()].filter((name) => PRESENT.test(name));
  if (presents.length === 0) return { reason: 'no present outputs' };
  if ([...facts.names].some((name) => name.startsWith(PREFIX))) return { reason: `the graph already uses names starting with ${PREFIX}` };

  const graph = new WireWriter();
  const c = (name: string) => `${PREFIX}/${name}`;
  graph.messageField(GRAPH_INITIALIZER, int64Initializer(c('one'), [1]));
  graph.messageField(GRAPH_INITIALIZER, int64Initializer(c('minus_one'), [-1]));
  graph.messageField(GRAPH_INITIALIZER, int64Initializer(c('axis_2'), [2]));
  // INT64_MAX as Slice's "to the end" (any value past the dim clamps); 2^62 stays a safe encoding here.
  graph.messageField(GRAPH_INITIALIZER, int64Initializer(c('end'), [2 ** 62]));
  graph.messageField(GRAPH_NODE, node('Shape', ['input_ids'], c('ids_shape')));
  graph.messageField(GRAPH_NODE, node('Gather', [c('ids_shape'), c('one')], c('sequence_length')));
  graph.messageField(GRAPH_NODE, node('Neg', [c('sequence_length')], c('new_rows_start')));

  const newRows = new Map<string, string>();
  for (const present of presents) {
    const out = `${PREFIX}.new.${present}`;
    graph.messageField(GRAPH_NODE, node('Slice', [present, c('new_rows_start'), c('end'), c('axis_2')], out));
    graph.messageField(GRAPH_OUTPUT, outputInfo(out, facts.outputs.get(present) ?? 0));
    newRows.set(present, out);
  }
  const added = [...newRows.values()];
  // Every layer's rows in one output. Added before the attention view's nodes, so the If stays the leaf
  // with the highest index (model/attentionOutputs: onnxruntime's node order). The cache holds one
  // [kvHeads, headDim] shape for all layers, so the rows a runner can use always concatenate.
  const elemTypes = new Set(presents.map((name) => facts.outputs.get(name) ?? 0));
  let packedRows: PackedRows | null = null;
  if (elemTypes.size === 1) {
    packedRows = { name: `${PREFIX}.new_rows`, presents };
    graph.messageField(GRAPH_NODE, node('Concat', [...newRows.values()], packedRows.name, [['axis', 0]]));
    graph.messageField(GRAPH_OUTPUT, outputInfo(packedRows.name, [...elemTypes][0]));
    added.push(packedRows.name);
  }
  const head = facts.logitsConsumed ? null : positionwiseHead(facts.logitsNode) ?? dynamicInt8Head(facts);
  const declared = facts.logitsOutput;
  let patch: GraphPatch | null = null;
  let lastLogits = 'logits';
  if (head !== null && declared !== null && declared.graph.offset === head.graph.offset) {
    // The head's input, cut to the last position: the head then projects one row instead of a chunk's.
    // `logits` is declared again without its shape: onnxruntime plans buffers by the declared dims, and
    // [batch, sequence_length, vocab] would now be false.
    const hiddenLast = c('hidden_last');
    graph.messageField(GRAPH_NODE, node('Slice', [head.inputs[0], c('minus_one'), c('end'), c('one')], hiddenLast));
    const edits = [
      { span: head.node, replacement: withFirstInput(model, head.node, hiddenLast) },
      { span: declared.span, replacement: new WireWriter().messageField(GRAPH_OUTPUT, outputInfo('logits', facts.outputs.get('logits') ?? 0)).finish() },
    ].sort((a, b) => a.span.offset - b.span.offset);
    patch = { graph: head.graph, edits };
  } else {
    lastLogits = `${PREFIX}.logits_last`;
    graph.messageField(GRAPH_NODE, node('Slice', ['logits', c('minus_one'), c('end'), c('one')], lastLogits));
    graph.messageField(GRAPH_OUTPUT, outputInfo(lastLogits, facts.outputs.get('logits') ?? 0));
    added.push(lastLogits);
  }

  const lmHeadSliced = patch !== null;
  // Both rewrites work on the graph field the LM head is in (the attention view reads the Softmax nodes;
  // the split attention edits the presents' Concats and the attention MatMuls): their edits join the head's.
  const join = (rewrite: { readonly graph: FieldSpan; readonly edits: readonly FieldEdit[] }): boolean => {
    if (patch !== null && patch.graph.offset !== rewrite.graph.offset) return false;
    patch = { graph: rewrite.graph, edits: [...(patch?.edits ?? []), ...rewrite.edits].sort((a, b) => a.span.offset - b.span.offset) };
    return true;
  };
  const attentionPlan = options.attention === false ? { reason: 'disabled' } : planAttentionOutputs(model, facts, graph);
  const attention = 'reason' in attentionPlan ? attentionPlan : attentionPlan.outputs;
  if (!('reason' in attentionPlan)) {
    if (!join({ graph: attentionPlan.graph, edits: [] })) return { reason: 'the LM head and the attention lie in different graph fields' };
    added.push(attentionPlan.outputs.layers, attentionPlan.outputs.mean);
  }
  const split = options.splitAttention === false ? { reason: 'disabled' } : planSplitAttention(model, facts);
  if (!('reason' in split)) {
    if (!join(split)) return { reason: 'the LM head and the attention lie in different graph fields' };
    graph.raw(split.suffixGraph.finish());
  }

  const suffix = new WireWriter().messageField(MODEL_GRAPH, graph).finish();
  const attentionFields = 'reason' in attention ? { attention: null, attentionNote: attention.reason } : { attention, attentionNote: null };
  const splitFields = 'reason' in split ? { split: null, splitNote: split.reason } : { split: split.split, splitNote: null };
  return { suffix, patch, fast: { newRows, packedRows, lastLogits, lmHeadSliced, ...attentionFields, ...splitFields, added } };
}

/** The node producing `logits` when it is an LM head that works position by position, else null. */
function positionwiseHead(producer: ProducerNode | null): ProducerNode | null {
  if (producer === null || producer.outputs[0] !== 'logits' || producer.inputs.length < 2 || producer.inputs[0] === '') return null;
  return POSITIONWISE_HEADS.get(producer.opType)?.includes(producer.domain) ? producer : null;
}

/**
 * quantize_dynamic's int8 head (transformers.js `model_int8.onnx`): logits = Mul(Cast(MatMulInteger(q, W, zq,
 * zW)), Mul(scale, scaleW)) with q, scale, zq from one DynamicQuantizeLinear of the hidden states. Returns
 * that DynamicQuantizeLinear: cutting its input to the last position narrows the whole head, provided no
 * other node reads a value of the chain. Its activation scale then comes from the last position alone, as
 * in a decode step, so a prefill chunk's last logits equal a one-token step's rather than the whole chunk's
 * (they differ by int8 rounding).
 */
function dynamicInt8Head(facts: GraphFacts): ProducerNode | null {
  const at = (name: string | undefined, opType: string): ProducerNode | null => {
    const p = name === undefined ? undefined : facts.producers.get(name);
    return p !== undefined && p.opType === opType && (p.domain === '' || p.domain === 'ai.onnx') ? p : null;
  };
  const mul = facts.logitsNode;
  if (mul === null || mul.opType !== 'Mul' || mul.inputs.length !== 2) return null;
  const cast = at(mul.inputs[0], 'Cast');
  const scales = at(mul.inputs[1], 'Mul');
  const product = at(cast?.inputs[0], 'MatMulInteger');
  const quantize = at(product?.inputs[0], 'DynamicQuantizeLinear');
  if (cast === null || scales === null || product === null || quantize === null || quantize.outputs.length !== 3) return null;
  const [q, scale, zero] = quantize.outputs;
  if (product.inputs[2] !== zero || !scales.inputs.includes(scale)) return null;
  const chain = [q, scale, zero, ...product.outputs, ...cast.outputs, ...scales.outputs];
  const onlyReaders = new Map([[q, 1], [scale, 1], [zero, 1]]);
  return chain.every((name) => (facts.readers.get(name) ?? 0) === (onlyReaders.get(name) ?? 1)) ? quantize : null;
}

/** The node field `span` of `buf` with its first input renamed to `input`; every other field copied as it is. */
function withFirstInput(buf: Uint8Array, span: FieldSpan, input: string): Uint8Array {
  const body = new WireWriter();
  let renamed = false;
  forEachField(buf, span.start, span.end, (f) => {
    if (f.no === NODE_INPUT && !renamed) {
      body.stringField(NODE_INPUT, input);
      renamed = true;
    } else {
      body.raw(buf.subarray(f.offset, f.end));
    }
  });
  return new WireWriter().messageField(GRAPH_NODE, body).finish();
}

/**
 * The model file's bytes with the fast outputs added, its inline weights left in the file as references
 * (model/weightsByReference: onnxruntime reads each weight once, from the file) and, when asked, its
 * MatMulNBits nodes at `matMulNBitsAccuracy` (model/matMulNBitsAccuracy; `matMulNBitsNodes` counts them)
 * and the `contribFusions` asked for (model/contribFusion), or why not: the file is unreadable or not
 * protobuf, or its graph does not fit.
 */
export async function readWithFastOutputs(
  modelPath: string,
  options: FastOutputsOptions & { readonly matMulNBitsAccuracy?: AccuracyLevel; readonly contribFusions?: readonly ContribFusion[]; readonly device?: Readonly<DeviceCacheSpec> } = {},
): Promise<{ bytes: Uint8Array; fast: FastOutputs; device: DeviceCacheGraph | null; deviceNote: string | null; matMulNBitsNodes: number; fusions: ContribFusions | null } | { reason: string }> {
  let model: Uint8Array;
  let matMulNBitsNodes = 0;
  let fusions: ContribFusions | null = null;
  try {
    ({ bytes: model } = await readWeightsByReference(modelPath));
    if (options.matMulNBitsAccuracy !== undefined) ({ bytes: model, nodes: matMulNBitsNodes } = withMatMulNBitsAccuracy(model, options.matMulNBitsAccuracy));
    if (options.contribFusions !== undefined) ({ bytes: model, fusions } = withContribFusions(model, options.contribFusions));
  } catch (e) {
    return { reason: e instanceof Error ? e.message : String(e) };
  }
  // The device-cache rewrite (deviceCache.ts) composes: its node edits join the fast outputs' patch, its
  // graph field follows theirs. It writes the cache from the presents, so the attention is not split then.
  const { device } = options;
  const dev = device === undefined ? null : planDeviceCache(model, scanModel(model), device);
  const devPlan = dev !== null && !('reason' in dev) ? dev : null;
  const deviceNote = dev === null ? null : 'reason' in dev ? dev.reason : null;
  const plan = planFastOutputs(model, devPlan === null ? options : { ...options, splitAttention: false });
  if ('reason' in plan) return plan;
  // The device cache's nodes first: the attention view's If must keep the highest index of every leaf
  // node (model/attentionOutputs orders the rows by it).
  const suffix = devPlan === null ? plan.suffix : Buffer.concat([new WireWriter().messageField(MODEL_GRAPH, devPlan.suffixGraph).finish(), plan.suffix]);
  const graph = plan.patch?.graph ?? devPlan?.graph;
  const edits = [...(plan.patch?.edits ?? []), ...(devPlan?.edits ?? [])].sort((a, b) => a.span.offset - b.span.offset);
  const pieces = graph !== undefined && edits.length > 0 ? spliceFields(model, MODEL_GRAPH, graph, edits) : [model];
  return { bytes: Buffer.concat([...pieces, suffix]), fast: plan.fast, device: devPlan?.device ?? null, deviceNote, matMulNBitsNodes, fusions };
}
