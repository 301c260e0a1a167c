// Tests of the sink-ring cache's undo journal (rewind), skipTo and reset (DESIGN §3 "Rewind"): exact
// restores compared bit for bit with deep copies taken earlier.
import { describe, expect, it } from 'vitest';
import { begin, commit, expectDistances, feed, makeCache, makeRng, randomStep, stateOf } from './cacheTestKit';

describe('rewind', () => {
  for (const positions of ['cache', 'original'] as const) {
    it(`restores the exact earlier state for any count the journal covers (${positions})`, () => {
      const cache = makeCache({ sink: 3, window: 5, positions, maxPos: 100_000, journalTokens: 24 });
      const rng = makeRng(positions === 'cache' ? 31 : 32);
      const states = new Map<number, unknown>([[0, stateOf(cache)]]);
      let rewinds = 0;
      let furthest = 0;
      let evictionsUndone = 0;
      for (let s = 0; s < 400; s++) {
        const boundaries = [...states.keys()].filter((b) => b < cache.nextPos && cache.nextPos - b <= cache.rewindable);
        if (boundaries.length > 0 && rng() < 0.25) {
          const b = boundaries[Math.floor(rng() * boundaries.length)];
          const evicted = cache.evicted;
          expect(cache.rewind(cache.nextPos - b)).toBe(true);
          evictionsUndone += evicted - cache.evicted;
          expect(stateOf(cache)).toEqual(states.get(b));
          for (const k of states.keys()) if (k > b) states.delete(k);
          rewinds++;
        } else {
          feed(cache, randomStep(cache, rng));
          states.set(cache.nextPos, stateOf(cache));
          furthest = Math.max(furthest, cache.nextPos);
        }
      }
      expect(rewinds).toBeGreaterThan(50);
      expect(furthest).toBeGreaterThan(3 * cache.capacity);
      expect(evictionsUndone).toBeGreaterThan(50);
    });
  }

  it('rewinds into the sinks, emptying them', () => {
    const cache = makeCache({ sink: 4, window: 6, maxPos: 1000 });
    feed(cache, 2);
    const atTwo = stateOf(cache);
    feed(cache, 2);
    feed(cache, 3);
    expect(cache.rewind(5)).toBe(true);
    expect(stateOf(cache)).toEqual(atTwo);
    expect(Array.from(cache.slotPos.subarray(0, 4))).toEqual([0, 1, -1, -1]);
    expect(cache.ringWriteLimit()).toBe(8);
  });

  it('undoes a step begun but not committed', () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 1000 });
    for (let i = 0; i < 9; i++) feed(cache, 1);
    const atNine = stateOf(cache);
    feed(cache, 1);
    begin(cache, 1); // re-rotates the sinks for position 10
    expect(cache.rewind(1)).toBe(true);
    expect(stateOf(cache)).toEqual(atNine);
  });

  it('returns false and changes nothing beyond the journal', () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 1000, journalTokens: 10 });
    const states: unknown[] = [stateOf(cache)];
    for (let i = 0; i < 30; i++) {
      feed(cache, 1);
      states.push(stateOf(cache));
    }
    expect(cache.rewindable).toBe(10);
    expect(cache.rewind(11)).toBe(false);
    expect(stateOf(cache)).toEqual(states[30]);
    expect(cache.rewind(0)).toBe(true);
    expect(() => cache.rewind(-1)).toThrow(RangeError);
    expect(cache.rewind(10)).toBe(true);
    expect(stateOf(cache)).toEqual(states[20]);
    expect(cache.rewind(1)).toBe(false);

    const none = makeCache({ sink: 2, window: 4, maxPos: 1000, journalTokens: 0 });
    feed(none, 3);
    expect(none.rewind(1)).toBe(false);
    expect(none.journalBytes()).toBe(0);
  });

  it('grows the journal lazily', () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 100_000, journalTokens: 4096 });
    feed(cache, 2);
    feed(cache, 4);
    expect(cache.journalBytes()).toBe(0); // no slot overwritten yet
    for (let i = 0; i < 100; i++) feed(cache, 1);
    const rowBytes = 2 * 2 * 8 * 4 * 2; // layers * heads * dim * 4 bytes * (K and V)
    expect(cache.journalBytes()).toBeGreaterThan(0);
    expect(cache.journalBytes()).toBeLessThan(4096 * rowBytes);
    expect(cache.journalBytes()).toBeLessThanOrEqual(128 * rowBytes);
  });

  it('returns false across a rebase (the journal is cleared), and works after it', () => {
    const cache = makeCache({ sink: 2, window: 6, maxPos: 12, maxChunk: 3, journalTokens: 100 });
    let since = 0;
    for (;;) {
      const offset = cache.offset;
      feed(cache, 2);
      since = cache.offset === offset ? since + 2 : 2;
      if (cache.offset !== offset && cache.nextPos > 20) break;
    }
    expect(cache.rewindable).toBe(since);
    const afterRebase = stateOf(cache);
    feed(cache, 1);
    const before = stateOf(cache);
    expect(cache.rewind(since + 2)).toBe(false);
    expect(stateOf(cache)).toEqual(before);
    expect(cache.rewind(1)).toBe(true);
    expect(stateOf(cache)).toEqual(afterRebase);
  });
});

describe('skipTo and reset', () => {
  it('empties everything but the sinks and counts skipped positions as evicted', () => {
    const cache = makeCache({ sink: 3, window: 5, maxPos: 1000 });
    for (let i = 0; i < 10; i++) feed(cache, 5);
    cache.skipTo(30);
    expect(Array.from(cache.slotPos)).toEqual([0, 1, 2, -1, -1, -1, -1, -1]);
    expect(Array.from(cache.slotToken.subarray(3))).toEqual(Array(5).fill(-1));
    expect(cache.nextPos).toBe(30);
    expect(cache.evicted).toBe(27);
    expect(cache.rewindable).toBe(0);
    expect(cache.view().slots.map((s) => s.visible)).toEqual([true, true, true, false, false, false, false, false]);
    const ring = (c: typeof cache) => c.keys[0].subarray(3 * 8, 8 * 8);
    expect(Array.from(ring(cache))).toEqual(Array(40).fill(0));

    // Re-prefilling the last W tokens gives exactly the cache that ran straight through.
    feed(cache, 5);
    const straight = makeCache({ sink: 3, window: 5, maxPos: 1000 });
    for (let i = 0; i < 7; i++) feed(straight, 5);
    expect(stateOf(cache)).toEqual(stateOf(straight));
  });

  it('empties sinks at or past the target and lowers the offset so fed positions stay valid', () => {
    const S = 2;
    const W = 6;
    const cache = makeCache({ sink: S, window: W, maxPos: 12, maxChunk: 3 });
    while (cache.nextPos < 100) feed(cache, 3);
    expect(cache.offset).toBeGreaterThan(10);
    cache.skipTo(S + 3);
    expect(cache.offset).toBe(0);
    const b = begin(cache, 3);
    expect(b.fed).toEqual([5, 6, 7]);
    expectDistances(cache, b.P, b.fed[0]);
    commit(cache, b);
    const fresh = makeCache({ sink: S, window: W, maxPos: 12, maxChunk: 3 });
    feed(fresh, 2);
    fresh.skipTo(5);
    feed(fresh, 3);
    expect(stateOf(cache)).toEqual(stateOf(fresh));

    cache.skipTo(1);
    expect(Array.from(cache.slotPos)).toEqual([0, -1, -1, -1, -1, -1, -1, -1]);
    expect(cache.evicted).toBe(0);
    expect(cache.ringWriteLimit()).toBe(W + 1);
  });

  it('reset returns to the state of a new cache', () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 12, maxChunk: 3 });
    while (cache.nextPos < 50) feed(cache, 3);
    cache.reset();
    expect(stateOf(cache)).toEqual(stateOf(makeCache({ sink: 2, window: 4, maxPos: 12, maxChunk: 3 })));
    expect(cache.rewindable).toBe(0);
  });
});
