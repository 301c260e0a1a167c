// EngineOwner: the one owner of the engine host in main. It hands out stream ids, holds the engine lock,
// counts the turns queued on the host, and checks a stream's settings before a turn runs on it; the app's
// chats and the local OpenAI-compatible server are its clients. Runs in main (or any Node process that
// owns a host: the browser transport, `npm run serve`).
import { sameCacheSettings, type CacheSettings } from '../engine/chatTypes';
import type { EngineHostClient } from '../host/engineHostClient';
import type { HostArgs, HostEvent, HostResult, HostVerb, StreamId } from '../host/protocol';
import { KeyedQueue } from '../storage/keyedQueue';
import type { HostSupervisor } from './hostSupervisor';

const LOCK = 'engine';

/** A turn was refused because the engine is generating and `maxQueued` turns already wait. */
export class EngineBusyError extends Error {
  constructor(readonly queued: number) {
    super(`the engine is busy: a reply is being generated and ${queued} more wait for it`);
  }
}

/** What the owner knows of a stream the current host holds. */
interface StreamRecord {
  /** Settings it was started with; null while the host holds no cache for it yet. */
  settings: CacheSettings | null;
}

/** A turn started on the host: events carry `seq` on `host`; `rebuilt` when its stream was reset for new settings. */
export interface StartedTurn {
  readonly seq: number;
  readonly host: EngineHostClient;
  readonly result: Promise<HostResult<'generate'>>;
  readonly rebuilt: boolean;
}

/**
 * Owns stream bookkeeping for the supervisor's current host: a stream id is valid until the host is
 * replaced or its model changes (both drop every stream). Verbs that change streams go through `request`
 * so the bookkeeping cannot drift from the host.
 */
export class EngineOwner {
  private readonly lock = new KeyedQueue();
  private readonly streams = new Map<StreamId, StreamRecord>();
  /** Generate requests sent and not yet answered, across every client. */
  private inFlight = 0;
  private nextId = 0;
  /** Supervisor generation the stream records belong to. */
  private generation: number;
  private readonly lostListeners = new Set<() => void>();
  /** Seqs of quiet turns (the local server's) on the current host: their events are no window's business. */
  private readonly quietSeqs = new Set<number>();

  constructor(readonly supervisor: HostSupervisor) {
    this.generation = supervisor.generation;
    supervisor.onChange(() => this.dropAll());
  }

  /** Runs `work` alone among everything that changes which model or stream the host holds (load, switch, save). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.lock.run(LOCK, work);
  }

  /** Resolves when every exclusive step queued so far is done. */
  idle(): Promise<void> {
    return this.lock.idle(LOCK);
  }

  /** Turns on the host now: generating or waiting in its queue. */
  get queued(): number {
    return this.inFlight;
  }

  /**
   * Whether a window may see `event` of the current host (a quiet turn's events stay with its client;
   * the host sends no cache view op of a quiet stream at all).
   */
  forWindows(event: HostEvent): boolean {
    return event.type === 'cacheView' || !this.quietSeqs.has(event.seq);
  }

  /** A fresh stream id for a client (`prefix` names the client: `chat`, `api`). */
  newStream(prefix: string): StreamId {
    return `${prefix}-${++this.nextId}`;
  }

  /** True while the current host holds `id` as the owner last left it. */
  holds(id: StreamId): boolean {
    this.syncGeneration();
    return this.streams.has(id);
  }

  /** Called whenever the host's streams are all gone (model change, host restart). */
  onStreamsLost(listener: () => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /**
   * Sends a verb to the host, keeping the stream records in step: `load`/`unload` drop every stream,
   * `reset` drops one, `restore` and `rebuild` record the new stream's settings.
   */
  async request<V extends HostVerb>(verb: V, args: HostArgs<V>): Promise<HostResult<V>> {
    this.syncGeneration();
    if (verb === 'load' || verb === 'unload') this.dropAll();
    // Forgotten at once: a turn sent after the reset (the host answers in order) starts the stream afresh.
    if (verb === 'reset') this.streams.delete((args as HostArgs<'reset'>).stream);
    const result = await this.supervisor.request(verb, args);
    if (verb === 'restore') this.streams.set((args as HostArgs<'restore'>).stream, { settings: (result as HostResult<'restore'>).settings });
    if (verb === 'rebuild') this.streams.set((args as HostArgs<'rebuild'>).stream, { settings: (args as HostArgs<'rebuild'>).cache });
    return result;
  }

  /**
   * Frees `stream` in the host without waiting: the host takes the reset in order, so it lands before any
   * turn sent after it and never waits behind the reply generating now.
   */
  drop(stream: StreamId): void {
    if (this.holds(stream)) void this.request('reset', { stream }).catch(() => undefined);
  }

  /** Refuses a turn that would wait behind more than `maxQueued` others (EngineBusyError). */
  admit(maxQueued: number): void {
    if (this.inFlight > maxQueued) throw new EngineBusyError(this.inFlight - 1);
  }

  /**
   * Starts a turn on `stream`. A stream that holds tokens under other settings is reset first (never
   * replaced silently: `rebuilt` says so). With `maxQueued`, a turn that would wait behind more than that
   * many others is refused with EngineBusyError; without, it always queues (the app's own chat).
   */
  generate(args: HostArgs<'generate'>, maxQueued?: number): StartedTurn {
    this.syncGeneration();
    if (maxQueued !== undefined) this.admit(maxQueued);
    const record = this.streams.get(args.stream);
    const rebuilt = record?.settings != null && !sameCacheSettings(record.settings, args.cache);
    // The host answers requests in order, so the reset lands before the turn.
    if (rebuilt) void this.supervisor.request('reset', { stream: args.stream }).catch(() => undefined);
    this.streams.set(args.stream, { settings: args.cache });
    const started = this.supervisor.start('generate', args);
    this.inFlight++;
    if (args.quiet) this.quietSeqs.add(started.seq);
    const generation = this.generation;
    // The host sends a turn's last event before its reply, so the seq is still marked when it arrives.
    const result = started.result.finally(() => {
      this.inFlight--;
      this.quietSeqs.delete(started.seq);
    });
    result.catch(() => {
      // A failed turn may leave its stream half-way: forget it so its client starts afresh.
      if (generation === this.generation) this.streams.delete(args.stream);
    });
    return { seq: started.seq, host: started.host, result, rebuilt };
  }

  /** Stops turn `seq` of `host` at its next token (a no-op when it already ended). */
  async cancel(host: EngineHostClient, seq: number): Promise<void> {
    await host.cancel(seq).catch(() => undefined);
  }

  private syncGeneration(): void {
    if (this.generation !== this.supervisor.generation) this.dropAll();
  }

  private dropAll(): void {
    this.generation = this.supervisor.generation;
    if (this.streams.size === 0) return;
    this.streams.clear();
    for (const listener of this.lostListeners) listener();
  }
}
