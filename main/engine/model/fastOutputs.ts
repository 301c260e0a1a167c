// Load-time graph extension: extra outputs holding only what a step adds (the new K/V rows of every
// present, the last position's logits), so a run fetches kilobytes instead of the whole cache (DESIGN §8),
// and an LM head that projects only the last position. Runs in the engine host at model load; reads the
// ONNX protobuf in memory, never decodes weights.
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { fieldString, forEachField, WIRE_LEN, WIRE_VARINT, WireWriter, type WireField } from './protoWire';

/** Outputs a rewritten graph adds next to the original ones (which stay, unchanged). */
export interface FastOutputs {
  /** Present output name → an output with only its last `sequence_length` rows: `[batch, kvHeads, n, headDim]`. */
  readonly newRows: ReadonlyMap<string, string>;
  /**
   * An output with only the last position's logits, `[batch, 1, vocab]`: the model's own `logits` when
   * its LM head now projects only the last position (the graph then computes no other row: a fifth of a
   * prefill chunk's work on a 135M model), else an added slice of the whole `logits`.
   */
  readonly lastLogits: string;
  /** Whether the LM head was moved behind a last-position slice (so `logits` holds one position). */
  readonly lmHeadSliced: boolean;
  /** The outputs the extension adds: not part of the model's interface. */
  readonly added: readonly string[];
}

/** Fields of the graph field `graph` rewritten in place (in file order, not overlapping). */
export interface GraphPatch {
  readonly graph: FieldSpan;
  readonly edits: readonly FieldEdit[];
}

/** A field (`span`) replaced by `replacement`, the whole new field, tag and length included. */
export interface FieldEdit {
  readonly span: FieldSpan;
  readonly replacement: Uint8Array;
}

/** A length-delimited field's bytes: tag at `offset`, payload [start, end). */
export interface FieldSpan {
  readonly offset: number;
  readonly start: number;
  readonly end: number;
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

// Field numbers from onnx.proto.
const MODEL_OPSET_IMPORT = 8;
const MODEL_GRAPH = 7;
const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const NODE_DOMAIN = 7;
const VALUE_NAME = 1;
const VALUE_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_TYPE_ELEM = 1;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
const INT64 = 7;

const PRESENT = /^(?:present|present_key_values)\.(\d+)\.(key|value)$/;
/** Slice's dynamic starts/ends inputs came with opset 10. */
const MIN_OPSET = 10;
const PREFIX = 'ouro_fast';

interface GraphFacts {
  opset: number | null;
  readonly inputs: Set<string>;
  /** Graph output name → its tensor elem_type (0 when the graph leaves it out). */
  readonly outputs: Map<string, number>;
  /** Every name a node output or initializer defines, to keep added names unique. */
  readonly names: Set<string>;
  /** External data locations that are not plain relative paths inside the model folder. */
  readonly unsafeExternal: string[];
  /** The node that produces `logits`, where it is. */
  logitsNode: ProducerNode | null;
  /** The graph output declaring `logits`, where it is. */
  logitsOutput: { readonly graph: FieldSpan; readonly span: FieldSpan } | null;
}

interface ProducerNode {
  readonly graph: FieldSpan;
  readonly node: FieldSpan;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/**
 * LM heads that project a `[batch, positions, hidden]` input position by position, so they can take the
 * last position alone: plain and 4-bit-quantized matrix products (op type → domains).
 */
const POSITIONWISE_HEADS: ReadonlyMap<string, readonly string[]> = new Map([
  ['MatMul', ['', 'ai.onnx']],
  ['MatMulNBits', ['com.microsoft']],
]);

function subFields(buf: Uint8Array, f: WireField, visit: (g: WireField) => void): void {
  if (f.wire === WIRE_LEN) forEachField(buf, f.start, f.end, visit);
}

function scanModel(buf: Uint8Array): GraphFacts {
  const facts: GraphFacts = { opset: null, inputs: new Set(), outputs: new Map(), names: new Set(), unsafeExternal: [], logitsNode: null, logitsOutput: null };
  forEachField(buf, 0, buf.length, (f) => {
    if (f.no === MODEL_OPSET_IMPORT) {
      let domain = '';
      let version = 0;
      subFields(buf, f, (g) => {
        if (g.no === OPSET_DOMAIN && g.wire === WIRE_LEN) domain = fieldString(buf, g);
        if (g.no === OPSET_VERSION && g.wire === WIRE_VARINT) version = g.value;
      });
      if (domain === '' || domain === 'ai.onnx') facts.opset = version;
    } else if (f.no === MODEL_GRAPH) {
      subFields(buf, f, (g) => scanGraphField(buf, f, g, facts));
    }
  });
  return facts;
}

function scanGraphField(buf: Uint8Array, graph: WireField, g: WireField, facts: GraphFacts): void {
  switch (g.no) {
    case GRAPH_NODE: {
      const inputs: string[] = [];
      const outputs: string[] = [];
      let opType = '';
      let domain = '';
      subFields(buf, g, (n) => {
        if (n.wire !== WIRE_LEN) return;
        if (n.no === NODE_INPUT) inputs.push(fieldString(buf, n));
        else if (n.no === NODE_OUTPUT) outputs.push(fieldString(buf, n));
        else if (n.no === NODE_OP_TYPE) opType = fieldString(buf, n);
        else if (n.no === NODE_DOMAIN) domain = fieldString(buf, n);
      });
      for (const name of outputs) facts.names.add(name);
      if (outputs.includes('logits')) facts.logitsNode = { graph, node: g, opType, domain, inputs, outputs };
      break;
    }
    case GRAPH_INPUT:
    case GRAPH_OUTPUT: {
      let name = '';
      let elemType = 0;
      subFields(buf, g, (v) => {
        if (v.no === VALUE_NAME && v.wire === WIRE_LEN) name = fieldString(buf, v);
        if (v.no === VALUE_TYPE) {
          subFields(buf, v, (t) => {
            if (t.no === TYPE_TENSOR) {
              subFields(buf, t, (e) => {
                if (e.no === TENSOR_TYPE_ELEM && e.wire === WIRE_VARINT) elemType = e.value;
              });
            }
          });
        }
      });
      if (g.no === GRAPH_INPUT) facts.inputs.add(name);
      else facts.outputs.set(name, elemType);
      if (g.no === GRAPH_OUTPUT && name === 'logits') facts.logitsOutput = { graph, span: g };
      facts.names.add(name);
      break;
    }
    case GRAPH_INITIALIZER:
      subFields(buf, g, (t) => {
        if (t.no === TENSOR_NAME && t.wire === WIRE_LEN) facts.names.add(fieldString(buf, t));
        if (t.no === TENSOR_EXTERNAL_DATA) {
          let key = '';
          let value = '';
          subFields(buf, t, (e) => {
            if (e.no === ENTRY_KEY && e.wire === WIRE_LEN) key = fieldString(buf, e);
            if (e.no === ENTRY_VALUE && e.wire === WIRE_LEN) value = fieldString(buf, e);
          });
          if (key === 'location' && !isPlainRelativePath(value)) facts.unsafeExternal.push(value);
        }
      });
      break;
  }
}

/** A location onnxruntime would resolve inside the model's folder: relative, no `..`, no drive or root. */
function isPlainRelativePath(location: string): boolean {
  if (location === '' || location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location)) return false;
  return !location.split(/[\\/]/).includes('..');
}

function int64Initializer(name: string, values: readonly number[]): WireWriter {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return new WireWriter().varintField(TENSOR_DIMS, values.length).varintField(TENSOR_DATA_TYPE, INT64).stringField(TENSOR_NAME, name).bytesField(TENSOR_RAW_DATA, raw);
}

function node(op: string, inputs: readonly string[], output: string): WireWriter {
  const w = new WireWriter();
  for (const input of inputs) w.stringField(NODE_INPUT, input);
  return w.stringField(NODE_OUTPUT, output).stringField(NODE_NAME, `${output}/${op}`).stringField(NODE_OP_TYPE, op);
}

function outputInfo(name: string, elemType: number): WireWriter {
  const tensor = new WireWriter();
  if (elemType !== 0) tensor.varintField(TENSOR_TYPE_ELEM, elemType);
  return new WireWriter().stringField(VALUE_NAME, name).messageField(VALUE_TYPE, new WireWriter().messageField(TYPE_TENSOR, tensor));
}

/**
 * Plans the extension of a decoder graph (the whole .onnx file in `model`): for every `present.N.key/value`
 * output, `Slice(present, -sequence_length, ∞, axis 2)` — the rows the step appended, whatever node
 * produced the present — and `Slice(logits, -1, ∞, axis 1)`. The original outputs stay, so every
 * existing fetch still works. Returns a reason instead when the graph does not fit (no input_ids,
 * logits or presents, opset below 10, external data outside the folder) or the bytes do not parse.
 */
export function planFastOutputs(model: Uint8Array): FastOutputsPlan | { readonly reason: string } {
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
  const head = positionwiseHead(facts.logitsNode);
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

  const suffix = new WireWriter().messageField(MODEL_GRAPH, graph).finish();
  return { suffix, patch, fast: { newRows, lastLogits, lmHeadSliced: patch !== null, added } };
}

/** The node producing `logits` when it is an LM head that works position by position, else null. */
function positionwiseHead(producer: ProducerNode | null): ProducerNode | null {
  if (producer === null || producer.outputs[0] !== 'logits' || producer.inputs.length < 2 || producer.inputs[0] === '') return null;
  return POSITIONWISE_HEADS.get(producer.opType)?.includes(producer.domain) ? producer : null;
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
 * The model bytes with `patch` applied, as pieces to concatenate: the graph field gets its new length,
 * the edited fields their replacements, and everything else is copied as it is (one copy of the file;
 * weights kept in external data stay there).
 */
function applyPatch(model: Uint8Array, patch: GraphPatch): Uint8Array[] {
  const { graph, edits } = patch;
  const pieces: Uint8Array[] = [];
  let at = graph.start;
  let payload = graph.end - graph.start;
  for (const { span, replacement } of edits) {
    pieces.push(model.subarray(at, span.offset), replacement);
    at = span.end;
    payload += replacement.length - (span.end - span.offset);
  }
  pieces.push(model.subarray(at, graph.end));
  const header = new WireWriter().lengthHeader(MODEL_GRAPH, payload).finish();
  return [model.subarray(0, graph.offset), header, ...pieces, model.subarray(graph.end)];
}

/**
 * Largest .onnx file read into memory to add the fast outputs. Exports keep their weights in external data
 * (a small .onnx); a file this large holds its weights inline and costs its size again in memory while
 * loading, which beyond this bound is not worth the per-step saving.
 */
const MAX_REWRITE_BYTES = 1 << 30;
/** Room left after the file's bytes for the appended graph extension, so it needs no second copy. */
const SUFFIX_ROOM = 64 * 1024;

/**
 * The model file's bytes with the fast outputs appended (one read into a buffer with room for them), or why
 * not: the file is too large to hold in memory twice while loading, unreadable, or its graph does not fit.
 */
export async function readWithFastOutputs(modelPath: string): Promise<{ bytes: Uint8Array; fast: FastOutputs } | { reason: string }> {
  let fh;
  try {
    fh = await open(modelPath, 'r');
  } catch (e) {
    return { reason: e instanceof Error ? e.message : String(e) };
  }
  let buf: Buffer;
  let size: number;
  try {
    size = (await fh.stat()).size;
    if (size > MAX_REWRITE_BYTES) return { reason: `${basename(modelPath)} is over ${MAX_REWRITE_BYTES >> 20} MiB` };
    buf = Buffer.allocUnsafe(size + SUFFIX_ROOM);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await fh.read(buf, done, size - done, done);
      if (bytesRead === 0) return { reason: `${basename(modelPath)} changed while it was read` };
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
  const plan = planFastOutputs(buf.subarray(0, size));
  if ('reason' in plan) return plan;
  if (plan.patch !== null) return { bytes: Buffer.concat([...applyPatch(buf.subarray(0, size), plan.patch), plan.suffix]), fast: plan.fast };
  if (plan.suffix.length <= SUFFIX_ROOM) {
    buf.set(plan.suffix, size);
    return { bytes: buf.subarray(0, size + plan.suffix.length), fast: plan.fast };
  }
  return { bytes: Buffer.concat([buf.subarray(0, size), plan.suffix]), fast: plan.fast };
}
