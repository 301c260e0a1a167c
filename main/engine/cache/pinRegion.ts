// Bookkeeping of the sink-ring cache's pinned spans (DESIGN §3 "Pinned memory"): which pin slots hold
// which positions, the budget, and the order pinned tokens take in the always-visible region. Runs in the
// engine host; numbers only, the cache moves the rows.

/** A pinned span of original positions [start, end), token k in pin slot `slot + k`. */
export interface PinSpan {
  readonly start: number;
  readonly end: number;
  /** First pin slot: the region holds the spans' tokens back to back by start, so this moves as spans come and go. */
  slot: number;
  /** Tokens whose rows are in place: `end - start` once the pin is complete (a re-fed span fills up). */
  fed: number;
}

/** Why a span cannot be pinned: the message says what to change. */
export class PinError extends Error {
  override readonly name = 'PinError';
}

/**
 * The pin slots `[first, first + tokens)` and the spans they hold, sorted by start (spans never overlap),
 * back to back: pinned token k of a span has rank `slot - first + k`, its place in the region after the
 * sinks. The region holds only what is pinned (it grows on a pin and shrinks on an unpin, up to the
 * budget), so a stream with nothing pinned has no pin slots. Pins are rare, so every operation here is
 * O(spans); per step the cache asks only {@link visibleBefore}.
 */
export class PinRegion {
  private list: PinSpan[] = [];
  private held = 0;

  constructor(
    readonly first: number,
    /** Most pinned tokens (a limit, not an allocation). */
    public budget: number,
  ) {}

  get spans(): readonly PinSpan[] {
    return this.list;
  }

  /** Pin slots, i.e. tokens pinned (a span being fed again counts whole). */
  get tokens(): number {
    return this.held;
  }

  get free(): number {
    return this.budget - this.held;
  }

  /**
   * Adds [start, end) (rows not in place yet: `fed` 0) at its place by start and returns it; the spans
   * after it move up by its length. The caller inserts `end - start` slots at `span.slot`.
   * @throws PinError when it overlaps a pinned span or exceeds the free budget.
   */
  add(start: number, end: number): PinSpan {
    const length = end - start;
    for (const s of this.list) {
      if (start < s.end && s.start < end) throw new PinError(`positions ${start}..${end - 1} overlap the pinned span ${s.start}..${s.end - 1}; unpin it first`);
    }
    if (length > this.free) {
      throw new PinError(`pinning ${length} tokens needs more than the ${this.free} free of the ${this.budget}-token pin budget; unpin something or raise the budget`);
    }
    const span: PinSpan = { start, end, slot: 0, fed: 0 };
    this.held += length;
    this.list = [...this.list, span].sort((a, b) => a.start - b.start);
    this.place();
    return span;
  }

  /**
   * Removes the span starting at `start` and returns it (its `slot` as it was), or undefined when none
   * does; the spans after it move down. The caller removes its slots.
   */
  remove(start: number): PinSpan | undefined {
    const span = this.list.find((s) => s.start === start);
    if (span === undefined) return undefined;
    this.held -= span.end - span.start;
    this.list = this.list.filter((s) => s !== span);
    this.place();
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
    for (const s of this.list) for (let k = 0; k < s.fed; k++) f(s.slot + k, s.start + k, s.slot - this.first + k);
  }

  private place(): void {
    let slot = this.first;
    for (const s of this.list) {
      s.slot = slot;
      slot += s.end - s.start;
    }
  }
}
