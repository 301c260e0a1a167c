// Load-time rewrite of every 4-bit MatMulNBits node's `accuracy_level`: 4 makes onnxruntime's CPU kernel
// quantize each block of 32 activations to int8 and multiply in integers (AVX2 / AVX-512 VNNI / NEON dot
// products) instead of dequantizing the weights to fp32. transformers.js / Optimum q4 exports leave the
// attribute out (level 0: fp32 compute). Runs in the engine host at model load, on the model's bytes
// without its weights (model/weightsByReference).
import type { Q4Compute } from '../../../common/settingsSchema';
import { scanModel } from './graphFacts';
import { ATTR_I, ATTR_NAME, ATTR_TYPE, ATTR_TYPE_INT, GRAPH_NODE, MODEL_GRAPH, NODE_ATTRIBUTE } from './onnxFields';
import { fieldString, forEachField, spliceFields, WireWriter, type FieldEdit, type FieldSpan } from './protoWire';

/** onnxruntime's MatMulNBits compute types: 0 unset (fp32 on CPU), 1 fp32, 2 fp16, 3 bf16, 4 int8. */
export type AccuracyLevel = 0 | 1 | 2 | 3 | 4;

/**
 * The level each `q4Compute` setting writes on CPU. int8 is the default: on stories260K quantized to 4 bits
 * it costs 0.1–0.3% perplexity over fp32 activations, no more than llama.cpp's own Q4_0 path on the same
 * weights (bench/README section 10b); `exact` writes 0 even where an export asked for int8.
 */
export const Q4_COMPUTE_LEVEL: Readonly<Record<Q4Compute, AccuracyLevel>> = { int8: 4, exact: 0 };

/** What a level written at load means to the user: the `q4Compute` that writes it, or null (none written, or another level). */
export function q4ComputeOf(level: AccuracyLevel | null): Q4Compute | null {
  return (Object.keys(Q4_COMPUTE_LEVEL) as Q4Compute[]).find((c) => Q4_COMPUTE_LEVEL[c] === level) ?? null;
}

/** The node field `span` of `buf` with its `accuracy_level` attribute (if any) replaced by `level`. */
function withLevel(buf: Uint8Array, span: FieldSpan, level: AccuracyLevel): Uint8Array {
  const body = new WireWriter();
  forEachField(buf, span.start, span.end, (f) => {
    if (f.no === NODE_ATTRIBUTE) {
      let name = '';
      forEachField(buf, f.start, f.end, (a) => {
        if (a.no === ATTR_NAME) name = fieldString(buf, a);
      });
      if (name === 'accuracy_level') return;
    }
    body.raw(buf.subarray(f.offset, f.end));
  });
  body.messageField(NODE_ATTRIBUTE, new WireWriter().stringField(ATTR_NAME, 'accuracy_level').varintField(ATTR_I, level).varintField(ATTR_TYPE, ATTR_TYPE_INT));
  return new WireWriter().messageField(GRAPH_NODE, body).finish();
}

/**
 * `model` (a whole ModelProto) with `accuracy_level` = `level` on every com.microsoft MatMulNBits node of
 * its main graph, and how many nodes that was; `model` itself when it has none.
 */
export function withMatMulNBitsAccuracy(model: Uint8Array, level: AccuracyLevel): { bytes: Uint8Array; nodes: number } {
  const facts = scanModel(model);
  const nodes = new Map<number, { graph: FieldSpan; node: FieldSpan }>();
  for (const p of facts.producers.values()) {
    if (p.opType === 'MatMulNBits' && p.domain === 'com.microsoft') nodes.set(p.node.offset, p);
  }
  if (nodes.size === 0) return { bytes: model, nodes: 0 };
  const graphs = new Set([...nodes.values()].map((n) => n.graph.offset));
  if (graphs.size !== 1) throw new Error('MatMulNBits nodes in more than one graph field');
  const graph = [...nodes.values()][0].graph;
  const edits: FieldEdit[] = [...nodes.values()]
    .sort((a, b) => a.node.offset - b.node.offset)
    .map((n) => ({ span: n.node, replacement: withLevel(model, n.node, level) }));
  return { bytes: Buffer.concat(spliceFields(model, MODEL_GRAPH, graph, edits)), nodes: nodes.size };
}
