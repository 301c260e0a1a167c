// Routes the engine host's events: everything to the owner while no event port is attached; with ports
// (Electron renderers), token-rate events to the ports only and coarse `partial` text to the owner.
// Runs in the engine host thread (worker or utility process).
import type { HostEvent, HostOutbound } from './protocol';

/** A port events can be posted to; `on('close')` (worker_threads and Electron ports both have it) detaches it. */
export interface EventPort {
  postMessage(message: HostOutbound): void;
  on?(event: 'close', listener: () => void): unknown;
  start?(): void;
}

/**
 * How often the owner gets the streamed text while ports carry the tokens. It writes what it gets
 * within 50 ms more (storage's DEFAULT_STREAM_TIMING), so a killed app loses at most ~100 ms of text.
 */
export const PARTIAL_INTERVAL_MS = 50;

/**
 * Sends host events where they are needed. Why `partial`: the owner (Electron main) must persist a
 * streaming reply, but per-token messages through main would put it back in the hot path the ports
 * exist to avoid; twenty coalesced texts a second keep a crash's loss to a few tokens' worth of time.
 */
export class HostEventRouter {
  private readonly ports = new Set<EventPort>();
  /** Text of tokens not yet sent as `partial`, per generate seq. */
  private readonly pending = new Map<number, string>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly owner: { postMessage(message: HostOutbound): void },
    private readonly intervalMs = PARTIAL_INTERVAL_MS,
  ) {}

  attach(port: EventPort): void {
    this.ports.add(port);
    port.on?.('close', () => this.ports.delete(port));
    port.start?.();
  }

  /** Routes `event`; `ownerOnly` events (a quiet turn's: the local server's) never reach a port. */
  emit(event: HostEvent, ownerOnly = false): void {
    const message: HostOutbound = { kind: 'event', event };
    if (this.ports.size === 0 || ownerOnly) {
      this.flush();
      this.owner.postMessage(message);
      return;
    }
    for (const port of this.ports) port.postMessage(message);
    if (event.type === 'token') {
      if (event.text !== '') this.queue(event.seq, event.text);
      return;
    }
    if (event.type === 'cacheView') return;
    // Anything else (progress, done, error) goes to the owner too, after the text that preceded it.
    this.flush();
    this.owner.postMessage(message);
  }

  private queue(seq: number, text: string): void {
    this.pending.set(seq, (this.pending.get(seq) ?? '') + text);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.intervalMs);
  }

  private flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const [seq, text] of this.pending) this.owner.postMessage({ kind: 'event', event: { type: 'partial', seq, text } });
    this.pending.clear();
  }
}
