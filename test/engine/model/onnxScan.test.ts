// scanOnnxFile on protobufs written by onnx-proto: external data found in initializers and subgraphs,
// every truncation and non-ONNX input rejected as corrupt-onnx.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, test } from 'vitest';
import { scanOnnxFile } from '../../../main/engine/model/onnxScan';
import { cleanupTemp, expectModelError, tempDir } from './modelTestKit';

const { onnx } = onnxProto;
const { DataType, DataLocation } = onnx.TensorProto;

function external(name: string, location: string, offset: number, length: number): onnxProto.onnx.ITensorProto {
  return {
    name,
    dataType: DataType.FLOAT,
    dims: [length / 4],
    dataLocation: DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ],
  };
}

/** irVersion + graph only, so the graph is the last field and every proper prefix is incomplete. */
function sampleModel(): Uint8Array {
  const thenBranch: onnxProto.onnx.IGraphProto = {
    name: 'then',
    node: [{ opType: 'Constant', output: ['c'], attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: external('c', 'sub/c.bin', 16, 8) }] }],
    output: [{ name: 'c' }],
  };
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    graph: {
      name: 'g',
      initializer: [
        external('w', 'w.bin', 0, 16),
        { name: 'b', dataType: DataType.FLOAT, dims: [2], rawData: new Uint8Array(8) },
      ],
      node: [
        { opType: 'If', input: ['cond'], output: ['y'], attribute: [{ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: thenBranch }] },
      ],
      input: [{ name: 'cond' }],
      output: [{ name: 'y' }],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

afterAll(cleanupTemp);

describe('scanOnnxFile', () => {
  test('finds external tensors in initializers and in If subgraphs, not inline ones', async () => {
    const path = join(tempDir('scan'), 'model.onnx');
    writeFileSync(path, sampleModel());
    const scan = await scanOnnxFile(path, 'onnx/model.onnx');
    const found = [...scan.externalData].sort((a, b) => a.tensor.localeCompare(b.tensor));
    expect(found).toEqual([
      { tensor: 'c', location: 'sub/c.bin', offset: 16, length: 8 },
      { tensor: 'w', location: 'w.bin', offset: 0, length: 16 },
    ]);
  });

  test('every truncation of the file is corrupt-onnx, never a crash or a hang', async () => {
    const bytes = sampleModel();
    const path = join(tempDir('scan'), 'model.onnx');
    for (let cut = 1; cut < bytes.length; cut++) {
      writeFileSync(path, bytes.subarray(0, cut));
      await expectModelError(scanOnnxFile(path, 'onnx/model.onnx'), 'corrupt-onnx', 'onnx/model.onnx');
    }
  });

  test('empty, text and non-ONNX protobuf files are corrupt-onnx with a reason', async () => {
    const dir = tempDir('scan');
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['empty.onnx', new Uint8Array(0), /empty \(0 bytes\)/],
      ['lfs.onnx', new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n'), /Git LFS pointer/],
      ['text.onnx', new TextEncoder().encode('<!DOCTYPE html><html>rate limited</html>'), /not a valid ONNX model/],
      // A valid protobuf (field 1 = 8) with no graph in it.
      ['nograph.onnx', Uint8Array.of(0x08, 0x08), /holds no graph/],
    ];
    for (const [name, data, why] of cases) {
      writeFileSync(join(dir, name), data);
      await expectModelError(scanOnnxFile(join(dir, name), name), 'corrupt-onnx', name, why);
    }
  });

  test('an external tensor that names no file is corrupt-onnx', async () => {
    const path = join(tempDir('scan'), 'model.onnx');
    const bad = { name: 'w', dataType: DataType.FLOAT, dims: [1], dataLocation: DataLocation.EXTERNAL, externalData: [{ key: 'offset', value: '0' }] };
    writeFileSync(path, onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, graph: { name: 'g', initializer: [bad] } })).finish());
    await expectModelError(scanOnnxFile(path, 'model.onnx'), 'corrupt-onnx', 'model.onnx', /names no file/);
  });

  test('a missing file is missing-file', async () => {
    await expectModelError(scanOnnxFile(join(tempDir('scan'), 'nope.onnx'), 'onnx/nope.onnx'), 'missing-file', 'onnx/nope.onnx');
  });
});
