// The warm-up at load: before loadModel returns, the session has run a conversation's first pass shapes (a
// token and a short prompt over an empty past, then a step over a 128-slot compacted past) through the
// runner, then one step at every other
// past length a default stream's decode steps feed; `warmUp: false` skips it; it leaves nothing behind (a
// stream after it computes what a stream on an unwarmed model computes); a stream of another geometry
// warms only the lengths not run yet.
import { beforeAll, expect, test, vi } from 'vitest';
import { loadModel, openStream, type LoadedModel } from '../../../main/engine/loadedModel';
import type * as OnnxSession from '../../../main/engine/onnxSession';
import { DEFAULT_SAMPLING } from '../../../main/engine/sampling/samplingParams';
import { EngineHost } from '../../../main/host/engineHost';
import { ensureFixture } from '../../fixtures/llamaFixture';

/** Past lengths (dim 2 of past_key_values.0.key) of every run of every session opened, in order. */
const lengths: number[] = [];
/** The feeds of every run, as passed. */
const runFeeds: Array<Readonly<Record<string, OnnxSession.TensorData>>> = [];
// The real session seam, with each run's past length recorded on the way through.
vi.mock('../../../main/engine/onnxSession', async (importOriginal) => {
  const real = await importOriginal<typeof OnnxSession>();
  const openSession: typeof real.openSession = async (...args) => {
    const session = await real.openSession(...args);
    const run: typeof session.run = (feeds, fetches) => {
      const past = feeds['past_key_values.0.key'];
      if (past !== undefined) lengths.push(past.dims[2]);
      runFeeds.push({ ...feeds });
      return session.run(feeds, fetches);
    };
    return new Proxy(session, { get: (target, key) => (key === 'run' ? run : Reflect.get(target, key)) });
  };
  return { ...real, openSession };
});

let dir = '';
beforeAll(async () => {
  dir = (await ensureFixture('tiny')).dir;
});
/** The model and the past lengths of the runs its load made. */
async function pastLengthsDuringLoad(warmUp: boolean | undefined): Promise<{ model: LoadedModel; lengths: number[]; tokens: number[] }> {
  lengths.length = 0;
  runFeeds.length = 0;
  const model = await loadModel(dir, { threads: 1, warmUp });
  return { model, lengths: [...lengths], tokens: runFeeds.map((feeds) => feeds.input_ids.dims[1]) };
}

test('the load runs a one-token step at every past length a default stream decodes at, unless warmUp is false', async () => {
  const warm = await pastLengthsDuringLoad(undefined);
  const cold = await pastLengthsDuringLoad(false);
  try {
    // The RoPE probe's two empty-past runs either way; the warm-up adds a one-token and a 24-token pass over
    // an empty past and a 128-slot step, then (the tiny model's 2,048 positions: S = 4, W = 1020, C = 1024)
    // all C slots and the other mirror lengths, longest first.
    expect(cold.lengths).toEqual([0, 0]);
    expect(warm.lengths).toEqual([0, 0, 0, 0, 128, 1024, 512, 384, 256]);
    expect(warm.tokens).toEqual([...cold.tokens, 1, 24, 1, 1, 1, 1, 1]);

    const feed = async (model: LoadedModel) => {
      const { runner } = openStream(model, { sink: 4, window: 300, positions: 'cache', journalTokens: 0 });
      const out: number[] = [];
      for (const ids of [[5, 9, 2, 7], [11], [3]]) out.push(...(await runner.feed(ids))!);
      return out;
    };
    expect(await feed(warm.model)).toEqual(await feed(cold.model));
  } finally {
    await warm.model.release();
    await cold.model.release();
  }
});

test('a stream warms only the decode lengths its session has not run: a second stream of the same geometry none', async () => {
  const { model } = await pastLengthsDuringLoad(undefined);
  try {
    lengths.length = 0;
    // The default's mirror lengths (up to 512), another C.
    const geometry = { sink: 10, window: 1020, positions: 'cache', journalTokens: 0, maxChunk: 16 } as const;
    expect(await openStream(model, geometry).runner.warmDecodeShapes()).toBe(1);
    expect(lengths).toEqual([1030]);
    expect(await openStream(model, geometry).runner.warmDecodeShapes()).toBe(0);
    // Decode steps count too: once a step has fed all C = 1034 slots, there is nothing left to warm.
    const wider = openStream(model, { sink: 4, window: 1030, positions: 'cache', journalTokens: 0, maxChunk: 300 });
    await wider.runner.feed(Array.from({ length: 600 }, (_, i) => 3 + (i % 200)));
    await wider.runner.feed([5]);
    lengths.length = 0;
    expect(await wider.runner.warmDecodeShapes()).toBe(0);
    expect(lengths).toEqual([]);
  } finally {
    await model.release();
  }
});

test('after a reply the engine host warms, once the reply is done, the decode lengths of the stream that the load did not', async () => {
  // How many runs had been made when the reply's done event went out.
  let atDone = -1;
  const host = new EngineHost((event) => {
    if (event.type === 'done') atDone = lengths.length;
  });
  try {
    const load = await host.handle({ kind: 'request', seq: 1, verb: 'load', args: { dir, threads: 1 } });
    expect(load.ok).toBe(true);
    lengths.length = 0;
    // C = 1010: mirror lengths up to 384, which the load ran; all C slots it did not.
    const cache = { sink: 10, window: 1000, positions: 'cache' } as const;
    const options = { sampling: { ...DEFAULT_SAMPLING, seed: 1 }, maxTokens: 3 };
    const reply = await host.handle({ kind: 'request', seq: 2, verb: 'generate', args: { stream: 'chat', prompt: { kind: 'raw', text: 'Once' }, options, cache } });
    expect(reply.ok).toBe(true);
    // Queued behind the warm-up.
    await host.handle({ kind: 'request', seq: 3, verb: 'streams', args: {} });
    expect(atDone).toBeGreaterThan(0);
    expect(lengths.slice(0, atDone)).not.toContain(1010);
    expect(lengths.slice(atDone)).toEqual([1010]);
  } finally {
    await host.shutdown();
  }
});

test('decode steps feed the same past objects while the mirror keeps its length: a step allocates no past feeds', async () => {
  const model = await loadModel(dir, { threads: 1, warmUp: false });
  try {
    const { runner } = openStream(model, { sink: 4, window: 508, positions: 'cache', journalTokens: 0 });
    await runner.feed([1, 2, 3]);
    runFeeds.length = 0;
    for (let i = 0; i < 4; i++) await runner.feed([i]);
    // One past object per layer for the four steps (all at the 128-slot mirror), a new one at a new length.
    expect(runFeeds.map((f) => f['past_key_values.0.key'].dims[2])).toEqual([128, 128, 128, 128]);
    for (const name of model.io.pastKeys) expect(new Set(runFeeds.map((f) => f[name])).size).toBe(1);
    await runner.feed(Array.from({ length: 200 }, (_, i) => i));
    await runner.feed([7]);
    expect(runFeeds.at(-1)!['past_key_values.0.key'].dims[2]).toBe(256);
    expect(runFeeds.at(-1)!['past_key_values.0.key']).not.toBe(runFeeds[0]['past_key_values.0.key']);
  } finally {
    await model.release();
  }
});
