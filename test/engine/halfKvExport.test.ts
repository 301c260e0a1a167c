// A real fp16-KV export (onnxruntime-genai's tiny random Llama, ../shared/models): the engine holds its
// cache in fp16 and decodes the same greedy tokens as a plain dense loop over the same session, whose
// presents are fed back as they come. Its mask-reformat subgraph takes no multi-token pass over a past: the
// runner then feeds such chunks a token at a time. Skips where ../shared is absent.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadModel, openStream, type LoadedModel } from '../../main/engine/loadedModel';
import type { TensorData } from '../../main/engine/onnxSession';
import { fromHalf } from '../../main/engine/half';
import { argmax } from '../../bench/lib/benchEngine';
import { sharedModel } from './model/modelTestKit';

const dir = sharedModel('tiny-random-llama-genai-fp16');
const PROMPT = [1, 450, 4996, 17354];
const STEPS = 40;

/** Greedy ids from session.run alone: the whole past fed back every step (no ring, no mask holes). */
async function denseGreedy(model: LoadedModel): Promise<number[]> {
  const { io, config } = model;
  let past: TensorData[] = [...io.presentKeys, ...io.presentValues].map(() => ({ type: 'float16', data: new Uint16Array(0), dims: [1, config.numKvHeads, 0, config.headDim] }));
  const out: number[] = [];
  let ids = PROMPT;
  let length = 0;
  for (let step = 0; step <= STEPS; step++) {
    const n = ids.length;
    const feeds: Record<string, TensorData> = {
      [io.inputIds]: { type: 'int64', data: BigInt64Array.from(ids, BigInt), dims: [1, n] },
      [io.attentionMask]: { type: 'int64', data: new BigInt64Array(length + n).fill(1n), dims: [1, length + n] },
      [io.positionIds]: { type: 'int64', data: BigInt64Array.from({ length: n }, (_, i) => BigInt(length + i)), dims: [1, n] },
    };
    [...io.pastKeys, ...io.pastValues].forEach((name, i) => (feeds[name] = past[i]));
    const res = await model.session.run(feeds, [io.logits, ...io.presentKeys, ...io.presentValues]);
    past = [...io.presentKeys, ...io.presentValues].map((name) => res[name]);
    const logits = res[io.logits].data as Uint16Array;
    const vocab = config.vocabSize;
    const last = Float32Array.from(logits.subarray(logits.length - vocab), fromHalf);
    length += n;
    if (step === STEPS) break;
    out.push(argmax(last));
    ids = [out[out.length - 1]];
  }
  return out;
}

describe.skipIf(dir === null)('fp16-KV export (onnxruntime-genai tiny Llama)', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModel(dir!, { threads: 1 });
  });
  afterAll(async () => {
    await model?.release();
  });

  it('loads with an fp16 cache, the fast outputs and a passing RoPE probe', () => {
    expect(model.io.kvDtype).toBe('float16');
    expect(model.session.fastOutputs).not.toBeNull();
    expect(model.ropeProbe.ok).toBe(true);
  });

  it('decodes the dense loop\'s greedy tokens from its fp16 ring cache', async () => {
    const { runner, cache } = openStream(model, { sink: 4, window: 60, positions: 'cache' });
    expect(cache.kvDtype).toBe('float16');
    let logits = (await runner.feed(PROMPT))!;
    const ours: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      ours.push(argmax(logits));
      logits = (await runner.feed([ours[i]]))!;
    }
    expect(ours).toEqual(await denseGreedy(model));
  });

  it('feeds a chunk over a past a token at a time once the export refuses it: a second message works', async () => {
    const fresh = await loadModel(dir!, { threads: 1, warmUp: false });
    try {
      const tokensPerRun: number[] = [];
      const run = fresh.session.run.bind(fresh.session);
      vi.spyOn(fresh.session, 'run').mockImplementation(async (feeds, fetches) => {
        tokensPerRun.push(feeds[fresh.io.inputIds].dims[1]);
        return run(feeds, fetches);
      });
      const second = [29871, 13, 450, 4996, 338];
      const chunked = openStream(fresh, { sink: 4, window: 60, positions: 'cache', journalTokens: 0, maxChunk: 16 });
      await chunked.runner.feed(PROMPT);
      const logits = Float32Array.from((await chunked.runner.feed(second))!);
      await chunked.runner.feed([17354, 13]);
      // The prompt over the empty cache in one pass; the 5 tokens over its past failed and went again one
      // at a time, and the next message went one at a time from the start.
      expect(tokensPerRun).toEqual([4, 5, 1, 1, 1, 1, 1, 1, 1]);
      expect(chunked.cache.nextPos).toBe(PROMPT.length + second.length + 2);

      // Every token alone from the start: the same logits after the second message, to fp16 rounding.
      const single = openStream(fresh, { sink: 4, window: 60, positions: 'cache', journalTokens: 0, maxChunk: 1 });
      await single.runner.feed(PROMPT);
      const want = (await single.runner.feed(second))!;
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(logits[i] - want[i]));
      expect(worst).toBeLessThan(0.05);
      expect(argmax(logits)).toBe(argmax(want));
    } finally {
      vi.restoreAllMocks();
      await fresh.release();
    }
  });

  it('a pin that re-feeds its span over the cache goes a token at a time too when the export refuses the chunk', async () => {
    const fresh = await loadModel(dir!, { threads: 1, warmUp: false });
    try {
      const { runner, cache } = openStream(fresh, { sink: 4, window: 8, positions: 'cache', journalTokens: 0, maxChunk: 8, pinBudget: 4 });
      const ids = [...PROMPT, ...Array.from({ length: 16 }, (_, i) => 100 + i)];
      await runner.feed(PROMPT);
      for (const id of ids.slice(PROMPT.length)) await runner.feed([id]);
      const tokensPerRun: number[] = [];
      const run = fresh.session.run.bind(fresh.session);
      vi.spyOn(fresh.session, 'run').mockImplementation(async (feeds, fetches) => {
        tokensPerRun.push(feeds[fresh.io.inputIds].dims[1]);
        return run(feeds, fetches);
      });
      // Positions 4..7 left the 8-slot ring long ago: the pin feeds them again over every slot.
      expect(await runner.pin(4, 8, ids.slice(4, 8))).toBe(4);
      expect(tokensPerRun).toEqual([4, 1, 1, 1, 1]);
      expect(cache.pinned.map((p) => [p.start, p.end])).toEqual([[4, 8]]);
    } finally {
      vi.restoreAllMocks();
      await fresh.release();
    }
  });
});
