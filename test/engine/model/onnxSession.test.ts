// The session seam: provider fallback with a reason, fetch-only-what-you-ask runs, and onnxruntime load
// failures surfaced as ModelErrors naming the file.
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ModelError } from '../../../main/engine/errors';
import { availableProviders, deviceCacheRefusal, openSession, type DecoderSession, type TensorData } from '../../../main/engine/onnxSession';
import { ensureFixture } from '../../fixtures/llamaFixture';
import { cleanupTemp, copyFolder, expectModelError, externalizeWeights } from './modelTestKit';

let dir = '';
let model = '';
let kvHeads = 0;
let headDim = 0;
let layers = 0;
let vocab = 0;
beforeAll(async () => {
  const fx = await ensureFixture('tiny');
  dir = fx.dir;
  model = join(dir, 'onnx', 'model.onnx');
  ({ kvHeads, headDim, layers, vocab } = fx.weights.spec);
});
afterAll(cleanupTemp);

function oneTokenFeeds(token: number, pos: number): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {
    input_ids: { type: 'int64', data: BigInt64Array.of(BigInt(token)), dims: [1, 1] },
    attention_mask: { type: 'int64', data: BigInt64Array.of(1n), dims: [1, 1] },
    position_ids: { type: 'int64', data: BigInt64Array.of(BigInt(pos)), dims: [1, 1] },
  };
  for (let l = 0; l < layers; l++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kind}`] = { type: 'float32', data: new Float32Array(0), dims: [1, kvHeads, 0, headDim] };
    }
  }
  return feeds;
}

describe('providers', () => {
  test('cpu is always available; every provider is listed, unavailable ones with a reason', () => {
    const list = availableProviders();
    expect(list.map((p) => p.name).sort()).toEqual(['coreml', 'cpu', 'cuda', 'dml', 'webgpu']);
    expect(list.find((p) => p.name === 'cpu')).toEqual({ name: 'cpu', available: true });
    for (const p of list) if (!p.available) expect(p.reason).toMatch(new RegExp(p.name));
  });

  test.each(['cuda', 'webgpu', 'dml', 'coreml'] as const)('%s: runs there, or falls back to cpu and says why', async (provider) => {
    const offer = availableProviders().find((p) => p.name === provider);
    const s = await openSession(model, { provider, intraOpThreads: 1 });
    try {
      if (s.provider === provider) {
        expect(s.fallbackReason).toBeNull();
      } else {
        expect(s.provider).toBe('cpu');
        expect(s.fallbackReason).toMatch(new RegExp(provider));
        if (offer?.available === false) expect(s.fallbackReason).toBe(offer.reason);
      }
      // Whatever it landed on, it runs.
      const out = await s.run(oneTokenFeeds(5, 0), ['logits']);
      expect(out.logits.dims).toEqual([1, 1, vocab]);
    } finally {
      await s.release();
    }
  });

  test('the cache stays on the device on WebGPU only: onnxruntime-node binds gpu-buffer outputs to WebGPU memory alone', () => {
    expect(deviceCacheRefusal('webgpu', false)).toBeNull();
    for (const provider of ['cuda', 'dml', 'coreml', 'cpu'] as const) expect(deviceCacheRefusal(provider, false)).toMatch(/outputs cannot stay on the device/);
    expect(deviceCacheRefusal('cuda', false)).toBe('CUDA outputs cannot stay on the device');
    // The host run of the same path (tests, on CPU).
    expect(deviceCacheRefusal('cpu', true)).toBeNull();
  });

  test('plain cpu reports no fallback; thread count must be a positive integer', async () => {
    const s = await openSession(model, { intraOpThreads: 1 });
    expect({ provider: s.provider, fallbackReason: s.fallbackReason, providerNote: s.providerNote }).toEqual({ provider: 'cpu', fallbackReason: null, providerNote: null });
    await s.release();
    await expect(openSession(model, { intraOpThreads: 0 })).rejects.toThrow(RangeError);
  });
});

describe('run', () => {
  let s: DecoderSession;
  beforeAll(async () => {
    s = await openSession(model, { intraOpThreads: 1 });
  });
  afterAll(async () => {
    await s.release();
  });

  test('metadata lists inputs and outputs with symbolic dims', () => {
    expect(s.inputs.map((i) => i.name).slice(0, 4)).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key']);
    expect(s.inputs[3]).toEqual({ name: 'past_key_values.0.key', type: 'float32', shape: ['batch_size', kvHeads, 'past_sequence_length', headDim] });
    expect(s.outputs.map((o) => o.name)).toContain('present.1.value');
  });

  test('returns exactly the fetched outputs, in fresh buffers, leaving the inputs as they were', async () => {
    const feeds = oneTokenFeeds(7, 3);
    const before = Array.from(feeds.input_ids.data as BigInt64Array);
    const out = await s.run(feeds, ['present.0.key', 'logits']);
    expect(Object.keys(out).sort()).toEqual(['logits', 'present.0.key']);
    expect(out['present.0.key']).toMatchObject({ type: 'float32', dims: [1, kvHeads, 1, headDim] });
    expect(out.logits.data.length).toBe(vocab);
    expect(Array.from(feeds.input_ids.data as BigInt64Array)).toEqual(before);
    const again = await s.run(feeds, ['logits']);
    expect(again.logits.data).not.toBe(out.logits.data);
    expect(Array.from(again.logits.data as Float32Array)).toEqual(Array.from(out.logits.data as Float32Array));
  });

  test('a typed array that does not match its declared type is a TypeError', async () => {
    const feeds = oneTokenFeeds(7, 3);
    const bad = { ...feeds, input_ids: { type: 'int64', data: Int32Array.of(7), dims: [1, 1] } as unknown as TensorData };
    await expect(s.run(bad, ['logits'])).rejects.toThrow(TypeError);
  });

  test('an onnxruntime failure during run is a run-failed ModelError naming the file', async () => {
    // Two tokens with one position and a mask for one: no graph can take that.
    const feeds = oneTokenFeeds(7, 3);
    feeds.input_ids = { type: 'int64', data: BigInt64Array.of(7n, 8n), dims: [1, 2] };
    await expectModelError(s.run(feeds, ['logits']), 'run-failed', 'model.onnx', /onnxruntime failed while running it/);
  });
});

describe('session tuning (benchmark levers)', () => {
  test('config entries and the arena switch reach onnxruntime; the outputs stay those of the defaults', async () => {
    // An entry onnxruntime acts on at load: told the bytes are an ORT-format model, it cannot open the .onnx.
    await expect(openSession(model, { intraOpThreads: 1, tuning: { config: { 'session.load_model_format': 'ORT' } } })).rejects.toThrow();
    const plain = await openSession(model, { intraOpThreads: 1 });
    const tuned = await openSession(model, { intraOpThreads: 1, tuning: { memArena: false, config: { 'session.intra_op.allow_spinning': '0', 'session.disable_prepacking': '1' } } });
    try {
      const want = (await plain.run(oneTokenFeeds(7, 3), ['logits'])).logits.data as Float32Array;
      const got = (await tuned.run(oneTokenFeeds(7, 3), ['logits'])).logits.data as Float32Array;
      expect(tuned.fastOutputs).not.toBeNull();
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5);
    } finally {
      await plain.release();
      await tuned.release();
    }
  });
});

describe('load failures become ModelErrors', () => {
  test('missing, zero-byte and truncated .onnx', async () => {
    const copy = copyFolder(dir);
    const p = join(copy, 'onnx', 'model.onnx');
    await expectModelError(openSession(join(copy, 'onnx', 'nope.onnx')), 'missing-file', 'nope.onnx');
    const bytes = readFileSync(p);
    truncateSync(p, Math.floor(bytes.length / 2));
    await expectModelError(openSession(p), 'corrupt-onnx', 'model.onnx', /truncated or corrupt/);
    writeFileSync(p, '');
    await expectModelError(openSession(p), 'corrupt-onnx', 'model.onnx');
  });

  test('missing external data names the weights file', async () => {
    const copy = copyFolder(dir);
    const p = join(copy, 'onnx', 'model.onnx');
    const { dataPath } = externalizeWeights(p, 'model.onnx_data');
    const s = await openSession(p, { intraOpThreads: 1 });
    // The rewritten graph is valid: same logits as the inline original.
    const ref = await openSession(model, { intraOpThreads: 1 });
    const [a, b] = await Promise.all([s.run(oneTokenFeeds(9, 4), ['logits']), ref.run(oneTokenFeeds(9, 4), ['logits'])]);
    expect(Array.from(a.logits.data as Float32Array)).toEqual(Array.from(b.logits.data as Float32Array));
    await Promise.all([s.release(), ref.release()]);
    truncateSync(dataPath, 1000);
    await expectModelError(openSession(p), 'missing-external-data', 'model.onnx', /truncated/);
    rmSync(dataPath);
    const err = await expectModelError(openSession(p), 'missing-external-data', 'model.onnx', /model\.onnx_data is missing/);
    expect(err).toBeInstanceOf(ModelError);
  });
});
