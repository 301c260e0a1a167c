// The app's local OpenAI-compatible server: started, stopped and restarted to follow the `server`
// settings, serving the model the app has loaded through the engine's owner, and reporting its state for
// Settings → Local server. Runs in main (or the Node process of the browser transport).
import type { LocalServerStatus } from '../../common/contract';
import { OpenAIServer, type ServerEngine } from '../server/openaiServer';
import type { ServerSettings } from '../../common/settingsSchema';

export interface LocalServerDeps {
  readonly engine: ServerEngine;
  readonly emit: (status: LocalServerStatus) => void;
  /** Seed for requests that name none (tests pin it). */
  readonly seed?: () => number;
}

const OFF: LocalServerStatus = { state: 'off', url: null, error: null, active: 0, served: 0, streams: 0, kvBytes: 0 };

/** Owns the running OpenAIServer (at most one) and closes it. Changes are applied one at a time. */
export class LocalServer {
  private server: OpenAIServer | null = null;
  private settings: ServerSettings | null = null;
  private current: LocalServerStatus = OFF;
  private applying: Promise<void> = Promise.resolve();
  private kvBytes = 0;

  constructor(private readonly deps: LocalServerDeps) {}

  get status(): LocalServerStatus {
    return this.current;
  }

  /** Brings the server in line with `settings`: starts, stops, or restarts it when its settings changed. */
  apply(settings: Readonly<ServerSettings>): Promise<void> {
    this.applying = this.applying.then(() => this.applyNow(settings));
    return this.applying;
  }

  /** Stops the server for good (the app is closing). */
  close(): Promise<void> {
    this.applying = this.applying.then(async () => {
      const server = this.server;
      this.server = null;
      await server?.close();
    });
    return this.applying;
  }

  private async applyNow(next: Readonly<ServerSettings>): Promise<void> {
    const previous = this.settings;
    this.settings = { ...next };
    if (previous && sameServerSettings(previous, next) && (this.server !== null || !next.enabled)) return;
    if (this.server) {
      const old = this.server;
      this.server = null;
      await old.close();
    }
    if (!next.enabled) {
      this.publish(OFF);
      return;
    }
    try {
      this.server = await OpenAIServer.start({
        engine: this.deps.engine,
        host: next.host,
        port: next.port,
        ...(next.apiKey ? { apiKey: next.apiKey } : {}),
        maxStreams: next.streams,
        ...(this.deps.seed ? { seed: this.deps.seed } : {}),
        onActivity: () => this.refresh(),
        onTurn: () => void this.measure(),
      });
      this.refresh();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code = (err as NodeJS.ErrnoException).code;
      const error = code === 'EADDRINUSE' ? `port ${next.port} is in use by another program; pick another port` : message;
      this.publish({ ...OFF, state: 'error', error });
    }
  }

  /** The K/V memory of the server's streams, asked of the host after each turn (the status line shows it). */
  private async measure(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const held = await this.deps.engine.owner.request('streams', {}).catch(() => []);
    const ids = new Set(server.streamIds());
    this.kvBytes = held.filter((s) => ids.has(s.id)).reduce((sum, s) => sum + s.kvBytes, 0);
    this.refresh();
  }

  private refresh(): void {
    const server = this.server;
    if (!server) return;
    const s = server.status();
    this.publish({ state: 'on', url: s.url, error: null, active: s.active, served: s.served, streams: s.streams, kvBytes: this.kvBytes });
  }

  private publish(status: LocalServerStatus): void {
    this.current = status;
    this.deps.emit(status);
  }
}

function sameServerSettings(a: Readonly<ServerSettings>, b: Readonly<ServerSettings>): boolean {
  return a.enabled === b.enabled && a.host === b.host && a.port === b.port && a.apiKey === b.apiKey && a.streams === b.streams;
}
