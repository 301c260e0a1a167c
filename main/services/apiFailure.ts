// Typed errors of the app services: one throwable carrying a contract ApiError, and the mapping of every
// lower layer's error (host, engine, storage, settings) onto the contract's codes. Runs in main.
import type { DownloadErrorCode } from '../../common/downloadTypes';
import type { ApiError, ApiErrorCode } from '../../common/contract';
import { ModelError } from '../engine/errors';
import { HostRequestError } from '../host/engineHostClient';
import { DownloadError } from '../models/downloadError';
import { ConversationStoreError } from '../storage/conversationStoreError';
import { SettingsError } from '../storage/settingsStore';

/** Thrown inside the services; `invoke` turns it into its ApiError reply. */
export class ApiFailure extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
    this.name = 'ApiFailure';
  }
}

/** Throws an ApiFailure. */
export function fail(code: ApiErrorCode, message: string, detail?: string): never {
  throw new ApiFailure(detail === undefined ? { code, message } : { code, message, detail });
}

const STORE_CODES: Readonly<Record<ConversationStoreError['code'], ApiErrorCode>> = {
  not_found: 'not-found',
  unknown_message: 'not-found',
  invalid_input: 'bad-request',
  duplicate_message: 'bad-request',
  exists: 'bad-request',
  damaged: 'storage',
  writer_closed: 'internal',
};

/** Download and import errors thrown by a verb itself (a running download reports through its events). */
const DOWNLOAD_CODES: Partial<Readonly<Record<DownloadErrorCode, ApiErrorCode>>> = {
  'bad-request': 'bad-request',
  'already-installed': 'bad-request',
  'not-found': 'not-found',
  'invalid-model': 'model-invalid',
  'disk-full': 'storage',
  io: 'storage',
};

/** Node file-system error codes that mean "the disk or its permissions", not a bug. */
const STORAGE_ERRNO = new Set(['EACCES', 'EPERM', 'ENOSPC', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'EDQUOT', 'EBUSY']);

/** The contract error for anything thrown below the services. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiFailure) return err.error;
  if (err instanceof ModelError) return { code: 'model-invalid', message: err.message, detail: err.code };
  if (err instanceof HostRequestError) return hostApiError(err);
  if (err instanceof DownloadError) return { code: DOWNLOAD_CODES[err.code] ?? 'internal', message: err.message, detail: err.code };
  if (err instanceof ConversationStoreError) return { code: STORE_CODES[err.code], message: err.message };
  if (err instanceof SettingsError) return { code: 'bad-request', message: err.message };
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof errno === 'string' && STORAGE_ERRNO.has(errno)) return { code: 'storage', message: `Could not save or read app data: ${message}` };
  return { code: 'internal', message };
}

function hostApiError(err: HostRequestError): ApiError {
  const code = err.code;
  if (code.startsWith('model/')) return { code: 'model-invalid', message: err.message, detail: code.slice('model/'.length) };
  if (code === 'no-model') return { code: 'no-model', message: err.message };
  if (code === 'busy') return { code: 'busy', message: err.message };
  if (code === 'bad-request' || code === 'pin-refused') return { code: 'bad-request', message: err.message };
  return { code: 'internal', message: err.message };
}
