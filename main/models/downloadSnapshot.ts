// The plain-data view of a download that the UI renders and IPC carries: phase, bytes, speed, ETA,
// the retry being waited out, the error. Runs in main; pure types.

import type { DownloadFailure } from './downloadError';
import type { RetryNotice } from './downloadFile';

/**
 * `resolving` (asking the Hub for the commit and file sizes) → `downloading` → `verifying` (the engine
 * checks the folder) → `installing` (atomic move) → `installed`; or `failed` / `cancelled`. `paused`:
 * a partial download on disk with no job running (after a restart), resumable.
 */
export type DownloadPhase = 'resolving' | 'downloading' | 'verifying' | 'installing' | 'installed' | 'failed' | 'cancelled' | 'paused';

/** Everything the UI shows about one download. */
export interface DownloadSnapshot {
  readonly id: string;
  readonly name: string;
  readonly repo: string;
  readonly revision: string;
  /** The commit the download is pinned to, once resolved. */
  readonly commit: string | null;
  readonly catalogId: string | null;
  readonly variant: string | null;
  readonly phase: DownloadPhase;
  readonly receivedBytes: number;
  /** 0 until the Hub has said how big the files are. */
  readonly totalBytes: number;
  readonly bytesPerSecond: number;
  readonly etaSeconds: number | null;
  /** The file being fetched. */
  readonly file: string | null;
  /** Set while a retry is being waited out. */
  readonly retry: RetryNotice | null;
  readonly error: DownloadFailure | null;
  /** The installed folder, once installed. */
  readonly dir: string | null;
  /** A later `start`/`resume` continues from the bytes on disk. */
  readonly resumable: boolean;
}

/**
 * What the service reports. `phase`: every phase change, unthrottled. `progress`: bytes, at most every
 * progress interval (~4/s). `retry`: a network failure is being retried after `download.retry.delayMs`.
 */
export type DownloadEvent =
  | { readonly type: 'phase'; readonly download: DownloadSnapshot }
  | { readonly type: 'progress'; readonly download: DownloadSnapshot }
  | { readonly type: 'retry'; readonly download: DownloadSnapshot };

/** How a download ended. */
export type DownloadOutcome =
  | { readonly status: 'installed'; readonly dir: string; readonly download: DownloadSnapshot }
  | { readonly status: 'failed'; readonly error: DownloadFailure; readonly download: DownloadSnapshot }
  | { readonly status: 'cancelled'; readonly download: DownloadSnapshot };
