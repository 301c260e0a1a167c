// The attention view's outputs against the float64 reference (DESIGN §3 "Attention view"): the reduced
// weights of the last query row equal the reference's softmax rows averaged over heads, in both position
// modes, through rebases, a prefill chunk and a compact past; rows sum to 1 and invisible slots get 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotOf, type PositionsMode } from '../../common/cacheGeometry';
import { openStream, type LoadedModel } from '../../main/engine/loadedModel';
import type { StepAttention } from '../../main/engine/runner';
import { byteTokenIds } from '../fixtures/fixturePrng';
import { loadTinyModel } from '../fixtures/fixtureSession';
import type { FixtureWeights } from '../fixtures/llamaFixture';
import { ReferenceLlama, type ReferenceContextEntry } from '../fixtures/referenceLlama';

const TOL = 1e-5;

let model: LoadedModel;
let weights: FixtureWeights;

beforeAll(async () => {
  ({ model, weights } = await loadTinyModel());
});

afterAll(async () => {
  await model?.release();
});

/**
 * Checks one pass's attention against the reference's last step: context entry k (stream index idx) sits
 * in slot slotOf(idx) as the step found it, the step's tokens at C + i; every other index is exactly 0.
 */
function expectMatches(got: StepAttention, ref: ReferenceLlama, context: readonly ReferenceContextEntry[], S: number, W: number, selfIndex: number): number {
  const C = S + W;
  const width = C + got.n;
  const L = ref.lastAttention.length;
  expect(got.layers.length).toBe(L * width);
  let worst = 0;
  for (let l = 0; l < L; l++) {
    const expected = new Float64Array(width);
    const row = ref.lastAttention[l];
    context.forEach((e, k) => {
      // Tokens of this pass sit after the C slots; earlier ones in their slot.
      const at = e.index >= selfIndex - (got.n - 1) ? C + (e.index - (selfIndex - (got.n - 1))) : slotOf(e.index, S, W);
      expected[at] = row[k];
    });
    expected[C + got.n - 1] = row[context.length];
    let sum = 0;
    for (let j = 0; j < width; j++) {
      const v = got.layers[l * width + j];
      sum += v;
      if (expected[j] === 0) expect(v, `layer ${l} index ${j} is not attended`).toBe(0);
      worst = Math.max(worst, Math.abs(v - expected[j]));
    }
    expect(Math.abs(sum - 1)).toBeLessThan(TOL);
  }
  for (let j = 0; j < width; j++) {
    let m = 0;
    for (let l = 0; l < L; l++) m += got.layers[l * width + j];
    expect(Math.abs(got.mean[j] - m / L)).toBeLessThan(1e-6);
  }
  expect(worst).toBeLessThan(TOL);
  return worst;
}

/** The attended set of decode step q: ExecuTorch's rule at original positions, or StreamingLLM's renumbering. */
function policy(positions: PositionsMode, S: number, W: number, q: number): { queryPos: number; context: ReferenceContextEntry[] } {
  const kept: number[] = [];
  for (let j = 0; j < q; j++) if (j < S || q - j < W) kept.push(j);
  return positions === 'original' ? { queryPos: q, context: kept.map((j) => ({ index: j, pos: j })) } : { queryPos: kept.length, context: kept.map((index, pos) => ({ index, pos })) };
}

describe('attention view outputs vs the float64 reference', () => {
  it('the rewrite finds every layer of the fixture', () => {
    expect(model.session.fastOutputs?.attention?.layerCount).toBe(weights.spec.layers);
  });

  for (const positions of ['cache', 'original'] as const) {
    it(`${positions} mode: decode steps over 3×C tokens with forced rebases equal the reference`, async () => {
      const S = 4;
      const W = 12;
      const maxPos = 2 * (S + W) + 1;
      const { cache, runner } = openStream(model, { sink: S, window: W, positions, maxPos, journalTokens: 64, maxChunk: 1 });
      runner.attention = true;
      const ids = byteTokenIds(3 * (S + W) + 5, 29);
      const ref = new ReferenceLlama(weights);
      let rebased = 0;
      for (let q = 0; q < ids.length; q++) {
        const before = cache.offset;
        await runner.feed([ids[q]]);
        if (cache.offset !== before) rebased++;
        const { queryPos, context } = policy(positions, S, W, q);
        ref.step(ids[q], queryPos, context);
        expectMatches(runner.lastStepAttention!, ref, context, S, W, q);
      }
      expect(rebased).toBeGreaterThan(0);
      // By slot after the step: the query's own weight sits in the slot it was written to.
      const bySlot = runner.lastSlotAttention!;
      const last = ids.length - 1;
      const step = runner.lastStepAttention!;
      expect(bySlot.mean[slotOf(last, S, W)]).toBe(step.mean[S + W]);
      expect(bySlot.mean.length).toBe(S + W);
    });
  }

  it('a prefill chunk: the last query row over a compact past, then decode steps', async () => {
    // C = 260 slots: while at most 128 are held, steps feed a compact mirror of the held prefix.
    const S = 4;
    const W = 256;
    const { runner } = openStream(model, { sink: S, window: W, positions: 'cache', journalTokens: 64, maxChunk: 32 });
    runner.attention = true;
    const ids = byteTokenIds(40, 31);
    const ref = new ReferenceLlama(weights);
    const dense = (q: number) => Array.from({ length: q }, (_, j) => ({ index: j, pos: j }));
    for (let q = 0; q < 30; q++) ref.step(ids[q], q, dense(q));
    await runner.feed(ids.slice(0, 30));
    expect(runner.lastStepAttention!.n).toBe(30);
    expectMatches(runner.lastStepAttention!, ref, dense(29), S, W, 29);
    for (let q = 30; q < ids.length; q++) {
      await runner.feed([ids[q]]);
      ref.step(ids[q], q, dense(q));
      expectMatches(runner.lastStepAttention!, ref, dense(q), S, W, q);
    }
  });

  it('closed, a step fetches no attention and keeps none', async () => {
    const { runner } = openStream(model, { sink: 4, window: 12, positions: 'cache', journalTokens: 64, maxChunk: 16 });
    await runner.feed(byteTokenIds(5, 3));
    expect(runner.lastStepAttention).toBeNull();
    runner.attention = true;
    await runner.feed([7]);
    expect(runner.lastSlotAttention).not.toBeNull();
    runner.attention = false;
    expect(runner.lastSlotAttention).toBeNull();
  });

  it('with attentionEveryMs, a step fetches only when that long has passed since the last that did; the others keep none', async () => {
    const { runner } = openStream(model, { sink: 4, window: 12, positions: 'cache', journalTokens: 64, maxChunk: 16 });
    await runner.feed(byteTokenIds(5, 3));
    runner.attention = true;
    // Longer than the test: the first step fetches, the next ones do not.
    runner.attentionEveryMs = 1e9;
    await runner.feed([7]);
    expect(runner.lastStepAttention?.n).toBe(1);
    await runner.feed([8]);
    expect(runner.lastStepAttention).toBeNull();
    expect(runner.lastSlotAttention).toBeNull();
    runner.attentionEveryMs = 0;
    await runner.feed([9]);
    expect(runner.lastSlotAttention).not.toBeNull();
  });

  it('with attentionLayers off, a step fetches only the mean over layers: the same mean, no per-layer rows', async () => {
    const spec = { sink: 4, window: 12, positions: 'cache' as const, journalTokens: 64, maxChunk: 16 };
    const all = openStream(model, spec).runner;
    const lean = openStream(model, spec).runner;
    all.attention = true;
    lean.attention = true;
    lean.attentionLayers = false;
    for (const ids of [byteTokenIds(20, 3), [7], [8]]) {
      await all.feed(ids);
      await lean.feed(ids);
      expect(lean.lastSlotAttention!.layers).toEqual([]);
      expect(lean.lastStepAttention!.layers).toHaveLength(0);
      expect(Array.from(lean.lastSlotAttention!.mean)).toEqual(Array.from(all.lastSlotAttention!.mean));
      expect(Array.from(lean.lastStepAttention!.mean)).toEqual(Array.from(all.lastStepAttention!.mean));
    }
  });
});
