// Test kit for the app services: a temp data folder, real services over a worker-thread engine host,
// an event log with waits, and `call` that unwraps replies. Runs under Vitest (Node).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiError, AppEvent, Verb, VerbArgs, VerbResult } from '../../common/contract';
import { AppServices, type AppServicesOptions } from '../../main/services/appServices';
import { EngineHostClient, type HostTransport } from '../../main/host/engineHostClient';
import { startWorkerHost, workerTransport } from '../../main/host/workerTransport';

/** Every event the services emitted, in order, with waits on them. */
export class EventLog {
  readonly events: AppEvent[] = [];
  private waiters: { test: (e: AppEvent) => boolean; resolve: (e: AppEvent) => void }[] = [];

  push = (event: AppEvent): void => {
    this.events.push(event);
    for (const w of [...this.waiters]) {
      if (w.test(event)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  };

  /** The next event (from now on, or already logged at index >= `from`) that matches. */
  next<T extends AppEvent['type']>(type: T, test: (e: Extract<AppEvent, { type: T }>) => boolean = () => true, from = this.events.length, timeoutMs = 30_000): Promise<Extract<AppEvent, { type: T }>> {
    const match = (e: AppEvent): boolean => e.type === type && test(e as Extract<AppEvent, { type: T }>);
    const found = this.events.slice(from).find(match);
    if (found) return Promise.resolve(found as Extract<AppEvent, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ test: match, resolve: (e) => (clearTimeout(timer), resolve(e as Extract<AppEvent, { type: T }>)) });
    });
  }

  since<T extends AppEvent['type']>(from: number, type: T): Extract<AppEvent, { type: T }>[] {
    return this.events.slice(from).filter((e) => e.type === type) as Extract<AppEvent, { type: T }>[];
  }
}

/** A reply that failed, thrown by `call`. */
export class ApiErrorThrown extends Error {
  constructor(readonly error: ApiError) {
    super(`${error.code}: ${error.message}`);
  }
}

export interface ServicesHarness {
  readonly dataDir: string;
  readonly services: AppServices;
  readonly log: EventLog;
  call<V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>>;
  /** The ApiError a call fails with (fails the test if it succeeds). */
  error(verb: string, args: unknown): Promise<ApiError>;
  close(): Promise<void>;
}

/** Real services in a fresh temp data folder, over a worker-thread host (restarted after a crash). */
export async function startServices(options: Partial<AppServicesOptions> = {}): Promise<ServicesHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ouro-services-'));
  const log = new EventLog();
  const services = new AppServices({ dataDir, host: startWorkerHost(), startHost: startWorkerHost, emit: log.push, seed: () => 7, ...options });
  const call = async <V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>> => {
    const reply = await services.invoke(verb, args);
    if (!reply.ok) throw new ApiErrorThrown(reply.error);
    return reply.result as VerbResult<V>;
  };
  const error = async (verb: string, args: unknown): Promise<ApiError> => {
    const reply = await services.invoke(verb, args);
    if (reply.ok) throw new Error(`${verb} succeeded, an error was expected`);
    return reply.error;
  };
  return {
    dataDir,
    services,
    log,
    call,
    error,
    close: async () => {
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A worker host whose death can be faked mid-request: `crash()` tells its client the host died (as a
 * crashed utility process would), while the real worker is only terminated once it has answered what
 * it was running — terminating a worker inside onnxruntime's run aborts the whole test process.
 */
export function crashableWorkerHost(): { client: EngineHostClient; crash(): void } {
  const inner = workerTransport();
  const open = new Set<number>();
  const exitListeners: ((error: Error | null) => void)[] = [];
  let crashed = false;
  const terminateWhenIdle = () => {
    if (crashed && open.size === 0) void inner.terminate();
  };
  const transport: HostTransport = {
    post: (message, transfer) => {
      if (message.kind === 'request') open.add(message.seq);
      inner.post(message, transfer);
    },
    onMessage: (listener) =>
      inner.onMessage((message) => {
        if (message.kind === 'reply') open.delete(message.seq);
        if (!crashed) listener(message);
        terminateWhenIdle();
      }),
    onExit: (listener) => {
      exitListeners.push(listener);
      inner.onExit((error) => {
        if (!crashed) listener(error);
      });
    },
    terminate: () => inner.terminate(),
  };
  return {
    client: new EngineHostClient(transport),
    crash: () => {
      crashed = true;
      for (const listener of exitListeners) listener(new Error('the engine host crashed (simulated)'));
      terminateWhenIdle();
    },
  };
}
