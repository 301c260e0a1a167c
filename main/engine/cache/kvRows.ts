// The sink-ring cache's host K/V buffers (fp32 or fp16) and every row move on them: present rows in,
// journal rows out and back, pristine sink copies, RoPE re-rotation. Runs in the engine host; no
// bookkeeping, no allocation per row (a head row is headDim elements; a subarray view per row would be
// garbage on every step).

import { applyRotation, applyRotationHalf, RotationTable } from '../rope';
import type { RopeSpec } from '../rope';
import type { KvGeometry } from './cacheOptions';
import { allocKv, kvElementBytes, type KvArray, type KvDtype, type KvFormat, type KvStorage } from './kvStorage';

/**
 * Host {@link KvStorage}: per layer K and V of `[kvHeads, S + W, headDim]` in the model's KV dtype, plus
 * the pristine sink keys `[kvHeads, S, headDim]` (as the model computed them, the source of every sink
 * re-rotation). Slot j of head h starts at `(h * C + j) * headDim`. Copies are bit moves in either dtype;
 * fp16 rotation decodes, rotates in double precision and rounds once. Owned by one SinkRingCache.
 */
export class KvRows implements KvStorage {
  readonly format: KvFormat;
  readonly keys: readonly KvArray[];
  readonly values: readonly KvArray[];
  readonly pristine: readonly KvArray[];
  private readonly kvHeads: number;
  private readonly headDim: number;
  private readonly sink: number;
  private readonly window: number;
  private readonly capacity: number;
  /** cos/sin of the latest rotation: one delta applies to every layer and head (and every slot of a rebase). */
  private readonly rotation: RotationTable;
  private readonly rotate: (buf: KvArray, offset: number, rope: RopeSpec, table: RotationTable) => void;

  constructor(geometry: Readonly<KvGeometry>, sink: number, window: number, dtype: KvDtype = 'float32') {
    const { layers, kvHeads, headDim } = geometry;
    this.format = { dtype, place: 'host' };
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.sink = sink;
    this.window = window;
    this.capacity = sink + window;
    const slots = kvHeads * this.capacity * headDim;
    this.keys = Array.from({ length: layers }, () => allocKv(dtype, slots));
    this.values = Array.from({ length: layers }, () => allocKv(dtype, slots));
    this.pristine = Array.from({ length: layers }, () => allocKv(dtype, kvHeads * sink * headDim));
    this.rotation = new RotationTable(headDim >> 1);
    const scratch = new Float64Array(headDim);
    this.rotate =
      dtype === 'float16'
        ? (buf, offset, rope, table) => applyRotationHalf(buf as Uint16Array, offset, rope, table, scratch)
        : (buf, offset, rope, table) => applyRotation(buf as Float32Array, offset, rope, table);
  }

  /**
   * Copies the new rows of a step into the slots of positions P..P+n-1, in runs of consecutive slots (at
   * most three: sinks, ring tail, ring head). Per layer the rows come as `[kvHeads, past + n, headDim]`
   * with the new ones last: whole presents (past = C) or only the new rows (past = 0).
   */
  copyPresent(presentKeys: readonly KvArray[], presentValues: readonly KvArray[], P: number, n: number, past: number): void {
    const { kvHeads, headDim, sink: S, window: W, capacity: C } = this;
    for (let i = 0; i < n; ) {
      const q = P + i;
      const j = q < S ? q : S + ((q - S) % W);
      const run = Math.min(n - i, q < S ? S - q : C - j);
      for (let l = 0; l < this.keys.length; l++) {
        for (let h = 0; h < kvHeads; h++) {
          const from = (h * (past + n) + past + i) * headDim;
          const to = (h * C + j) * headDim;
          this.keys[l].set(presentKeys[l].subarray(from, from + run * headDim), to);
          this.values[l].set(presentValues[l].subarray(from, from + run * headDim), to);
        }
      }
      i += run;
    }
  }

  /** Copies slot j's rows, all layers and heads (`[layer][head][dim]`), to `keyRows`/`valueRows` at `at`. */
  saveSlot(j: number, keyRows: KvArray, valueRows: KvArray, at: number): void {
    const { kvHeads, headDim, capacity: C } = this;
    for (let l = 0; l < this.keys.length; l++) {
      for (let h = 0; h < kvHeads; h++, at += headDim) {
        copyRow(this.keys[l], (h * C + j) * headDim, keyRows, at, headDim);
        copyRow(this.values[l], (h * C + j) * headDim, valueRows, at, headDim);
      }
    }
  }

  /** The inverse of {@link saveSlot}. */
  restoreSlot(j: number, keyRows: KvArray, valueRows: KvArray, at: number): void {
    const { kvHeads, headDim, capacity: C } = this;
    for (let l = 0; l < this.keys.length; l++) {
      for (let h = 0; h < kvHeads; h++, at += headDim) {
        copyRow(keyRows, at, this.keys[l], (h * C + j) * headDim, headDim);
        copyRow(valueRows, at, this.values[l], (h * C + j) * headDim, headDim);
      }
    }
  }

  /** Zeroes slot j (and its pristine copy for a sink): empty slots hold zeros, never stale or NaN rows. */
  zeroSlot(j: number): void {
    const { kvHeads, headDim, sink: S, capacity: C } = this;
    for (let l = 0; l < this.keys.length; l++) {
      for (let h = 0; h < kvHeads; h++) {
        this.keys[l].fill(0, (h * C + j) * headDim, (h * C + j + 1) * headDim);
        this.values[l].fill(0, (h * C + j) * headDim, (h * C + j + 1) * headDim);
        if (j < S) this.pristine[l].fill(0, (h * S + j) * headDim, (h * S + j + 1) * headDim);
      }
    }
  }

  /** Keeps sink slot i's keys, just written by the model, as its pristine copy. */
  capturePristine(i: number): void {
    const { kvHeads, headDim, sink: S, capacity: C } = this;
    for (let l = 0; l < this.keys.length; l++) {
      for (let h = 0; h < kvHeads; h++) copyRow(this.keys[l], (h * C + i) * headDim, this.pristine[l], (h * S + i) * headDim, headDim);
    }
  }

  /** Sets sink slot i's keys to its pristine keys rotated by `delta` (double-precision angles; no drift). */
  placeSink(i: number, rope: RopeSpec, delta: number): void {
    const { kvHeads, headDim, sink: S, capacity: C } = this;
    const table = delta === 0 ? null : this.rotation.set(rope, delta);
    for (let l = 0; l < this.keys.length; l++) {
      const k = this.keys[l];
      for (let h = 0; h < kvHeads; h++) {
        const at = (h * C + i) * headDim;
        copyRow(this.pristine[l], (h * S + i) * headDim, k, at, headDim);
        if (table) this.rotate(k, at, rope, table);
      }
    }
  }

  /** Rotates slot j's keys in place by `delta` positions. */
  rotateSlot(j: number, rope: RopeSpec, delta: number): void {
    if (delta === 0) return;
    const { kvHeads, headDim, capacity: C } = this;
    const table = this.rotation.set(rope, delta);
    for (const k of this.keys) for (let h = 0; h < kvHeads; h++) this.rotate(k, (h * C + j) * headDim, rope, table);
  }

  /** Zeroes everything. */
  clear(): void {
    for (const a of [...this.keys, ...this.values, ...this.pristine]) a.fill(0);
  }

  bytes(): number {
    return (this.keys.length + this.values.length) * this.keys[0].length * kvElementBytes(this.format.dtype);
  }
}

/** Copies elements of one dtype (the cache and its callers never mix dtypes: checkCommit refuses that). */
function copyRow(src: KvArray, srcAt: number, dst: KvArray, dstAt: number, length: number): void {
  for (let d = 0; d < length; d++) dst[dstAt + d] = src[srcAt + d];
}
