// Pinned memory (DESIGN §3) against the independent float64 reference: a span pinned while the ring holds
// it (rows copied) and one pinned after it was evicted (fed again), in both position modes, with rebases.
// Runs the real onnxruntime session on the fixture model.
import { describe, expect, it } from 'vitest';
import type { PositionsMode } from '../../common/cacheGeometry';
import { openStream } from '../../main/engine/loadedModel';
import { PinError } from '../../main/engine/cache/sinkRingCache';
import { streamingNll, type TokenNll } from '../../main/engine/streamingEval';
import { maxAbsDiff } from '../fixtures/fixtureFeeds';
import { byteTokenIds } from '../fixtures/fixturePrng';
import { useFixtureModel } from '../fixtures/fixtureModel';
import { ReferenceLlama, type ReferenceContextEntry } from '../fixtures/referenceLlama';

const TOL = 1e-4;
const S = 4;
const W = 12;

const fixture = useFixtureModel();

/** A pin taken before the token at stream position `at` is fed. */
interface PinEvent {
  readonly at: number;
  readonly start: number;
  readonly end: number;
}

/**
 * The design's semantics, written out independently of the cache: per decode query q the context is the
 * sinks, the window, and the pinned tokens whose position lies before the window (each token seen once).
 * A span pinned while the ring still holds all of it keeps the rows computed in the stream; any other is
 * processed again, attending to the sinks and the tokens pinned before it (by position) laid out from 0,
 * itself right after them. Cache mode places the sinks and visible pinned tokens (by position) right before
 * the window; original mode keeps every key at its original position.
 */
function referenceLogits(ids: readonly number[], pins: readonly PinEvent[], positions: PositionsMode): Float64Array[] {
  const ref = new ReferenceLlama(fixture.weights);
  /** Stream position -> reference index of the rows a pinned token uses now. */
  const pinnedIndex = new Map<number, number>();
  const streamIndex: number[] = [];
  const out: Float64Array[] = [];
  const sortedPinned = () => [...pinnedIndex.keys()].sort((a, b) => a - b);
  for (let q = 0; q < ids.length; q++) {
    for (const e of pins.filter((p) => p.at === q)) {
      const inRing = e.start > q - 1 - W;
      if (inRing) {
        for (let p = e.start; p < e.end; p++) pinnedIndex.set(p, streamIndex[p]);
        continue;
      }
      const before = sortedPinned().filter((p) => p < e.start);
      const context: ReferenceContextEntry[] = [
        ...Array.from({ length: S }, (_, i) => ({ index: streamIndex[i], pos: i })),
        ...before.map((p, r) => ({ index: pinnedIndex.get(p)!, pos: S + r })),
      ];
      for (let p = e.start; p < e.end; p++) {
        const pos = S + before.length + (p - e.start);
        const index = ref.length;
        ref.step(ids[p], pos, context);
        context.push({ index, pos });
        pinnedIndex.set(p, index);
      }
    }
    const fv = Math.max(S, q - W + 1);
    const visiblePins = sortedPinned().filter((p) => p < fv);
    const A = S + visiblePins.length;
    const context: ReferenceContextEntry[] = [];
    for (let i = 0; i < Math.min(S, q); i++) context.push({ index: streamIndex[i], pos: positions === 'cache' ? fv - A + i : i });
    visiblePins.forEach((p, r) => context.push({ index: pinnedIndex.get(p)!, pos: positions === 'cache' ? fv - A + S + r : p }));
    for (let j = Math.max(S, q - W + 1); j < q; j++) context.push({ index: streamIndex[j], pos: j });
    streamIndex.push(ref.length);
    out.push(ref.step(ids[q], q, context));
  }
  return out;
}

async function run(positions: PositionsMode, ids: readonly number[], pins: readonly PinEvent[], maxPos?: number) {
  const e = openStream(fixture.model, { sink: S, window: W, positions, maxPos, journalTokens: 64, maxChunk: 4, pinBudget: W });
  const logits: Float32Array[] = [];
  let refed = 0;
  for (let q = 0; q < ids.length; q++) {
    for (const p of pins.filter((x) => x.at === q)) refed += (await e.runner.pin(p.start, p.end, ids.slice(p.start, p.end)))!;
    logits.push(Float32Array.from((await e.runner.feed([ids[q]]))!));
  }
  return { ...e, logits, refed };
}

describe('pinned memory vs the float64 reference', () => {
  // Span A is pinned while in the ring (copied); span B, earlier in the stream, after it left (fed again,
  // 6 tokens in chunks of 4 and 2); B ranks before A in the region.
  const ids = byteTokenIds(12 * W, 41);
  const pins: PinEvent[] = [
    { at: 30, start: 22, end: 27 },
    { at: 60, start: 6, end: 12 },
  ];

  for (const positions of ['cache', 'original'] as const) {
    it(`equals the reference with a copied and a re-fed pin, through forced rebases (${positions})`, async () => {
      const maxPos = 3 * (S + W) + 1;
      const e = await run(positions, ids, pins, maxPos);
      expect(e.cache.offset).toBeGreaterThan(0);
      expect(e.refed).toBe(6);
      expect(e.cache.pinned).toEqual([
        { start: 6, end: 12 },
        { start: 22, end: 27 },
      ]);
      const expected = referenceLogits(ids, pins, positions);
      let worst = 0;
      e.logits.forEach((row, q) => {
        const d = maxAbsDiff(row, expected[q]);
        if (d > TOL) throw new Error(`${positions} step ${q}: logits differ by ${d}`);
        worst = Math.max(worst, d);
      });
      // The pins matter: without them the stream differs from this reference once they are visible.
      const plain = await run(positions, ids, [], maxPos);
      expect(maxAbsDiff(plain.logits[ids.length - 1], expected[ids.length - 1])).toBeGreaterThan(1e-3);
    });
  }

  it('counts nothing re-processed for a copy, refuses overlaps and budgets with the numbers, and unpins', async () => {
    const e = openStream(fixture.model, { sink: S, window: W, positions: 'cache', maxChunk: 4, pinBudget: 8 });
    await e.runner.feed(ids.slice(0, 20));
    expect(await e.runner.pin(10, 14, ids.slice(10, 14))).toBe(0);
    await expect(e.runner.pin(12, 16, ids.slice(12, 16))).rejects.toThrow(/overlap the pinned span 10\.\.13/);
    await expect(e.runner.pin(4, 9, ids.slice(4, 9))).rejects.toThrow(/needs more than the 4 free of the 8-token pin budget/);
    await expect(e.runner.pin(2, 5, ids.slice(2, 5))).rejects.toThrow(PinError);
    expect(e.cache.unpin(10)).toBe(true);
    expect(e.cache.pinnedTokens).toBe(0);
    expect(e.cache.view().slots.filter((s) => s.kind === 'pin' && s.pos >= 0)).toEqual([]);
  });

  it('streaming perplexity with a pinned span equals the plain stream until the span leaves the window, then differs', async () => {
    const text = byteTokenIds(8 * W, 43);
    const collect = async (pin?: { start: number; end: number }) => {
      const out: TokenNll[] = [];
      for await (const x of streamingNll(fixture.model, text, { sink: S, window: W, positions: 'cache', pin })) out.push(x);
      return out;
    };
    const plain = await collect();
    const pinned = await collect({ start: 6, end: 10 });
    // Query t first sees pinned position 6 once t - W + 1 > 6; the token it scores is t + 1.
    const firstChanged = 6 + W + 1;
    // (Equal up to float rounding: the pinned stream's past has 4 more, masked, slots.)
    const diff = (x: TokenNll, i: number) => Math.abs(x.nll - plain[i].nll);
    expect(pinned.map((x, i) => [x.pos, plain[i].pos])).toEqual(plain.map((x) => [x.pos, x.pos]));
    expect(Math.max(...pinned.slice(0, firstChanged - 1).map(diff))).toBeLessThan(1e-5);
    expect(diff(pinned[firstChanged - 1], firstChanged - 1)).toBeGreaterThan(1e-3);
    await expect(collect({ start: 6, end: 10 + W })).rejects.toThrow(/pin budget must be a whole number of tokens from 0 to the window/);
  });
});
