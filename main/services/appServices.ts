// The app's main-side services behind the contract: every verb, validated, answered with a result or a
// typed ApiError, events pushed through `emit`. Plain Node (no electron): the Electron shell and the
// browser transport (main/web) both drive it. Runs in main.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRequest, type ApiReply, type AppEvent, type StorageRepair, type Verb } from '../../common/contract';
import type { EngineHostClient } from '../host/engineHostClient';
import type { HostEvent } from '../host/protocol';
import { ConversationStore } from '../storage/conversationStore';
import { bundledCatalog } from '../models/catalog';
import type { Catalog } from '../../common/catalogSchema';
import { redactSettings, type WindowBounds } from '../../common/settingsSchema';
import type { ProviderAvailability } from '../../common/providers';
import { SettingsStore } from '../storage/settingsStore';
import type { SettingsWarning } from '../storage/storageWarning';
import type { StreamTiming } from '../storage/streamWriter';
import { toApiError } from './apiFailure';
import { ChatOrchestrator } from './chatOrchestrator';
import { ConversationStreams } from './conversationStreams';
import { EngineOwner } from './engineOwner';
import { HostSupervisor, type HostChange } from './hostSupervisor';
import { LocalServer } from './localServer';
import { ModelDownloads, type DownloadTuning } from './modelDownloads';
import { ModelManager } from './modelManager';
import { engineCacheSettings } from './generateRequest';
import { ModelRegistry } from './modelRegistry';
import { RepairLog } from './repairLog';
import { serviceHandlers, type ServiceHandlers } from './serviceHandlers';

export interface AppServicesOptions {
  /** The app-data folder: settings.json, models.json, models/, conversations/. */
  readonly dataDir: string;
  /** The engine host to drive (the services own it from here on and close it). */
  readonly host: EngineHostClient;
  /** Receives every event for the renderer(s). */
  readonly emit: (event: AppEvent) => void;
  /** Starts a new host after a crash; without it a crashed host stays down until the app restarts. */
  readonly startHost?: () => EngineHostClient;
  /**
   * Whether host events (token, cacheView, progress, done, error) go through `emit` too. True for the
   * browser transport; false in Electron, where they reach the window over a port from the host itself.
   */
  readonly forwardHostEvents?: boolean;
  /** App version for `app.info` (default: package.json's). */
  readonly version?: string;
  /** How often streaming replies are written and fsynced (default: storage's DEFAULT_STREAM_TIMING). */
  readonly streamTiming?: Partial<StreamTiming>;
  /** Seed for replies whose settings leave it null (default: a fresh random one per reply). */
  readonly seed?: () => number;
  /** Overrides the `hubBaseUrl` setting for downloads (tests point it at a mock Hub). */
  readonly hubBaseUrl?: string;
  /** The download catalog (default: the bundled models/catalog.json). */
  readonly catalog?: Readonly<Catalog>;
  /** Download retries, timeouts, progress rate and test seams. */
  readonly downloads?: DownloadTuning;
  /** The demo model folder that ships with the app (listed, and loaded on first run); default none. */
  readonly demoModelDir?: string;
}

/** The parts the handlers work with; one object per AppServices. */
export interface ServiceParts {
  readonly dataDir: string;
  readonly settings: SettingsStore;
  readonly store: ConversationStore;
  readonly registry: ModelRegistry;
  readonly supervisor: HostSupervisor;
  /** The one owner of the engine: stream ids, the lock, the turn queue; the chats and the local server are its clients. */
  readonly engine: EngineOwner;
  readonly models: ModelManager;
  readonly downloads: ModelDownloads;
  readonly streams: ConversationStreams;
  readonly chat: ChatOrchestrator;
  /** Files repaired on their own, kept until the user dismisses them. */
  readonly repairs: RepairLog;
  /** The local OpenAI-compatible server: the engine's second client, following the `server` settings. */
  readonly server: LocalServer;
  readonly emit: (event: AppEvent) => void;
  readonly version: () => Promise<string>;
  /** Emits the model list with the current model. */
  readonly modelsChanged: () => void;
  /** Emits the conversation list. */
  readonly conversationsChanged: () => void;
}

/**
 * Owns the stores, the model registry and the engine host (through its supervisor). `invoke` never
 * throws: malformed verbs, missing conversations, broken model folders and host crashes all come
 * back as `{ ok: false, error }` with a contract code.
 */
export class AppServices {
  readonly dataDir: string;
  private readonly parts: ServiceParts;
  private readonly handlers: ServiceHandlers;
  private readonly ready: Promise<void>;
  private readonly hostListeners = new Set<(host: EngineHostClient) => void>();
  private closed: Promise<void> | null = null;

  constructor(options: Readonly<AppServicesOptions>) {
    this.dataDir = options.dataDir;
    const emit = (event: AppEvent): void => {
      try {
        // Whoever emits settings, the Hugging Face token never leaves main.
        options.emit(event.type === 'settings' ? { ...event, settings: redactSettings(event.settings) } : event);
      } catch {
        // A failing listener (a closed window) must not break the verb that emitted.
      }
    };
    const notice = (level: 'info' | 'warning' | 'error', text: string) => emit({ type: 'notice', level, text });
    const settings = new SettingsStore(options.dataDir);
    const store = new ConversationStore(options.dataDir, {
      streamTiming: options.streamTiming,
      onWarning: (w) => notice('warning', w.message),
    });
    const repairs = new RepairLog(join(options.dataDir, 'repairs.json'), (list) => emit({ type: 'repairs', repairs: list }));
    const registry = new ModelRegistry(options.dataDir, (repair) => repairs.add(repair), Date.now, options.demoModelDir ?? null);
    const supervisor = new HostSupervisor({ host: options.host, startHost: options.startHost });
    const engine = new EngineOwner(supervisor);
    const streams = new ConversationStreams(engine, store, (text) => notice('warning', text));
    const models = new ModelManager({
      registry,
      engine,
      settings,
      beforeUnload: async () => {
        await streams.saveActive();
        streams.forgetAll();
      },
      changed: () => this.parts.modelsChanged(),
    });
    const downloads = new ModelDownloads({
      modelsDir: registry.downloadsDir,
      catalog: options.catalog ?? bundledCatalog(),
      settings: () => settings.get(),
      hubBaseUrl: options.hubBaseUrl,
      emit,
      checkFolder: (dir) => supervisor.validateFolder(dir),
      installed: () => this.parts.modelsChanged(),
      tuning: options.downloads,
    });
    const listChanged = () => this.parts.conversationsChanged();
    const chat = new ChatOrchestrator({ store, engine, models, streams, settings: () => settings.get(), emit, listChanged, seed: options.seed });
    const server = new LocalServer({
      engine: {
        owner: engine,
        model: async () => {
          const { model, info } = await models.ensureLoaded();
          return { id: model.id, info };
        },
        cache: () => engineCacheSettings(settings.get().cache),
      },
      emit: (status) => emit({ type: 'server', status }),
      seed: options.seed,
    });
    let version: Promise<string> | null = options.version === undefined ? null : Promise.resolve(options.version);
    const parts: ServiceParts = {
      dataDir: options.dataDir,
      settings,
      store,
      registry,
      supervisor,
      engine,
      models,
      downloads,
      streams,
      chat,
      repairs,
      server,
      emit,
      version: () => (version ??= packageVersion()),
      modelsChanged: () =>
        void registry.list().then(
          (list) => emit({ type: 'models', models: list, current: models.current?.info ?? null }),
          () => undefined,
        ),
      conversationsChanged: () => void store.list().then((list) => emit({ type: 'conversations', conversations: list }), () => undefined),
    };
    this.parts = parts;
    this.handlers = serviceHandlers(parts);
    if (options.forwardHostEvents ?? true) supervisor.onEvent((event) => forwardable(event) && engine.forWindows(event) && emit(event));
    supervisor.onChange((change) => this.onHostChange(change, notice));
    // The repairs an earlier run kept come first, so this run's are added after them.
    this.ready = repairs.load().then(() =>
      settings.load().then(
        ({ warnings }) => {
          warnings.forEach((w) => repairs.add(settingsRepair(w)));
          void server.apply(settings.get().server);
        },
        (err: unknown) => notice('error', `Settings could not be read (${toApiError(err).message}); defaults are in use.`),
      ),
    );
  }

  /** Runs one verb; `verb` and `args` are validated here, whatever transport they came through. */
  async invoke(verb: unknown, args: unknown): Promise<ApiReply> {
    const request = parseRequest(verb, args);
    if (!request.ok) return { ok: false, error: request.error };
    if (this.closed) return { ok: false, error: { code: 'internal', message: 'Ouro is shutting down.' } };
    try {
      await this.ready;
      const handler = this.handlers[request.verb as Verb] as (args: unknown) => Promise<unknown>;
      const result = await handler(request.args);
      return { ok: true, result: result ?? null };
    } catch (err) {
      return { ok: false, error: toApiError(err) };
    }
  }

  /** Where the window was last (null: the default place), for the shell to open it there. */
  async windowBounds(): Promise<WindowBounds | null> {
    await this.ready;
    return this.parts.settings.get().windowBounds;
  }

  /** Saves where the window is, as `settings.update` would (the renderer hears of it the same way). */
  async saveWindowBounds(windowBounds: WindowBounds): Promise<void> {
    await this.ready;
    await this.handlers['settings.update']({ patch: { windowBounds } });
  }

  /** The execution providers this build of onnxruntime offers (what `app.info` lists). */
  providers(): Promise<readonly ProviderAvailability[]> {
    return this.parts.supervisor.request('providers', {});
  }

  /** The engine's owner: other clients of the engine (tests, tools) start turns through it. */
  get engine(): EngineOwner {
    return this.parts.engine;
  }

  /** The engine host in use now (a new client after a restart). */
  get host(): EngineHostClient {
    return this.parts.supervisor.client;
  }

  /** Called with every new host (after a crash or `replaceHost`): the Electron shell re-attaches its ports. */
  onHostStarted(listener: (host: EngineHostClient) => void): () => void {
    this.hostListeners.add(listener);
    return () => this.hostListeners.delete(listener);
  }

  /** Swaps in a new host on purpose (waits for queued snapshots first); the model reloads on next use. */
  async replaceHost(next: EngineHostClient): Promise<void> {
    await this.parts.chat.settle();
    await this.parts.chat.idle();
    await this.parts.supervisor.replace(next);
  }

  /**
   * Loads the model used last, if it is still installed, or on first run the demo model unless it is
   * hidden (at app start; a failure becomes a notice).
   */
  async restoreLastModel(): Promise<void> {
    await this.ready;
    const id = this.parts.settings.get().lastModelId ?? (await this.parts.registry.list()).find((m) => m.source === 'demo' && !m.hidden && !m.problem)?.id;
    if (!id || this.parts.models.current) return;
    const reply = await this.invoke('models.load', { id });
    if (!reply.ok) this.parts.emit({ type: 'notice', level: 'warning', text: `The last model could not be loaded: ${reply.error.message}` });
  }

  /** Resolves when no reply streams and every snapshot is written. */
  async idle(): Promise<void> {
    await this.parts.chat.idle();
  }

  /** Stops any reply, saves the active conversation's snapshot, flushes the stores and closes the host. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      const { chat, engine, streams, store, supervisor, downloads, server } = this.parts;
      // Running downloads stop; their bytes stay in .partial for a resume after the next start.
      await downloads.close().catch(() => undefined);
      await server.close().catch(() => undefined);
      await chat.settle().catch(() => undefined);
      await chat.idle().catch(() => undefined);
      await engine.exclusive(() => streams.saveActive()).catch(() => undefined);
      await store.close().catch(() => undefined);
      await this.parts.repairs.saved();
      await supervisor.close();
    })();
    return this.closed;
  }

  private onHostChange(change: HostChange, notice: (level: 'info' | 'warning' | 'error', text: string) => void): void {
    const { streams, models } = this.parts;
    streams.forgetAll();
    if (change.kind === 'down') {
      notice('error', `The engine stopped again (${change.cause.message}) and was not restarted. Load a model to start it, or restart Ouro.`);
      this.parts.modelsChanged();
      return;
    }
    for (const listener of this.hostListeners) listener(change.host);
    if (change.cause === null) return;
    notice('warning', `The engine stopped unexpectedly (${change.cause.message}) and was restarted.`);
    if (models.current) {
      void models.ensureLoaded().catch((err: unknown) => notice('error', `The model could not be loaded again: ${toApiError(err).message}`));
    }
  }
}

/** A settings warning as a repair: the file set aside, or one setting back at its default. */
function settingsRepair(warning: SettingsWarning): StorageRepair {
  const { file, message } = warning;
  if (warning.kind === 'settings-corrupt') return { file, keptAs: warning.backupPath, lost: warning.lost, message };
  return { file, keptAs: null, lost: [`the setting ${warning.path || '(all)'}`], message };
}

function forwardable(event: HostEvent): event is Extract<HostEvent, AppEvent> {
  return event.type === 'token' || event.type === 'cacheView' || event.type === 'progress' || event.type === 'done' || event.type === 'error';
}

async function packageVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
