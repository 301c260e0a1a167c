// Which folder to pick when the one chosen is not a model folder but sits next to one: the `onnx/`
// subfolder of a model, or the folder that holds model folders. Also `~` in a typed path. Runs in main
// (plain Node: the facts come from the file system, the wording from pure functions).
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** `~` or `~/…` (`~\…` too) as the home folder; other paths unchanged. */
export function expandHome(dir: string, home: string): string {
  const path = dir.trim();
  if (path === '~') return home;
  return /^~[/\\]/.test(path) ? join(home, path.slice(2)) : path;
}

/** What the file system says around a folder that is not a model folder. */
export interface FolderFacts {
  /** The folder, absolute. */
  readonly dir: string;
  /** It is named `onnx` and the folder above it holds a config.json: a model's ONNX subfolder. */
  readonly onnxOfModel: boolean;
  /** Names of its subfolders that hold a config.json and an onnx/ folder (sorted). */
  readonly modelChildren: readonly string[];
}

/** Model folders named in a hint; more are counted. */
const NAMED_CHILDREN = 3;

/** The sentence that says which folder to pick, or null when the facts suggest none. */
export function folderHint(facts: Readonly<FolderFacts>): string | null {
  if (facts.onnxOfModel) return `This is a model's onnx/ subfolder: pick the folder above it, ${dirname(facts.dir)}.`;
  const children = facts.modelChildren;
  if (children.length === 1) return `This folder holds a model folder: pick ${join(facts.dir, children[0])}.`;
  if (children.length > 1) {
    const named = children.slice(0, NAMED_CHILDREN).join(', ');
    const more = children.length > NAMED_CHILDREN ? ` and ${children.length - NAMED_CHILDREN} more` : '';
    return `This folder holds ${children.length} model folders (${named}${more}): pick one of them.`;
  }
  return null;
}

const exists = (path: string, kind: 'file' | 'dir') =>
  stat(path).then(
    (s) => (kind === 'file' ? s.isFile() : s.isDirectory()),
    () => false,
  );

/** A model folder as far as its layout goes: config.json and an onnx/ folder. */
async function looksLikeModel(dir: string): Promise<boolean> {
  return (await exists(join(dir, 'config.json'), 'file')) && (await exists(join(dir, 'onnx'), 'dir'));
}

/** Reads the facts of {@link folderHint} for absolute folder `dir` (an unreadable folder has none). */
export async function folderFacts(dir: string): Promise<FolderFacts> {
  const onnxOfModel = basename(dir) === 'onnx' && (await exists(join(dirname(dir), 'config.json'), 'file'));
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const modelChildren: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory() && !entry.name.startsWith('.') && (await looksLikeModel(join(dir, entry.name)))) modelChildren.push(entry.name);
  }
  return { dir, onnxOfModel, modelChildren: modelChildren.sort() };
}
