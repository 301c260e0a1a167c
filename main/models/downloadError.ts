// Errors a user can meet while Ouro downloads or imports a model: one class, one code per problem.
// Runs in main; plain data, no electron.

import type { DownloadErrorCode, DownloadFailure } from '../../common/downloadTypes';

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
