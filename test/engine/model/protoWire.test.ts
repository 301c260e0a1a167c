// The minimal protobuf wire reader/writer against protobufjs' ONNX messages (onnx-proto): what one writes
// the other reads, ranges instead of copies, and malformed bytes rejected.
import onnxProto from 'onnx-proto';
import { describe, expect, test } from 'vitest';
import { fieldString, forEachField, WIRE_LEN, WIRE_VARINT, WireError, WireWriter, type WireField } from '../../../main/engine/model/protoWire';

const { onnx } = onnxProto;

function fields(buf: Uint8Array, start = 0, end = buf.length): WireField[] {
  const out: WireField[] = [];
  forEachField(buf, start, end, (f) => out.push(f));
  return out;
}

describe('protoWire', () => {
  test('a NodeProto written by WireWriter decodes with protobufjs', () => {
    const bytes = new WireWriter()
      .stringField(1, 'present.0.key')
      .stringField(1, 'start')
      .stringField(2, 'out')
      .stringField(3, 'out/Slice')
      .stringField(4, 'Slice')
      .finish();
    const node = onnx.NodeProto.decode(bytes);
    expect({ input: node.input, output: node.output, name: node.name, opType: node.opType }).toEqual({
      input: ['present.0.key', 'start'],
      output: ['out'],
      name: 'out/Slice',
      opType: 'Slice',
    });
  });

  test('forEachField walks a protobufjs-encoded message, nested ranges included, with multi-byte varints', () => {
    const big = 300_000;
    const bytes = onnx.ModelProto.encode(
      onnx.ModelProto.create({ irVersion: big, producerName: 'ünïcode', graph: { name: 'g', output: [{ name: 'logits' }] } }),
    ).finish();
    const top = fields(bytes);
    expect(top.find((f) => f.no === 1)).toMatchObject({ wire: WIRE_VARINT, value: big });
    const producer = top.find((f) => f.no === 2)!;
    expect(fieldString(bytes, producer)).toBe('ünïcode');
    const graph = top.find((f) => f.no === 7)!;
    expect(graph.wire).toBe(WIRE_LEN);
    const output = fields(bytes, graph.start, graph.end).find((f) => f.no === 12)!;
    expect(fieldString(bytes, fields(bytes, output.start, output.end)[0])).toBe('logits');
  });

  test('truncated or malformed bytes throw WireError', () => {
    expect(() => fields(Uint8Array.of(0x0a, 0x05, 0x61))).toThrow(WireError); // length past the end
    expect(() => fields(Uint8Array.of(0x08, 0x80))).toThrow(WireError); // varint cut off
    expect(() => fields(Uint8Array.of(0x0b))).toThrow(WireError); // wire type 3 (groups)
    expect(() => fields(Uint8Array.of(0x00, 0x01))).toThrow(WireError); // field number 0
  });

  test('varints must be non-negative safe integers', () => {
    expect(() => new WireWriter().varintField(1, -1)).toThrow(RangeError);
    expect(onnx.TensorProto.decode(new WireWriter().varintField(2, 7).finish()).dataType).toBe(7);
  });
});
