// The plain-data view of a download that the UI renders and IPC carries: phase, bytes, speed, ETA,
// the retry being waited out, the error, and why a download stopped. Pure types.

/**
 * Why a download stopped. The UI may branch on the code (offer "Retry" on `network`, open Settings on
 * `auth-required`/`gated`); the message is written for a person and says what to do next.
 */
export type DownloadErrorCode =
  /** The request itself is malformed (bad id, unsafe file path, unknown catalog entry). */
  | 'bad-request'
  /** A folder with this id is already installed. */
  | 'already-installed'
  /** The repository, revision or a file does not exist (HTTP 404, or the Hub's RepoNotFound). */
  | 'not-found'
  /** The Hub wants a token (HTTP 401): private repository or an invalid token. */
  | 'auth-required'
  /** Gated repository: accept its licence on the model page and add a token (HTTP 401/403 GatedRepo). */
  | 'gated'
  /** The server kept refusing byte ranges (HTTP 416) even after a fresh start. */
  | 'range-not-satisfiable'
  /** No connection (refused, DNS, reset, timed out) after the retries. */
  | 'network'
  /** The server kept failing (HTTP 5xx / 429) after the retries. */
  | 'server'
  /** Not enough free disk space (checked before starting, or ENOSPC while writing). */
  | 'disk-full'
  /** A file's sha256 (or git blob id) differs from the Hub's; the partial file was deleted. */
  | 'hash-mismatch'
  /** The server sent more or fewer bytes than the Hub's metadata says. */
  | 'size-mismatch'
  /** The Hub's metadata disagrees with the curated catalog (the pinned file changed). */
  | 'catalog-mismatch'
  /** Every file arrived intact, but the folder is not a model Ouro can run (engine ModelError). */
  | 'invalid-model'
  /** A proxy setting Ouro cannot use (e.g. an https:// or socks proxy URL). */
  | 'proxy'
  /** The user cancelled; what was downloaded is kept for a later resume. */
  | 'cancelled'
  /** Another file-system error (permissions, read-only disk, ...). */
  | 'io';

/** The plain-data form sent over IPC and kept in events. */
export interface DownloadFailure {
  readonly code: DownloadErrorCode;
  readonly message: string;
  readonly file: string | null;
}

/** A retry about to happen (for the UI's "retrying in 4 s"). */
export interface RetryNotice {
  readonly file: string;
  readonly attempt: number;
  readonly delayMs: number;
  readonly reason: string;
}

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
