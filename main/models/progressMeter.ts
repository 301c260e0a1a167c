// Download speed, ETA and event throttling from byte counts and a clock. Runs in main; pure.

/** Speed and ETA at one moment. */
export interface ProgressReading {
  readonly receivedBytes: number;
  readonly totalBytes: number;
  /** Average over the last few seconds; 0 until two samples exist. */
  readonly bytesPerSecond: number;
  /** Seconds left at the current speed, or null while the speed is unknown. */
  readonly etaSeconds: number | null;
}

/** Options of {@link ProgressMeter}. */
export interface ProgressMeterOptions {
  /** Minimum time between two emitted readings; default 250 ms (4 per second). */
  readonly intervalMs?: number;
  /** Speed is averaged over this span; default 5000 ms. */
  readonly windowMs?: number;
  readonly now?: () => number;
}

/**
 * Tracks bytes against a clock. `update` returns a reading when one is due (at most one per
 * interval), `reading` one now. Bytes that were on disk before this session (a resumed part) count
 * toward `receivedBytes` but not toward the speed.
 */
export class ProgressMeter {
  private readonly intervalMs: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private samples: Array<{ t: number; bytes: number }> = [];
  private lastEmit = Number.NEGATIVE_INFINITY;
  private received = 0;

  constructor(
    private readonly totalBytes: number,
    options: Readonly<ProgressMeterOptions> = {},
  ) {
    this.intervalMs = options.intervalMs ?? 250;
    this.windowMs = options.windowMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  /** Sets the byte count without a speed sample (resumed bytes, a restart from zero). */
  reset(receivedBytes: number): void {
    this.received = receivedBytes;
    this.samples = [{ t: this.now(), bytes: receivedBytes }];
  }

  /** Records the new byte count; returns a reading if the interval has passed since the last one. */
  update(receivedBytes: number): ProgressReading | null {
    const t = this.now();
    this.received = receivedBytes;
    this.samples.push({ t, bytes: receivedBytes });
    while (this.samples.length > 2 && t - this.samples[1].t >= this.windowMs) this.samples.shift();
    if (t - this.lastEmit < this.intervalMs) return null;
    this.lastEmit = t;
    return this.reading();
  }

  /** The reading now, regardless of the interval. */
  reading(): ProgressReading {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = first !== undefined && last !== undefined ? (last.t - first.t) / 1000 : 0;
    const bytesPerSecond = dt > 0 ? Math.max(0, (last.bytes - first.bytes) / dt) : 0;
    const remaining = Math.max(0, this.totalBytes - this.received);
    const etaSeconds = remaining === 0 ? 0 : bytesPerSecond > 0 ? remaining / bytesPerSecond : null;
    return { receivedBytes: this.received, totalBytes: this.totalBytes, bytesPerSecond, etaSeconds };
  }
}
