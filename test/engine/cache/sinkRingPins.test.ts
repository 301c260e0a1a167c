// Tests of the sink-ring cache's pinned memory (DESIGN §3 "Pinned memory") with the kit's fake model:
// visibility and key positions long after the pin, rebases, rewinds across and through a pin, reset and
// skipTo keeping pins, snapshots with pins bit-exact, and v1 snapshots still loading.
import { describe, expect, it } from 'vitest';
import { applyCacheDelta, type CacheView } from '../../../common/cacheView';
import { SinkRingCache, type SinkRingOptions } from '../../../main/engine/cache/sinkRingCache';
import { decodeSnapshot, encodeSnapshot } from '../../../main/engine/cache/snapshotCodec';
import { begin, commit, expectDistances, expectSameContinuation, feed, feedPin, GEOMETRY, makeCache, makeRng, randomStep, stateOf } from './cacheTestKit';

const OPTIONS: SinkRingOptions = { sink: 2, window: 8, maxPos: 40, maxChunk: 4, journalTokens: 64, pinBudget: 6 };

function fedTo(cache: SinkRingCache, pos: number, seed = 5): SinkRingCache {
  const rng = makeRng(seed);
  while (cache.nextPos < pos) feed(cache, Math.min(randomStep(cache, rng), pos - cache.nextPos));
  return cache;
}

/** Held pin slots, by position. */
function pinnedSlots(cache: SinkRingCache) {
  return cache
    .view()
    .slots.filter((s) => s.kind === 'pin' && s.pos >= 0)
    .sort((a, b) => a.pos - b.pos);
}

describe('pinned memory in the sink-ring cache', () => {
  for (const positions of ['cache', 'original'] as const) {
    it(`keeps a pinned fact visible at its designed distance after 10×W more tokens, through rebases (${positions})`, () => {
      const cache = fedTo(makeCache({ ...OPTIONS, positions }), 12);
      expect(cache.pin(6, 9)).toBe('copied');
      // Still in the window: the ring copy is the visible one.
      expect(pinnedSlots(cache).map((s) => [s.pos, s.visible])).toEqual([
        [6, false],
        [7, false],
        [8, false],
      ]);
      expect(cache.pin(2, 4)).toBe('feed');
      feedPin(cache, 2);
      const rng = makeRng(9);
      let checked = 0;
      while (cache.nextPos < 12 + 10 * OPTIONS.window) {
        const b = begin(cache, randomStep(cache, rng));
        checked += expectDistances(cache, b.P, b.fed[0]);
        // Every pinned slot is in the step's mask (each pinned position left the window by now or is in it once).
        const mask = cache.beginStep(b.n).attentionMask;
        for (const s of pinnedSlots(cache)) expect(mask[s.slot]).toBe(s.pos < Math.max(2, b.P - 8 + 1) ? 1n : 0n);
        commit(cache, b);
      }
      expect(cache.offset).toBeGreaterThan(0);
      expect(checked).toBeGreaterThan(100);
      expect(pinnedSlots(cache).map((s) => [s.pos, s.visible])).toEqual([
        [2, true],
        [3, true],
        [6, true],
        [7, true],
        [8, true],
      ]);
      expect(cache.pinned).toEqual([
        { start: 2, end: 4 },
        { start: 6, end: 9 },
      ]);
    });

    it(`snapshots with pins are bit-exact through the codec, and continue identically (${positions})`, () => {
      const cache = fedTo(makeCache({ ...OPTIONS, positions }), 30);
      expect(cache.pin(24, 27)).toBe('copied');
      expect(cache.pin(3, 5)).toBe('feed');
      feedPin(cache, 3);
      fedTo(cache, 45, 6);
      const bytes = encodeSnapshot(cache.snapshot());
      const restored = SinkRingCache.fromSnapshot(decodeSnapshot(bytes), cache.rope);
      expect(restored.snapshot()).toEqual(cache.snapshot());
      expect(stateOf(restored)).toEqual(stateOf(cache));
      expect(restored.pinned).toEqual(cache.pinned);
      expectSameContinuation(cache, restored, 8, 40);
      // The restored pin region is in use: the same span cannot be pinned twice, unpinning frees it.
      expect(() => restored.pin(24, 26)).toThrow(/overlap the pinned span 24\.\.26/);
      expect(restored.unpin(24)).toBe(true);
      expect(restored.pinnedTokens).toBe(2);
    });
  }

  it('rewinding across a pin keeps it and equals pinning at the rewind point; rewinding through it drops it', () => {
    // One token per step, so every position is a step boundary the states can be compared at.
    const stepTo = (cache: SinkRingCache, pos: number) => {
      while (cache.nextPos < pos) feed(cache, 1);
      return cache;
    };
    const direct = stepTo(makeCache(OPTIONS), 20);
    const later = stepTo(makeCache(OPTIONS), 23);
    expect(later.pin(16, 19)).toBe('copied');
    fedTo(later, 29, 8);
    expect(later.rewind(later.nextPos - 20)).toBe(true);
    expect(later.pinned).toEqual([{ start: 16, end: 19 }]);
    direct.pin(16, 19);
    expect(stateOf(later)).toEqual(stateOf(direct));

    expect(later.rewind(3)).toBe(true);
    expect(later.pinned).toEqual([]);
    expect(stateOf(later)).toEqual(stateOf(stepTo(makeCache(OPTIONS), 17)));
  });

  it('reset(keepPins) and skipTo keep the pinned rows for a re-prefill; reset() drops them', () => {
    const cache = fedTo(makeCache(OPTIONS), 30);
    expect(cache.pin(5, 9)).toBe('feed');
    feedPin(cache, 5);
    const before = pinnedSlots(cache);
    cache.unpinFrom(30);
    cache.reset(true);
    feed(cache, 2);
    cache.skipTo(22);
    fedTo(cache, 30);
    expect(pinnedSlots(cache).map(({ pos, tokenId, visible }) => ({ pos, tokenId, visible }))).toEqual(
      before.map(({ pos, tokenId, visible }) => ({ pos, tokenId, visible })),
    );
    const b = begin(cache, 1);
    expect(expectDistances(cache, b.P, b.fed[0])).toBeGreaterThan(0);
    commit(cache, b);
    cache.reset();
    expect(cache.pinned).toEqual([]);
    expect(pinnedSlots(cache)).toEqual([]);
  });

  it('a view kept by applyCacheDelta stays equal to the cache\'s own view with pins, through rebases', () => {
    for (const positions of ['cache', 'original'] as const) {
      const cache = fedTo(makeCache({ ...OPTIONS, positions }), 20);
      cache.pin(14, 17);
      expect(cache.pin(4, 6)).toBe('feed');
      feedPin(cache, 4);
      const view = cache.view();
      const rng = makeRng(3);
      while (cache.nextPos < 120) applyCacheDelta(view, feed(cache, randomStep(cache, rng)).delta);
      expect(cache.offset).toBeGreaterThan(0);
      expect(view).toEqual(cache.view());
    }
  });

  it('an unfinished pin feed blocks steps until it finishes or is unpinned', () => {
    const cache = fedTo(makeCache(OPTIONS), 30);
    expect(cache.pin(5, 9)).toBe('feed');
    expect(() => cache.beginStep(1)).toThrow(/a pinned span is being fed/);
    expect(cache.unpin(5)).toBe(true);
    feed(cache, 1);
    expect(cache.nextPos).toBe(31);
    expect(() => makeCache({ ...OPTIONS, pinBudget: 9 })).toThrow(/pin budget must be a whole number of tokens from 0 to the window \(8\), got 9/);
  });
});

/** Runs a step of n tokens and returns what it fed besides the rows: mask, positions, past length. */
function stepInputs(cache: SinkRingCache, n: number) {
  const b = begin(cache, n);
  const step = cache.beginStep(n);
  const fed = { mask: Array.from(step.attentionMask), positions: Array.from(step.positionIds), pastLength: step.pastLength };
  commit(cache, b);
  return fed;
}

describe('the pin region holds only what is pinned', () => {
  const S = OPTIONS.sink;
  const W = OPTIONS.window;
  const { layers, kvHeads, headDim } = GEOMETRY;

  it('a stream with nothing pinned feeds, holds and steps exactly like one without a pin budget', () => {
    const budgeted = makeCache(OPTIONS);
    const none = makeCache({ ...OPTIONS, pinBudget: 0 });
    const rng = makeRng(11);
    while (budgeted.nextPos < 5 * W) {
      const n = randomStep(budgeted, rng);
      const a = stepInputs(budgeted, n);
      const b = stepInputs(none, n);
      expect(a.pastLength).toBe(S + W);
      expect(a).toEqual(b);
    }
    expect(budgeted.capacity).toBe(S + W);
    expect(budgeted.kvBytes()).toBe(2 * layers * kvHeads * (S + W) * headDim * 4);
    expect(budgeted.kvBytes()).toBe(none.kvBytes());
    for (const k of budgeted.keys) expect(k.length).toBe(kvHeads * (S + W) * headDim);
    const { view: viewA, ...a } = stateOf(budgeted) as { view: CacheView };
    const { view: viewB, ...b } = stateOf(none) as { view: CacheView };
    expect(a).toEqual(b);
    expect({ ...viewA, pinBudget: 0 }).toEqual(viewB);
  });

  it('grows by a span on a pin, in start order, and shrinks back on an unpin to the state of never having pinned it', () => {
    const pinBoth = fedTo(makeCache(OPTIONS), 20);
    const pinLate = fedTo(makeCache(OPTIONS), 21);
    const never = fedTo(makeCache(OPTIONS), 21);
    expect(pinBoth.pin(14, 17)).toBe('copied');
    expect(pinBoth.capacity).toBe(S + W + 3);
    expect(stepInputs(pinBoth, 1).pastLength).toBe(S + W + 3);
    expect(pinBoth.kvBytes()).toBe(2 * layers * kvHeads * (S + W + 3) * headDim * 4);
    // A span before it takes the first pin slots: pin slots hold the spans back to back by start.
    expect(pinBoth.pin(4, 6)).toBe('feed');
    expect(pinBoth.capacity).toBe(S + W + 5);
    feedPin(pinBoth, 4);
    expect(pinnedSlots(pinBoth).map((s) => [s.slot, s.pos])).toEqual([
      [S + W, 4],
      [S + W + 1, 5],
      [S + W + 2, 14],
      [S + W + 3, 15],
      [S + W + 4, 16],
    ]);
    expect(pinLate.pin(4, 6)).toBe('feed');
    feedPin(pinLate, 4);
    fedTo(pinBoth, 33, 7);
    fedTo(pinLate, 33, 7);
    fedTo(never, 33, 7);
    // The sinks keep their rotation until the next step re-places them for the pins now visible: compare after one.
    expect(pinBoth.unpin(14)).toBe(true);
    expect(pinBoth.capacity).toBe(S + W + 2);
    for (const c of [pinBoth, pinLate, never]) feed(c, 1);
    expect(stateOf(pinBoth)).toEqual(stateOf(pinLate));
    expect(pinBoth.unpin(4)).toBe(true);
    expect(pinBoth.capacity).toBe(S + W);
    expect(pinBoth.kvBytes()).toBe(never.kvBytes());
    for (const c of [pinBoth, never]) feed(c, 1);
    expect(stateOf(pinBoth)).toEqual(stateOf(never));
    expectSameContinuation(pinBoth, never, 12, 30);
  });

  it('keeps the budget as a limit: pins past it are refused, and a restored cache takes a new budget', () => {
    const cache = fedTo(makeCache(OPTIONS), 30);
    expect(cache.pin(23, 28)).toBe('copied');
    expect(() => cache.pin(28, 30)).toThrow(/pinning 2 tokens needs more than the 1 free of the 6-token pin budget/);
    expect(cache.capacity).toBe(S + W + 5);
    expect(() => (cache.pinBudget = 4)).toThrow(/5 tokens are pinned: unpin some before lowering the pin budget to 4/);
    const restored = SinkRingCache.fromSnapshot(decodeSnapshot(encodeSnapshot(cache.snapshot())), cache.rope);
    expect(restored.pinBudget).toBe(6);
    restored.pinBudget = 8;
    expect(restored.pin(28, 30)).toBe('copied');
    expect(restored.capacity).toBe(S + W + 7);
  });
});

