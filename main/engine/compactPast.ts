// While the ring has not wrapped, the held slots are a prefix [0, L) of the cache. Feeding the model that
// prefix, in a mirror whose length grows in steps of 128 slots, instead of all S + W slots saves the
// attention over empty slots: a new conversation's steps cost what a dense cache of its length costs, not
// what a full window costs. Runs in the engine host, for the runner.
import { allocKv, allocKvMapped, copyKv, detachNow, type KvArray } from './cache/kvStorage';
import type { SinkRingCache } from './cache/sinkRingCache';

/** Mirror lengths are multiples of this: few distinct shapes, little attention over masked slots. */
const STEP = 128;

/**
 * Slots per layer and head of the next mirror length zeroed ahead in each commit: twice the decode step's
 * one row, so the next growth's pages are resident within 64 of the 128 decode steps before it.
 */
const FAULT_AHEAD_SLOTS = 2;

/**
 * The mirror lengths a stream of `sink + window` slots feeds, shortest first: multiples of 128 up to half
 * its slots (none for streams under 256 slots). Each is one input shape to onnxruntime (Runner.warmDecodeShapes).
 */
export function mirrorLengths(slots: number): number[] {
  const limit = Math.floor((slots >> 1) / STEP) * STEP;
  return Array.from({ length: limit / STEP }, (_, i) => (i + 1) * STEP);
}

/** Past inputs of one step fed from the mirror: per layer `[kvHeads, length, headDim]` and a mask of length + n. */
export interface CompactStep {
  readonly length: number;
  readonly keys: readonly KvArray[];
  readonly values: readonly KvArray[];
  readonly mask: BigInt64Array;
}

/**
 * A copy of the cache's held prefix, `[kvHeads, length, headDim]` per layer with `length` a multiple of 128
 * of at most half the cache, kept in step incrementally: each step copies the sinks (re-rotated in place by
 * the cache) and the slots written since the last step, so a decode step copies O(S + n) rows; a change of
 * length moves the rows within the same buffers. Slots of the mirror past the held prefix are masked.
 * Borrows the cache; its buffers (half the cache's size, one allocation) are allocated with the stream,
 * freed once the cache outgrows them and allocated again after a reset.
 */
export class CompactPast {
  private readonly limit: number;
  private length = 0;
  private keys: KvArray[] = [];
  private values: KvArray[] = [];
  /** The one allocation every layer's keys and values are views of (null once released). */
  private store: KvArray | null = null;
  private mask: BigInt64Array | null = null;
  /** What the last prepare returned (views of the buffers), reused by the next while its shape holds. */
  private fed: CompactStep | null = null;
  /** Slots [0, synced) of the mirror hold the cache's rows (sinks are refreshed every step regardless). */
  private synced = 0;
  /** Elements [0, written) of every layer's buffers have been written since the allocation: their pages are resident. */
  private written = 0;
  /** The cache's rebase offset when synced: a rebase re-rotates every held key. */
  private offset = 0;
  private readonly empty: KvArray[];

  constructor(
    private readonly cache: SinkRingCache,
    private readonly maxChunk: number,
  ) {
    // Half the sinks and ring, in whole steps; 0 (only an empty cache is compacted) for caches under 2
    // steps. Pin slots lie past the ring, so a cache holding pins is never compacted.
    this.limit = mirrorLengths(cache.sink + cache.window).at(-1) ?? 0;
    this.empty = cache.keys.map(() => allocKv(cache.kvDtype, 0));
    // With the stream rather than in its second step: allocating and first touching ~46 MB (W=2048 on
    // SmolLM2-135M's shapes) made that step 30–100 ms slower in every new conversation.
    if (this.limit > 0) this.allocate();
  }

  /**
   * The past for a begun step of `n` tokens whose full mask is `stepMask` (length C + n), or null when
   * the held slots reach past the largest mirror (the step then feeds the cache's own buffers).
   */
  prepare(n: number, stepMask: BigInt64Array): CompactStep | null {
    const { cache } = this;
    const held = this.held();
    // A rewind or reset emptied slots the mirror still holds: they count as unsynced from here on.
    if (this.synced > held) this.synced = held;
    if (held > this.limit) {
      this.release();
      return null;
    }
    if (held === 0) return { length: 0, keys: this.empty, values: this.empty, mask: stepMask.subarray(cache.capacity, cache.capacity + n) };
    // A decode step's mirror leaves room for its own row, so the next step keeps the length; a prefill
    // chunk's fits the held slots only (room for its rows added masked slots to every chunk's attention:
    // +30% prefill time measured) and `commit` grows the mirror after it.
    const length = Math.min(this.limit, Math.ceil((held + (n === 1 ? 1 : 0)) / STEP) * STEP);
    if (this.mask === null) this.allocate();
    if (length !== this.length) this.relayout(length);
    if (cache.offset !== this.offset) {
      this.synced = 0;
      this.offset = cache.offset;
    }
    // Sinks every step (the cache re-rotates them in place); then what was written since the last step.
    this.copySlots(0, Math.min(cache.sink, held));
    this.copySlots(Math.max(cache.sink, this.synced), held);
    this.synced = held;
    const mask = this.mask!;
    // A block copy: an element loop over a BigInt64Array boxes a BigInt per slot until V8 optimizes it.
    mask.set(stepMask.subarray(0, held));
    mask.fill(0n, held, length);
    mask.fill(1n, length, length + n);
    // The same views while the length and n stay: a decode step allocates none.
    let fed = this.fed;
    if (fed === null || fed.length !== length || fed.mask.length !== length + n) {
      const used = cache.geometry.kvHeads * length * cache.geometry.headDim;
      fed = {
        length,
        keys: this.keys.map((k) => k.subarray(0, used)),
        values: this.values.map((v) => v.subarray(0, used)),
        mask: mask.subarray(0, length + n),
      };
      this.fed = fed;
    }
    return fed;
  }

  /** The past length a prefill chunk begun now is fed: the mirror's, or null when the held slots outgrew it. */
  fedLength(): number | null {
    const held = this.held();
    return held > this.limit ? null : Math.ceil(held / STEP) * STEP;
  }

  /**
   * Copies the slots the step just committed into the mirror, growing it to fit them first (and, with
   * `room`, the row of a decode step after them): a prompt's chunks are mirrored as the prefill goes and its
   * last chunk leaves room, so the first decode step after it neither copies the prompt's last chunk nor
   * moves the mirror (moving 512 rows per head was ~15 MB of memmove in that step).
   */
  commit(room: boolean): void {
    const held = this.held();
    if (this.mask === null || held > this.limit) return;
    const fits = Math.min(this.limit, Math.ceil((held + (room ? 1 : 0)) / STEP) * STEP);
    if (fits > this.length) this.relayout(fits);
    this.copySlots(Math.max(this.cache.sink, this.synced), held);
    this.synced = held;
    this.faultAhead();
  }

  /** Slots the mirror spans now (0 before its first use and once released). */
  get mirrored(): number {
    return this.length;
  }

  /**
   * Frees the mirror (the cache has outgrown it) now, not when the GC finds it: it was still resident while
   * the first chunks over all C slots grew onnxruntime's arena, which made int8's peak RSS at depth 2048
   * (bench/README section 10). Its views read as empty from here on (detachNow).
   */
  release(): void {
    if (this.store !== null) detachNow(this.store);
    this.store = null;
    this.length = 0;
    this.keys = [];
    this.values = [];
    this.mask = null;
    this.fed = null;
    this.synced = 0;
  }

  /** Slots [0, held) are the prefix the cache holds (the ring has not wrapped while it fits the mirror). */
  private held(): number {
    const { cache } = this;
    let held = cache.capacity;
    while (held > 0 && cache.slotPos[held - 1] < 0) held--;
    return held;
  }

  private allocate(): void {
    const { kvHeads, headDim } = this.cache.geometry;
    const dtype = this.cache.kvDtype;
    const layerLength = kvHeads * this.limit * headDim;
    // One allocation, in its own mapping: pages resident as the mirror fills, returned at the release.
    const store = allocKvMapped(dtype, 2 * this.cache.keys.length * layerLength);
    const view = (i: number) => store.subarray(i * layerLength, (i + 1) * layerLength);
    this.store = store;
    this.keys = this.cache.keys.map((_, l) => view(2 * l));
    this.values = this.cache.values.map((_, l) => view(2 * l + 1));
    this.mask = new BigInt64Array(this.limit + this.maxChunk);
    this.fed = null;
    this.length = 0;
    this.synced = 0;
    this.offset = this.cache.offset;
    this.written = 0;
    this.fault(STEP);
  }

  /**
   * Writes zeros over the part of every layer's buffers a mirror of `length` slots feeds that was never
   * written, so its pages become resident here rather than inside a step: onnxruntime reads every fed
   * slot, masked ones too, and the first read of a page of the fresh mapping faults it in (on this
   * machine ~1,800 faults, +14 ms, in the first decode step after every prompt: bench/README section 10,
   * group 6). Called at the allocation (the first 128 slots, with the stream) and before the mirror grows,
   * so a prompt's growth is paid in its prefill; a decode step's growth finds its part written ahead
   * ({@link faultAhead}). The never-written part holds zeros already and no row, so this changes no value.
   */
  private fault(length: number): void {
    this.zeroTo(this.cache.geometry.kvHeads * length * this.cache.geometry.headDim);
  }

  /**
   * Zeros {@link FAULT_AHEAD_SLOTS} slots' worth of the part the next mirror length adds, which no step feeds
   * yet: spread over the decode steps before a growth, what {@link fault} would write at it. Faulting it all
   * in the growing step made that step ~3× a decode step's time, once every 128 tokens of a new conversation
   * (SmolLM2-135M's shapes on this machine: 5.9 MB, 18 ms). Holds at most the next 128 slots resident early.
   */
  private faultAhead(): void {
    const { kvHeads, headDim } = this.cache.geometry;
    const next = kvHeads * Math.min(this.limit, this.length + STEP) * headDim;
    this.zeroTo(Math.min(next, this.written + FAULT_AHEAD_SLOTS * kvHeads * headDim));
  }

  /** Writes zeros over elements [written, end) of every layer's buffers (nothing when they are written already). */
  private zeroTo(end: number): void {
    if (end <= this.written) return;
    for (const buf of this.keys) buf.fill(0, this.written, end);
    for (const buf of this.values) buf.fill(0, this.written, end);
    this.written = end;
  }

  /** Moves each head's synced rows to where a mirror of `length` slots keeps them (in place, no allocation). */
  private relayout(length: number): void {
    const { kvHeads, headDim } = this.cache.geometry;
    const old = this.length;
    this.fault(length);
    const rows = Math.min(this.synced, length);
    const move = (buf: KvArray, h: number) => buf.copyWithin(h * length * headDim, h * old * headDim, (h * old + rows) * headDim);
    if (old > 0 && rows > 0) {
      for (const buf of [...this.keys, ...this.values]) {
        // Growing moves heads up, so the last head goes first; shrinking moves them down, first head first.
        if (length > old) for (let h = kvHeads - 1; h > 0; h--) move(buf, h);
        else for (let h = 1; h < kvHeads; h++) move(buf, h);
      }
    }
    this.length = length;
    this.synced = old > 0 ? rows : 0;
  }

  /** Copies cache slots [from, to) of every layer and head into the mirror. */
  private copySlots(from: number, to: number): void {
    if (to <= from) return;
    const { cache, length } = this;
    const { kvHeads, headDim } = cache.geometry;
    const C = cache.capacity;
    for (let l = 0; l < this.keys.length; l++) {
      for (let h = 0; h < kvHeads; h++) {
        const src = (h * C + from) * headDim;
        const dst = (h * length + from) * headDim;
        const count = (to - from) * headDim;
        copyKv(cache.keys[l], src, this.keys[l], dst, count);
        copyKv(cache.values[l], src, this.values[l], dst, count);
      }
    }
  }
}
