// The model read with its inline weights left in the file as external-data references: every referenced
// range of the file holds exactly the tensor's raw bytes, nothing else changes, weights already external stay
// as they are, and a session opened from these bytes computes what the file opened by path computes.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Corrupt } from '../../../main/engine/model/onnxScan';
import { readWeightsByReference } from '../../../main/engine/model/weightsByReference';
import { openSession } from '../../../main/engine/onnxSession';
import { ensureFixture } from '../../fixtures/llamaFixture';
import { cleanupTemp, copyFolder, externalizeWeights } from './modelTestKit';

const { onnx } = onnxProto;

let dir = '';
beforeAll(async () => {
  dir = (await ensureFixture('tiny')).dir;
});
afterAll(cleanupTemp);

const modelFile = (folder: string) => join(folder, 'onnx', 'model.onnx');

test('every inline weight of 1 KiB or more becomes a reference to its own bytes in the file; the rest is unchanged', async () => {
  const path = modelFile(dir);
  const file = readFileSync(path);
  const { bytes, referencedBytes } = await readWeightsByReference(path);
  const original = onnx.ModelProto.decode(file);
  const rewritten = onnx.ModelProto.decode(bytes);
  const inline = (original.graph?.initializer ?? []).filter((t) => (t.rawData?.length ?? 0) >= 1024);
  expect(inline.length).toBeGreaterThan(10);
  expect(referencedBytes).toBe(inline.reduce((sum, t) => sum + t.rawData!.length, 0));
  expect(bytes.length).toBeLessThan(file.length - referencedBytes + 4096);

  const byName = new Map((rewritten.graph?.initializer ?? []).map((t) => [t.name, t]));
  for (const t of original.graph?.initializer ?? []) {
    const r = byName.get(t.name)!;
    expect((r.dims ?? []).map(Number)).toEqual((t.dims ?? []).map(Number));
    expect(r.dataType).toBe(t.dataType);
    if ((t.rawData?.length ?? 0) < 1024) {
      expect(Buffer.from(r.rawData ?? [])).toEqual(Buffer.from(t.rawData ?? []));
      continue;
    }
    expect(r.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
    const entries = Object.fromEntries((r.externalData ?? []).map((e) => [e.key, e.value]));
    expect(entries.location).toBe('model.onnx');
    const offset = Number(entries.offset);
    expect(Buffer.from(file.subarray(offset, offset + Number(entries.length)))).toEqual(Buffer.from(t.rawData!));
  }
  // Nodes, inputs and outputs as they were.
  expect(onnx.GraphProto.encode({ ...rewritten.graph, initializer: [] }).finish()).toEqual(onnx.GraphProto.encode({ ...original.graph, initializer: [] }).finish());
});

test('a session opened from the referenced bytes gives the logits of the file opened by path', async () => {
  const path = modelFile(dir);
  // fastOutputs: false keeps the graph as exported on both sides; only how the weights arrive differs.
  const byPath = await openSession(path, { intraOpThreads: 1, fastOutputs: false });
  const { bytes } = await readWeightsByReference(path);
  const copy = copyFolder(dir, 'by-reference');
  writeFileSync(join(copy, 'onnx', 'rewritten.onnx'), bytes);
  // The rewritten file refers to model.onnx in its own folder, as the in-memory bytes do.
  const byReference = await openSession(join(copy, 'onnx', 'rewritten.onnx'), { intraOpThreads: 1, fastOutputs: false });
  try {
    const feeds = {
      input_ids: { type: 'int64' as const, data: BigInt64Array.of(5n, 9n, 2n), dims: [1, 3] },
      attention_mask: { type: 'int64' as const, data: new BigInt64Array(3).fill(1n), dims: [1, 3] },
      position_ids: { type: 'int64' as const, data: BigInt64Array.of(0n, 1n, 2n), dims: [1, 3] },
      ...Object.fromEntries(
        byPath.inputs
          .filter((i) => i.name.startsWith('past_key_values.'))
          .map((i) => [i.name, { type: 'float32' as const, data: new Float32Array(0), dims: [1, i.shape![1] as number, 0, i.shape![3] as number] }]),
      ),
    };
    const a = await byPath.run(feeds, ['logits']);
    const b = await byReference.run(feeds, ['logits']);
    expect(Array.from(b.logits.data as Float32Array)).toEqual(Array.from(a.logits.data as Float32Array));
  } finally {
    await byPath.release();
    await byReference.release();
  }
});

test('weights already in an external file stay referenced as they were: the bytes are the file', async () => {
  const copy = copyFolder(dir, 'external');
  externalizeWeights(modelFile(copy), 'model.onnx_data');
  const { bytes, referencedBytes } = await readWeightsByReference(modelFile(copy));
  expect(referencedBytes).toBe(0);
  expect(Buffer.from(bytes)).toEqual(readFileSync(modelFile(copy)));
});

test('bytes that are not protobuf are refused (onnxScan.Corrupt)', async () => {
  const copy = copyFolder(dir, 'corrupt');
  const path = modelFile(copy);
  writeFileSync(path, readFileSync(path).subarray(0, Math.floor(statSync(path).size / 2)));
  await expect(readWeightsByReference(path)).rejects.toBeInstanceOf(Corrupt);
});
