// The sink-ring cache's host K/V buffers (fp32 or fp16) and every row move on them: present rows in,
// journal rows out and back, pristine sink copies, RoPE re-rotation. Runs in the engine host; no
// bookkeeping, no allocation per row (a head row is headDim elements; a subarray view per row would be
// garbage on every step).

import { applyRotation, applyRotationHalf, RotationTable } from '../rope';
import type { RopeSpec } from '../rope';
import type { KvGeometry } from './cacheOptions';
import { allocKv, copyKv, kvElementBytes, type KvArray, type KvDtype, type KvFormat, type KvStorage, type RowsAt } from './kvStorage';

/**
 * Host {@link KvStorage}: per layer K and V of `[kvHeads, S + W + B, headDim]` in the model's KV dtype
 * (B pin slots after the ring, B = the tokens pinned), plus the pristine keys of the anchored slots
 * `[kvHeads, S + B, headDim]` (sinks then pins, as the model computed them: the source of every
 * re-rotation). Anchor a is slot a for a < S and slot W + a for a pin. Slot j of head h starts at
 * `(h * C + j) * headDim`. Copies are bit moves in either dtype; fp16 rotation decodes, rotates in double
 * precision and rounds once. Owned by one SinkRingCache.
 */
export class KvRows implements KvStorage {
  readonly format: KvFormat;
  /** Replaced (not resized) when the pin slots change: holders of the old arrays must re-read them. */
  keys: readonly KvArray[];
  values: readonly KvArray[];
  pristine: readonly KvArray[];
  private readonly kvHeads: number;
  private readonly headDim: number;
  private readonly sink: number;
  private readonly window: number;
  private capacity: number;
  /** S + B: sinks and pin slots, the slots with a pristine copy. */
  private anchors: number;
  /** cos/sin of the latest rotation: one delta applies to every layer and head (and every slot of a rebase). */
  private readonly rotation: RotationTable;
  /** The fp16 rotation's working row. */
  private readonly scratch: Float64Array;

  constructor(geometry: Readonly<KvGeometry>, sink: number, window: number, dtype: KvDtype = 'float32', pins = 0) {
    const { layers, kvHeads, headDim } = geometry;
    this.format = { dtype, place: 'host' };
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.sink = sink;
    this.window = window;
    this.capacity = sink + window + pins;
    this.anchors = sink + pins;
    const slots = kvHeads * this.capacity * headDim;
    this.keys = Array.from({ length: layers }, () => allocKv(dtype, slots));
    this.values = Array.from({ length: layers }, () => allocKv(dtype, slots));
    this.pristine = Array.from({ length: layers }, () => allocKv(dtype, kvHeads * this.anchors * headDim));
    this.rotation = new RotationTable(headDim >> 1);
    this.scratch = new Float64Array(headDim);
  }

  /**
   * Rotates one key row in place. A method, not a closure made per instance: V8 inlines a call's one
   * target, and a closure of a cache that died (the load's warm-up stream) threw that code away.
   */
  private rotate(buf: KvArray, offset: number, rope: RopeSpec, table: RotationTable): void {
    if (buf instanceof Float32Array) applyRotation(buf, offset, rope, table);
    else applyRotationHalf(buf, offset, rope, table, this.scratch);
  }

  /**
   * Copies the new rows of a step into the slots of positions P..P+n-1, in runs of consecutive slots (at
   * most three: sinks, ring tail, ring head). Per layer the rows come as `[kvHeads, past + n, headDim]`
   * with the new ones last: whole presents (past = C) or only the new rows (past = 0), from `at` in the
   * layer's array (the packed output) or from its start.
   */
  copyPresent(presentKeys: readonly KvArray[], presentValues: readonly KvArray[], P: number, n: number, past: number, at: RowsAt | null): void {
    const { kvHeads, headDim, sink: S, window: W, capacity: C } = this;
    for (let i = 0; i < n; ) {
      const q = P + i;
      const j = q < S ? q : S + ((q - S) % W);
      const run = Math.min(n - i, q < S ? S - q : S + W - j);
      for (let l = 0; l < this.keys.length; l++) {
        const keyAt = at === null ? 0 : at.keys[l];
        const valueAt = at === null ? 0 : at.values[l];
        for (let h = 0; h < kvHeads; h++) {
          const from = (h * (past + n) + past + i) * headDim;
          const to = (h * C + j) * headDim;
          copyKv(presentKeys[l], keyAt + from, this.keys[l], to, run * headDim);
          copyKv(presentValues[l], valueAt + from, this.values[l], to, run * headDim);
        }
      }
      i += run;
    }
  }

  /** Copies new row i of a step (as {@link copyPresent} reads them) into slot j. */
  copyPresentRow(presentKeys: readonly KvArray[], presentValues: readonly KvArray[], i: number, n: number, past: number, at: RowsAt | null, j: number): void {
    const { kvHeads, headDim, capacity: C } = this;
    for (let l = 0; l < this.keys.length; l++) {
      const keyAt = at === null ? 0 : at.keys[l];
      const valueAt = at === null ? 0 : at.values[l];
      for (let h = 0; h < kvHeads; h++) {
        const from = (h * (past + n) + past + i) * headDim;
        copyKv(presentKeys[l], keyAt + from, this.keys[l], (h * C + j) * headDim, headDim);
        copyKv(presentValues[l], valueAt + from, this.values[l], (h * C + j) * headDim, headDim);
      }
    }
  }

  /** Copies slot `from`'s rows into slot `to`, every layer and head. */
  copySlot(from: number, to: number): void {
    const { kvHeads, headDim, capacity: C } = this;
    for (let l = 0; l < this.keys.length; l++) {
      for (let h = 0; h < kvHeads; h++) {
        copyKv(this.keys[l], (h * C + from) * headDim, this.keys[l], (h * C + to) * headDim, headDim);
        copyKv(this.values[l], (h * C + from) * headDim, this.values[l], (h * C + to) * headDim, headDim);
      }
    }
  }

  /** Copies slot j's rows, all layers and heads (`[layer][head][dim]`), to `keyRows`/`valueRows` at `at`. */
  saveSlot(j: number, keyRows: KvArray, valueRows: KvArray, at: number): void {
    const { kvHeads, headDim, capacity: C } = this;
    for (let l = 0; l < this.keys.length; l++) {
      for (let h = 0; h < kvHeads; h++, at += headDim) {
        copyKv(this.keys[l], (h * C + j) * headDim, keyRows, at, headDim);
        copyKv(this.values[l], (h * C + j) * headDim, valueRows, at, headDim);
      }
    }
  }

  /** The inverse of {@link saveSlot}. */
  restoreSlot(j: number, keyRows: KvArray, valueRows: KvArray, at: number): void {
    const { kvHeads, headDim, capacity: C } = this;
    for (let l = 0; l < this.keys.length; l++) {
      for (let h = 0; h < kvHeads; h++, at += headDim) {
        copyKv(keyRows, at, this.keys[l], (h * C + j) * headDim, headDim);
        copyKv(valueRows, at, this.values[l], (h * C + j) * headDim, headDim);
      }
    }
  }

  /** Zeroes slot j (and its pristine copy for an anchored slot): empty slots hold zeros, never stale or NaN rows. */
  zeroSlot(j: number): void {
    const { kvHeads, headDim, anchors: A, capacity: C } = this;
    const a = this.anchorOf(j);
    for (let l = 0; l < this.keys.length; l++) {
      for (let h = 0; h < kvHeads; h++) {
        this.keys[l].fill(0, (h * C + j) * headDim, (h * C + j + 1) * headDim);
        this.values[l].fill(0, (h * C + j) * headDim, (h * C + j + 1) * headDim);
        if (a >= 0) this.pristine[l].fill(0, (h * A + a) * headDim, (h * A + a + 1) * headDim);
      }
    }
  }

  /** Keeps anchor a's keys (a sink or pin slot the model or a copy just wrote) as its pristine copy. */
  capturePristine(a: number): void {
    const { kvHeads, headDim, anchors: A, capacity: C } = this;
    const j = this.slotOfAnchor(a);
    for (let l = 0; l < this.keys.length; l++) {
      for (let h = 0; h < kvHeads; h++) copyKv(this.keys[l], (h * C + j) * headDim, this.pristine[l], (h * A + a) * headDim, headDim);
    }
  }

  /** Sets anchor a's keys to its pristine keys rotated by `delta` (double-precision angles; no drift). */
  placeAnchor(a: number, rope: RopeSpec, delta: number): void {
    const { kvHeads, headDim, anchors: A, capacity: C } = this;
    const j = this.slotOfAnchor(a);
    const table = delta === 0 ? null : this.rotation.set(rope, delta);
    for (let l = 0; l < this.keys.length; l++) {
      const k = this.keys[l];
      for (let h = 0; h < kvHeads; h++) {
        const at = (h * C + j) * headDim;
        copyKv(this.pristine[l], (h * A + a) * headDim, k, at, headDim);
        if (table) this.rotate(k, at, rope, table);
      }
    }
  }

  /** Anchor index of slot j (a sink or pin slot), -1 for a ring slot. */
  private anchorOf(j: number): number {
    return j < this.sink ? j : j >= this.sink + this.window ? j - this.window : -1;
  }

  private slotOfAnchor(a: number): number {
    return a < this.sink ? a : a + this.window;
  }

  /** Rotates slot j's keys in place by `delta` positions. */
  rotateSlot(j: number, rope: RopeSpec, delta: number): void {
    if (delta === 0) return;
    const { kvHeads, headDim, capacity: C } = this;
    const table = this.rotation.set(rope, delta);
    for (const k of this.keys) for (let h = 0; h < kvHeads; h++) this.rotate(k, (h * C + j) * headDim, rope, table);
  }

  /**
   * Removes `remove` pin slots at slot `at` (>= S + W) and inserts `insert` zeroed ones there, moving the
   * slots after them: new arrays of the new size (O(C) per layer; pins are rare).
   */
  splicePins(at: number, remove: number, insert: number): void {
    const { kvHeads, headDim, window: W } = this;
    const C = this.capacity;
    const A = this.anchors;
    const resized = C - remove + insert;
    this.keys = this.keys.map((k) => spliceRows(k, kvHeads, headDim, C, at, remove, insert));
    this.values = this.values.map((v) => spliceRows(v, kvHeads, headDim, C, at, remove, insert));
    this.pristine = this.pristine.map((p) => spliceRows(p, kvHeads, headDim, A, at - W, remove, insert));
    this.capacity = resized;
    this.anchors = A - remove + insert;
  }

  clear(held: readonly number[]): void {
    if (this.capacity > this.sink + this.window) this.splicePins(this.sink + this.window, this.capacity - this.sink - this.window, 0);
    // Row by row, not a fill of every buffer: that wrote every page of a cache that never held them (the
    // KV buffers are allocated zeroed and faulted in as the ring fills: 90 MB resident at once after a
    // reset at W=2048, fp32).
    for (const j of held) this.zeroSlot(j);
    for (const p of this.pristine) p.fill(0);
  }

  bytes(): number {
    return (this.keys.length + this.values.length) * this.keys[0].length * kvElementBytes(this.format.dtype);
  }
}

/**
 * `buf` ([heads, slots, headDim]) with `remove` slots at `at` replaced by `insert` zeroed ones, per head,
 * as a new array of the buffer's type.
 */
function spliceRows(buf: KvArray, heads: number, headDim: number, slots: number, at: number, remove: number, insert: number): KvArray {
  const resized = slots - remove + insert;
  const out = allocKv(buf instanceof Uint16Array ? 'float16' : 'float32', heads * resized * headDim);
  for (let h = 0; h < heads; h++) {
    const src = h * slots * headDim;
    const dst = h * resized * headDim;
    out.set(buf.subarray(src, src + at * headDim), dst);
    out.set(buf.subarray(src + (at + remove) * headDim, src + slots * headDim), dst + (at + insert) * headDim);
  }
  return out;
}
