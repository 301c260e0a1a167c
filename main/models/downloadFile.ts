// Downloads one file into a `.part` file: resumes with Range, retries with backoff, times out idle
// connections, and verifies sha256 (LFS) or the git blob id while streaming. Runs in main; no electron.

import type { RetryNotice } from '../../common/downloadTypes';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { writeAll } from '../storage/atomicFile';
import { dirname } from 'node:path';
import { DownloadError, errorCodeOf, isNetworkFailure, networkError } from './downloadError';
import { hubHttpError, type HubErrorContext } from './hubClient';
import type { HttpTransport } from './httpTransport';

/** What to fetch and what it must hash to. */
export interface FileTarget {
  /** Repository-relative path, for messages. */
  readonly path: string;
  readonly url: string;
  readonly size: number;
  readonly sha256: string | null;
  readonly gitOid: string | null;
}

/** Retry policy for network drops, idle timeouts, 5xx and 429. */
export interface RetryPolicy {
  /** Attempts in a row without progress before giving up; default 5. An attempt that received bytes resets the count. */
  readonly attempts: number;
  /** Delay before the first retry, doubled each time; default 1000 ms. */
  readonly baseDelayMs: number;
  /** Default 30 s. */
  readonly maxDelayMs: number;
}

/** Options of {@link downloadFile}. */
export interface DownloadFileOptions {
  readonly transport: HttpTransport;
  /** Sent with every request (the Hub token; the transport drops it on the CDN hop). */
  readonly headers: Readonly<Record<string, string>>;
  readonly partPath: string;
  /** The user's cancel. */
  readonly signal: AbortSignal;
  /** No byte for this long aborts the attempt (then it is retried); default 30 s. */
  readonly idleTimeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Bytes of this file on disk so far (including a resumed part). */
  readonly onBytes?: (received: number) => void;
  readonly onRetry?: (notice: RetryNotice) => void;
  readonly errorContext: Readonly<HubErrorContext>;
  /** Test seam for the backoff delay. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 30_000 };

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function newHasher(target: Readonly<FileTarget>): Hash | null {
  if (target.sha256 !== null) return createHash('sha256');
  if (target.gitOid !== null) return createHash('sha1').update(`blob ${target.size}\0`);
  return null;
}

async function partSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

async function hashExisting(path: string, hasher: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hasher.update(chunk as Buffer);
}

function fsError(e: unknown, file: string): DownloadError {
  const code = errorCodeOf(e);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new DownloadError('disk-full', `The disk is full while writing ${file}; free some space and resume the download (what arrived is kept).`, { file, cause: e });
  }
  return new DownloadError('io', `Cannot write ${file}: ${e instanceof Error ? e.message : String(e)}.`, { file, cause: e });
}

/** `bytes start-end/total` → its numbers; total null for `*`. */
function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  const m = v === null ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim());
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** Thrown inside an attempt to start over from byte 0 without counting a failure. */
class RestartFromZero extends Error {}
/** Thrown inside an attempt when the body runs past the expected size. */
class SizeMismatch extends Error {}

/**
 * Downloads `target` into `partPath` (appending to what is there) until it holds exactly `size` bytes
 * whose hash matches, then returns; the caller renames the part into place. Throws DownloadError:
 * `cancelled` (part kept), `hash-mismatch` / `size-mismatch` (part deleted), `network` / `server`
 * after the retries, `disk-full`, `io`, or the Hub's HTTP errors.
 */
export async function downloadFile(target: Readonly<FileTarget>, options: Readonly<DownloadFileOptions>): Promise<void> {
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const sleep = options.sleep ?? abortableSleep;
  const { partPath, signal } = options;
  const file = target.path;
  const host = new URL(target.url).host;
  await mkdir(dirname(partPath), { recursive: true }).catch((e: unknown) => {
    throw fsError(e, file);
  });

  // The hash covers bytes [0, hashed) of the part; kept across attempts so a resume hashes each byte once.
  let hasher = newHasher(target);
  let hashed = 0;
  let restartedAfter416 = false;
  let restarts = 0;
  let failures = 0;

  const restart = async (): Promise<void> => {
    await rm(partPath, { force: true });
    hasher = newHasher(target);
    hashed = 0;
  };

  const verify = async (): Promise<void> => {
    if (hasher === null) return;
    const digest = hasher.digest('hex');
    const expected = target.sha256 ?? target.gitOid;
    if (digest !== expected) {
      await rm(partPath, { force: true });
      throw new DownloadError(
        'hash-mismatch',
        `${file} arrived damaged (its ${target.sha256 !== null ? 'sha256' : 'git hash'} is ${digest.slice(0, 12)}…, the Hub says ${expected?.slice(0, 12)}…); the partial file was deleted — retry the download.`,
        { file },
      );
    }
  };

  for (;;) {
    if (signal.aborted) throw new DownloadError('cancelled', 'The download was cancelled; it resumes from here next time.', { file });
    let offset = await partSize(partPath);
    if (offset > target.size) {
      await restart();
      offset = 0;
    }
    if (offset !== hashed) {
      // A part from an earlier run (or an app restart): hash what is there before appending.
      hasher = newHasher(target);
      if (hasher !== null && offset > 0) await hashExisting(partPath, hasher);
      hashed = offset;
    }
    options.onBytes?.(offset);
    if (offset === target.size) {
      await verify();
      return;
    }

    const attempt = new AbortController();
    let idle = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idle = true;
        attempt.abort(new Error('idle timeout'));
      }, idleTimeoutMs);
    };
    const onCancel = (): void => attempt.abort(signal.reason);
    signal.addEventListener('abort', onCancel, { once: true });
    let progressed = false;
    // Open the part before asking: the body is then read the moment it arrives, so bytes already
    // received are on disk even if the connection drops right after them.
    let fh: FileHandle | null = null;
    try {
      fh = await open(partPath, 'a').catch((e: unknown) => {
        throw fsError(e, file);
      });
      arm();
      const headers: Record<string, string> = { ...options.headers };
      if (offset > 0) headers.range = `bytes=${offset}-`;
      const res = await options.transport.request({ url: target.url, headers, signal: attempt.signal });
      let received = offset;
      if (res.status === 206) {
        const cr = parseContentRange(res.header('content-range'));
        if (cr === null || cr.start !== offset || (cr.total !== null && cr.total !== target.size)) {
          res.discard();
          throw new RestartFromZero();
        }
      } else if (res.status === 200) {
        // The server ignored the Range (or there was none): the body starts at byte 0.
        if (offset > 0) {
          await fh.truncate(0);
          hasher = newHasher(target);
          hashed = 0;
          received = 0;
        }
      } else if (res.status === 416) {
        res.discard();
        if (restartedAfter416) throw hubHttpError(res, { ...options.errorContext, file });
        restartedAfter416 = true;
        throw new RestartFromZero();
      } else {
        res.discard();
        throw hubHttpError(res, { ...options.errorContext, file });
      }

      for await (const chunk of res.body) {
        arm();
        if (received + chunk.byteLength > target.size) {
          res.discard();
          throw new SizeMismatch();
        }
        await writeAll(fh, chunk).catch((e: unknown) => {
          throw fsError(e, file);
        });
        hasher?.update(chunk);
        received += chunk.byteLength;
        hashed = received;
        progressed = true;
        options.onBytes?.(received);
      }
      await fh.close();
      fh = null;
      if (received < target.size) throw Object.assign(new Error(`connection closed after ${received} of ${target.size} bytes`), { code: 'ECONNRESET' });
      await verify();
      return;
    } catch (e) {
      await fh?.close().catch(() => undefined);
      if (e instanceof SizeMismatch) {
        await rm(partPath, { force: true });
        throw new DownloadError('size-mismatch', `${file} is larger than the Hub says (${target.size} bytes); the partial file was deleted — retry the download.`, { file });
      }
      if (signal.aborted) throw new DownloadError('cancelled', 'The download was cancelled; it resumes from here next time.', { file, cause: e });
      if (e instanceof RestartFromZero) {
        // A server that never honours the range would loop forever; a few fresh starts are enough.
        if (++restarts > 3) throw new DownloadError('server', `${host} keeps answering ${file} with the wrong byte range; retry later.`, { file });
        await restart();
        continue;
      }
      let err: DownloadError;
      if (idle) err = networkError(Object.assign(new Error('idle'), { code: 'ETIMEDOUT' }), host);
      else if (e instanceof DownloadError) err = e;
      else if (isNetworkFailure(e)) err = networkError(e, host);
      else throw e;
      if (!err.retryable) throw err;
      failures = progressed ? 1 : failures + 1;
      if (failures >= retry.attempts) throw err;
      const delayMs = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (failures - 1));
      options.onRetry?.({ file, attempt: failures, delayMs, reason: err.message });
      try {
        await sleep(delayMs, signal);
      } catch (sleepErr) {
        throw new DownloadError('cancelled', 'The download was cancelled; it resumes from here next time.', { file, cause: sleepErr });
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onCancel);
    }
  }
}
