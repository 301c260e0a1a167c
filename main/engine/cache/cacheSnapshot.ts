// The sink-ring cache's saved state as plain typed arrays and numbers, and the checks a restored state must
// pass before the cache trusts it. Runs in the engine host; pure.

import { slotOf } from '../../../common/cacheGeometry';
import type { RopeSpec } from '../rope';
import { resolveCacheOptions } from './cacheOptions';
import type { KvGeometry, ResolvedCacheOptions } from './cacheOptions';
import { isKvArray, type KvArray } from './kvStorage';

/**
 * Everything needed to rebuild a cache bit-exactly. The undo journal is left out on purpose (it can be
 * hundreds of MB and only serves rewinds within a session): after a restore, rewinds re-prefill.
 * The attention mask is derived from `slotPos` and `nextPos`.
 */
export interface CacheSnapshot {
  readonly geometry: KvGeometry;
  readonly options: ResolvedCacheOptions;
  /** The RoPE the keys were rotated with (null when the cache had none); a restore must use the same. */
  readonly rope: RopeSpec | null;
  readonly nextPos: number;
  readonly offset: number;
  readonly evicted: number;
  /** Sink i's keys currently carry RoPE position `i + sinkShift`. */
  readonly sinkShift: number;
  /** Per layer `[kvHeads, S + W + B, headDim]` in `options.kvDtype` (native: an fp16 cache saves its fp16 bits); B = tokens pinned. */
  readonly keys: readonly KvArray[];
  readonly values: readonly KvArray[];
  /** Per layer `[kvHeads, S + B, headDim]`: sink and pinned keys as the model computed them. */
  readonly pristineKeys: readonly KvArray[];
  /** Length S + B: the RoPE position each pristine key was computed at. */
  readonly pristinePos: Int32Array;
  /** Length S + W + B: sinks, ring, pin slots. */
  readonly slotPos: Int32Array;
  readonly slotToken: Int32Array;
  /** Pinned spans [start, end), by start; their tokens fill the pin slots S + W .. C - 1 back to back, in this order. */
  readonly pins: readonly { readonly start: number; readonly end: number }[];
}

/** Why a snapshot cannot be read: cut short, damaged, from another format version, or inconsistent. */
export type CacheSnapshotErrorReason = 'truncated' | 'corrupt' | 'version' | 'mismatch';

/** A snapshot that cannot be restored; the message says why. */
export class CacheSnapshotError extends Error {
  override readonly name = 'CacheSnapshotError';
  readonly reason: CacheSnapshotErrorReason;

  constructor(reason: CacheSnapshotErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Throws {@link CacheSnapshotError} (`mismatch`) unless `s` is a state the cache could have reached. */
export function validateCacheSnapshot(s: CacheSnapshot): void {
  const bad = (what: string): never => {
    throw new CacheSnapshotError('mismatch', `cache snapshot is inconsistent: ${what}`);
  };
  let opts: ResolvedCacheOptions;
  try {
    opts = resolveCacheOptions(s.geometry, s.rope, s.options);
  } catch (e) {
    return bad((e as Error).message);
  }
  const { layers, kvHeads, headDim } = s.geometry;
  const S = opts.sink;
  const W = opts.window;
  const B = pinnedTokens(s.pins);
  if (B > opts.pinBudget) bad(`${B} pinned tokens exceed the pin budget of ${opts.pinBudget}`);
  const C = S + W + B;
  const rowType = opts.kvDtype === 'float16' ? 'Uint16Array' : 'Float32Array';
  const checkArrays = (name: string, arrays: readonly KvArray[], length: number): void => {
    if (arrays.length !== layers) bad(`${name} has ${arrays.length} layers, geometry says ${layers}`);
    for (const a of arrays) {
      if (!isKvArray(a, opts.kvDtype) || a.length !== length) bad(`${name} rows must be ${rowType}(${length}) for ${opts.kvDtype} KV`);
    }
  };
  checkArrays('keys', s.keys, kvHeads * C * headDim);
  checkArrays('values', s.values, kvHeads * C * headDim);
  checkArrays('pristineKeys', s.pristineKeys, kvHeads * (S + B) * headDim);
  for (const [name, a, n] of [
    ['pristinePos', s.pristinePos, S + B],
    ['slotPos', s.slotPos, C],
    ['slotToken', s.slotToken, C],
  ] as const) {
    if (!(a instanceof Int32Array) || a.length !== n) bad(`${name} must be Int32Array(${n})`);
  }
  const { nextPos, offset, evicted, sinkShift } = s;
  for (const [name, v] of [['nextPos', nextPos], ['offset', offset], ['evicted', evicted]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) bad(`${name} ${v} is not a valid count`);
  }
  if (!Number.isInteger(sinkShift) || Math.abs(sinkShift) > 0x7fffffff) bad(`sinkShift ${sinkShift} is not an integer`);
  // Rebases set offset = firstVisible - S at some step, and firstVisible never decreases.
  if (offset > Math.max(S, nextPos - W + 1) - S) bad(`offset ${offset} is ahead of position ${nextPos}`);
  let held = 0;
  let sinkGap = false;
  for (let j = 0; j < S + W; j++) {
    const p = s.slotPos[j];
    const t = s.slotToken[j];
    if (p === -1) {
      if (t !== -1) bad(`empty slot ${j} holds token ${t}`);
      if (j < S) sinkGap = true;
      continue;
    }
    if (t < 0) bad(`slot ${j} holds position ${p} but no token`);
    if (j < S) {
      if (p !== j || sinkGap) bad(`sink slot ${j} holds position ${p}`);
    } else if (p < S || p >= nextPos || nextPos - p > W || slotOf(p, S, W) !== j) {
      bad(`ring slot ${j} holds position ${p}, impossible before position ${nextPos}`);
    }
    held++;
  }
  if (evicted !== nextPos - held) bad(`evicted ${evicted} should be ${nextPos - held} (positions seen minus slots held)`);
  validatePins(s, S, S + W, bad);
}

/** Tokens the spans pin (the pin slots a snapshot of them has), 0 when a span is malformed (validatePins says why). */
function pinnedTokens(pins: CacheSnapshot['pins']): number {
  let n = 0;
  for (const { start, end } of pins) n += Number.isInteger(end - start) && end > start ? end - start : 0;
  return n;
}

/** Spans in order, disjoint, after the sinks and before nextPos; their positions fill the pin slots from `first` on, in order. */
function validatePins(s: CacheSnapshot, S: number, first: number, bad: (what: string) => never): void {
  let last = S;
  let j = first;
  for (const { start, end } of s.pins) {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < last || end <= start || end > s.nextPos) {
      bad(`pinned span ${start}..${end - 1} is out of order or outside positions ${S}..${s.nextPos - 1}`);
    }
    last = end;
    for (let p = start; p < end; p++, j++) {
      if (s.slotPos[j] !== p || s.slotToken[j] < 0) bad(`pin slot ${j} holds position ${s.slotPos[j]}, the pinned span ${start}..${end - 1} puts ${p} there`);
    }
  }
}
