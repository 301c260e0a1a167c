// Errors a user can meet while Ouro downloads or imports a model: one class, one code per problem.
// Runs in main; plain data, no electron.

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
  /** The Hub wants the token, which is saved but not sent there (http, or a mirror the user did not trust with it). */
  | 'token-withheld'
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
  /** Neither the catalog nor the Hub gives a file's hash, so what arrives could not be checked: not downloaded. */
  | 'unverifiable'
  /** A redirect pointed from https to plain http (anyone on the path could read or swap the bytes): refused. */
  | 'insecure-redirect'
  /** Every file arrived intact, but the folder is not a model Ouro can run (engine ModelError). */
  | 'invalid-model'
  /** A proxy setting Ouro cannot use (e.g. an https:// or socks proxy URL). */
  | 'proxy'
  /** The user cancelled; what was downloaded is kept for a later resume. */
  | 'cancelled'
  /** Another file-system error (permissions, read-only disk, ...). */
  | 'io';

/** An error about a download or an import; `file` is the repository-relative path where known. */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  readonly code: DownloadErrorCode;
  readonly file: string | null;
  /** HTTP status behind the error, when there was one. */
  readonly status: number | null;
  /** Worth retrying automatically (network blips, 5xx, 429). */
  readonly retryable: boolean;

  constructor(
    code: DownloadErrorCode,
    message: string,
    options: { file?: string | null; status?: number | null; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file ?? null;
    this.status = options.status ?? null;
    this.retryable = options.retryable ?? false;
  }
}

/** True when `e` is a DownloadError, optionally with the given code. */
export function isDownloadError(e: unknown, code?: DownloadErrorCode): e is DownloadError {
  return e instanceof DownloadError && (code === undefined || e.code === code);
}

/** The plain-data form sent over IPC and kept in events. */
export interface DownloadFailure {
  readonly code: DownloadErrorCode;
  readonly message: string;
  readonly file: string | null;
}

/** Plain-data form of a DownloadError. */
export function toFailure(e: DownloadError): DownloadFailure {
  return { code: e.code, message: e.message, file: e.file };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** The errno-like code of `e` or of its cause chain (fetch wraps socket errors in `cause`). */
export function errorCodeOf(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur !== null && typeof cur === 'object' && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps a socket-level failure to a retryable `network` DownloadError naming the host. */
export function networkError(e: unknown, host: string): DownloadError {
  const code = errorCodeOf(e);
  const why =
    code === 'ENOTFOUND' || code === 'EAI_AGAIN'
      ? `${host} could not be found (no DNS)`
      : code === 'ECONNREFUSED'
        ? `${host} refused the connection`
        : code === 'ETIMEDOUT' || code?.includes('TIMEOUT')
          ? `${host} did not answer in time`
          : `the connection to ${host} was interrupted (${code ?? (e instanceof Error ? e.message : String(e))})`;
  return new DownloadError('network', `Cannot download: ${why}. Check the internet connection (and HTTPS_PROXY if you use a proxy); the download resumes where it stopped.`, {
    retryable: true,
    cause: e,
  });
}

/** True for errors that look like a dropped or refused connection rather than a bug. */
export function isNetworkFailure(e: unknown): boolean {
  const code = errorCodeOf(e);
  if (code !== undefined && NETWORK_CODES.has(code)) return true;
  // fetch reports a body cut mid-stream as TypeError("terminated") with the socket error as cause.
  return e instanceof TypeError && (e.message === 'terminated' || e.message === 'fetch failed');
}
