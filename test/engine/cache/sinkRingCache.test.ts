// Tests of the sink-ring cache's layout, bookkeeping, mask, step limits and views (DESIGN §3), with a
// fake model from the kit; no ONNX model needed.
import { slotOf } from '../../../common/cacheGeometry';
import { describe, expect, it } from 'vitest';
import { CacheConfigError } from '../../../main/engine/cache/cacheConfig';
import { applyCacheDelta } from '../../../common/cacheView';
import type { SinkRingCache } from '../../../main/engine/cache/sinkRingCache';
import {
  GEOMETRY,
  PAST_SENTINEL,
  begin,
  currentMask,
  fakePresents,
  feed,
  makeCache,
  makeRng,
  makeRope,
  maskFormula,
  randomStep,
  rawValue,
  tokenAt,
} from './cacheTestKit';

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe('SinkRingCache layout and bookkeeping', () => {
  it('puts sinks in fixed slots and the window from slot S, wrapping around', () => {
    const cache = makeCache({ sink: 4, window: 8, maxPos: 1000 });
    expect(cache.capacity).toBe(12);
    expect(cache.keys).toHaveLength(GEOMETRY.layers);
    expect(cache.keys[0]).toHaveLength(GEOMETRY.kvHeads * 12 * GEOMETRY.headDim);
    expect(cache.kvBytes()).toBe(2 * GEOMETRY.layers * GEOMETRY.kvHeads * 12 * GEOMETRY.headDim * 4);
    expect(Array.from(cache.slotPos)).toEqual(Array(12).fill(-1));

    for (let i = 0; i < 6; i++) feed(cache, 1);
    expect(Array.from(cache.slotPos)).toEqual([0, 1, 2, 3, 4, 5, -1, -1, -1, -1, -1, -1]);
    feed(cache, 6); // fills the ring exactly: positions 6..11
    expect(Array.from(cache.slotPos)).toEqual(range(0, 12));
    expect(cache.evicted).toBe(0);
    feed(cache, 3); // positions 12..14 wrap onto slots 4..6
    expect(Array.from(cache.slotPos)).toEqual([0, 1, 2, 3, 12, 13, 14, 7, 8, 9, 10, 11]);
    expect(Array.from(cache.slotToken)).toEqual([0, 1, 2, 3, 12, 13, 14, 7, 8, 9, 10, 11].map(tokenAt));
    expect(cache.evicted).toBe(3);
    expect(cache.nextPos).toBe(15);
  });

  it('never touches the sinks after many wraps', () => {
    const cache = makeCache({ sink: 3, window: 5, positions: 'original', maxPos: 100_000 });
    feed(cache, 3);
    const sinkRows = (c: SinkRingCache) =>
      c.keys.flatMap((k, l) =>
        range(0, GEOMETRY.kvHeads).flatMap((h) => [
          ...k.subarray((h * 8) * 8, (h * 8 + 3) * 8),
          ...c.values[l].subarray((h * 8) * 8, (h * 8 + 3) * 8),
        ]),
      );
    const before = sinkRows(cache);
    const rng = makeRng(1);
    while (cache.nextPos < 500) feed(cache, randomStep(cache, rng));
    expect(sinkRows(cache)).toEqual(before);
    expect(Array.from(cache.slotPos.subarray(0, 3))).toEqual([0, 1, 2]);
    expect(cache.evicted).toBe(cache.nextPos - 8);
  });

  it('copies exactly rows C+i of every present into slot(P+i) for every layer and head', () => {
    const cache = makeCache({ sink: 2, window: 5, positions: 'original', maxPos: 1000 });
    const { layers, kvHeads, headDim: D } = GEOMETRY;
    const C = cache.capacity;
    const rng = makeRng(7);
    for (let step = 0; step < 40; step++) {
      const P = cache.nextPos;
      const n = randomStep(cache, rng);
      const keysBefore = cache.keys.map((k) => k.slice());
      const valuesBefore = cache.values.map((v) => v.slice());
      cache.beginStep(n);
      const pk = range(0, layers).map(() => Float32Array.from({ length: kvHeads * (C + n) * D }, () => rng()));
      const pv = range(0, layers).map(() => Float32Array.from({ length: kvHeads * (C + n) * D }, () => rng()));
      cache.commitStep(range(0, n), pk, pv);
      const written = new Map(range(0, n).map((i) => [slotOf(P + i, 2, 5), i]));
      for (let l = 0; l < layers; l++) {
        for (let h = 0; h < kvHeads; h++) {
          for (let j = 0; j < C; j++) {
            const at = (h * C + j) * D;
            const i = written.get(j);
            const from = i === undefined ? -1 : (h * (C + n) + C + i) * D;
            for (let d = 0; d < D; d++) {
              expect(cache.values[l][at + d]).toBe(i === undefined ? valuesBefore[l][at + d] : pv[l][from + d]);
              expect(cache.keys[l][at + d]).toBe(i === undefined ? keysBefore[l][at + d] : pk[l][from + d]);
            }
          }
        }
      }
    }
  });

  it('never copies the past rows of a present', () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 1000 });
    for (let i = 0; i < 10; i++) feed(cache, 1 + (i % 3));
    expect(cache.keys.some((k) => k.includes(PAST_SENTINEL))).toBe(false);
    expect(cache.values.some((v) => v.includes(PAST_SENTINEL))).toBe(false);
    expect(cache.values[1][(1 * 6 + 0) * 8 + 3]).toBe(rawValue(0, 1, 1, 3));
  });

  it('degenerates to a plain ring with S = 0', () => {
    const cache = makeCache({ sink: 0, window: 4, maxPos: 1000 });
    expect(cache.ringWriteLimit()).toBe(4);
    feed(cache, 4);
    feed(cache, 2);
    expect(Array.from(cache.slotPos)).toEqual([4, 5, 2, 3]);
    expect(cache.evicted).toBe(2);
    // Next query at 6 sees 3, 4, 5 and itself; 2 (slot 2) is about to be overwritten.
    expect(currentMask(cache)).toEqual([1, 1, 0, 1]);
    expect(Array.from(cache.beginStep(1).positionIds, Number)).toEqual([6]);
  });
});

describe('SinkRingCache mask', () => {
  it('attends to the sinks and hides future, empty and about-to-be-overwritten slots', () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 1000 });
    let step = cache.beginStep(1);
    expect(Array.from(step.attentionMask, Number)).toEqual([0, 0, 0, 0, 0, 0, 1]);
    cache.commitStep([5], ...presents(cache, 1));
    feed(cache, 2); // positions 1, 2
    step = cache.beginStep(1);
    expect(Array.from(step.attentionMask, Number)).toEqual([1, 1, 1, 0, 0, 0, 1]);
    cache.commitStep([5], ...presents(cache, 1));
    feed(cache, 3); // positions 4..6: ring holds 3..6
    step = cache.beginStep(2); // query at 7 sees 4..6 + itself; 3 leaves
    expect(step.pastLength).toBe(6);
    expect(Array.from(step.attentionMask, Number)).toEqual([1, 1, 1, 0, 1, 1, 1, 1]);
    expect(Array.from(cache.slotPos)).toEqual([0, 1, 6, 3, 4, 5]);
  });

  it('keeps the incremental mask equal to the formula over long random step sequences', () => {
    for (const [sink, window, seed] of [[4, 16, 1], [0, 5, 2], [3, 1, 3], [1, 7, 4]]) {
      const cache = makeCache({ sink, window, maxPos: 40, maxChunk: Math.min(window + sink, 40 - sink - window) });
      const rng = makeRng(seed);
      for (let s = 0; s < 600; s++) {
        const n = randomStep(cache, rng);
        const step = cache.beginStep(n);
        expect(Array.from(step.attentionMask.subarray(0, cache.capacity), Number)).toEqual(maskFormula(cache));
        expect(Array.from(step.attentionMask.subarray(cache.capacity), Number)).toEqual(Array(n).fill(1));
        cache.commitStep(range(0, n), ...presents(cache, n));
        if (s % 97 === 13) cache.rewind(Math.min(cache.rewindable, 1 + (s % 5)));
      }
      expect(cache.offset).toBeGreaterThan(0);
    }
  });
});

describe('SinkRingCache step limits and buffers', () => {
  it('counts only ring writes in the chunk limit', () => {
    const a = makeCache({ sink: 4, window: 8, maxPos: 1000, maxChunk: 13 });
    expect(a.ringWriteLimit()).toBe(12);
    expect(() => a.beginStep(13)).toThrow(/would write a ring slot twice; at most 12 fit/);
    feed(a, 12);
    expect(Array.from(a.slotPos)).toEqual(range(0, 12));
    expect(a.ringWriteLimit()).toBe(8);
    expect(() => a.beginStep(9)).toThrow(RangeError);

    const b = makeCache({ sink: 4, window: 8, maxPos: 1000, maxChunk: 12 });
    feed(b, 2);
    expect(b.ringWriteLimit()).toBe(10);
    feed(b, 2);
    expect(b.ringWriteLimit()).toBe(8);
  });

  it('rejects steps beyond maxChunk (default W) and commits without a step', () => {
    const cache = makeCache({ sink: 4, window: 8, maxPos: 1000 });
    expect(cache.maxChunk).toBe(8);
    expect(() => cache.beginStep(9)).toThrow(/exceeds this cache's maxChunk of 8/);
    expect(() => cache.beginStep(0)).toThrow(RangeError);
    expect(() => cache.commitStep([1], ...presents(cache, 1))).toThrow(/needs a beginStep/);
    cache.beginStep(2);
    expect(() => cache.commitStep([1], ...presents(cache, 2))).toThrow(/began with 2 tokens but 1/);
    expect(() => cache.commitStep([1, 2], ...presents(cache, 1))).toThrow(/present keys must be \[2, 14, 8\]/);
  });

  it('commits the new rows of every layer packed in one array at given offsets as it commits per-layer presents', () => {
    const { layers, kvHeads, headDim: D } = GEOMETRY;
    const whole = makeCache({ sink: 2, window: 6, maxPos: 1000, maxChunk: 4 });
    const packed = makeCache({ sink: 2, window: 6, maxPos: 1000, maxChunk: 4 });
    // Blocks in an order of their own (values first, layers reversed), as a graph may pack them.
    const blockOf = (kind: 0 | 1, l: number) => (1 - kind) * layers + (layers - 1 - l);
    const at = { keys: range(0, layers).map((l) => blockOf(0, l)), values: range(0, layers).map((l) => blockOf(1, l)) };
    for (const n of [3, 1, 4, 1, 1, 2, 4, 1]) {
      const step = begin(whole, n);
      begin(packed, n);
      const { keys, values } = fakePresents(whole, step.P, step.fed, whole.rope);
      const C = whole.capacity;
      const block = kvHeads * n * D;
      const rows = new Float32Array(2 * layers * block).fill(Number.NaN);
      for (let l = 0; l < layers; l++) {
        for (let h = 0; h < kvHeads; h++) {
          const from = (h * (C + n) + C) * D;
          rows.set((keys[l] as Float32Array).subarray(from, from + n * D), blockOf(0, l) * block + h * n * D);
          rows.set((values[l] as Float32Array).subarray(from, from + n * D), blockOf(1, l) * block + h * n * D);
        }
      }
      const tokens = range(0, n).map((i) => tokenAt(step.P + i));
      const delta = whole.commitStep(tokens, keys, values);
      const offsets = { keys: at.keys.map((b) => b * block), values: at.values.map((b) => b * block) };
      expect(packed.commitStep(tokens, Array(layers).fill(rows), Array(layers).fill(rows), offsets)).toEqual(delta);
    }
    expect(packed.evicted).toBeGreaterThan(0);
    for (let l = 0; l < layers; l++) {
      expect(Array.from(packed.keys[l])).toEqual(Array.from(whole.keys[l]));
      expect(Array.from(packed.values[l])).toEqual(Array.from(whole.values[l]));
    }
    // An offset whose rows run past the array's end is refused before anything is copied.
    packed.beginStep(1);
    const rows = new Float32Array(2 * layers * kvHeads * D);
    const past = { keys: range(0, layers).map(() => rows.length - 1), values: range(0, layers).map(() => 0) };
    expect(() => packed.commitStep([1], Array(layers).fill(rows), Array(layers).fill(rows), past)).toThrow(/present keys of layer 0: new rows \[2, 1, 8\]/);
  });

  it('returns views into the same preallocated buffers on every step', () => {
    const cache = makeCache({ sink: 2, window: 6, maxPos: 1000 });
    const keys = cache.keys.slice();
    const first = cache.beginStep(1);
    cache.commitStep([1], ...presents(cache, 1));
    const maskBuffer = first.attentionMask.buffer;
    const posBuffer = first.positionIds.buffer;
    for (let s = 0; s < 20; s++) {
      const n = 1 + (s % 3);
      const step = cache.beginStep(n);
      expect(step.attentionMask.buffer).toBe(maskBuffer);
      expect(step.positionIds.buffer).toBe(posBuffer);
      expect(step.attentionMask.byteOffset).toBe(0);
      expect(step.attentionMask).toHaveLength(cache.capacity + n);
      if (n === 1) expect(step).toBe(first);
      cache.commitStep(range(0, n), ...presents(cache, n));
      cache.keys.forEach((k, l) => expect(k).toBe(keys[l]));
    }
  });

  it('rejects a window too large for the model positions, and cache positions without RoPE', () => {
    expect(() => makeCache({ sink: 4, window: 60, maxPos: 100 })).toThrow(CacheConfigError);
    expect(() => makeCache({ sink: 4, window: 60, maxPos: 100 })).toThrow(/window too large.*use a window of at most 48/);
    expect(() => makeCache({ sink: 4, window: 90, maxPos: 100, maxChunk: 16 })).toThrow(/at most 80/);
    expect(() => makeCache({ sink: 4, window: 48, maxPos: 100 })).not.toThrow();
    expect(() => makeCache({ sink: 4, window: 8, maxPos: 100 }, null)).toThrow(/needs the model's RoPE/);
    expect(() => makeCache({ sink: 4, window: 8, maxPos: 100 }, makeRope(16))).toThrow(/head dim 16 differs/);
  });
});

describe('SinkRingCache view and deltas', () => {
  it('describes each slot, and deltas applied to a view reproduce the next view', () => {
    for (const positions of ['cache', 'original'] as const) {
      const cache = makeCache({ sink: 3, window: 6, positions, maxPos: 20, maxChunk: 5 });
      const view = cache.view();
      expect(view.slots.map((s) => s.kind)).toEqual([...Array(3).fill('sink'), ...Array(6).fill('ring')]);
      expect(view.head).toBe(0);
      const rng = makeRng(11);
      let rebases = 0;
      for (let s = 0; s < 300; s++) {
        const { delta } = feed(cache, randomStep(cache, rng));
        if (delta.rebased) rebases++;
        expect(delta.writes.length).toBeLessThanOrEqual(5);
        applyCacheDelta(view, delta);
        expect(view).toEqual(cache.view());
      }
      expect(rebases).toBeGreaterThan(10);
      const v = cache.view();
      expect(v.head).toBe(cache.slotOf(cache.nextPos));
      expect(v.firstVisible).toBe(Math.max(3, cache.nextPos - 6 + 1));
      for (const slot of v.slots) {
        if (slot.pos < 0) continue;
        if (slot.kind === 'ring') expect(slot.ropePos).toBe(slot.pos - cache.offset);
        else expect(slot.ropePos).toBe(positions === 'cache' ? v.firstVisible - 3 + slot.slot - v.offset : slot.slot - v.offset);
        expect(slot.tokenId).toBe(tokenAt(slot.pos));
      }
    }
  });
});

/** Random present tensors for a begun step of n tokens. */
function presents(cache: SinkRingCache, n: number): [Float32Array[], Float32Array[]] {
  const { layers, kvHeads, headDim } = cache.geometry;
  const size = kvHeads * (cache.capacity + n) * headDim;
  const make = () => range(0, layers).map(() => Float32Array.from({ length: size }, (_, i) => Math.sin(i + n)));
  return [make(), make()];
}
