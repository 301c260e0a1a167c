// The sink-ring engine against the independent float64 reference (DESIGN §3): dense equivalence within
// the capacity, ExecuTorch's mask rule in `original` mode, StreamingLLM's positions in `cache` mode,
// rebasing, chunking. Runs the real onnxruntime session on the fixture model.
import type { PositionsMode } from '../../common/cacheGeometry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SinkRingCache } from '../../main/engine/cache/sinkRingCache';
import { loadModel, openStream, type LoadedModel } from '../../main/engine/loadedModel';
import type { Runner } from '../../main/engine/runner';
import { maxAbsDiff } from '../fixtures/fixtureFeeds';
import { ensureFixture, type FixtureWeights } from '../fixtures/llamaFixture';
import { ReferenceLlama, type ReferenceContextEntry } from '../fixtures/referenceLlama';
import { byteTokenIds } from '../fixtures/fixturePrng';

const TOL = 1e-4;

interface Engine {
  readonly cache: SinkRingCache;
  readonly runner: Runner;
}

let model: LoadedModel;
let weights: FixtureWeights;

beforeAll(async () => {
  const fixture = await ensureFixture('tiny');
  weights = fixture.weights;
  model = await loadModel(fixture.dir, { threads: 1 });
});

afterAll(async () => {
  await model?.release();
});

function engine(sink: number, window: number, positions: PositionsMode, opts: { maxPos?: number; chunk?: number } = {}): Engine {
  return openStream(model, { sink, window, positions, maxPos: opts.maxPos, journalTokens: 256, maxChunk: opts.chunk ?? sink + window });
}

/** Feeds one token at a time, returning a copy of the logits after each. */
async function decodeEach(e: Engine, ids: readonly number[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const id of ids) out.push(Float32Array.from((await e.runner.feed([id]))!));
  return out;
}

/** Reference logits for a stream in which token q attends to `policy(q)` with its query at `queryPos(q)`. */
function referenceStream(
  ids: readonly number[],
  policy: (q: number) => { queryPos: number; context: ReferenceContextEntry[] },
): Float64Array[] {
  const ref = new ReferenceLlama(weights);
  return ids.map((id, q) => {
    const { queryPos, context } = policy(q);
    return ref.step(id, queryPos, context);
  });
}

/** ExecuTorch's decode rule: sinks and the W most recent tokens including the query, at original positions. */
function executorchPolicy(S: number, W: number) {
  return (q: number) => {
    const context: ReferenceContextEntry[] = [];
    for (let j = 0; j < q; j++) if (j < S || q - j < W) context.push({ index: j, pos: j });
    return { queryPos: q, context };
  };
}

/** StreamingLLM's "positions within the cache": the attended keys renumbered 0.. in cache order, the query next. */
function streamingLlmPolicy(S: number, W: number) {
  return (q: number) => {
    const kept: number[] = [];
    for (let j = 0; j < q; j++) if (j < S || q - j < W) kept.push(j);
    return { queryPos: kept.length, context: kept.map((index, pos) => ({ index, pos })) };
  };
}

function expectClose(actual: readonly Float32Array[], expected: readonly Float64Array[]): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  actual.forEach((row, i) => {
    const d = maxAbsDiff(row, expected[i]);
    worst = Math.max(worst, d);
    if (d > TOL) throw new Error(`step ${i}: logits differ by ${d}`);
  });
  return worst;
}

describe('sink-ring engine vs the float64 reference', () => {
  it('(a) equals dense attention up to C tokens, token by token and in one chunk', async () => {
    const S = 4;
    const W = 28;
    const ids = byteTokenIds(S + W);
    const dense = referenceStream(ids, (q) => ({ queryPos: q, context: ids.slice(0, q).map((_, j) => ({ index: j, pos: j })) }));
    for (const positions of ['cache', 'original'] as const) {
      expectClose(await decodeEach(engine(S, W, positions), ids), dense);
      const chunked = engine(S, W, positions);
      const last = await chunked.runner.feed(ids);
      expect(maxAbsDiff(last!, dense[dense.length - 1])).toBeLessThan(TOL);
    }
  });

  it('(b) decoding 3×C tokens in original mode equals ExecuTorch’s mask rule', async () => {
    const S = 4;
    const W = 12;
    const ids = byteTokenIds(3 * (S + W), 11);
    const e = engine(S, W, 'original');
    const worst = expectClose(await decodeEach(e, ids), referenceStream(ids, executorchPolicy(S, W)));
    expect(worst).toBeLessThan(TOL);
    expect(e.cache.evicted).toBe(ids.length - (S + W));
  });

  it('(c) cache mode equals StreamingLLM’s positions within the cache', async () => {
    const S = 4;
    const W = 12;
    const ids = byteTokenIds(3 * (S + W), 13);
    const expected = referenceStream(ids, streamingLlmPolicy(S, W));
    expectClose(await decodeEach(engine(S, W, 'cache'), ids), expected);
    // The oracle distinguishes the modes: original mode differs from it once the window has wrapped.
    const original = await decodeEach(engine(S, W, 'original'), ids);
    expect(maxAbsDiff(original[ids.length - 1], expected[ids.length - 1])).toBeGreaterThan(1e-3);
  });

  it('(c) cache mode with chunked prefill equals the reference with the chunk-start window', async () => {
    const S = 4;
    const W = 12;
    const ids = byteTokenIds(5 * (S + W), 17);
    const chunk = 5;
    const e = engine(S, W, 'cache', { chunk });
    const got: Float32Array[] = [];
    for (let at = 0; at < ids.length; ) {
      const n = Math.min(chunk, ids.length - at, e.cache.ringWriteLimit());
      got.push(Float32Array.from((await e.runner.feed(ids.slice(at, at + n)))!));
      at += n;
    }
    // DESIGN §3: query i of a chunk starting at P sees the sinks, the window of P, and chunk tokens 0..i.
    const ref = new ReferenceLlama(weights);
    const expected: Float64Array[] = [];
    for (let P = 0; P < ids.length; ) {
      const n = Math.min(chunk, ids.length - P, P < S ? S + W - P : W);
      const kept: number[] = [];
      for (let j = 0; j < P; j++) if (j < S || P - j < W) kept.push(j);
      // Sinks sit right before the oldest visible window token; window tokens keep original positions.
      const firstVisible = Math.max(S, P - W + 1);
      const posOf = (j: number) => (j < S ? firstVisible - S + j : j);
      let logits!: Float64Array;
      for (let i = 0; i < n; i++) {
        const q = P + i;
        const context = [...kept, ...Array.from({ length: i }, (_, k) => P + k)].map((j) => ({ index: j, pos: posOf(j) }));
        logits = ref.step(ids[q], q, context);
      }
      expected.push(logits);
      P += n;
    }
    expectClose(got, expected);
  });

  it('(d) rebasing forced at a small bound changes nothing, in both modes', async () => {
    const S = 4;
    const W = 12;
    const ids = byteTokenIds(6 * (S + W), 19);
    const maxPos = 2 * (S + W) + 1;
    for (const [positions, policy] of [
      ['cache', streamingLlmPolicy(S, W)],
      ['original', executorchPolicy(S, W)],
    ] as const) {
      const e = engine(S, W, positions, { maxPos, chunk: 1 });
      const got = await decodeEach(e, ids);
      expect(e.cache.offset).toBeGreaterThan(0);
      expectClose(got, referenceStream(ids, policy));
    }
  });

  it('rebases keep every position fed to the model below the bound', async () => {
    const S = 4;
    const W = 12;
    const maxPos = 2 * (S + W) + 1;
    const e = engine(S, W, 'cache', { maxPos, chunk: 1 });
    const seen: number[] = [];
    const begin = e.cache.beginStep.bind(e.cache);
    e.cache.beginStep = (n: number) => {
      const step = begin(n);
      seen.push(...Array.from(step.positionIds, Number));
      return step;
    };
    await decodeEach(e, byteTokenIds(10 * maxPos, 23));
    expect(Math.max(...seen)).toBeLessThan(maxPos);
  });

  it('feeding a second turn after the first equals feeding both at once while within the window', async () => {
    const ids = byteTokenIds(40, 29);
    const split = engine(4, 60, 'cache');
    await split.runner.feed(ids.slice(0, 25));
    const afterTwo = Float32Array.from((await split.runner.feed(ids.slice(25)))!);
    const whole = engine(4, 60, 'cache');
    const atOnce = (await whole.runner.feed(ids))!;
    expect(maxAbsDiff(afterTwo, atOnce)).toBeLessThan(TOL);
  });
});
