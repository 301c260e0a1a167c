// Local models: import a folder the user picked (validated by the engine's ModelFolder, then copied into
// the models folder or referenced in place) and delete an installed one. Runs in main; no electron.

import type { ModelSummary } from '../../common/modelSummary';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { loadModelFolder } from '../engine/modelFolder';
import { formatBytes, freeBytes } from './diskSpace';
import { DownloadError, errorCodeOf } from './downloadError';
import { MODEL_FOLDER_ID } from './downloadRequest';
import { inspectModel } from './modelInspect';

/** Options of {@link importFolder}. */
export interface ImportOptions {
  /** Where copies go (`<dataDir>/models`). */
  readonly modelsDir: string;
  /** `copy`: the needed files go into `<modelsDir>/<id>`; `reference`: the folder is used where it is. */
  readonly mode: 'copy' | 'reference';
  /** Folder name for a copy; default derived from the source folder's name. */
  readonly id?: string;
  /** Which ONNX variant to keep (default: the engine's choice). */
  readonly variant?: string;
  /** Test seam. */
  readonly freeBytes?: (dir: string) => Promise<number>;
}

/** An imported model. */
export interface ImportResult {
  readonly id: string;
  /** The folder the engine will load: the copy, or the source itself. */
  readonly dir: string;
  readonly mode: 'copy' | 'reference';
  readonly summary: ModelSummary;
}

// Small files a tokenizer or chat template may need; weights in other formats (safetensors, bin) stay behind.
const METADATA_FILE = /\.(json|txt|model|jinja|tiktoken)$/i;

/** A folder id from a folder name: `My Model (q4)` → `my-model-q4`. */
export function folderIdFrom(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 80);
  return slug === '' ? 'model' : slug;
}

async function copyInto(srcRoot: string, destRoot: string, absFile: string): Promise<void> {
  const rel = relative(srcRoot, absFile);
  const dest = join(destRoot, rel);
  await mkdir(dirname(dest), { recursive: true });
  // Copy-on-write clone where the file system offers it (APFS, Btrfs, ReFS): instant, no extra space.
  await copyFile(absFile, dest, constants.COPYFILE_FICLONE);
}

/**
 * Validates `src` with the engine's ModelFolder (rethrowing its ModelError, whose message names the file
 * and the problem) and imports it. A copy holds the metadata files, the chosen graph and its external
 * data, is validated again, and appears under `<modelsDir>/<id>` only once complete (staged in a
 * dot-folder, then renamed). Throws DownloadError `already-installed`, `disk-full`, `bad-request`, `io`.
 */
export async function importFolder(src: string, options: Readonly<ImportOptions>): Promise<ImportResult> {
  const source = resolve(src);
  if (options.mode === 'reference') {
    const summary = await inspectModel(source, { variant: options.variant });
    return { id: options.id ?? folderIdFrom(basename(source)), dir: summary.dir, mode: 'reference', summary };
  }

  const folder = await loadModelFolder(source, { variant: options.variant });
  const id = options.id ?? folderIdFrom(basename(source));
  if (!MODEL_FOLDER_ID.test(id)) throw new DownloadError('bad-request', `"${id}" cannot be a model folder name (use letters, digits, ".", "_" and "-").`);
  const modelsDir = resolve(options.modelsDir);
  if (source === modelsDir || source.startsWith(`${modelsDir}${sep}`)) {
    throw new DownloadError('bad-request', `${source} is already inside Ouro's models folder; it needs no import.`);
  }
  const dest = join(modelsDir, id);
  if (await stat(dest).then(() => true, () => false)) {
    throw new DownloadError('already-installed', `A model named "${id}" is already installed; delete it or pick another name.`);
  }

  const files = (await readdir(source, { withFileTypes: true })).filter((d) => d.isFile() && METADATA_FILE.test(d.name)).map((d) => join(source, d.name));
  files.push(folder.onnxPath, ...folder.externalData);
  let bytes = 0;
  for (const f of files) bytes += (await stat(f)).size;
  await mkdir(modelsDir, { recursive: true });
  const free = await (options.freeBytes ?? freeBytes)(modelsDir);
  if (bytes > free) {
    throw new DownloadError('disk-full', `Copying ${basename(source)} needs ${formatBytes(bytes)} but only ${formatBytes(free)} is free; free some space or import it by reference.`);
  }

  const staging = join(modelsDir, '.importing', `${id}-${randomBytes(4).toString('hex')}`);
  try {
    for (const f of new Set(files)) await copyInto(source, staging, f);
    await loadModelFolder(staging);
    await rename(staging, dest);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    const code = errorCodeOf(e);
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new DownloadError('disk-full', `The disk filled up while copying ${basename(source)}; free some space and import again.`, { cause: e });
    if (code === 'EEXIST' || code === 'ENOTEMPTY') throw new DownloadError('already-installed', `A model named "${id}" appeared while copying; pick another name.`, { cause: e });
    throw e;
  } finally {
    // Only when empty: another import may be staging next to this one.
    await rmdir(join(modelsDir, '.importing')).catch(() => undefined);
  }
  return { id, dir: dest, mode: 'copy', summary: await inspectModel(dest) };
}

/**
 * Deletes the installed folder `<modelsDir>/<id>` (downloaded or copied; never a referenced folder,
 * which lives outside). It is renamed to a dot-folder first, so it vanishes from the list at once even
 * if removing gigabytes takes a while. Throws DownloadError `not-found` / `bad-request`.
 */
export async function deleteModel(modelsDir: string, id: string): Promise<void> {
  if (!MODEL_FOLDER_ID.test(id)) throw new DownloadError('bad-request', `"${id}" is not an installed model's folder name.`);
  const dir = join(resolve(modelsDir), id);
  const s = await stat(dir).catch(() => null);
  if (s === null || !s.isDirectory()) throw new DownloadError('not-found', `No model "${id}" is installed in ${modelsDir}.`);
  const trash = join(resolve(modelsDir), `.deleting-${id}-${randomBytes(4).toString('hex')}`);
  await rename(dir, trash);
  await rm(trash, { recursive: true, force: true });
}
