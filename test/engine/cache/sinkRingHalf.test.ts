// The sink-ring cache on fp16 K/V rows (the storage seam's float16 dtype): rows move as raw fp16 bits,
// sink re-rotation and rebase compute in double precision from pristine keys and round once, rewind and
// snapshots are bit-exact in the native dtype, and fp32 rows are refused.
import { describe, expect, it } from 'vitest';
import { SinkRingCache } from '../../../main/engine/cache/sinkRingCache';
import { decodeSnapshot, encodeSnapshot } from '../../../main/engine/cache/snapshotCodec';
import { fromHalf, toHalf } from '../../../main/engine/half';
import { GEOMETRY, begin, expectSameContinuation, feed, keyRow, makeCache, makeRng, makeRope, modelKey, randomStep, rotateRef, stateOf } from './cacheTestKit';

const rope = makeRope();

/** The fp16 key the fake model returns for the token at `pos` fed at `ropePos`: rounded to half once. */
function halfKey(pos: number, l: number, h: number, ropePos: number): Uint16Array {
  return Uint16Array.from(modelKey(pos, l, h, ropePos, rope), toHalf);
}

describe('fp16 KV rows', () => {
  it('stores the model\'s fp16 bits as they are and reports half the bytes of fp32', () => {
    const half = makeCache({ sink: 2, window: 6, maxPos: 1000, kvDtype: 'float16' });
    const full = makeCache({ sink: 2, window: 6, maxPos: 1000 });
    expect(half.kvDtype).toBe('float16');
    expect(half.keys[0]).toBeInstanceOf(Uint16Array);
    expect(half.kvBytes() * 2).toBe(full.kvBytes());
    feed(half, 3);
    // Slot 2 (a ring slot, never re-rotated) holds exactly the bits of the key fed at position 2.
    for (let l = 0; l < GEOMETRY.layers; l++) {
      for (let h = 0; h < GEOMETRY.kvHeads; h++) expect(Array.from(keyRow(half, l, h, 2))).toEqual(Array.from(halfKey(2, l, h, 2)));
    }
  });

  it('re-rotates sinks from their pristine fp16 keys with one rounding, whatever the history (no drift)', () => {
    const S = 3;
    const W = 8;
    const cache = makeCache({ sink: S, window: W, maxPos: 50_000, kvDtype: 'float16', journalTokens: 16 });
    while (cache.nextPos < 1000) feed(cache, 1);
    begin(cache, 1);
    const shift = cache.nextPos - W + 1 - S;
    let checked = 0;
    for (let i = 0; i < S; i++) {
      for (let l = 0; l < GEOMETRY.layers; l++) {
        for (let h = 0; h < GEOMETRY.kvHeads; h++) {
          const pristine = Array.from(halfKey(i, l, h, i), fromHalf);
          const once = Uint16Array.from(rotateRef(pristine, rope, shift), toHalf);
          expect(Array.from(keyRow(cache, l, h, i))).toEqual(Array.from(once));
          checked++;
        }
      }
    }
    expect(checked).toBe(S * GEOMETRY.layers * GEOMETRY.kvHeads);
  });

  it('rebases ring keys with one rounding from the keys the model wrote', () => {
    const S = 2;
    const W = 6;
    const maxPos = 24;
    const cache = makeCache({ sink: S, window: W, maxPos, maxChunk: 1, kvDtype: 'float16' });
    while (cache.offset === 0) feed(cache, 1);
    const offset = cache.offset;
    expect(offset).toBeGreaterThan(0);
    // The rebasing step's own token was fed at pos - offset; every older held ring key was fed at pos and
    // rotated by -offset once, from the bits the model wrote.
    const rebasingPos = cache.nextPos - 1;
    for (let j = S; j < cache.capacity; j++) {
      const pos = cache.slotPos[j];
      if (pos < 0) continue;
      const written = Array.from(halfKey(pos, 0, 1, pos), fromHalf);
      const expected = pos < rebasingPos ? Uint16Array.from(rotateRef(written, rope, -offset), toHalf) : halfKey(pos, 0, 1, pos - offset);
      expect(Array.from(keyRow(cache, 0, 1, j))).toEqual(Array.from(expected));
    }
  });

  it('rewinds bit-exactly from the journal', () => {
    const cache = makeCache({ sink: 3, window: 7, maxPos: 5000, maxChunk: 4, journalTokens: 40, kvDtype: 'float16' });
    const rng = makeRng(5);
    while (cache.nextPos < 50) feed(cache, randomStep(cache, rng));
    const before = stateOf(cache);
    const mark = cache.nextPos;
    while (cache.nextPos < mark + 30) feed(cache, randomStep(cache, rng));
    expect(cache.rewind(cache.nextPos - mark)).toBe(true);
    expect(stateOf(cache)).toEqual(before);
    expect(cache.journalBytes() % 2).toBe(0);
  });

  it('snapshots keep the fp16 bits: decode gives Uint16Array rows and a restore continues identically', () => {
    const cache = makeCache({ sink: 3, window: 7, maxPos: 16, maxChunk: 4, journalTokens: 50, kvDtype: 'float16' });
    const rng = makeRng(9);
    while (cache.nextPos < 123) feed(cache, randomStep(cache, rng));
    expect(cache.offset).toBeGreaterThan(0);
    const bytes = encodeSnapshot(cache.snapshot());
    const fp32Bytes = encodeSnapshot(makeCacheLike(cache).snapshot());
    // Rows take half the space of an fp32 snapshot of the same geometry.
    expect(bytes.length).toBeLessThan(fp32Bytes.length * 0.75);
    const decoded = decodeSnapshot(bytes);
    expect(decoded.options.kvDtype).toBe('float16');
    expect(decoded.keys[0]).toBeInstanceOf(Uint16Array);
    const restored = SinkRingCache.fromSnapshot(decoded, rope);
    expect(restored.snapshot()).toEqual(cache.snapshot());
    expectSameContinuation(cache, restored, 3, 20);
  });

  it('refuses rows of the other dtype', () => {
    const cache = makeCache({ sink: 2, window: 5, maxPos: 100, kvDtype: 'float16' });
    cache.beginStep(1);
    const rows = new Float32Array(GEOMETRY.kvHeads * GEOMETRY.headDim);
    const layers = Array.from({ length: GEOMETRY.layers }, () => rows);
    expect(() => cache.commitStep([1], layers, layers)).toThrow(/present keys are Float32Array, the cache holds float16 rows/);
    expect(() => makeCache({ sink: 2, window: 5, maxPos: 100, kvDtype: 'bfloat16' as 'float16' })).toThrow(/KV dtype must be one of float32, float16/);
  });
});

/** An fp32 cache with the same geometry and options, fed the same way up to the same position. */
function makeCacheLike(cache: SinkRingCache): SinkRingCache {
  const twin = makeCache({ ...cache.options, kvDtype: 'float32' });
  const rng = makeRng(9);
  while (twin.nextPos < cache.nextPos) feed(twin, randomStep(twin, rng));
  return twin;
}
