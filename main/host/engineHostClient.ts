// EngineHostClient: the owner's side of the host protocol — seq-numbered requests, replies matched to
// them, and the event stream. Runs wherever the host is owned (Electron main, CLI, tests); transport-agnostic.
import type { HostArgs, HostError, HostEvent, HostInbound, HostOutbound, HostResult, HostVerb } from './protocol';

/** How the client reaches a host: a worker thread, an Electron utility process, ... */
export interface HostTransport {
  post(message: HostInbound, transfer?: readonly unknown[]): void;
  onMessage(listener: (message: HostOutbound) => void): void;
  /** Called once when the host dies or is terminated; `error` when it crashed. */
  onExit(listener: (error: Error | null) => void): void;
  terminate(): Promise<void>;
}

/** A request the host answered with an error. */
export class HostRequestError extends Error {
  readonly code: HostError['code'];
  constructor(readonly verb: HostVerb, error: HostError) {
    super(error.message);
    this.code = error.code;
  }
}

interface Pending {
  readonly verb: HostVerb;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

export class EngineHostClient {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(event: HostEvent) => void>();
  private exited: Error | null = null;
  private readonly exitListeners = new Set<(error: Error) => void>();

  constructor(private readonly transport: HostTransport) {
    transport.onMessage((message) => this.onMessage(message));
    transport.onExit((error) => {
      const exited = error ?? new Error('the engine host has stopped');
      this.exited = exited;
      for (const p of this.pending.values()) p.reject(new HostRequestError(p.verb, { code: 'internal', message: exited.message }));
      this.pending.clear();
      for (const listener of this.exitListeners) listener(exited);
    });
  }

  /** True once the host has stopped (crashed or closed); every later request fails. */
  get stopped(): boolean {
    return this.exited !== null;
  }

  /** Called once when the host stops, crashed or closed (after pending requests were rejected). */
  onExit(listener: (error: Error) => void): () => void {
    if (this.exited) {
      const exited = this.exited;
      queueMicrotask(() => listener(exited));
      return () => undefined;
    }
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /** Sends a request; resolves with its result or rejects with a HostRequestError. */
  request<V extends HostVerb>(verb: V, args: HostArgs<V>): Promise<HostResult<V>> {
    return this.start(verb, args).result;
  }

  /** Like `request`, but hands back the seq at once (events of this request carry it; `cancel` takes it). */
  start<V extends HostVerb>(verb: V, args: HostArgs<V>): { seq: number; result: Promise<HostResult<V>> } {
    const seq = ++this.seq;
    const result = new Promise<HostResult<V>>((resolve, reject) => {
      if (this.exited) {
        reject(new HostRequestError(verb, { code: 'internal', message: this.exited.message }));
        return;
      }
      this.pending.set(seq, { verb, resolve: resolve as (r: unknown) => void, reject });
      this.transport.post({ kind: 'request', seq, verb, args } as HostInbound);
    });
    return { seq, result };
  }

  cancel(target: number): Promise<null> {
    return this.request('cancel', { target });
  }

  /** Subscribes to every event; returns the unsubscribe function. */
  onEvent(listener: (event: HostEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hands the host a port to which it also sends every event (the Electron shell gives it a renderer's). */
  attachEventPort(port: unknown): void {
    this.transport.post({ kind: 'attachEventPort' }, [port]);
  }

  close(): Promise<void> {
    return this.transport.terminate();
  }

  private onMessage(message: HostOutbound): void {
    if (message.kind === 'event') {
      for (const listener of this.listeners) listener(message.event);
      return;
    }
    const pending = this.pending.get(message.seq);
    if (!pending) return;
    this.pending.delete(message.seq);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(new HostRequestError(pending.verb, message.error));
  }
}
