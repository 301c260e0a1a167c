// Runs the whole app without Electron: real services and a worker-thread engine host behind the
// browser transport. The browser tests use `startTestApp`; `npm run web` uses it through ./webMain.
// Runs in a plain Node process.
import type { AppEvent } from '../../common/contract';
import type { EngineHostClient } from '../host/engineHostClient';
import { startWorkerHost } from '../host/workerTransport';
import { AppServices, type AppServicesOptions } from '../services/appServices';
import { EventHub } from '../services/eventHub';
import { startBridgeServer } from './bridgeServer';

export interface TestAppOptions {
  /** The app-data folder (settings, models.json, conversations). */
  readonly dataDir: string;
  /** The built renderer (`out/renderer`). */
  readonly staticDir: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Load the model used last at start (default false: tests load what they need). */
  readonly restoreLastModel?: boolean;
  /** Passed to the services (e.g. a fixed `seed`, a short `flushIntervalMs`, download retries). */
  readonly services?: Partial<Pick<AppServicesOptions, 'seed' | 'flushIntervalMs' | 'version' | 'downloads'>>;
  /** Where model downloads come from instead of the `hubBaseUrl` setting (tests: a mock Hub on loopback). */
  readonly hubBaseUrl?: string;
  /** The download catalog instead of the bundled one (tests: entries the mock Hub serves). */
  readonly catalog?: AppServicesOptions['catalog'];
}

export interface TestApp {
  /** Open this in the browser. */
  readonly url: string;
  readonly services: AppServices;
  /** The engine host in use now (a new client after `restartHost`). */
  readonly host: EngineHostClient;
  /** Every event sent to the page(s), for assertions. */
  subscribe(listener: (event: AppEvent) => void): () => void;
  /** Replaces the engine host with a fresh worker (its model reloads and conversations restore on next use). */
  restartHost(): Promise<void>;
  close(): Promise<void>;
}

/** Starts services over a new worker host and serves them with the renderer on 127.0.0.1. */
export async function startTestApp(options: Readonly<TestAppOptions>): Promise<TestApp> {
  const hub = new EventHub<AppEvent>();
  const services = new AppServices({
    ...options.services,
    hubBaseUrl: options.hubBaseUrl,
    catalog: options.catalog,
    dataDir: options.dataDir,
    host: startWorkerHost(),
    startHost: startWorkerHost,
    emit: hub.emit,
  });
  let bridge;
  try {
    bridge = await startBridgeServer({
      services: { invoke: (verb, args) => services.invoke(verb, args), subscribe: (l) => hub.subscribe(l) },
      staticDir: options.staticDir,
      port: options.port,
    });
  } catch (err) {
    await services.close();
    throw err;
  }
  if (options.restoreLastModel) void services.restoreLastModel();
  const server = bridge;
  return {
    url: server.url,
    services,
    get host() {
      return services.host;
    },
    subscribe: (listener) => hub.subscribe(listener),
    restartHost: () => services.replaceHost(startWorkerHost()),
    close: async () => {
      await server.close();
      await services.close();
    },
  };
}
