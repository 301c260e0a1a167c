// Small ONNX messages the load-time graph rewrites append (initializers, nodes with attributes, output
// declarations), encoded with protoWire. Engine host, at model load.
import {
  ATTR_I,
  ATTR_INTS,
  ATTR_NAME,
  ATTR_TYPE,
  ATTR_TYPE_INT,
  ATTR_TYPE_INTS,
  INT64,
  NODE_ATTRIBUTE,
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
import { WireWriter } from './protoWire';

export function int64Initializer(name: string, values: readonly number[]): WireWriter {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return new WireWriter().varintField(TENSOR_DIMS, values.length).varintField(TENSOR_DATA_TYPE, INT64).stringField(TENSOR_NAME, name).bytesField(TENSOR_RAW_DATA, raw);
}

/** An integer or integer-list attribute; negative values take protobuf's 10-byte two's complement varint. */
export type NodeAttribute = readonly [name: string, value: number | readonly number[]];

function attribute([name, value]: NodeAttribute): WireWriter {
  const w = new WireWriter().stringField(ATTR_NAME, name);
  if (typeof value === 'number') w.int64Field(ATTR_I, value).varintField(ATTR_TYPE, ATTR_TYPE_INT);
  else {
    for (const v of value) w.int64Field(ATTR_INTS, v);
    w.varintField(ATTR_TYPE, ATTR_TYPE_INTS);
  }
  return w;
}

export function node(op: string, inputs: readonly string[], output: string, attributes: readonly NodeAttribute[] = []): WireWriter {
  const w = new WireWriter();
  for (const input of inputs) w.stringField(NODE_INPUT, input);
  w.stringField(NODE_OUTPUT, output).stringField(NODE_NAME, `${output}/${op}`).stringField(NODE_OP_TYPE, op);
  for (const a of attributes) w.messageField(NODE_ATTRIBUTE, attribute(a));
  return w;
}

export function outputInfo(name: string, elemType: number): WireWriter {
  const tensor = new WireWriter();
  if (elemType !== 0) tensor.varintField(TENSOR_TYPE_ELEM, elemType);
  return new WireWriter().stringField(VALUE_NAME, name).messageField(VALUE_TYPE, new WireWriter().messageField(TYPE_TENSOR, tensor));
}
