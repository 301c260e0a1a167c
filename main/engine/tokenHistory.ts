// TokenHistory: every token id fed in a conversation, in order (engine host thread). Four bytes a token,
// kept so a rewind beyond the undo journal can re-prefill the sinks and the window before the cut.

/** A growable list of token ids with amortised O(1) append. */
export class TokenHistory {
  private ids = new Int32Array(1024);
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(ids: ArrayLike<number>): void {
    const need = this.size + ids.length;
    if (need > this.ids.length) {
      const grown = new Int32Array(Math.max(need, this.ids.length * 2));
      grown.set(this.ids.subarray(0, this.size));
      this.ids = grown;
    }
    for (let i = 0; i < ids.length; i++) this.ids[this.size + i] = ids[i];
    this.size = need;
  }

  /** The last `count` ids (fewer at the start), as a view valid until the next push. */
  tail(count: number): Int32Array {
    return this.ids.subarray(Math.max(0, this.size - count), this.size);
  }

  /** A copy of ids [start, end). */
  slice(start: number, end = this.size): Int32Array {
    return this.ids.slice(start, Math.min(end, this.size));
  }

  truncate(length: number): void {
    this.size = Math.min(this.size, Math.max(0, length));
  }

  clear(): void {
    this.size = 0;
  }
}
