// The attention-sink ring-buffer KV cache (DESIGN §3): slots, attention mask, positions, rebase, undo
// journal and snapshots. Runs in the engine host; typed-array work only, the runner feeds its buffers
// to the model as past_key_values.

import { slotOf, type PositionsMode } from '../../../common/cacheGeometry';
import type { RopeSpec } from '../rope';
import { checkPinBudget, resolveCacheOptions } from './cacheOptions';
import type { KvGeometry, ResolvedCacheOptions, SinkRingOptions } from './cacheOptions';
import { CacheSnapshotError, validateCacheSnapshot } from './cacheSnapshot';
import type { CacheSnapshot } from './cacheSnapshot';
import type { CacheDelta, CacheHeader, CacheSlotView, CacheView, CacheWrite, PinnedSpan } from '../../../common/cacheView';
import { DeviceKvRows } from './deviceRows';
import { KvRows } from './kvRows';
import { PinError, PinRegion, type PinSpan } from './pinRegion';
import { isKvArray, type KvArray, type KvDtype, type KvStorage, type RowsAt } from './kvStorage';
import type { DeviceJournalSave } from './deviceRows';
import { UndoJournal } from './undoJournal';

export type { KvGeometry, ResolvedCacheOptions, SinkRingOptions } from './cacheOptions';
export type { KvArray, KvDtype } from './kvStorage';
export type { CacheSnapshot } from './cacheSnapshot';
export { PinError } from './pinRegion';

/** Inputs of one forward pass besides input_ids and the KV buffers: views valid until the next beginStep. */
export interface StepInputs {
  /** Length C + n: the slots' mask, then n ones for the new tokens. */
  readonly attentionMask: BigInt64Array;
  /** Length n: the positions the model sees (original positions minus the rebase offset). */
  readonly positionIds: BigInt64Array;
  /** C: the past length fed, i.e. `past_key_values` dims `[1, kvHeads, C, headDim]`. */
  readonly pastLength: number;
}

const MAX_POSITION = 0x7fffffff;

/**
 * KV cache of `S` sinks and a ring of `W` slots (DESIGN §3). Per step: {@link beginStep} (mask, positions,
 * sink re-rotation, rare rebase), the model runs on {@link keys}/{@link values}, {@link commitStep} copies
 * its new rows in. Per decode step it does O(S + n) work besides copying rows; O(C) work happens only in
 * rebase, rewind, skipTo, reset, view and snapshots. Owns every buffer it exposes; callers must not
 * write to them.
 */
export class SinkRingCache {
  readonly geometry: Readonly<KvGeometry>;
  readonly rope: RopeSpec | null;
  readonly sink: number;
  readonly window: number;
  readonly positions: PositionsMode;
  readonly maxPos: number;
  readonly maxChunk: number;
  /** Element type of the K/V rows (the model's past_key_values dtype). */
  readonly kvDtype: KvDtype;

  private opts: ResolvedCacheOptions;
  private rows: KvStorage;
  /** Per slot: original position held (-1 if empty), token id held (-1 if empty). */
  private pos: Int32Array;
  private token: Int32Array;
  /** RoPE position each pristine anchored key (sinks, then pin slots) was computed at. */
  private pristinePos: Int32Array;
  private readonly pins: PinRegion;
  /** The span whose rows a pin feed is filling (beginPinStep / commitPinStep), null otherwise. */
  private feeding: PinSpan | null = null;
  /** Slots' mask for the next step (P = nextPos), then maxChunk ones. */
  private mask: BigInt64Array;
  private readonly positionBuf: BigInt64Array;
  /** Per n, the inputs of a step of n tokens over the current layout (cleared when C changes). */
  private stepInputs: (StepInputs | undefined)[] = [];
  private readonly journal: UndoJournal;
  private next = 0;
  private off = 0;
  private evictedCount = 0;
  /**
   * Held sink i's key currently carries RoPE position i + sinkShift; a pinned token of rank r carries
   * S + r + sinkShift in cache mode and its original position + sinkShift in original mode.
   */
  private sinkShift = 0;
  /** sinkShift as of the last commit: what a rewind to that point restores. */
  private committedShift = 0;
  /** n of a begun, not yet committed step; 0 when none. */
  private pending = 0;
  private pendingRebase = false;

  /**
   * @param rope the model's RoPE; null only with positions `original`, and then a rebase is impossible
   *   (beginStep throws when positions would reach maxPos).
   * @throws CacheConfigError for impossible options, e.g. S + W + maxChunk > maxPos.
   */
  constructor(geometry: Readonly<KvGeometry>, rope: RopeSpec | null, options: Readonly<SinkRingOptions>) {
    const opts = resolveCacheOptions(geometry, rope, options);
    const { layers, kvHeads, headDim } = geometry;
    this.geometry = { layers, kvHeads, headDim };
    this.opts = opts;
    this.rope = rope;
    this.sink = opts.sink;
    this.window = opts.window;
    this.positions = opts.positions;
    this.maxPos = opts.maxPos;
    this.maxChunk = opts.maxChunk;
    // Nothing pinned yet: C = S + W, pin slots come with pins.
    const C = opts.sink + opts.window;
    this.kvDtype = opts.kvDtype;
    this.rows = new KvRows(geometry, opts.sink, opts.window, opts.kvDtype);
    this.pristinePos = new Int32Array(opts.sink);
    this.pins = new PinRegion(C, opts.pinBudget);
    this.pos = new Int32Array(C).fill(-1);
    this.token = new Int32Array(C).fill(-1);
    this.mask = new BigInt64Array(C + opts.maxChunk).fill(1n, C);
    this.positionBuf = new BigInt64Array(opts.maxChunk);
    this.journal = new UndoJournal(opts.journalTokens, layers * kvHeads * headDim, opts.kvDtype);
  }

  get options(): ResolvedCacheOptions {
    return this.opts;
  }

  /** C = S + W + the tokens pinned: the slots fed as the past. Grows on a pin, shrinks on an unpin. */
  get capacity(): number {
    return this.pos.length;
  }

  /**
   * Per layer `[kvHeads, C, headDim]`, fed as `past_key_values.l.key` with dims `[1, kvHeads, C, headDim]`;
   * new arrays whenever C changes (a pin or an unpin), so holders compare before reusing them.
   */
  get keys(): readonly KvArray[] {
    return this.rows.keys;
  }

  get values(): readonly KvArray[] {
    return this.rows.values;
  }

  /** Original position held by slot j, -1 if empty (a new array whenever C changes). */
  get slotPos(): Int32Array {
    return this.pos;
  }

  /** Token id held by slot j, -1 if empty (a new array whenever C changes). */
  get slotToken(): Int32Array {
    return this.token;
  }

  /** Most tokens that may be pinned: a limit, not an allocation. */
  get pinBudget(): number {
    return this.opts.pinBudget;
  }

  /**
   * Sets the pin budget (e.g. the settings' for a cache restored from a snapshot written with another).
   * @throws CacheConfigError outside 0..W; PinError below the tokens pinned now.
   */
  set pinBudget(budget: number) {
    checkPinBudget(budget, this.window);
    if (budget < this.pins.tokens) throw new PinError(`${this.pins.tokens} tokens are pinned: unpin some before lowering the pin budget to ${budget}`);
    this.pins.budget = budget;
    this.opts = { ...this.opts, pinBudget: budget };
  }

  /** Original position of the next token = tokens seen. */
  get nextPos(): number {
    return this.next;
  }

  /** Total position offset subtracted by rebases. */
  get offset(): number {
    return this.off;
  }

  /** Tokens no longer held in any slot (overwritten, or skipped by skipTo). */
  get evicted(): number {
    return this.evictedCount;
  }

  /** How many of the latest tokens {@link rewind} can undo exactly. */
  get rewindable(): number {
    return this.journal.length;
  }

  /** Pinned spans, by start. */
  get pinned(): readonly PinnedSpan[] {
    return this.pins.spans.map(({ start, end }) => ({ start, end }));
  }

  /** Pin slots in use. */
  get pinnedTokens(): number {
    return this.pins.tokens;
  }

  /** Slot of original position `pos`. */
  slotOf(pos: number): number {
    return slotOf(pos, this.sink, this.window);
  }

  /** Tokens the next step may carry so that no ring slot is written twice: W plus the sinks still to fill. */
  ringWriteLimit(): number {
    return this.window + Math.max(0, this.sink - this.next);
  }

  /**
   * Prepares a forward pass over positions nextPos..nextPos+n-1: rebases when a position would reach
   * maxPos, moves the sinks (cache mode), fills the positions. The mask is already maintained.
   * @throws RangeError when n exceeds {@link ringWriteLimit} or maxChunk.
   */
  beginStep(n: number): StepInputs {
    const P = this.next;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`a step needs a positive whole number of tokens, got ${n}`);
    if (n > this.maxChunk) throw new RangeError(`a step of ${n} tokens exceeds this cache's maxChunk of ${this.maxChunk}`);
    if (this.feeding !== null) throw new Error('a pinned span is being fed: finish or unpin it before the next step');
    const limit = this.ringWriteLimit();
    if (n > limit) {
      throw new RangeError(`a step of ${n} tokens at position ${P} would write a ring slot twice; at most ${limit} fit`);
    }
    if (P + n > MAX_POSITION) throw new RangeError(`positions beyond ${MAX_POSITION} are not supported`);
    if (this.rebaseDue(n)) {
      this.rebase(this.firstVisibleAt(P) - this.sink);
      this.pendingRebase = true;
    }
    this.setSinkShift(this.targetShift(P), this.pendingRebase);
    const base = P - this.off;
    for (let i = 0; i < n; i++) this.positionBuf[i] = BigInt(base + i);
    this.pending = n;
    let inputs = this.stepInputs[n];
    if (inputs === undefined) {
      const C = this.capacity;
      inputs = { attentionMask: this.mask.subarray(0, C + n), positionIds: this.positionBuf.subarray(0, n), pastLength: C };
      this.stepInputs[n] = inputs;
    }
    return inputs;
  }

  /**
   * Copies the begun step's new rows into slot(P + i), journaling what they overwrite, and returns what
   * changed for the view. Per layer the rows come as whole presents `[kvHeads, C + n, headDim]` (new row
   * i at index C + i) or as the new rows alone `[kvHeads, n, headDim]`; the length tells which. With `at`,
   * the layers' new rows alone lie at those offsets in their arrays (the graph's packed output).
   */
  commitStep(
    tokenIds: ArrayLike<number>,
    presentKeys: readonly KvArray[],
    presentValues: readonly KvArray[],
    at: RowsAt | null = null,
  ): CacheDelta {
    const n = this.pending;
    if (n === 0) throw new Error('commitStep needs a beginStep before it');
    const past = checkCommit(this.geometry, this.kvDtype, this.capacity, n, tokenIds, presentKeys, presentValues, at);
    return this.commit(tokenIds, (P) => this.rows.copyPresent(presentKeys, presentValues, P, n, past, at));
  }

  /**
   * {@link commitStep} for a step whose graph wrote its new rows into the device copy itself
   * ({@link placeOnDevice}); `journalSave` supplies the journal rows of the slots it overwrote.
   */
  commitDeviceStep(tokenIds: ArrayLike<number>, journalSave: DeviceJournalSave): CacheDelta {
    const rows = this.rows;
    if (!(rows instanceof DeviceKvRows)) throw new Error('commitDeviceStep needs a cache placed on the device');
    if (this.pending === 0) throw new Error('commitStep needs a beginStep before it');
    checkTokenIds(tokenIds, this.pending);
    rows.hostStale = true;
    rows.journalSave = journalSave;
    try {
      return this.commit(tokenIds, () => {});
    } finally {
      rows.journalSave = null;
    }
  }

  /**
   * Moves the K/V rows' home to the device (DESIGN §3 "Storage, dtype and place"): the host buffers become
   * a copy for rare O(C) operations, and the runner keeps the device copy (see DeviceKvRows).
   */
  placeOnDevice(): DeviceKvRows {
    if (this.rows instanceof DeviceKvRows) return this.rows;
    if (!(this.rows instanceof KvRows)) throw new Error('only host rows can move to the device');
    const { kvHeads, headDim } = this.geometry;
    const rows = new DeviceKvRows(this.rows, kvHeads, headDim, this.sink, this.window);
    this.rows = rows;
    return rows;
  }

  /** Takes the device's rows as the host copy (see DeviceKvRows.pulled) and rotates the anchors' host rows. */
  pulledFromDevice(keys: readonly KvArray[], values: readonly KvArray[]): void {
    const rows = this.rows;
    if (!(rows instanceof DeviceKvRows)) throw new Error('pulledFromDevice needs a cache placed on the device');
    rows.pulled(keys, values);
    const rope = this.rope;
    for (let a = 0; a < this.pristinePos.length; a++) {
      const delta = this.anchorDelta(a);
      if (delta !== 0) rows.placeAnchor(a, rope!, delta);
    }
  }

  /**
   * How far anchor a's key (sink a for a < S, else pin slot W + a) is rotated from its pristine key for the
   * begun step (0 when empty): what the device graph applies per step. Pinned token r (pin slot S + W + r)
   * sits at S + r in cache mode, at its position in original mode, plus the sink shift (setSinkShift).
   */
  anchorDelta(a: number): number {
    const S = this.sink;
    const j = a < S ? a : a + this.window;
    const pos = this.slotPos[j];
    if (pos < 0) return 0;
    const anchor = a < S || this.positions === 'cache' ? a : pos;
    return anchor + this.sinkShift - this.pristinePos[a];
  }

  /** Whether beginStep(n) will rebase (an O(C) rotation of the host rows). */
  rebaseDue(n: number): boolean {
    return this.next + n - 1 - this.off >= this.maxPos;
  }

  private commit(tokenIds: ArrayLike<number>, copyRows: (P: number) => void): CacheDelta {
    const n = this.pending;
    const S = this.sink;
    const W = this.window;
    const P = this.next;
    for (let i = 0; i < n; i++) this.journalWrite(slotOf(P + i, S, W));
    copyRows(P);
    for (let i = 0; i < n; i++) {
      const q = P + i;
      const j = slotOf(q, S, W);
      if (this.slotPos[j] >= 0) this.evictedCount++;
      this.slotPos[j] = q;
      this.slotToken[j] = tokenIds[i];
      this.mask[j] = 1n;
      if (j < S) {
        this.pristinePos[j] = q - this.off;
        this.rows.capturePristine(j);
      }
    }
    this.next = P + n;
    this.hideLeavingSlot();
    this.revealPins(this.firstVisibleAt(P), this.firstVisibleAt(this.next));
    this.committedShift = this.sinkShift;
    this.pending = 0;
    const rebased = this.pendingRebase;
    this.pendingRebase = false;
    const viewShift = this.targetShift(this.next);
    const writes: CacheWrite[] = new Array<CacheWrite>(n);
    for (let i = 0; i < n; i++) {
      const q = P + i;
      const slot = slotOf(q, S, W);
      writes[i] = { slot, pos: q, tokenId: this.slotToken[slot], ropePos: slot < S ? slot + viewShift : q - this.off };
    }
    return {
      writes,
      head: slotOf(this.next, S, W),
      nextPos: this.next,
      evicted: this.evictedCount,
      firstVisible: this.firstVisibleAt(this.next),
      offset: this.off,
      rebased,
      sinkRopeShift: viewShift,
    };
  }

  /**
   * Undoes the last `count` tokens exactly (K/V bits, slots, counters, mask) from the journal. Returns
   * false and changes nothing when the journal does not cover them: it holds at most journalTokens
   * tokens and is cleared by a rebase, skipTo, reset or restore, after which the caller re-prefills.
   * (A rebase clears it because journaled rows carry the old rotation; rewinding exactly to the start
   * of the rebasing step is still covered and yields that step's rebased state, offset included.)
   */
  rewind(count: number): boolean {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`rewind count must be a non-negative integer, got ${count}`);
    if (count === 0) return true;
    if (count > this.journal.length) return false;
    const journal = this.journal;
    let shift = this.committedShift;
    for (let k = 0; k < count; k++) {
      const e = journal.pop();
      const j = journal.slot(e);
      const prev = journal.prevPos(e);
      if (prev >= 0) {
        this.rows.restoreSlot(j, journal.keyRows(e), journal.valueRows(e), journal.rowOffset(e));
        this.evictedCount--;
        this.slotPos[j] = prev;
        this.slotToken[j] = journal.prevToken(e);
      } else {
        this.emptySlot(j);
      }
      shift = journal.prevShift(e);
    }
    this.next -= count;
    this.pending = 0;
    this.pendingRebase = false;
    this.unpinFrom(this.next);
    this.setSinkShift(shift, true);
    this.committedShift = shift;
    this.recomputeMask();
    return true;
  }

  /**
   * Empties the cache: the state of a new one (row storage of the journal stays allocated). With
   * `keepPins` the pinned spans stay (a rewind beyond the journal re-feeds the stream around them: drop
   * the pins past the cut first with {@link unpinFrom}).
   */
  reset(keepPins = false): void {
    this.abortPinFeed();
    // Without pins kept a reset clears every row at once, pin slots dropped (and needs no host copy of a
    // device-resident cache).
    if (keepPins && this.pins.spans.length > 0) {
      for (let j = 0; j < this.sink + this.window; j++) if (this.slotPos[j] >= 0) this.emptySlot(j);
    } else {
      const pinned = this.pins.tokens;
      for (const { start } of this.pins.spans) this.pins.remove(start);
      const held: number[] = [];
      for (let j = 0; j < this.sink + this.window; j++) if (this.slotPos[j] >= 0) held.push(j);
      this.rows.clear(held);
      if (pinned > 0) this.spliceSlots(this.sink + this.window, pinned, 0);
      this.pristinePos.fill(0);
      this.slotPos.fill(-1);
      this.slotToken.fill(-1);
    }
    this.next = 0;
    this.off = 0;
    this.evictedCount = 0;
    this.sinkShift = 0;
    this.committedShift = 0;
    this.pending = 0;
    this.pendingRebase = false;
    this.journal.clear();
    this.setSinkShift(0, true);
    this.recomputeMask();
  }

  /**
   * For re-prefill after a rewind beyond the journal: empties every slot but the sinks below `pos`, and the
   * next token goes to original position `pos` (positions in between count as evicted). Lowers the
   * offset when `pos` lies before it, so positions fed stay non-negative. Clears the journal.
   */
  skipTo(pos: number): void {
    if (!Number.isInteger(pos) || pos < 0 || pos > MAX_POSITION) throw new RangeError(`skipTo needs a position, got ${pos}`);
    this.abortPinFeed();
    const keep = Math.min(pos, this.sink);
    let held = 0;
    for (let j = 0; j < this.sink + this.window; j++) {
      if (this.slotPos[j] < 0) continue;
      if (j < keep) held++;
      else this.emptySlot(j);
    }
    this.next = pos;
    this.evictedCount = pos - held;
    // The ring is empty now, so only the sinks and pins (re-placed below) depend on the offset.
    this.off = Math.min(this.off, this.firstVisibleAt(pos) - this.sink);
    this.setSinkShift(this.targetShift(pos), true);
    this.committedShift = this.sinkShift;
    this.pending = 0;
    this.pendingRebase = false;
    this.journal.clear();
    this.recomputeMask();
  }

  /**
   * Pins original positions [start, end) (DESIGN §3 "Pinned memory"). When every one of them is still in
   * the ring their rows are copied into pin slots (O(length) row copies) and this returns 'copied'.
   * Otherwise it returns 'feed': the caller feeds the span's token ids again through
   * {@link beginPinStep}/{@link commitPinStep} (or gives up with {@link unpin}); no step may run before.
   * @throws PinError for a span outside the tokens seen, over the sinks, overlapping a pin, beyond the
   *   budget, or one that must be fed again where the cache lacks the model's RoPE.
   */
  pin(start: number, end: number): 'copied' | 'feed' {
    if (this.pending !== 0 || this.feeding !== null) throw new Error('pin needs a cache between steps');
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < this.sink || end <= start || end > this.next) {
      throw new PinError(`can pin only positions ${this.sink}..${this.next - 1} (after the ${this.sink} sinks, before the next token), got ${start}..${end - 1}`);
    }
    let inRing = true;
    for (let p = start; p < end && inRing; p++) inRing = this.slotPos[this.slotOf(p)] === p;
    if (!inRing && this.rope === null) throw new PinError('pinning tokens the ring no longer holds feeds them again, which needs the model\'s RoPE');
    const span = this.pins.add(start, end);
    this.splicePins(span.slot, 0, end - start);
    if (!inRing) {
      this.feeding = span;
      return 'feed';
    }
    for (let k = 0; k < end - start; k++) {
      const from = this.slotOf(start + k);
      const j = span.slot + k;
      this.rows.copySlot(from, j);
      this.slotPos[j] = start + k;
      this.slotToken[j] = this.slotToken[from];
      // Ring keys carry their original position minus the offset.
      this.capturePinPristine(j, start + k - this.off);
    }
    span.fed = end - start;
    this.setSinkShift(this.committedShift, true);
    this.recomputeMask();
    return 'copied';
  }

  /** Tokens of the span being fed again that are still to feed (0 when none is). */
  get pinFeedLeft(): number {
    const f = this.feeding;
    return f === null ? 0 : f.end - f.start - f.fed;
  }

  /**
   * Prepares feeding the next `n` tokens of the span {@link pin} asked to feed again. They attend to the
   * sinks, the spans pinned before them and the span's tokens fed so far, laid out contiguously from
   * position 0 (sinks at 0..S-1, then pinned tokens by rank), and are fed right after them; the window is
   * masked. The inputs are valid until the next begin.
   */
  beginPinStep(n: number): StepInputs {
    const span = this.feeding;
    if (span === null) throw new Error('no pinned span is waiting to be fed');
    const left = span.end - span.start - span.fed;
    if (!Number.isInteger(n) || n < 1 || n > Math.min(left, this.maxChunk)) {
      throw new RangeError(`a pin step takes 1..${Math.min(left, this.maxChunk)} tokens, got ${n}`);
    }
    this.setSinkShift(0, true, true);
    const C = this.capacity;
    this.mask.fill(0n, this.sink, C);
    // The spans before this one and its tokens fed so far: pin slots first .. span.slot + fed - 1.
    this.mask.fill(1n, this.pins.first, span.slot + span.fed);
    const base = this.sink + span.slot - this.pins.first + span.fed;
    for (let i = 0; i < n; i++) this.positionBuf[i] = BigInt(base + i);
    this.pending = n;
    return { attentionMask: this.mask.subarray(0, C + n), positionIds: this.positionBuf.subarray(0, n), pastLength: C };
  }

  /** Copies a pin step's new rows (as {@link commitStep} takes them) into the span's pin slots. */
  commitPinStep(tokenIds: ArrayLike<number>, presentKeys: readonly KvArray[], presentValues: readonly KvArray[], at: RowsAt | null = null): void {
    const span = this.feeding;
    const n = this.pending;
    if (span === null || n === 0) throw new Error('commitPinStep needs a beginPinStep before it');
    const past = checkCommit(this.geometry, this.kvDtype, this.capacity, n, tokenIds, presentKeys, presentValues, at);
    const base = Number(this.positionBuf[0]);
    for (let i = 0; i < n; i++) {
      const k = span.fed + i;
      const j = span.slot + k;
      this.rows.copyPresentRow(presentKeys, presentValues, i, n, past, at, j);
      this.slotPos[j] = span.start + k;
      this.slotToken[j] = tokenIds[i];
      this.capturePinPristine(j, base + i);
    }
    span.fed += n;
    this.pending = 0;
    if (span.fed === span.end - span.start) {
      this.feeding = null;
      this.setSinkShift(this.committedShift, true);
      this.recomputeMask();
    }
  }

  /** Unpins the span starting at `start` (a span being fed too), freeing its slots; false when none does. */
  unpin(start: number): boolean {
    const span = this.pins.spans.find((s) => s.start === start);
    if (span === undefined) return false;
    if (this.pending !== 0 && span !== this.feeding) throw new Error('unpin needs a cache between steps');
    if (span === this.feeding) {
      this.feeding = null;
      this.pending = 0;
    }
    this.removePin(start);
    this.setSinkShift(this.committedShift, true);
    this.recomputeMask();
    return true;
  }

  /** Unpins every span reaching position `pos` or beyond (their tokens are being cut from the stream). */
  unpinFrom(pos: number): void {
    for (const s of this.pins.spans) if (s.end > pos) this.unpin(s.start);
  }

  /** The counters the next step starts from (O(1)): what a view's header holds. */
  header(): CacheHeader {
    return {
      nextPos: this.next,
      head: slotOf(this.next, this.sink, this.window),
      evicted: this.evictedCount,
      firstVisible: this.firstVisibleAt(this.next),
      offset: this.off,
      sinkRopeShift: this.targetShift(this.next),
    };
  }

  /** The whole cache as the next step sees it (O(C)); keep it current with {@link applyCacheDelta}. */
  view(): CacheView {
    const S = this.sink;
    const header = this.header();
    const shift = header.sinkRopeShift;
    const slots: CacheSlotView[] = [];
    const anchor = this.pinAnchors();
    for (let j = 0; j < this.capacity; j++) {
      const pos = this.slotPos[j];
      const kind = j < S ? 'sink' : j < S + this.window ? 'ring' : 'pin';
      slots.push({
        slot: j,
        kind,
        pos,
        ropePos: pos < 0 ? -1 : kind === 'sink' ? j + shift : kind === 'pin' ? anchor[j - S - this.window] + shift : pos - this.off,
        tokenId: this.slotToken[j],
        visible: this.mask[j] === 1n,
      });
    }
    return {
      sink: S,
      window: this.window,
      capacity: this.capacity,
      pinBudget: this.pinBudget,
      positions: this.positions,
      ...header,
      pins: this.pinned,
      slots,
    };
  }

  /** A deep copy of the state (not the journal: see {@link CacheSnapshot}). */
  snapshot(): CacheSnapshot {
    if (this.rows instanceof DeviceKvRows && this.rows.hostStale) throw new Error('the KV cache lives on the device: pull it to the host (Runner.sync) before a snapshot');
    const rope = this.rope;
    return {
      geometry: { ...this.geometry },
      options: { ...this.options },
      rope: rope && { headDim: rope.headDim, rotaryDim: rope.rotaryDim, invFreq: rope.invFreq.slice() },
      nextPos: this.next,
      offset: this.off,
      evicted: this.evictedCount,
      sinkShift: this.sinkShift,
      keys: this.keys.map((a) => a.slice()),
      values: this.values.map((a) => a.slice()),
      pristineKeys: this.rows.pristine.map((a) => a.slice()),
      pristinePos: this.pristinePos.slice(),
      slotPos: this.slotPos.slice(),
      slotToken: this.slotToken.slice(),
      pins: this.pinned,
    };
  }

  /**
   * Rebuilds a cache bit-exactly from a snapshot, with an empty journal.
   * @throws CacheSnapshotError when the snapshot is inconsistent or was taken with another RoPE.
   */
  static fromSnapshot(s: CacheSnapshot, rope: RopeSpec | null): SinkRingCache {
    validateCacheSnapshot(s);
    if (s.rope !== null && rope !== null && !sameRope(s.rope, rope)) {
      throw new CacheSnapshotError('mismatch', 'cache snapshot was taken with a different RoPE (another model or rope settings)');
    }
    let cache: SinkRingCache;
    try {
      cache = new SinkRingCache(s.geometry, rope, s.options);
    } catch (e) {
      throw new CacheSnapshotError('mismatch', `cache snapshot cannot be restored: ${(e as Error).message}`);
    }
    // validateCacheSnapshot checked that the pin slots hold these spans' positions back to back, by start.
    for (const { start, end } of s.pins) {
      const span = cache.pins.add(start, end);
      cache.splicePins(span.slot, 0, end - start);
      span.fed = end - start;
    }
    for (let l = 0; l < s.geometry.layers; l++) {
      cache.keys[l].set(s.keys[l]);
      cache.values[l].set(s.values[l]);
      cache.rows.pristine[l].set(s.pristineKeys[l]);
    }
    cache.pristinePos.set(s.pristinePos);
    cache.slotPos.set(s.slotPos);
    cache.slotToken.set(s.slotToken);
    cache.next = s.nextPos;
    cache.off = s.offset;
    cache.evictedCount = s.evicted;
    cache.sinkShift = s.sinkShift;
    cache.committedShift = s.sinkShift;
    cache.recomputeMask();
    return cache;
  }

  /** Bytes of the K and V buffers fed to the model. */
  kvBytes(): number {
    return this.rows.bytes();
  }

  /** Bytes the undo journal has allocated for K/V rows so far (at most journalTokens * 2 * L * H * D elements). */
  journalBytes(): number {
    return this.journal.bytes();
  }

  /** Oldest window position visible to a query at P. */
  private firstVisibleAt(P: number): number {
    return Math.max(this.sink, P - this.window + 1);
  }

  /**
   * Sink rotation shift a step starting at P needs. Cache mode: the sinks and the pinned tokens the query
   * sees sit, in that order, right before the oldest visible window token. Original: i - offset.
   */
  private targetShift(P: number): number {
    if (this.positions === 'original') return 0 - this.off;
    const fv = this.firstVisibleAt(P);
    return fv - this.sink - this.pins.visibleBefore(fv) - this.off;
  }

  /** Moves every ring key's RoPE position down by newOffset - offset: O(C), once per ~maxPos - C tokens. */
  private rebase(newOffset: number): void {
    const rope = this.rope;
    if (rope === null) {
      throw new Error(`positions reached this model's limit of ${this.maxPos}, and without its RoPE the cache cannot rebase`);
    }
    const delta = newOffset - this.off;
    for (let j = this.sink; j < this.sink + this.window; j++) if (this.slotPos[j] >= 0) this.rows.rotateSlot(j, rope, -delta);
    this.off = newOffset;
    // Journaled rows carry the old rotation; rewinding across the rebase re-prefills instead.
    this.journal.clear();
  }

  /**
   * Re-rotates held sinks and pinned tokens from their pristine keys (never from an already rotated key:
   * no drift) to sink i at i + target, pinned token at (S + rank, or its position in original mode unless
   * `byRank`) + target. `force` re-places them even when the shift is unchanged (the pins changed).
   */
  private setSinkShift(target: number, force = false, byRank = this.positions === 'cache'): void {
    if (target === this.sinkShift && !force) return;
    for (let i = 0; i < this.sink; i++) if (this.slotPos[i] >= 0) this.placeAnchor(i, i + target);
    const S = this.sink;
    const W = this.window;
    this.pins.forEachToken((j, pos, rank) => this.placeAnchor(j - W, (byRank ? S + rank : pos) + target));
    this.sinkShift = target;
  }

  /** Puts anchor a's pristine key at RoPE position `ropePos`. */
  private placeAnchor(a: number, ropePos: number): void {
    const delta = ropePos - this.pristinePos[a];
    const rope = this.rope;
    if (delta !== 0 && rope === null) throw new Error('moving sink or pinned keys needs the model\'s RoPE');
    this.rows.placeAnchor(a, rope!, delta);
  }

  /** Keeps pin slot j's key, just written, as its pristine copy computed at RoPE position `ropePos`. */
  private capturePinPristine(j: number, ropePos: number): void {
    const a = j - this.window;
    this.rows.capturePristine(a);
    this.pristinePos[a] = ropePos;
  }

  /** Per pin slot (index j - S - W): its anchor, S + rank in cache mode, its position in original mode. */
  private pinAnchors(): Int32Array {
    const out = new Int32Array(this.pins.tokens);
    const base = this.sink + this.window;
    const byRank = this.positions === 'cache';
    this.pins.forEachToken((j, pos, rank) => (out[j - base] = byRank ? this.sink + rank : pos));
    return out;
  }

  /** Drops the span starting at `start` from the region and its slots from the layout. */
  private removePin(start: number): void {
    const span = this.pins.remove(start);
    if (span) this.splicePins(span.slot, span.end - span.start, 0);
  }

  /**
   * Removes `remove` pin slots at slot `at` and inserts `insert` empty ones there: the rows, the slot
   * arrays, the pristine positions and the mask take the new C (O(C); pins are rare).
   */
  private splicePins(at: number, remove: number, insert: number): void {
    this.rows.splicePins(at, remove, insert);
    this.spliceSlots(at, remove, insert);
  }

  /** {@link splicePins} for everything but the rows. */
  private spliceSlots(at: number, remove: number, insert: number): void {
    const C = this.capacity - remove + insert;
    const splice = (a: Int32Array, from: number, fill: number): Int32Array => {
      const out = new Int32Array(a.length - remove + insert).fill(fill);
      out.set(a.subarray(0, from));
      out.set(a.subarray(from + remove), from + insert);
      return out;
    };
    this.pos = splice(this.pos, at, -1);
    this.token = splice(this.token, at, -1);
    this.pristinePos = splice(this.pristinePos, at - this.window, 0);
    this.mask = new BigInt64Array(C + this.maxChunk).fill(1n, C);
    this.stepInputs = [];
    this.recomputeMask();
  }

  /** Shows the pinned tokens whose ring copy left the window as it moved from `from` to `to`. */
  private revealPins(from: number, to: number): void {
    if (to <= from || this.pins.tokens === 0) return;
    for (const s of this.pins.spans) {
      for (let p = Math.max(s.start, from); p < Math.min(s.end, to); p++) this.mask[s.slot + p - s.start] = 1n;
    }
  }

  /** Drops a pin feed in progress (its span is unpinned). */
  private abortPinFeed(): void {
    if (this.feeding !== null) this.unpin(this.feeding.start);
  }

  /** Journals slot j's content before it is written; an empty slot journals just its emptiness. */
  private journalWrite(j: number): void {
    const prev = this.slotPos[j];
    const e = this.journal.push(j, prev, this.slotToken[j], this.committedShift);
    if (e >= 0 && prev >= 0) this.rows.saveSlot(j, this.journal.keyRows(e), this.journal.valueRows(e), this.journal.rowOffset(e));
  }

  /** After a commit, the one slot that leaves the window: the ring slot about to be overwritten. */
  private hideLeavingSlot(): void {
    const P = this.next;
    if (P < this.sink) return;
    const j = slotOf(P, this.sink, this.window);
    const p = this.slotPos[j];
    if (p >= 0 && P - p >= this.window) this.mask[j] = 0n;
  }

  /**
   * DESIGN §3's mask formula for P = nextPos, from scratch (rewind, skipTo, reset, restore, pins): a pinned
   * token is visible once its ring copy has left the window.
   */
  private recomputeMask(): void {
    const P = this.next;
    const ring = this.sink + this.window;
    const fv = this.firstVisibleAt(P);
    for (let j = 0; j < this.capacity; j++) {
      const p = this.slotPos[j];
      this.mask[j] = p >= 0 && (j < ring ? p < this.sink || P - p < this.window : p < fv) ? 1n : 0n;
    }
  }

  /** Empties sink or ring slot j; empty slots hold zeros, so undoing a write into one is bit-exact. */
  private emptySlot(j: number): void {
    this.rows.zeroSlot(j);
    if (j < this.sink) this.pristinePos[j] = 0;
    this.slotPos[j] = -1;
    this.slotToken[j] = -1;
  }
}

function sameRope(a: RopeSpec, b: RopeSpec): boolean {
  if (a.headDim !== b.headDim || a.rotaryDim !== b.rotaryDim || a.invFreq.length !== b.invFreq.length) return false;
  for (let i = 0; i < a.invFreq.length; i++) if (a.invFreq[i] !== b.invFreq[i]) return false;
  return true;
}

/**
 * Throws RangeError unless a commit carries n token ids and, per layer, presents of [kvHeads, C + n, headDim]
 * or new rows of [kvHeads, n, headDim] (all alike, in the cache's dtype), or with `at` new rows at those
 * offsets of its arrays; returns the rows before the new ones (C or 0).
 */
function checkCommit(
  geometry: Readonly<KvGeometry>,
  dtype: KvDtype,
  C: number,
  n: number,
  tokenIds: ArrayLike<number>,
  presentKeys: readonly KvArray[],
  presentValues: readonly KvArray[],
  at: RowsAt | null,
): number {
  const past = at === null && presentKeys[0]?.length !== geometry.kvHeads * n * geometry.headDim ? C : 0;
  // One call per side rather than a loop over [name, arrays, offsets] tuples: that made three arrays a step
  // and one of the decode path's largest compiles (bench/README section 20).
  checkPresents('keys', presentKeys, at?.keys, geometry, dtype, C, n, past);
  checkPresents('values', presentValues, at?.values, geometry, dtype, C, n, past);
  checkTokenIds(tokenIds, n);
  return past;
}

/** {@link checkCommit} for one side's arrays (and offsets into them); `past` is C for whole presents, else 0. */
function checkPresents(
  name: 'keys' | 'values',
  present: readonly KvArray[],
  offsets: readonly number[] | undefined,
  geometry: Readonly<KvGeometry>,
  dtype: KvDtype,
  C: number,
  n: number,
  past: number,
): void {
  const { layers, kvHeads, headDim } = geometry;
  const presentLength = kvHeads * (C + n) * headDim;
  const rowsLength = kvHeads * n * headDim;
  const expected = past === 0 ? rowsLength : presentLength;
  if (present.length !== layers) throw new RangeError(`present ${name} has ${present.length} layers, the cache ${layers}`);
  if (offsets !== undefined && offsets.length !== layers) throw new RangeError(`present ${name} come with ${offsets.length} offsets for ${layers} layers`);
  for (let l = 0; l < layers; l++) {
    const p = present[l];
    // Copying fp16 bits into fp32 slots (or back) would store numbers as the wrong type's values.
    if (!isKvArray(p, dtype)) throw new RangeError(`present ${name} are ${(p as object).constructor.name}, the cache holds ${dtype} rows`);
    if (offsets !== undefined) {
      const from = offsets[l];
      if (!Number.isInteger(from) || from < 0 || from + rowsLength > p.length) {
        throw new RangeError(`present ${name} of layer ${l}: new rows [${kvHeads}, ${n}, ${headDim}] (${rowsLength} elements) from element ${from} do not fit an array of ${p.length}`);
      }
    } else if (p.length !== expected) {
      throw new RangeError(
        `present ${name} must be [${kvHeads}, ${C + n}, ${headDim}] (${presentLength} elements) or the new rows [${kvHeads}, ${n}, ${headDim}] (${rowsLength}), all layers alike; got ${p.length}`,
      );
    }
  }
}

function checkTokenIds(tokenIds: ArrayLike<number>, n: number): void {
  if (tokenIds.length !== n) throw new RangeError(`the step began with ${n} tokens but ${tokenIds.length} token ids came`);
  for (let i = 0; i < n; i++) {
    const t = tokenIds[i];
    if (!Number.isInteger(t) || t < 0 || t > MAX_POSITION) throw new RangeError(`token id ${t} is not a valid id`);
  }
}
