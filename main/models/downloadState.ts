// The on-disk record of an unfinished download (`<modelsDir>/.partial/<id>/state.json`), so a download
// resumes after a cancel, a crash or an app restart against the same commit. Runs in main; no electron.

import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../storage/atomicFile';

const FileStateSchema = z.object({
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  gitOid: z.string().regex(/^[0-9a-f]{40}$/).nullable(),
  /** Verified and renamed from its `.part`. */
  done: z.boolean(),
});

const StateSchema = z.object({
  version: z.literal(1),
  id: z.string().min(1),
  name: z.string(),
  repo: z.string().min(1),
  /** What the request asked for (a branch, a tag or a commit). */
  revision: z.string().min(1),
  /** The commit `revision` resolved to when the download began; every file comes from it. */
  commit: z.string().regex(/^[0-9a-f]{40}$/),
  catalogId: z.string().nullable(),
  variant: z.string().nullable(),
  createdAt: z.number().int().nonnegative(),
  files: z.array(FileStateSchema).min(1),
});

/** One file of a persisted download. */
export type FileState = z.output<typeof FileStateSchema>;
/** A persisted download. */
export type DownloadState = z.output<typeof StateSchema>;

/** Reads a state file; null when it is missing or unreadable (a damaged record just restarts the download). */
export async function readDownloadState(path: string): Promise<DownloadState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = StateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Writes a state file atomically (a crash leaves the old or the new record, never a torn one). */
export async function writeDownloadState(path: string, state: Readonly<DownloadState>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
}
