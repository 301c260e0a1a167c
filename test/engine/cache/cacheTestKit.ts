// Test kit for the sink-ring cache (test process only): a fake "model" that computes each token's key as
// a deterministic raw vector rotated by the position it is fed at, a float64 RoPE reference, and state
// copies for bit-exact comparisons.

import type { CacheDelta } from '../../../common/cacheView';
import { expect } from 'vitest';
import { toHalf } from '../../../main/engine/half';
import type { RopeSpec } from '../../../main/engine/rope';
import { SinkRingCache } from '../../../main/engine/cache/sinkRingCache';
import type { KvArray, KvGeometry, SinkRingOptions } from '../../../main/engine/cache/sinkRingCache';

export const GEOMETRY: KvGeometry = { layers: 2, kvHeads: 2, headDim: 8 };

/** Standard RoPE (theta 10000) over the first `rotaryDim` dims. */
export function makeRope(headDim = GEOMETRY.headDim, rotaryDim = headDim - 2, theta = 10000): RopeSpec {
  const invFreq = new Float64Array(rotaryDim / 2);
  for (let i = 0; i < invFreq.length; i++) invFreq[i] = theta ** (-(2 * i) / rotaryDim);
  return { headDim, rotaryDim, invFreq };
}

/** Deterministic value in [-1, 1) from integers (a hash, so any token's raw key can be recomputed). */
export function hashUnit(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return (h >>> 8) / 8388608 - 1;
}

/** The unrotated key of the token at original position `pos`, layer l, head h. */
export function rawKey(pos: number, l: number, h: number, D = GEOMETRY.headDim): Float64Array {
  return Float64Array.from({ length: D }, (_, d) => hashUnit(1, pos, l, h, d));
}

export function rawValue(pos: number, l: number, h: number, d: number): number {
  return Math.fround(hashUnit(2, pos, l, h, d));
}

/** rotate_half RoPE of `row` by `delta` positions, entirely in float64. */
export function rotateRef(row: ArrayLike<number>, rope: RopeSpec, delta: number): Float64Array {
  const out = Float64Array.from(row);
  const half = rope.rotaryDim / 2;
  for (let i = 0; i < half; i++) {
    const c = Math.cos(delta * rope.invFreq[i]);
    const s = Math.sin(delta * rope.invFreq[i]);
    out[i] = row[i] * c - row[i + half] * s;
    out[i + half] = row[i + half] * c + row[i] * s;
  }
  return out;
}

/** Marks the past rows of a fake present: the cache must never copy them. */
export const PAST_SENTINEL = 7777;

/**
 * Runs one step as a RoPE model would: new key rows are raw keys rotated to the fed positions, rows
 * 0..C-1 of the present hold a sentinel. Returns the delta and the positions fed.
 */
export function feed(cache: SinkRingCache, n: number, rope: RopeSpec | null = cache.rope): { delta: CacheDelta; fed: number[] } {
  const begun = begin(cache, n);
  return { delta: commit(cache, begun, rope), fed: begun.fed };
}

/** A step begun by {@link begin}: its first position and the positions fed to the "model". */
export interface Begun {
  readonly P: number;
  readonly n: number;
  readonly fed: number[];
}

export function begin(cache: SinkRingCache, n: number): Begun {
  const P = cache.nextPos;
  const step = cache.beginStep(n);
  return { P, n, fed: Array.from(step.positionIds, Number) };
}

/** Computes the fake model's presents for a begun step and commits them. */
export function commit(cache: SinkRingCache, { P, n, fed }: Begun, rope: RopeSpec | null = cache.rope): CacheDelta {
  const { keys, values } = fakePresents(cache, P, fed, rope);
  const tokens = Array.from({ length: n }, (_, i) => tokenAt(P + i));
  return cache.commitStep(tokens, keys, values);
}

/**
 * The fake model's presents for tokens at original positions P.. fed at positions `fed`: new rows last,
 * rows 0..C-1 a sentinel, in the cache's dtype (an fp16 model rounds its rows to half once, as the fp32
 * ones here are rounded to float once).
 */
export function fakePresents(cache: SinkRingCache, P: number, fed: readonly number[], rope: RopeSpec | null): { keys: KvArray[]; values: KvArray[] } {
  const { layers, kvHeads, headDim: D } = cache.geometry;
  const C = cache.capacity;
  const n = fed.length;
  const keys: Float32Array[] = [];
  const values: Float32Array[] = [];
  for (let l = 0; l < layers; l++) {
    const k = new Float32Array(kvHeads * (C + n) * D).fill(PAST_SENTINEL);
    const v = new Float32Array(kvHeads * (C + n) * D).fill(PAST_SENTINEL);
    for (let h = 0; h < kvHeads; h++) {
      for (let i = 0; i < n; i++) {
        const at = (h * (C + n) + C + i) * D;
        k.set(modelKey(P + i, l, h, fed[i], rope, D), at);
        for (let d = 0; d < D; d++) v[at + d] = rawValue(P + i, l, h, d);
      }
    }
    keys.push(k);
    values.push(v);
  }
  const native = (a: Float32Array): KvArray => (cache.kvDtype === 'float16' ? Uint16Array.from(a, toHalf) : a);
  return { keys: keys.map(native), values: values.map(native) };
}

/** The fp32 key the fake model computes for the token at original position `pos` fed at `ropePos`. */
export function modelKey(pos: number, l: number, h: number, ropePos: number, rope: RopeSpec | null, D = GEOMETRY.headDim): Float32Array {
  const raw = rawKey(pos, l, h, D);
  return Float32Array.from(rope ? rotateRef(raw, rope, ropePos) : raw);
}

/** Token id the kit feeds at original position p. */
export function tokenAt(p: number): number {
  return (p * 7919 + 13) % 50000;
}

/** A small seeded generator (mulberry32). */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random legal step size for the cache's next step. */
export function randomStep(cache: SinkRingCache, rng: () => number, largest = cache.maxChunk): number {
  const limit = Math.min(cache.ringWriteLimit(), cache.maxChunk, largest);
  return rng() < 0.6 ? 1 : 1 + Math.floor(rng() * limit);
}

/** DESIGN §3's mask formula for the next step, from scratch. */
export function maskFormula(cache: SinkRingCache): number[] {
  const P = cache.nextPos;
  return Array.from(cache.slotPos, (p) => (p >= 0 && (p < cache.sink || P - p < cache.window) ? 1 : 0));
}

/** The slots' part of the mask the cache maintains (read through a step's inputs without starting one). */
export function currentMask(cache: SinkRingCache): number[] {
  return cache.view().slots.map((s) => (s.visible ? 1 : 0));
}

/** Everything observable, deep-copied, for bit-exact comparison. */
export function stateOf(cache: SinkRingCache): unknown {
  const s = cache.snapshot();
  const bits = (a: KvArray) => Array.from(a instanceof Float32Array ? new Uint32Array(a.buffer, a.byteOffset, a.length) : a);
  return {
    keys: s.keys.map(bits),
    values: s.values.map(bits),
    slotPos: Array.from(s.slotPos),
    slotToken: Array.from(s.slotToken),
    nextPos: s.nextPos,
    offset: s.offset,
    evicted: s.evicted,
    view: cache.view(),
  };
}

/** A cache over {@link GEOMETRY} with a standard rope. */
export function makeCache(options: SinkRingOptions, rope: RopeSpec | null = makeRope()): SinkRingCache {
  return new SinkRingCache(GEOMETRY, rope, options);
}

export function keyRow(cache: SinkRingCache, l: number, h: number, slot: number): KvArray {
  const D = cache.geometry.headDim;
  const at = (h * cache.capacity + slot) * D;
  return cache.keys[l].slice(at, at + D);
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Checks every visible key against the fake model's raw key rotated so that its distance to the step's
 * first query is the design's: P - p for window tokens, P - (firstVisible - S - V + i) for sinks and
 * P - (firstVisible - V + r) for the pinned token of rank r among the V visible ones in cache mode, P - p
 * for all in original mode. Holds across rebases iff rebase and sink re-rotation are right.
 */
export function expectDistances(cache: SinkRingCache, P: number, queryPos: number): number {
  const rope = cache.rope;
  if (rope === null) throw new Error('expectDistances needs a cache with RoPE');
  const S = cache.sink;
  const ring = S + cache.window;
  const firstVisible = Math.max(S, P - cache.window + 1);
  // Pinned tokens before the window sit, by position, between the sinks and the window (cache mode).
  const pins = Array.from(cache.slotPos.subarray(ring)).filter((p) => p >= 0 && p < firstVisible).sort((x, y) => x - y);
  const region = firstVisible - S - pins.length;
  let checked = 0;
  for (let j = 0; j < cache.capacity; j++) {
    const p = cache.slotPos[j];
    if (p < 0 || (j < ring ? p >= S && P - p >= cache.window : p >= firstVisible)) continue;
    const byRank = cache.positions === 'cache';
    const keyAt = !byRank || (j >= S && j < ring) ? p : j < S ? region + j : region + S + pins.indexOf(p);
    for (let l = 0; l < GEOMETRY.layers; l++) {
      for (let h = 0; h < GEOMETRY.kvHeads; h++) {
        const expected = rotateRef(rawKey(p, l, h), rope, queryPos - (P - keyAt));
        expect(maxDiff(keyRow(cache, l, h, j), expected)).toBeLessThan(2e-5);
        checked++;
      }
    }
  }
  return checked;
}

/** Feeds the span {@link SinkRingCache.pin} asked to feed again, [start, ...), as the fake model would. */
export function feedPin(cache: SinkRingCache, start: number): void {
  const end = start + cache.pinFeedLeft;
  for (let at = start; at < end; ) {
    const n = Math.min(end - at, cache.maxChunk);
    const fed = Array.from(cache.beginPinStep(n).positionIds, Number);
    const { keys, values } = fakePresents(cache, at, fed, cache.rope);
    cache.commitPinStep(Array.from({ length: n }, (_, i) => tokenAt(at + i)), keys, values);
    at += n;
  }
}

/** Feeds `cache` and `restored` the same `steps` random steps (seeded); their states must stay bit-identical. */
export function expectSameContinuation(cache: SinkRingCache, restored: SinkRingCache, seed: number, steps: number): void {
  const a = makeRng(seed);
  const b = makeRng(seed);
  for (let s = 0; s < steps; s++) {
    feed(cache, randomStep(cache, a));
    feed(restored, randomStep(restored, b));
  }
  expect(stateOf(restored)).toEqual(stateOf(cache));
}
