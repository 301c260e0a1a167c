// What to download (a repo at a revision, a list of files, the folder id) and its validation, shared by
// the catalog and the download service. Runs in main; pure.

import { DownloadError } from './downloadError';
import { assertSafeRepoPath } from './hubClient';

/** One file to fetch; `sha256`, when given (from the curated catalog), must match the Hub's metadata. */
export interface DownloadFileSpec {
  readonly path: string;
  readonly sha256?: string;
}

/** A model download: `files` of `repo` at `revision`, installed as `<modelsDir>/<id>`. */
export interface DownloadRequest {
  /** Folder name under the models folder (letters, digits, `.`, `_`, `-`; not starting with `.`). */
  readonly id: string;
  /** Display name; defaults to the id. */
  readonly name?: string;
  readonly repo: string;
  /** A commit, branch or tag; a branch is resolved to its commit once, when the download begins. */
  readonly revision: string;
  readonly files: readonly DownloadFileSpec[];
  readonly catalogId?: string;
  readonly variant?: string;
}

/** Folder names the model registry lists (it skips dot-folders such as `.partial`). */
export const MODEL_FOLDER_ID = /^[\w-][\w.-]{0,199}$/;

/** Throws DownloadError `bad-request` unless `request` is safe to turn into URLs and paths. */
export function validateDownloadRequest(request: Readonly<DownloadRequest>): void {
  if (!MODEL_FOLDER_ID.test(request.id)) {
    throw new DownloadError('bad-request', `"${request.id}" cannot be a model folder name (use letters, digits, ".", "_" and "-", not starting with ".").`);
  }
  assertSafeRepoPath(request.repo);
  if (!/^[\w.\-/]{1,200}$/.test(request.revision) || request.revision.includes('..')) {
    throw new DownloadError('bad-request', `"${request.revision}" is not a revision (a commit, branch or tag).`);
  }
  if (request.files.length === 0) throw new DownloadError('bad-request', `The download of ${request.repo} lists no files.`);
  const seen = new Set<string>();
  for (const f of request.files) {
    assertSafeRepoPath(request.repo, f.path);
    if (f.path.endsWith('.part')) throw new DownloadError('bad-request', `${f.path}: file names ending in .part are reserved for partial downloads.`, { file: f.path });
    if (seen.has(f.path)) throw new DownloadError('bad-request', `${f.path} is listed twice.`, { file: f.path });
    if (f.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(f.sha256)) throw new DownloadError('bad-request', `${f.path}: "${f.sha256}" is not a sha256.`, { file: f.path });
    seen.add(f.path);
  }
}

/** The part of a request (or of a persisted download) that says what is fetched from where. */
export interface DownloadTarget {
  readonly repo: string;
  readonly revision: string;
  readonly files: readonly { readonly path: string }[];
}

/** True when two requests fetch the same files from the same place (a persisted download can resume). */
export function sameDownload(a: Readonly<DownloadTarget>, b: Readonly<DownloadTarget>): boolean {
  const paths = (r: Readonly<DownloadTarget>): string => r.files.map((f) => f.path).sort().join('\n');
  return a.repo === b.repo && a.revision === b.revision && paths(a) === paths(b);
}
