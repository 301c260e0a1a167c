// The app settings file `<root>/settings.json`: read leniently, validated, written atomically.
// Runs in the main process (storage); plain Node, no electron.

import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { writeFileAtomic } from './atomicFile';
import { AppSettingsSchema, SettingsPatchSchema, defaultSettings, definedOnly } from '../../common/settingsSchema';
import type { AppSettings, SettingsPatch } from '../../common/settingsSchema';
import type { SettingsWarning } from './storageWarning';

/** One rejected setting: its dotted path (`sampling.temperature`) and why. */
export interface SettingsIssue {
  readonly path: string;
  readonly message: string;
}

/** A settings change that was refused; nothing was written. */
export class SettingsError extends Error {
  readonly code = 'invalid_settings';
  constructor(readonly issues: readonly SettingsIssue[]) {
    super(`Settings not saved: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
    this.name = 'SettingsError';
  }
}

/** What {@link SettingsStore.load} found: usable settings, and what it had to repair on the way. */
export interface SettingsLoadResult {
  readonly settings: AppSettings;
  readonly warnings: readonly SettingsWarning[];
}

/**
 * Owns `<root>/settings.json`. Reading never fails on bad content: a file that is not JSON is kept
 * aside as `settings.json.corrupt-<timestamp>` and defaults are used; a field with a bad value falls
 * back to its default alone; unknown fields are dropped. Writes validate first and replace the file
 * atomically, one at a time.
 */
export class SettingsStore {
  /** Absolute path of the settings file. */
  readonly path: string;
  private current: AppSettings | null = null;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly rootDir: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.path = join(rootDir, 'settings.json');
  }

  /** Reads the file (a missing file means defaults, and nothing is written). */
  async load(): Promise<SettingsLoadResult> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.current = defaultSettings();
      return { settings: structuredClone(this.current), warnings: [] };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      const backupPath = `${this.path}.corrupt-${this.now().toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.path, backupPath);
      this.current = defaultSettings();
      const lost = settingsNamedIn(text);
      const message = `The settings file could not be read and was kept as ${backupPath}; default settings are in use.`;
      return {
        settings: structuredClone(this.current),
        warnings: [{ kind: 'settings-corrupt', file: this.path, backupPath, lost, message }],
      };
    }
    const { settings, rejected } = parseSettingsLeniently(raw);
    this.current = settings;
    const warnings: SettingsWarning[] = rejected.map((issue) => ({
      kind: 'settings-invalid-field',
      file: this.path,
      path: issue.path,
      message: `Setting ${issue.path || '(all)'} was invalid (${issue.message}); its default is in use.`,
    }));
    return { settings: structuredClone(settings), warnings };
  }

  /** The settings last loaded or saved (defaults before the first load). */
  get(): AppSettings {
    return structuredClone(this.current ?? defaultSettings());
  }

  /**
   * Applies a partial change (nested groups merge field by field) and saves it.
   * @throws {@link SettingsError} naming each invalid field; the file is left as it was.
   */
  update(patch: Readonly<SettingsPatch>): Promise<AppSettings> {
    return this.serialise(async () => {
      const parsed = SettingsPatchSchema.safeParse(patch);
      if (!parsed.success) throw new SettingsError(toIssues(parsed.error));
      const base = this.current ?? (await this.load()).settings;
      const p = parsed.data;
      const merged = AppSettingsSchema.safeParse({
        ...base,
        ...definedOnly(p),
        sampling: { ...base.sampling, ...definedOnly(p.sampling) },
        cache: { ...base.cache, ...definedOnly(p.cache) },
        server: { ...base.server, ...definedOnly(p.server) },
      });
      if (!merged.success) throw new SettingsError(toIssues(merged.error));
      await this.save(merged.data);
      return structuredClone(merged.data);
    });
  }

  /** Restores every default and saves. */
  reset(): Promise<AppSettings> {
    return this.serialise(async () => {
      const settings = defaultSettings();
      await this.save(settings);
      return structuredClone(settings);
    });
  }

  private async save(settings: AppSettings): Promise<void> {
    await mkdir(this.rootDir, { recursive: true });
    await writeFileAtomic(this.path, `${JSON.stringify(settings, null, 2)}\n`);
    this.current = settings;
  }

  private serialise<T>(task: () => Promise<T>): Promise<T> {
    const result = this.writes.then(task, task);
    this.writes = result.catch(() => undefined);
    return result;
  }
}

/**
 * Parses settings read from disk, keeping every valid field: each invalid value is removed (its
 * default applies) and reported; a nested group that stays invalid without the field is removed whole.
 */
export function parseSettingsLeniently(raw: unknown): { settings: AppSettings; rejected: SettingsIssue[] } {
  let input: unknown = structuredClone(raw);
  const rejected: SettingsIssue[] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    const result = AppSettingsSchema.safeParse(input);
    if (result.success) return { settings: result.data, rejected };
    for (const issue of result.error.issues) {
      const path = issue.path.map(String);
      if (path.length === 0) {
        rejected.push({ path: '', message: issue.message });
        input = {};
        break;
      }
      const dotted = path.join('.');
      if (!rejected.some((r) => r.path === dotted)) rejected.push({ path: dotted, message: issue.message });
      removePath(input, path);
    }
  }
  return { settings: defaultSettings(), rejected };
}

/** What each setting is called when telling the user it was lost. */
const SETTING_NAMES: Readonly<Record<keyof AppSettings, string>> = {
  systemPrompt: 'the system prompt',
  sampling: 'the sampling settings (temperature, top-k, top-p, min-p, repetition penalty, max tokens, seed)',
  cache: 'the cache settings (sinks, window, positions)',
  provider: 'the execution provider',
  q4Compute: 'how 4-bit models compute on CPU',
  theme: 'the theme',
  windowBounds: 'the window size and position',
  lastModelId: 'the model used last',
  hfToken: 'the Hugging Face token',
  hubBaseUrl: 'the download mirror (hub URL)',
  hfTokenMirror: 'the mirror trusted with the Hugging Face token',
  server: 'the local server settings (on or off, address, port, API key, cached conversations)',
};

/**
 * The settings an unreadable settings file held, as far as its text still names them (every setting
 * when it names none): what the user lost when it was replaced with defaults.
 */
export function settingsNamedIn(text: string): string[] {
  const keys = Object.keys(SETTING_NAMES) as (keyof AppSettings)[];
  const named = keys.filter((key) => new RegExp(`"${key}"\\s*:`).test(text));
  return (named.length > 0 ? named : keys).map((key) => SETTING_NAMES[key]);
}

/** Deletes the value at `path`; if nothing is there any more, deletes its parent, and so on up. */
function removePath(root: unknown, path: readonly string[]): void {
  for (let depth = path.length; depth > 0; depth--) {
    let parent: unknown = root;
    for (const key of path.slice(0, depth - 1)) parent = isRecord(parent) ? parent[key] : undefined;
    const key = path[depth - 1];
    if (isRecord(parent) && parent[key] !== undefined) {
      delete parent[key];
      return;
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function toIssues(error: z.ZodError): SettingsIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}
