// Crash-safe whole-file writes (temp file in the same folder, fsync, rename, fsync the folder).
// Runs in the main process (storage); plain Node, no electron.

import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** What {@link writeFileAtomic} accepts: text (UTF-8), bytes, or a list of byte chunks written in order. */
export type AtomicFileData = string | Uint8Array | readonly Uint8Array[];

/**
 * Replaces `path` with `data` so that a reader, or the file after a crash, sees either the old
 * content or the new one, never a mix: the data goes to a temp file in the same folder (same file
 * system, so the rename is atomic), is fsynced, renamed over `path`, and the folder is fsynced so
 * the rename itself survives a power cut. The temp file is removed if any step fails.
 */
export async function writeFileAtomic(path: string, data: AtomicFileData): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  try {
    const handle = await open(temp, 'wx');
    try {
      for (const chunk of chunks) await writeAll(handle, chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await fsyncDir(dir);
}

const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'EACCES']);

/**
 * Flushes a folder's entries (a rename or a new file) to disk. Windows cannot open a folder for
 * fsync and some file systems refuse it; there the rename is as durable as the OS makes it.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!DIR_SYNC_UNSUPPORTED.has(code ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}

/** `FileHandle.write` may write fewer bytes than asked (large buffers); loop until all are out. */
export async function writeAll(
  handle: FileHandle,
  bytes: Uint8Array,
  position?: number,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const at = position === undefined ? null : position + offset;
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, at);
    offset += bytesWritten;
  }
}
