// Tests of the sink-ring cache's positions (DESIGN §3): sink re-rotation in cache mode without drift,
// original positions, and rebasing, checked against float64 RoPE recomputed from each token's raw key.
import { describe, expect, it } from 'vitest';
import { rotateHeadRow } from '../../../main/engine/rope';
import {
  GEOMETRY,
  begin,
  commit,
  expectDistances,
  feed,
  keyRow,
  makeCache,
  makeRng,
  makeRope,
  maxDiff,
  modelKey,
  randomStep,
  rotateRef,
} from './cacheTestKit';

const rope = makeRope();

describe('cache positions mode', () => {
  it('places sink i at firstVisible - S + i, rotated from its pristine key by the exact delta', () => {
    const S = 4;
    const W = 8;
    const cache = makeCache({ sink: S, window: W, maxPos: 10_000 });
    for (let s = 0; s < 40; s++) {
      const b = begin(cache, 1);
      const { P } = b;
      const firstVisible = Math.max(S, P - W + 1);
      for (let i = 0; i < Math.min(S, P); i++) {
        for (let l = 0; l < GEOMETRY.layers; l++) {
          for (let h = 0; h < GEOMETRY.kvHeads; h++) {
            const pristine = modelKey(i, l, h, i, rope);
            const target = firstVisible - S + i;
            const expected = rotateRef(pristine, rope, target - i);
            expect(maxDiff(keyRow(cache, l, h, i), expected)).toBeLessThan(1e-6);
          }
        }
      }
      const delta = commit(cache, b);
      const next = Math.max(S, cache.nextPos - W + 1);
      expect(delta.sinkRopeShift).toBe(next - S);
      const view = cache.view();
      for (let i = 0; i < Math.min(S, cache.nextPos); i++) expect(view.slots[i].ropePos).toBe(next - S + i);
    }
  });

  it('does not drift: after 10,000 steps a sink key equals a one-shot rotation of its pristine key bit for bit', () => {
    const S = 2;
    const W = 16;
    const cache = makeCache({ sink: S, window: W, maxPos: 20_000, journalTokens: 64 });
    while (cache.nextPos < 10_000) feed(cache, 1);
    begin(cache, 1);
    const target = cache.nextPos - W + 1 - S;
    let incrementalDiffers = false;
    for (let i = 0; i < S; i++) {
      for (let l = 0; l < GEOMETRY.layers; l++) {
        for (let h = 0; h < GEOMETRY.kvHeads; h++) {
          const oneShot = modelKey(i, l, h, i, rope);
          rotateHeadRow(oneShot, 0, rope, target);
          expect(Array.from(keyRow(cache, l, h, i))).toEqual(Array.from(oneShot));
          // What rotating the rotated key each step would give: it differs, so the check above has teeth.
          const drifting = modelKey(i, l, h, i, rope);
          for (let k = 0; k < target; k++) rotateHeadRow(drifting, 0, rope, 1);
          if (maxDiff(drifting, oneShot) > 0) incrementalDiffers = true;
        }
      }
    }
    expect(incrementalDiffers).toBe(true);
    expect(cache.offset).toBe(0);
  });
});

describe('original positions mode', () => {
  it('feeds original positions minus the offset and keeps every key rotation', () => {
    const cache = makeCache({ sink: 2, window: 6, positions: 'original', maxPos: 16, maxChunk: 4 });
    const rng = makeRng(5);
    let sawOffset = false;
    while (cache.nextPos < 200) {
      const n = randomStep(cache, rng);
      const b = begin(cache, n);
      expect(b.fed).toEqual(Array.from({ length: n }, (_, i) => b.P + i - cache.offset));
      expectDistances(cache, b.P, b.fed[0]);
      commit(cache, b);
      sawOffset ||= cache.offset > 0;
      const view = cache.view();
      expect(view.slots[0].ropePos).toBe(0 - cache.offset);
      expect(view.slots[1].ropePos).toBe(1 - cache.offset);
    }
    expect(sawOffset).toBe(true);
  });

  it('without a RoPE spec refuses to pass maxPos and leaves the cache as it was', () => {
    const cache = makeCache({ sink: 2, window: 4, positions: 'original', maxPos: 12, maxChunk: 4 }, null);
    while (cache.nextPos < 12) feed(cache, 1, null);
    const before = cache.snapshot();
    expect(() => cache.beginStep(1)).toThrow(/limit of 12.*cannot rebase/);
    expect(cache.snapshot()).toEqual(before);
  });
});

describe('rebase', () => {
  for (const positions of ['cache', 'original'] as const) {
    it(`keeps positions below a small maxPos for 20x maxPos tokens with distances unchanged (${positions})`, () => {
      const S = 2;
      const W = 6;
      const maxChunk = 3;
      const maxPos = S + W + maxChunk + 1;
      const cache = makeCache({ sink: S, window: W, positions, maxPos, maxChunk });
      const rng = makeRng(positions === 'cache' ? 21 : 22);
      let rebases = 0;
      let checked = 0;
      while (cache.nextPos < 20 * maxPos) {
        const offsetBefore = cache.offset;
        const b = begin(cache, randomStep(cache, rng));
        for (const p of b.fed) {
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThan(maxPos);
        }
        if (cache.offset !== offsetBefore) {
          rebases++;
          expect(cache.offset).toBe(Math.max(S, b.P - W + 1) - S);
          expect(b.fed[b.n - 1]).toBeLessThanOrEqual(S + W + b.n - 2);
        }
        checked += expectDistances(cache, b.P, b.fed[0]);
        const delta = commit(cache, b);
        expect(delta.rebased).toBe(cache.offset !== offsetBefore);
      }
      expect(rebases).toBeGreaterThan(15);
      expect(checked).toBeGreaterThan(1000);
    });
  }

  it('rotates each cached ring key by minus the offset change', () => {
    const S = 2;
    const W = 6;
    const cache = makeCache({ sink: S, window: W, maxPos: 14, maxChunk: 4 });
    while (cache.nextPos + 1 - cache.offset < 14) feed(cache, 1);
    const slot = cache.slotOf(cache.nextPos - 1);
    const before = keyRow(cache, 1, 1, slot);
    const offsetBefore = cache.offset;
    begin(cache, 2);
    const delta = cache.offset - offsetBefore;
    expect(delta).toBeGreaterThan(0);
    const expected = rotateRef(before, rope, -delta);
    const after = keyRow(cache, 1, 1, slot);
    expect(maxDiff(after, expected)).toBeLessThan(1e-6);
    expect(maxDiff(after, before)).toBeGreaterThan(1e-3);
  });
});
