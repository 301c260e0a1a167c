// Stop conditions on generated text and ids: stop strings matched across streamed pieces, and EOS ids.
// Runs in the engine host, once per decode step.

/** What a push lets through. */
export interface StopPush {
  /** Text that is safe to show: it cannot be part of a stop string. */
  readonly emit: string;
  /** True once a stop string was found; generation should end (`emit` holds the text before it). */
  readonly stopped: boolean;
}

/**
 * Watches streamed text for stop strings. Holds back the longest suffix that could still grow into
 * a stop string, never emits any part of a matched stop string, and stops at the earliest match.
 * Empty stop strings are ignored. Per push cost is O(stops × longest stop × new text).
 */
export class StopStringMatcher {
  private readonly stops: readonly string[];
  private readonly maxLen: number;
  private held = '';
  private done = false;
  /** The stop string that ended the stream, or null. */
  matched: string | null = null;

  constructor(stops: readonly string[]) {
    this.stops = [...new Set(stops.filter((s) => s.length > 0))];
    this.maxLen = this.stops.reduce((n, s) => Math.max(n, s.length), 0);
  }

  /** True once a stop string was seen; later pushes emit nothing. */
  get stopped(): boolean {
    return this.done;
  }

  push(text: string): StopPush {
    if (this.done) return { emit: '', stopped: true };
    if (this.maxLen === 0) return { emit: text, stopped: false };
    const buf = this.held + text;
    // Earliest match wins; among matches at one index the longest one names the stop.
    let at = -1;
    let which: string | null = null;
    // A match must end inside the new text (held text alone matched nothing), so search only there.
    const from = Math.max(0, this.held.length - this.maxLen + 1);
    for (const s of this.stops) {
      const i = buf.indexOf(s, from);
      if (i >= 0 && (at < 0 || i < at || (i === at && s.length > (which?.length ?? 0)))) {
        at = i;
        which = s;
      }
    }
    if (at >= 0) {
      this.done = true;
      this.matched = which;
      this.held = '';
      return { emit: buf.slice(0, at), stopped: true };
    }
    const keep = this.heldSuffixLength(buf);
    this.held = buf.slice(buf.length - keep);
    return { emit: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** Releases the held-back text at the end of a stream that did not stop ("" after a stop). */
  flush(): string {
    const out = this.done ? '' : this.held;
    this.held = '';
    return out;
  }

  /** Length of the longest suffix of `buf` that is a proper prefix of some stop string. */
  private heldSuffixLength(buf: string): number {
    for (let k = Math.min(this.maxLen - 1, buf.length); k > 0; k--) {
      const tail = buf.slice(buf.length - k);
      if (this.stops.some((s) => s.length > k && s.startsWith(tail))) return k;
    }
    return 0;
  }
}

/** True when `id` ends generation (the model's EOS ids, from generation_config.json). */
export function isStopToken(id: number, eosIds: ReadonlySet<number> | readonly number[]): boolean {
  return Array.isArray(eosIds) ? eosIds.includes(id) : (eosIds as ReadonlySet<number>).has(id);
}
