// Model downloads for the app: starts, cancels, resumes and lists them, and reports progress as events
// the IPC layer forwards to the UI. Runs in main; plain Node (no electron), network via an HttpTransport.

import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { freeBytes as statfsFreeBytes } from './diskSpace';
import { DownloadError, toFailure } from './downloadError';
import type { RetryPolicy } from './downloadFile';
import { partialDir, removeEmptyPartialRoot, runDownload, stagingDir, statePath } from './downloadJob';
import { MODEL_FOLDER_ID, validateDownloadRequest, type DownloadRequest } from './downloadRequest';
import type { DownloadEvent, DownloadOutcome, DownloadSnapshot } from '../../common/downloadTypes';
import { readDownloadState, type DownloadState } from './downloadState';
import type { HttpTransport } from './httpTransport';
import { HubClient } from './hubClient';
import { nodeHttpTransport } from './nodeHttpTransport';

/** Options of {@link DownloadService}. */
export interface DownloadServiceOptions {
  /** Where models are installed (`<dataDir>/models`); partial downloads live in its `.partial/`. */
  readonly modelsDir: string;
  /** Default https://huggingface.co (a mirror such as https://hf-mirror.com works too). */
  readonly hubBaseUrl?: string;
  /** The Hugging Face token, or a getter read at each start (so a Settings change applies). */
  readonly token?: string | (() => string | undefined);
  /** Default: node:http(s) with HTTPS_PROXY/NO_PROXY. Electron may pass fetchTransport(net.fetch). */
  readonly transport?: HttpTransport;
  readonly onEvent?: (event: DownloadEvent) => void;
  /**
   * A deeper check of the assembled folder once the engine's ModelFolder accepts it (the app opens the
   * graph in the engine host); rejecting with a ModelError fails the download as `invalid-model`.
   */
  readonly checkFolder?: (dir: string) => Promise<void>;
  /** No byte for this long retries the request; default 30 s. */
  readonly idleTimeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Minimum time between progress events; default 250 ms. */
  readonly progressIntervalMs?: number;
  /** Space to leave free beyond the download; default 100 MiB. */
  readonly reserveBytes?: number;
  /** Test seams. */
  readonly freeBytes?: (dir: string) => Promise<number>;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** A started download: its id and a promise of how it ended (never rejects). */
export interface DownloadHandle {
  readonly id: string;
  readonly done: Promise<DownloadOutcome>;
}

interface Job {
  snapshot: DownloadSnapshot;
  readonly controller: AbortController;
  done: Promise<DownloadOutcome>;
}

function initialSnapshot(request: Readonly<DownloadRequest>): DownloadSnapshot {
  return {
    id: request.id,
    name: request.name ?? request.id,
    repo: request.repo,
    revision: request.revision,
    commit: null,
    catalogId: request.catalogId ?? null,
    variant: request.variant ?? null,
    phase: 'resolving',
    receivedBytes: 0,
    totalBytes: 0,
    bytesPerSecond: 0,
    etaSeconds: null,
    file: null,
    retry: null,
    error: null,
    dir: null,
    resumable: false,
  };
}

function requestFromState(state: Readonly<DownloadState>): DownloadRequest {
  return {
    id: state.id,
    name: state.name,
    repo: state.repo,
    revision: state.revision,
    files: state.files.map((f) => ({ path: f.path })),
    ...(state.catalogId === null ? {} : { catalogId: state.catalogId }),
    ...(state.variant === null ? {} : { variant: state.variant }),
  };
}

/**
 * Owns `<modelsDir>/.partial/` and creates `<modelsDir>/<id>` folders, each only once complete and
 * validated by the engine's ModelFolder. One job per id; starting an id that is running returns it.
 */
export class DownloadService {
  private readonly jobs = new Map<string, Job>();
  /** The last snapshot of jobs that ended without installing, for `list`. */
  private readonly ended = new Map<string, DownloadSnapshot>();
  readonly modelsDir: string;

  constructor(private readonly options: Readonly<DownloadServiceOptions>) {
    this.modelsDir = options.modelsDir;
  }

  /**
   * Starts (or resumes, when a matching partial download is on disk) `request`. Throws DownloadError
   * `bad-request` for an unsafe request; everything later ends up in the outcome and the events.
   */
  start(request: Readonly<DownloadRequest>): DownloadHandle {
    validateDownloadRequest(request);
    const running = this.jobs.get(request.id);
    if (running !== undefined) return { id: request.id, done: running.done };
    this.ended.delete(request.id);

    const controller = new AbortController();
    const token = typeof this.options.token === 'function' ? this.options.token() : this.options.token;
    const transport = this.options.transport ?? nodeHttpTransport();
    const hub = new HubClient({ baseUrl: this.options.hubBaseUrl, token, transport });
    const job: Job = { snapshot: initialSnapshot(request), controller, done: new Promise<DownloadOutcome>(() => undefined) };
    const update = (patch: Partial<DownloadSnapshot>, kind: DownloadEvent['type']): void => {
      job.snapshot = { ...job.snapshot, ...patch };
      this.emit({ type: kind, download: job.snapshot });
    };
    job.done = runDownload({
      request,
      modelsDir: this.modelsDir,
      hub,
      transport,
      signal: controller.signal,
      idleTimeoutMs: this.options.idleTimeoutMs,
      retry: this.options.retry,
      reserveBytes: this.options.reserveBytes ?? 100 * 1024 * 1024,
      freeBytes: this.options.freeBytes ?? statfsFreeBytes,
      sleep: this.options.sleep,
      now: this.options.now ?? Date.now,
      progressIntervalMs: this.options.progressIntervalMs ?? 250,
      checkFolder: this.options.checkFolder,
      update,
    }).then(
      (dir): DownloadOutcome => {
        update({ phase: 'installed', dir, receivedBytes: job.snapshot.totalBytes, etaSeconds: 0, bytesPerSecond: 0, file: null, retry: null, resumable: false }, 'phase');
        return { status: 'installed', dir, download: job.snapshot };
      },
      async (e: unknown): Promise<DownloadOutcome> => {
        const err =
          e instanceof DownloadError
            ? e
            : new DownloadError('io', `The download of ${request.repo} failed: ${e instanceof Error ? e.message : String(e)}.`, { cause: e });
        const resumable = (await readDownloadState(statePath(this.modelsDir, request.id))) !== null;
        const failure = toFailure(err);
        if (err.code === 'cancelled' || controller.signal.aborted) {
          update({ phase: 'cancelled', bytesPerSecond: 0, etaSeconds: null, retry: null, resumable, error: null }, 'phase');
          this.ended.set(request.id, job.snapshot);
          return { status: 'cancelled', download: job.snapshot };
        }
        update({ phase: 'failed', bytesPerSecond: 0, etaSeconds: null, retry: null, resumable, error: failure }, 'phase');
        this.ended.set(request.id, job.snapshot);
        return { status: 'failed', error: failure, download: job.snapshot };
      },
    ).finally(() => this.jobs.delete(request.id));
    this.jobs.set(request.id, job);
    this.emit({ type: 'phase', download: job.snapshot });
    return { id: request.id, done: job.done };
  }

  /** Resumes a partial download found on disk (e.g. after an app restart). Throws `not-found` if there is none. */
  async resume(id: string): Promise<DownloadHandle> {
    const running = this.jobs.get(id);
    if (running !== undefined) return { id, done: running.done };
    const state = MODEL_FOLDER_ID.test(id) ? await readDownloadState(statePath(this.modelsDir, id)) : null;
    if (state === null) throw new DownloadError('not-found', `There is no unfinished download "${id}" to resume; start it again from the catalog.`);
    return this.start(requestFromState(state));
  }

  /** Stops a running download; what arrived stays on disk for a later resume. False if it was not running. */
  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (job === undefined) return false;
    job.controller.abort(new DownloadError('cancelled', 'The download was cancelled.'));
    return true;
  }

  /** Cancels `id` if running and deletes its partial files. */
  async discard(id: string): Promise<void> {
    if (!MODEL_FOLDER_ID.test(id)) throw new DownloadError('bad-request', `"${id}" is not a download id.`);
    const job = this.jobs.get(id);
    if (job !== undefined) {
      job.controller.abort(new DownloadError('cancelled', 'The download was discarded.'));
      await job.done;
    }
    await rm(partialDir(this.modelsDir, id), { recursive: true, force: true });
    await removeEmptyPartialRoot(this.modelsDir);
    this.ended.delete(id);
  }

  /** The running job's snapshot, or null. */
  get(id: string): DownloadSnapshot | null {
    return this.jobs.get(id)?.snapshot ?? null;
  }

  /** Running downloads, then unfinished ones on disk (`paused`, or the way they ended this session). */
  async list(): Promise<DownloadSnapshot[]> {
    const rows = [...this.jobs.values()].map((j) => j.snapshot);
    const entries = await readdir(join(this.modelsDir, '.partial'), { withFileTypes: true }).catch(() => []);
    const names = entries.filter((d) => d.isDirectory()).map((d) => d.name);
    for (const id of names.sort()) {
      if (this.jobs.has(id)) continue;
      const state = await readDownloadState(statePath(this.modelsDir, id));
      if (state === null) continue;
      let received = 0;
      for (const f of state.files) {
        const path = join(stagingDir(this.modelsDir, id), f.done ? f.path : `${f.path}.part`);
        received += await sizeOrZero(path);
      }
      const base = this.ended.get(id) ?? { ...initialSnapshot(requestFromState(state)), phase: 'paused' as const };
      rows.push({
        ...base,
        commit: state.commit,
        receivedBytes: Math.min(received, state.files.reduce((n, f) => n + f.size, 0)),
        totalBytes: state.files.reduce((n, f) => n + f.size, 0),
        resumable: true,
      });
    }
    return rows;
  }

  /** Cancels every running download and waits for them to settle (app quit). */
  async close(): Promise<void> {
    const pending = [...this.jobs.values()];
    for (const job of pending) job.controller.abort(new DownloadError('cancelled', 'Ouro is closing.'));
    await Promise.all(pending.map((j) => j.done));
  }

  private emit(event: DownloadEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A faulty listener must not break the download.
    }
  }
}

async function sizeOrZero(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}
