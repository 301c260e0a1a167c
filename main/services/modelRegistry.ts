// The models the app knows: the demo model that comes with Ouro, folders the user imported (kept by
// reference in `<dataDir>/models.json`) and folders downloaded or copied into `<dataDir>/models/`. Runs in main; validates with the engine's
// ModelFolder (file-level checks) plus a caller-supplied check (the engine host's graph check).
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import type { InstalledModel } from '../../common/contract';
import { ModelError } from '../engine/errors';
import { loadModelFolder } from '../engine/modelFolder';
import { expandHome, folderFacts, folderHint } from '../models/folderHint';
import { deleteModel, importFolder } from '../models/modelImport';
import { writeFileAtomic } from '../storage/atomicFile';
import type { StorageRepair } from '../../common/contract';
import { fail } from './apiFailure';

const ImportedModelSchema = z.object({
  id: z.string().min(1).max(256),
  name: z.string().min(1).max(256),
  dir: z.string().min(1).max(4096),
  addedAt: z.int().min(0),
});
const RegistryFileSchema = z.object({ version: z.literal(1), models: z.array(ImportedModelSchema), demoHidden: z.boolean().optional() });
type ImportedModel = z.output<typeof ImportedModelSchema>;
type RegistryFile = z.output<typeof RegistryFileSchema>;

/** The id of the demo model (TinyStories 260K, converted at build time from llama2.c's checkpoint). */
export const DEMO_MODEL_ID = 'demo-tinystories-260k';
const DEMO_NAME = 'Demo · TinyStories 260K';
const DEMO_NOTE = "Writes short children's stories; download a chat model for conversations.";

/** Ids of downloaded models: the folder name under `<dataDir>/models/`, prefixed so it never collides with an import. */
const DOWNLOADED_PREFIX = 'downloaded-';
const FOLDER_NAME = /^[\w.-]{1,200}$/;

/** The folders an unreadable models.json still names (`"dir": "..."`), so the user knows what to import again. */
function foldersNamedIn(text: string): string[] {
  const dirs: string[] = [];
  for (const match of text.matchAll(/"dir"\s*:\s*("(?:[^"\\\n]|\\.)*")/g)) {
    try {
      const dir: unknown = JSON.parse(match[1]);
      if (typeof dir === 'string' && dir !== '' && !dirs.includes(dir)) dirs.push(dir);
    } catch {
      // An escape the damage cut in half: that entry cannot be named.
    }
  }
  return dirs;
}

/** The model id of the folder `<dataDir>/models/<folder>` (a download or a copied import). */
export function downloadedModelId(folder: string): string {
  return DOWNLOADED_PREFIX + folder;
}

/** Checks a folder beyond its files (the engine host opens the graph); rejects with the engine's error. */
export type FolderCheck = (dir: string) => Promise<void>;

/**
 * Owns `models.json` (written atomically, one write at a time) and reads `models/`. Never deletes a
 * folder it did not create: removing an imported model forgets the reference only.
 */
export class ModelRegistry {
  readonly file: string;
  /** Where downloads and copied imports go; the registry lists every non-dot folder in it. */
  readonly downloadsDir: string;
  private writes: Promise<unknown> = Promise.resolve();

  /**
   * `demoDir`: the converted demo model that ships with the app (`out/demo-model`, or the packaged
   * resources' `demo-model`); null lists none.
   */
  constructor(
    dataDir: string,
    private readonly onRepair: (repair: StorageRepair) => void = () => undefined,
    private readonly now: () => number = Date.now,
    private readonly demoDir: string | null = null,
  ) {
    this.file = join(dataDir, 'models.json');
    this.downloadsDir = join(dataDir, 'models');
  }

  /**
   * Every known model: the demo (marked `hidden` when hidden), then imported ones (newest first), then
   * downloaded ones, each re-checked: a missing folder gets `problem`.
   */
  async list(): Promise<InstalledModel[]> {
    const file = await this.readFile();
    const imported = [...file.models].sort((a, b) => b.addedAt - a.addedAt);
    const rows: InstalledModel[] = [];
    if (this.demoDir !== null) {
      const demo = { id: DEMO_MODEL_ID, name: DEMO_NAME, dir: this.demoDir, source: 'demo', note: DEMO_NOTE } as const;
      rows.push(await withProblem(file.demoHidden ? { ...demo, hidden: true } : demo));
    }
    for (const m of imported) rows.push(await withProblem({ id: m.id, name: m.name, dir: m.dir, source: 'imported' }));
    for (const name of await this.downloadedFolders()) {
      rows.push(await withProblem({ id: DOWNLOADED_PREFIX + name, name, dir: join(this.downloadsDir, name), source: 'downloaded' }));
    }
    return rows;
  }

  async find(id: string): Promise<InstalledModel | null> {
    return (await this.list()).find((m) => m.id === id) ?? null;
  }

  /**
   * Validates `dir` with the engine's ModelFolder, then with `check`, and remembers it where it is
   * (importing the same folder again refreshes the entry). A folder the engine rejects fails with
   * `model-invalid`, its message naming the file and the problem, `detail` the engine's code.
   */
  async import(dir: string, check?: FolderCheck): Promise<InstalledModel> {
    const abs = await validatedFolder(dir, check);
    const entry: ImportedModel = { id: importedId(abs), name: basename(abs) || abs, dir: abs, addedAt: this.now() };
    await this.serialise(async () => {
      const models = (await this.readImported()).filter((m) => m.id !== entry.id);
      await this.writeImported([...models, entry]);
    });
    return { id: entry.id, name: entry.name, dir: entry.dir, source: 'imported' };
  }

  /**
   * Validates `dir` like `import` (files first, then `check`, before any byte is copied) and copies the
   * files the engine needs into `<dataDir>/models/<folder>`: staged in a dot-folder, so a failed copy
   * never looks installed. Throws DownloadError `already-installed` / `disk-full` / `bad-request`.
   */
  async importCopy(dir: string, check?: FolderCheck): Promise<InstalledModel> {
    const abs = await validatedFolder(dir, check);
    const copied = await importFolder(abs, { modelsDir: this.downloadsDir, mode: 'copy' });
    return { id: downloadedModelId(copied.id), name: copied.id, dir: copied.dir, source: 'downloaded' };
  }

  /** Forgets an imported model, or deletes a downloaded or copied one (its folder is the app's own). */
  async remove(id: string): Promise<void> {
    if (id === DEMO_MODEL_ID) fail('bad-request', 'The demo model comes with Ouro and is never deleted; hide it instead.');
    if (id.startsWith(DOWNLOADED_PREFIX)) {
      const name = id.slice(DOWNLOADED_PREFIX.length);
      if (!FOLDER_NAME.test(name) || !(await this.downloadedFolders()).includes(name)) fail('not-found', `No model ${id} is installed.`);
      // Renamed to a dot-folder first: it leaves the list at once, even while gigabytes are being removed.
      await deleteModel(this.downloadsDir, name);
      return;
    }
    await this.serialise(async () => {
      const models = await this.readImported();
      if (!models.some((m) => m.id === id)) fail('not-found', `No model ${id} is installed.`);
      await this.writeImported(models.filter((m) => m.id !== id));
    });
  }

  /** Hides or shows the demo model; any other id is refused (remove those instead). */
  async setHidden(id: string, hidden: boolean): Promise<void> {
    if (id !== DEMO_MODEL_ID || this.demoDir === null) fail('bad-request', `Only the demo model can be hidden; remove ${id} instead.`);
    await this.serialise(async () => {
      const file = await this.readFile();
      await this.writeFile({ ...file, demoHidden: hidden || undefined });
    });
  }

  private async readImported(): Promise<ImportedModel[]> {
    return (await this.readFile()).models;
  }

  private async readFile(): Promise<RegistryFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, models: [] };
      throw err;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const parsed = RegistryFileSchema.safeParse(raw);
    if (parsed.success) return parsed.data;
    // A damaged list must not lock the user out of the app: set it aside and start empty.
    const backup = `${this.file}.corrupt-${this.now()}`;
    const kept = await rename(this.file, backup).then(
      () => true,
      () => false,
    );
    const dirs = foldersNamedIn(text);
    this.onRepair({
      file: this.file,
      keptAs: kept ? backup : null,
      lost: dirs.length > 0 ? dirs.map((dir) => `the imported model folder ${dir}`) : ['the list of imported model folders'],
      message: `The list of imported models could not be read${kept ? ` and was kept as ${backup}` : ''}; import your model folders again (they are still where they were).`,
    });
    return { version: 1, models: [] };
  }

  /** Replaces the imported models, keeping the rest of the file. Call inside `serialise`. */
  private async writeImported(models: readonly ImportedModel[]): Promise<void> {
    await this.writeFile({ ...(await this.readFile()), models: [...models] });
  }

  private async writeFile(file: Readonly<RegistryFile>): Promise<void> {
    await mkdir(resolve(this.file, '..'), { recursive: true });
    await writeFileAtomic(this.file, `${JSON.stringify(file, null, 2)}\n`);
  }

  private async downloadedFolders(): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(this.downloadsDir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    // Partial downloads live in dot-folders (`.name.part`), which the pattern's first character excludes.
    return entries.filter((e) => e.isDirectory() && FOLDER_NAME.test(e.name) && !e.name.startsWith('.')).map((e) => e.name).sort();
  }

  private serialise<T>(task: () => Promise<T>): Promise<T> {
    const result = this.writes.then(task, task);
    this.writes = result.catch(() => undefined);
    return result;
  }
}

/** Stable per folder, so importing a folder twice keeps one entry and conversations keep their model. */
function importedId(dir: string): string {
  const slug = basename(dir).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48) || 'model';
  return `${slug}-${createHash('sha256').update(dir).digest('hex').slice(0, 8)}`;
}

/** A cheap presence check (the full validation runs on import and on load). */
async function withProblem(model: InstalledModel): Promise<InstalledModel> {
  const folder = await stat(model.dir).catch(() => null);
  if (!folder?.isDirectory()) return { ...model, problem: `The model folder ${model.dir} is missing (moved or deleted?); import it again.` };
  const config = await stat(join(model.dir, 'config.json')).catch(() => null);
  if (!config?.isFile()) return { ...model, problem: 'model folder lacks config.json' };
  return model;
}

/** `dir` resolved, once the engine's ModelFolder and then `check` accept it; `model-invalid` otherwise. */
async function validatedFolder(dir: string, check: FolderCheck | undefined): Promise<string> {
  const abs = resolve(expandHome(dir, homedir()));
  try {
    await loadModelFolder(abs);
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    // A folder next to a model folder (its onnx/ subfolder, the folder holding it) says which to pick.
    const hint = err.code === 'missing-file' ? folderHint(await folderFacts(abs)) : null;
    fail('model-invalid', hint ? `${err.message}. ${hint}` : err.message, err.code);
  }
  await check?.(abs);
  return abs;
}
