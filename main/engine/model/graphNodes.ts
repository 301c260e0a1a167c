// Small ONNX messages the load-time graph rewrites append (initializers, nodes with attributes, output
// declarations), encoded with protoWire. Engine host, at model load.
import {
  ATTR_F,
  ATTR_G,
  ATTR_I,
  ATTR_INTS,
  ATTR_NAME,
  ATTR_TYPE,
  ATTR_TYPE_FLOAT,
  ATTR_TYPE_GRAPH,
  ATTR_TYPE_INT,
  ATTR_TYPE_INTS,
  INT64,
  NODE_ATTRIBUTE,
  NODE_DOMAIN,
  NODE_INPUT,
  NODE_NAME,
  NODE_OP_TYPE,
  NODE_OUTPUT,
  TENSOR_DATA_TYPE,
  TENSOR_DIMS,
  TENSOR_NAME,
  TENSOR_RAW_DATA,
  TENSOR_TYPE_ELEM,
  TYPE_TENSOR,
  VALUE_NAME,
  VALUE_TYPE,
} from './onnxFields';
import { fieldString, forEachField, WireWriter, type FieldEdit, type FieldSpan } from './protoWire';

/**
 * A load-time rewrite's edits: fields of the graph field `graph` rewritten in place (removals: empty
 * replacements) and a second graph field to append (protobuf merges it into the first).
 */
export interface GraphRewrite {
  readonly graph: FieldSpan;
  readonly edits: readonly FieldEdit[];
  readonly suffixGraph: WireWriter;
}

export function int64Initializer(name: string, values: readonly number[]): WireWriter {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return new WireWriter().varintField(TENSOR_DIMS, values.length).varintField(TENSOR_DATA_TYPE, INT64).stringField(TENSOR_NAME, name).bytesField(TENSOR_RAW_DATA, raw);
}

/**
 * An integer, float (`{ float }`), integer-list or graph (an If's branch: a GraphProto's fields)
 * attribute; negative integers take protobuf's 10-byte two's complement varint.
 */
export type NodeAttribute = readonly [name: string, value: number | { readonly float: number } | readonly number[] | WireWriter];

function attribute([name, value]: NodeAttribute): WireWriter {
  const w = new WireWriter().stringField(ATTR_NAME, name);
  if (typeof value === 'number') w.int64Field(ATTR_I, value).varintField(ATTR_TYPE, ATTR_TYPE_INT);
  else if ('float' in value) w.float32Field(ATTR_F, value.float).varintField(ATTR_TYPE, ATTR_TYPE_FLOAT);
  else if (value instanceof WireWriter) w.messageField(ATTR_G, value).varintField(ATTR_TYPE, ATTR_TYPE_GRAPH);
  else {
    for (const v of value) w.int64Field(ATTR_INTS, v);
    w.varintField(ATTR_TYPE, ATTR_TYPE_INTS);
  }
  return w;
}

/** A node of the default domain, or of `domain` (onnxruntime's contrib ops: `com.microsoft`). */
export function node(op: string, inputs: readonly string[], output: string | readonly string[], attributes: readonly NodeAttribute[] = [], domain = ''): WireWriter {
  const w = new WireWriter();
  const outputs = typeof output === 'string' ? [output] : output;
  for (const input of inputs) w.stringField(NODE_INPUT, input);
  for (const o of outputs) w.stringField(NODE_OUTPUT, o);
  w.stringField(NODE_NAME, `${outputs[0]}/${op}`).stringField(NODE_OP_TYPE, op);
  for (const a of attributes) w.messageField(NODE_ATTRIBUTE, attribute(a));
  if (domain !== '') w.stringField(NODE_DOMAIN, domain);
  return w;
}

/**
 * The node at `span` of `buf` (the node message's payload range) with every input and output named in
 * `renames` renamed and `nameSuffix` appended to its name (node names stay unique when a rewrite clones
 * a node); every other field (op type, domain, attributes) copied as it is. Returns the node's fields,
 * ready for {@link WireWriter.messageField}.
 */
export function renamedNode(buf: Uint8Array, span: FieldSpan, renames: ReadonlyMap<string, string>, nameSuffix = ''): WireWriter {
  const body = new WireWriter();
  forEachField(buf, span.start, span.end, (f) => {
    const renamable = f.no === NODE_INPUT || f.no === NODE_OUTPUT;
    const to = renamable ? renames.get(fieldString(buf, f)) : undefined;
    if (to !== undefined) body.stringField(f.no, to);
    else if (f.no === NODE_NAME && nameSuffix !== '') body.stringField(NODE_NAME, `${fieldString(buf, f)}${nameSuffix}`);
    else body.raw(buf.subarray(f.offset, f.end));
  });
  return body;
}

export function outputInfo(name: string, elemType: number): WireWriter {
  const tensor = new WireWriter();
  if (elemType !== 0) tensor.varintField(TENSOR_TYPE_ELEM, elemType);
  return new WireWriter().stringField(VALUE_NAME, name).messageField(VALUE_TYPE, new WireWriter().messageField(TYPE_TENSOR, tensor));
}
