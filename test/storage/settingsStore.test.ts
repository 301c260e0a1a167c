// SettingsStore: defaults, lenient reading, validated atomic writes, corrupt-file recovery.
// Runs under Vitest (Node) in temp folders.

import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppSettingsSchema, ConversationSettingsSchema, defaultSettings, effectiveChatSettings } from '../../common/settingsSchema';
import { SettingsError, SettingsStore, settingsNamedIn } from '../../main/storage/settingsStore';
import { useTempDirs } from './tempDir';

const tempDir = useTempDirs();

describe('SettingsStore', () => {
  it('gives a default for every field when there is no file, and writes nothing', async () => {
    const root = await tempDir();
    const { settings, warnings } = await new SettingsStore(root).load();
    expect(settings).toEqual({
      systemPrompt: 'You are a helpful assistant.',
      sampling: { temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.1, maxTokens: 1024, seed: null },
      cache: { sink: 'auto', window: 'auto', positions: 'cache', pinBudget: 'auto' },
      provider: 'auto',
      q4Compute: 'int8',
      theme: 'system',
      windowBounds: null,
      lastModelId: null,
      hfToken: null,
      hubBaseUrl: 'https://huggingface.co',
      hfTokenMirror: null,
      server: { enabled: false, host: '127.0.0.1', port: 8080, apiKey: null, streams: 4 },
    });
    expect(warnings).toEqual([]);
    expect(await readdir(root)).toEqual([]);
  });

  it('merges a partial update with the current settings and a fresh store reads it back', async () => {
    const root = await tempDir();
    const store = new SettingsStore(root);
    await store.load();
    await store.update({ sampling: { temperature: 0.2, seed: 42 }, cache: { sink: 4, window: 60 }, theme: 'dark' });
    const saved = await store.update({ windowBounds: { width: 900, height: 700, maximized: true }, lastModelId: 'smollm2' });
    expect(saved.sampling).toEqual({ ...defaultSettings().sampling, temperature: 0.2, seed: 42 });
    expect(saved.cache).toEqual({ sink: 4, window: 60, positions: 'cache', pinBudget: 'auto' });
    const reread = await new SettingsStore(root).load();
    expect(reread).toEqual({ settings: saved, warnings: [] });
    expect(await store.update({ lastModelId: null, sampling: { seed: null } })).toMatchObject({ lastModelId: null, sampling: { seed: null } });
  });

  it('writes atomically: concurrent updates all land, in order, and no temp file is left', async () => {
    const root = await tempDir();
    const store = new SettingsStore(root);
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.update({ sampling: { maxTokens: 100 + i } })));
    expect(await readdir(root)).toEqual(['settings.json']);
    const onDisk = AppSettingsSchema.parse(JSON.parse(await readFile(join(root, 'settings.json'), 'utf8')));
    expect(onDisk.sampling.maxTokens).toBe(109);
  });

  it('keeps a corrupt file as settings.json.corrupt-<timestamp> and uses defaults, with a warning that says so', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'settings.json'), '{"theme": "dark", ');
    const store = new SettingsStore(root, () => new Date('2025-03-04T05:06:07.890Z'));
    const { settings, warnings } = await store.load();
    expect(settings).toEqual(defaultSettings());
    const backup = join(root, 'settings.json.corrupt-2025-03-04T05-06-07-890Z');
    expect(warnings).toEqual([
      { kind: 'settings-corrupt', file: join(root, 'settings.json'), backupPath: backup, lost: ['the theme'], message: expect.stringContaining(backup) },
    ]);
    expect(await readFile(backup, 'utf8')).toBe('{"theme": "dark", ');
    expect(await readdir(root)).toEqual(['settings.json.corrupt-2025-03-04T05-06-07-890Z']);
  });

  it('names every setting as lost when the unreadable file names none', () => {
    expect(settingsNamedIn('\u0000\u0000garbage')).toHaveLength(Object.keys(defaultSettings()).length);
    expect(settingsNamedIn('{"lastModelId": "x", "hubBaseUrl" : "https://m')).toEqual(['the model used last', 'the download mirror (hub URL)']);
  });

  it('drops unknown fields and replaces only the invalid ones with defaults, naming each', async () => {
    const root = await tempDir();
    await writeFile(
      join(root, 'settings.json'),
      JSON.stringify({
        theme: 'dark',
        futureFeature: { on: true },
        sampling: { temperature: 'hot', topK: -3, topP: 0.5, extra: 1 },
        cache: { sink: 'lots', window: 128 },
        windowBounds: { width: 'wide', height: 600 },
        provider: 'cuda',
      }),
    );
    const { settings, warnings } = await new SettingsStore(root).load();
    expect(settings).toEqual({
      ...defaultSettings(),
      theme: 'dark',
      provider: 'cuda',
      sampling: { ...defaultSettings().sampling, topP: 0.5 },
      cache: { sink: 'auto', window: 128, positions: 'cache', pinBudget: 'auto' },
    });
    expect(warnings.map((w) => (w.kind === 'settings-invalid-field' ? w.path : w.kind)).sort()).toEqual([
      'cache.sink',
      'sampling.temperature',
      'sampling.topK',
      'windowBounds.width',
    ]);
    expect(warnings.find((w) => w.kind === 'settings-invalid-field' && w.path === 'cache.sink')?.message).toContain(
      'cache.sink must be "auto" or a whole number >= 0',
    );
  });

  it('treats a JSON value that is not an object as corrupt', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'settings.json'), '[1, 2]');
    const { warnings } = await new SettingsStore(root).load();
    expect(warnings.map((w) => w.kind)).toEqual(['settings-corrupt']);
  });

  it('rejects invalid values with a message naming the field, and leaves the file as it was', async () => {
    const root = await tempDir();
    const store = new SettingsStore(root);
    await store.update({ theme: 'light' });
    const before = await readFile(join(root, 'settings.json'), 'utf8');
    const error = await store.update({ sampling: { temperature: 9, topP: 0 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).issues.map((i) => i.path)).toEqual(['sampling.temperature', 'sampling.topP']);
    expect((error as Error).message).toContain('sampling.temperature: temperature must be <= 5');
    await expect(store.update({ cache: { window: 0 } })).rejects.toThrow(/cache\.window must be "auto" or a whole number >= 1/);
    // Not a type-level option: IPC input is untyped at run time.
    await expect(store.update({ theme: 'neon' } as unknown as { theme: 'dark' })).rejects.toThrow(/theme must be system, light or dark/);
    expect(await readFile(join(root, 'settings.json'), 'utf8')).toBe(before);
    expect(store.get().theme).toBe('light');
  });
});

describe('settings schemas', () => {
  it('lays conversation overrides over the app settings field by field', () => {
    const app = { ...defaultSettings(), systemPrompt: 'app prompt' };
    const overrides = ConversationSettingsSchema.parse({ sampling: { temperature: 0, seed: 7 }, cache: { positions: 'original' } });
    const effective = effectiveChatSettings(app, overrides);
    expect(effective.systemPrompt).toBe('app prompt');
    expect(effective.sampling).toEqual({ ...app.sampling, temperature: 0, seed: 7 });
    expect(effective.cache).toEqual({ sink: 'auto', window: 'auto', positions: 'original', pinBudget: 'auto' });
    expect(effectiveChatSettings(app)).toEqual({ systemPrompt: 'app prompt', sampling: app.sampling, cache: app.cache });
  });

  it('accepts an empty override object and rejects an out-of-range one', () => {
    expect(ConversationSettingsSchema.parse({})).toEqual({});
    expect(ConversationSettingsSchema.safeParse({ sampling: { topK: 1.5 } }).success).toBe(false);
  });
});
