// One model download from start to installed folder: pin the commit, check disk space, fetch each file
// (resumable), validate the assembled folder with the engine, move it into place atomically. Runs in main.

import type { RetryNotice } from '../../common/downloadTypes';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ModelError } from '../engine/errors';
import { loadModelFolder } from '../engine/modelFolder';
import { writeFileAtomic } from '../storage/atomicFile';
import { formatBytes } from './diskSpace';
import { DownloadError, isNetworkFailure, networkError } from './downloadError';
import { downloadFile, type RetryPolicy } from './downloadFile';
import { sameDownload, type DownloadRequest } from './downloadRequest';
import type { DownloadSnapshot } from '../../common/downloadTypes';
import { readDownloadState, writeDownloadState, type DownloadState } from './downloadState';
import type { HttpTransport } from './httpTransport';
import type { HubClient, HubRevision } from './hubClient';
import { ProgressMeter } from './progressMeter';

/** Name of the provenance record written into every downloaded folder. */
export const DOWNLOAD_MANIFEST = 'ouro-download.json';

/** `<modelsDir>/.partial/<id>`: the state file and the staging folder of an unfinished download. */
export function partialDir(modelsDir: string, id: string): string {
  return join(modelsDir, '.partial', id);
}
/** The staging folder renamed into `<modelsDir>/<id>` once complete. */
export function stagingDir(modelsDir: string, id: string): string {
  return join(partialDir(modelsDir, id), 'files');
}
/** The persisted record of a download. */
export function statePath(modelsDir: string, id: string): string {
  return join(partialDir(modelsDir, id), 'state.json');
}

/** Everything a job needs; `update` merges into the job's snapshot and emits an event of `kind`. */
export interface JobContext {
  readonly request: DownloadRequest;
  readonly modelsDir: string;
  readonly hub: HubClient;
  readonly transport: HttpTransport;
  readonly signal: AbortSignal;
  readonly idleTimeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly reserveBytes: number;
  readonly freeBytes: (dir: string) => Promise<number>;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly now: () => number;
  readonly progressIntervalMs: number;
  /** See DownloadServiceOptions.checkFolder. */
  readonly checkFolder: ((dir: string) => Promise<void>) | undefined;
  readonly update: (patch: Partial<DownloadSnapshot>, kind: 'phase' | 'progress' | 'retry') => void;
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The Hub call with the same retry policy as the files (network blips, 5xx, 429). */
async function resolveRevision(ctx: Readonly<JobContext>): Promise<HubRevision> {
  const { request, hub, signal } = ctx;
  const attempts = ctx.retry?.attempts ?? 5;
  const host = new URL(hub.baseUrl).host;
  for (let attempt = 1; ; attempt++) {
    // A Hub that accepts the connection but never answers must not hang the download forever.
    const timeout = AbortSignal.timeout(ctx.idleTimeoutMs ?? 30_000);
    try {
      return await hub.revision(request.repo, request.revision, AbortSignal.any([signal, timeout]));
    } catch (e) {
      if (signal.aborted) throw new DownloadError('cancelled', 'The download was cancelled.', { cause: e });
      const err =
        e instanceof DownloadError
          ? e
          : timeout.aborted
            ? networkError(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT', cause: e }), host)
            : isNetworkFailure(e)
              ? networkError(e, host)
              : null;
      if (err === null) throw e;
      if (!err.retryable || attempt >= attempts) throw err;
      const delayMs = Math.min(ctx.retry?.maxDelayMs ?? 30_000, (ctx.retry?.baseDelayMs ?? 1000) * 2 ** (attempt - 1));
      const retry: RetryNotice = { file: 'revision info', attempt, delayMs, reason: err.message };
      ctx.update({ retry }, 'retry');
      await (ctx.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))))(delayMs, signal);
    }
  }
}

/** Pins the commit and the files' sizes and hashes (from the Hub), or reuses a matching persisted record. */
async function prepareState(ctx: Readonly<JobContext>): Promise<DownloadState> {
  const { request, modelsDir, hub } = ctx;
  const path = statePath(modelsDir, request.id);
  const previous = await readDownloadState(path);
  if (previous !== null && sameDownload(previous, request)) return previous;
  await rm(partialDir(modelsDir, request.id), { recursive: true, force: true });

  const rev = await resolveRevision(ctx);
  if (rev.gated !== false && !hub.hasToken) {
    const page = `${hub.baseUrl}/${request.repo}`;
    throw new DownloadError(
      'gated',
      `Cannot download: ${request.repo} is a gated model. Open ${page}, sign in and accept its licence, create a read token at ${hub.baseUrl}/settings/tokens, and paste it in Settings → Hugging Face token; then retry.`,
    );
  }
  const files = request.files.map((spec) => {
    const meta = rev.files.get(spec.path);
    if (meta === undefined) {
      throw new DownloadError('not-found', `${spec.path} is not in ${request.repo} at revision ${request.revision}; the catalog entry needs updating.`, { file: spec.path });
    }
    if (spec.sha256 !== undefined && meta.sha256 !== spec.sha256) {
      throw new DownloadError(
        'catalog-mismatch',
        `${spec.path} in ${request.repo}@${request.revision} is not the file Ouro's catalog vetted (sha256 ${meta.sha256?.slice(0, 12) ?? 'unknown'}… instead of ${spec.sha256.slice(0, 12)}…); not downloading it.`,
        { file: spec.path },
      );
    }
    return { path: spec.path, size: meta.size, sha256: meta.sha256, gitOid: meta.gitOid, done: false };
  });
  const state: DownloadState = {
    version: 1,
    id: request.id,
    name: request.name ?? request.id,
    repo: request.repo,
    revision: request.revision,
    commit: rev.commit,
    catalogId: request.catalogId ?? null,
    variant: request.variant ?? null,
    createdAt: ctx.now(),
    files,
  };
  await writeDownloadState(path, state);
  return state;
}

/** Why the engine cannot run `dir` (its ModelFolder, then `check`), or null when it can. */
async function engineRefusal(dir: string, check: ((dir: string) => Promise<void>) | undefined): Promise<ModelError | null> {
  try {
    await loadModelFolder(dir);
    await check?.(dir);
    return null;
  } catch (e) {
    if (e instanceof ModelError) return e;
    throw e;
  }
}

/** Runs the download; resolves with the installed folder or throws DownloadError. */
export async function runDownload(ctx: Readonly<JobContext>): Promise<string> {
  const { request, modelsDir, hub, signal } = ctx;
  const finalDir = join(modelsDir, request.id);
  const staging = stagingDir(modelsDir, request.id);
  await mkdir(modelsDir, { recursive: true });
  if (await exists(finalDir)) {
    throw new DownloadError('already-installed', `${request.name ?? request.id} is already installed (${finalDir}); delete it first to download it again.`);
  }

  // The service announced `resolving` when it created the job.
  const state = await prepareState(ctx);
  const errorContext = { repo: request.repo, revision: state.commit, hasToken: hub.hasToken, baseUrl: hub.baseUrl };

  // What is on disk already: finished files count whole, unfinished ones by their .part.
  const onDisk: number[] = [];
  for (const f of state.files) {
    const finished = f.done ? await sizeOf(join(staging, f.path)) : null;
    if (f.done && finished !== f.size) f.done = false;
    onDisk.push(f.done ? f.size : Math.min(f.size, (await sizeOf(join(staging, `${f.path}.part`))) ?? 0));
  }
  const total = state.files.reduce((n, f) => n + f.size, 0);
  const present = onDisk.reduce((n, b) => n + b, 0);
  const free = await ctx.freeBytes(modelsDir);
  const need = total - present + ctx.reserveBytes;
  if (need > free) {
    throw new DownloadError(
      'disk-full',
      `Not enough disk space for ${state.name}: it needs ${formatBytes(total - present)} more (plus ${formatBytes(ctx.reserveBytes)} to spare) but only ${formatBytes(free)} is free on the drive holding ${modelsDir}. Free some space and retry.`,
    );
  }

  const meter = new ProgressMeter(total, { intervalMs: ctx.progressIntervalMs, now: ctx.now });
  meter.reset(present);
  ctx.update({ phase: 'downloading', commit: state.commit, totalBytes: total, receivedBytes: present, resumable: true }, 'phase');
  let finishedBytes = state.files.reduce((n, f) => n + (f.done ? f.size : 0), 0);

  for (const f of state.files) {
    if (f.done) continue;
    const target = join(staging, f.path);
    ctx.update({ file: f.path }, 'progress');
    await downloadFile(
      { path: f.path, url: hub.resolveUrl(request.repo, state.commit, f.path), size: f.size, sha256: f.sha256, gitOid: f.gitOid },
      {
        transport: ctx.transport,
        headers: hub.authHeaders(),
        partPath: `${target}.part`,
        signal,
        idleTimeoutMs: ctx.idleTimeoutMs,
        retry: ctx.retry,
        sleep: ctx.sleep,
        errorContext,
        onBytes: (n) => {
          const reading = meter.update(finishedBytes + n);
          if (reading !== null) ctx.update({ ...reading, retry: null }, 'progress');
        },
        onRetry: (retry) => ctx.update({ retry }, 'retry'),
      },
    );
    await rename(`${target}.part`, target);
    f.done = true;
    finishedBytes += f.size;
    await writeDownloadState(statePath(modelsDir, request.id), state);
    meter.reset(finishedBytes);
    ctx.update({ ...meter.reading(), retry: null }, 'progress');
  }

  ctx.update({ phase: 'verifying', file: null, bytesPerSecond: 0, etaSeconds: 0 }, 'phase');
  await writeFileAtomic(
    join(staging, DOWNLOAD_MANIFEST),
    `${JSON.stringify({ source: 'huggingface', hub: hub.baseUrl, repo: request.repo, revision: request.revision, commit: state.commit, catalogId: state.catalogId, variant: state.variant, files: state.files.map(({ path, size, sha256, gitOid }) => ({ path, size, sha256, gitOid })), downloadedAt: new Date(ctx.now()).toISOString() }, null, 2)}\n`,
  );
  const refusal = await engineRefusal(staging, ctx.checkFolder);
  if (refusal !== null) {
    // Every byte matched the Hub, so downloading again would not help: free the space.
    await rm(partialDir(modelsDir, request.id), { recursive: true, force: true });
    await removeEmptyPartialRoot(modelsDir);
    throw new DownloadError('invalid-model', `${request.repo} downloaded intact but Ouro cannot run it: ${refusal.message}`, { file: refusal.file, cause: refusal });
  }

  ctx.update({ phase: 'installing' }, 'phase');
  try {
    await rename(staging, finalDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') {
      throw new DownloadError('already-installed', `${finalDir} appeared while downloading; delete it first to install this download.`, { cause: e });
    }
    throw e;
  }
  await rm(partialDir(modelsDir, request.id), { recursive: true, force: true });
  await removeEmptyPartialRoot(modelsDir);
  return finalDir;
}

/** Drops `.partial/` once nothing is left in it, so an idle models folder holds only models. */
export async function removeEmptyPartialRoot(modelsDir: string): Promise<void> {
  const root = dirname(partialDir(modelsDir, 'x'));
  const left = await readdir(root).catch(() => null);
  if (left !== null && left.length === 0) await rm(root, { recursive: true, force: true });
}
