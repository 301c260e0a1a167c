// Holds the engine host client the services talk to: routes its events, notices when it dies, starts a
// new one after a crash (at most once a minute, so a model that crashes on load cannot loop), and lets
// the owner swap it on purpose. Runs in main (or the Node process of the browser transport).
import { ModelError, type ModelErrorCode } from '../engine/errors';
import { HostRequestError, type EngineHostClient } from '../host/engineHostClient';
import type { HostArgs, HostEvent, HostResult, HostVerb } from '../host/protocol';

export interface HostSupervisorOptions {
  readonly host: EngineHostClient;
  /** Starts a replacement after a crash; without it a crashed host stays down. */
  readonly startHost?: () => EngineHostClient;
  /** Shortest time between two automatic restarts. */
  readonly restartIntervalMs?: number;
  readonly now?: () => number;
}

/** What happened to the host: a new one is in place (`restarted`) or none could be (`down`). */
export type HostChange =
  | { readonly kind: 'restarted'; readonly host: EngineHostClient; readonly cause: Error | null }
  | { readonly kind: 'down'; readonly cause: Error };

/**
 * Owns the current client (and closes it). `generation` grows with every new host, so state derived
 * from an old one (loaded model, active stream) can be told apart from the current host's.
 */
export class HostSupervisor {
  private host: EngineHostClient;
  private epoch = 0;
  private down: Error | null = null;
  private closing = false;
  private lastRestart = -Infinity;
  private readonly eventListeners = new Set<(event: HostEvent) => void>();
  private readonly changeListeners = new Set<(change: HostChange) => void>();
  private readonly startHost?: () => EngineHostClient;
  private readonly restartIntervalMs: number;
  private readonly now: () => number;

  constructor(options: HostSupervisorOptions) {
    this.startHost = options.startHost;
    this.restartIntervalMs = options.restartIntervalMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.host = options.host;
    this.adopt(options.host);
  }

  /** The current client (a new object after every restart). */
  get client(): EngineHostClient {
    return this.host;
  }

  /** Grows by one with every host started after the first. */
  get generation(): number {
    return this.epoch;
  }

  /** Set while no host runs (it crashed and could not be restarted). */
  get failure(): Error | null {
    return this.down;
  }

  request<V extends HostVerb>(verb: V, args: HostArgs<V>): Promise<HostResult<V>> {
    return this.host.request(verb, args);
  }

  /**
   * Has the engine open `dir`'s graph and check its interface (what loading it would do, on CPU), reviving
   * a crashed host first. Rejects with a ModelError when the engine cannot run the folder.
   */
  async validateFolder(dir: string): Promise<void> {
    this.revive();
    try {
      await this.request('validate', { dir });
    } catch (e) {
      // The host passes ModelError codes through as `model/<code>`.
      if (e instanceof HostRequestError && e.code.startsWith('model/')) {
        throw new ModelError(e.code.slice('model/'.length) as ModelErrorCode, null, e.message, { cause: e });
      }
      throw e;
    }
  }

  start<V extends HostVerb>(verb: V, args: HostArgs<V>): { seq: number; host: EngineHostClient; result: Promise<HostResult<V>> } {
    const host = this.host;
    return { ...host.start(verb, args), host };
  }

  /** Every event of the current host (events of a replaced one are dropped). */
  onEvent(listener: (event: HostEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Told about every host change: restarts after a crash and replacements, and a host that stays down. */
  onChange(listener: (change: HostChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Closes the current host and puts `next` in its place (a deliberate restart, e.g. by a test). */
  async replace(next: EngineHostClient): Promise<void> {
    const old = this.host;
    this.install(next);
    await old.close();
    this.notify({ kind: 'restarted', host: next, cause: null });
  }

  /** Starts a new host after a crash left none (a user action, e.g. loading a model, may ask for it). */
  revive(): boolean {
    if (!this.down || !this.startHost || this.closing) return false;
    this.lastRestart = this.now();
    const next = this.startHost();
    this.install(next);
    this.notify({ kind: 'restarted', host: next, cause: null });
    return true;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.host.close();
  }

  private install(next: EngineHostClient): void {
    this.host = next;
    this.epoch++;
    this.down = null;
    this.adopt(next);
  }

  private adopt(host: EngineHostClient): void {
    host.onEvent((event) => {
      if (host !== this.host) return;
      for (const listener of this.eventListeners) listener(event);
    });
    host.onExit((error) => {
      if (host !== this.host || this.closing) return;
      this.onCrash(error);
    });
  }

  private onCrash(cause: Error): void {
    const now = this.now();
    if (this.startHost && now - this.lastRestart >= this.restartIntervalMs) {
      this.lastRestart = now;
      const next = this.startHost();
      this.install(next);
      this.notify({ kind: 'restarted', host: next, cause });
      return;
    }
    this.down = cause;
    this.notify({ kind: 'down', cause });
  }

  private notify(change: HostChange): void {
    for (const listener of this.changeListeners) listener(change);
  }
}
