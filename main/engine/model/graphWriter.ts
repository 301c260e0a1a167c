// Small ONNX messages the load-time graph rewrites add (fastOutputs, deviceCache): encoded with the
// protobuf writer, engine host at model load.
import { INT64, TENSOR_DATA_TYPE, TENSOR_DIMS, TENSOR_NAME, TENSOR_RAW_DATA } from './onnxFields';
import { WireWriter } from './protoWire';

/** A 1-D int64 initializer (TensorProto) named `name` holding `values`. */
export function int64Initializer(name: string, values: readonly number[]): WireWriter {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return new WireWriter().varintField(TENSOR_DIMS, values.length).varintField(TENSOR_DATA_TYPE, INT64).stringField(TENSOR_NAME, name).bytesField(TENSOR_RAW_DATA, raw);
}
