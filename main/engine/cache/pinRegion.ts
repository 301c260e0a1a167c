// Bookkeeping of the sink-ring cache's pinned spans (DESIGN §3 "Pinned memory"): which pin slots hold
// which positions, the budget, and the order pinned tokens take in the always-visible region. Runs in the
// engine host; numbers only, the cache moves the rows.

/** A pinned span of original positions [start, end), token k in pin slot `slots[k]`. */
export interface PinSpan {
  readonly start: number;
  readonly end: number;
  readonly slots: Int32Array;
  /** Tokens whose rows are in place: `end - start` once the pin is complete (a re-fed span fills up). */
  fed: number;
}

/** Why a span cannot be pinned: the message says what to change. */
export class PinError extends Error {
  override readonly name = 'PinError';
}

/**
 * The B pin slots `[first, first + B)` and the spans they hold, sorted by start (spans never overlap).
 * Pinned token k of the i-th span has rank `sum of earlier spans' lengths + k`: its place in the region
 * after the sinks. Pins are rare, so every operation here is O(B) at most; per step the cache asks only
 * {@link visibleBefore} (O(spans)).
 */
export class PinRegion {
  private readonly used: Uint8Array;
  private list: PinSpan[] = [];
  private held = 0;

  constructor(
    readonly first: number,
    readonly budget: number,
  ) {
    this.used = new Uint8Array(budget);
  }

  get spans(): readonly PinSpan[] {
    return this.list;
  }

  /** Pin slots in use. */
  get tokens(): number {
    return this.held;
  }

  get free(): number {
    return this.budget - this.held;
  }

  /**
   * Reserves slots for [start, end) (rows not in place yet: `fed` 0) and returns the span: the first free
   * ones, or `at` (a restored snapshot's).
   * @throws PinError when it overlaps a pinned span or exceeds the free budget.
   */
  add(start: number, end: number, at?: Int32Array): PinSpan {
    const length = end - start;
    for (const s of this.list) {
      if (start < s.end && s.start < end) throw new PinError(`positions ${start}..${end - 1} overlap the pinned span ${s.start}..${s.end - 1}; unpin it first`);
    }
    if (length > this.free) {
      throw new PinError(`pinning ${length} tokens needs more than the ${this.free} free of the ${this.budget}-token pin budget; unpin something or raise the budget`);
    }
    const slots = at ?? new Int32Array(length);
    if (at) for (const j of at) this.used[j - this.first] = 1;
    for (let k = 0, b = 0; !at && k < length; b++) {
      if (this.used[b] === 0) {
        this.used[b] = 1;
        slots[k++] = this.first + b;
      }
    }
    const span: PinSpan = { start, end, slots, fed: 0 };
    this.held += length;
    this.list = [...this.list, span].sort((a, b) => a.start - b.start);
    return span;
  }

  /** Frees a span's slots; returns it, or undefined when no span starts at `start`. */
  remove(start: number): PinSpan | undefined {
    const span = this.list.find((s) => s.start === start);
    if (span === undefined) return undefined;
    for (const j of span.slots) this.used[j - this.first] = 0;
    this.held -= span.slots.length;
    this.list = this.list.filter((s) => s !== span);
    return span;
  }

  /** Complete pinned tokens at positions below `pos`: the pins a query whose window starts at `pos` attends to. */
  visibleBefore(pos: number): number {
    let n = 0;
    for (const s of this.list) if (s.fed === s.end - s.start) n += Math.max(0, Math.min(s.end, pos) - s.start);
    return n;
  }

  /** Calls `f(slot, pos, rank)` for every pinned token whose rows are in place, in rank order. */
  forEachToken(f: (slot: number, pos: number, rank: number) => void): void {
    let rank = 0;
    for (const s of this.list) {
      for (let k = 0; k < s.fed; k++) f(s.slots[k], s.start + k, rank + k);
      rank += s.end - s.start;
    }
  }
}
