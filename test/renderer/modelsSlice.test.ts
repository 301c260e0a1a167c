// Models state: opening a folder loads it when nothing is loaded, a load failure comes back with the
// engine's error (kept per model), and model progress is cleared when a load settles. Runs under Vitest
// in Node.
import { describe, expect, it } from 'vitest';
import type { ApiError, AppSettings, InstalledModel, ModelInfo } from '../../common/contract';
import { defaultSettings } from '../../common/settingsSchema';
import { errorText } from '../../renderer/state/modelsSlice';
import { scriptedApi, storeWith } from './rendererTestKit';

const model = (id: string, dir: string): InstalledModel => ({ id, name: id, dir, source: 'imported' });
const info = (dir: string) => ({ dir, name: 'M', warnings: ['RoPE check is approximate'] }) as unknown as ModelInfo;
const noPositions: ApiError = {
  code: 'model-invalid',
  message: 'onnx/model.onnx: no position_ids input — the sink cache cannot drive this export',
  detail: 'no-position-ids',
};

describe('models slice', () => {
  it('loads an opened folder when no model is loaded, and reports the load failure with the engine error', async () => {
    const api = scriptedApi({
      'models.import': ({ dir }) => model(dir.includes('bad') ? 'bad' : 'good', dir),
      'models.load': ({ id }) => (id === 'bad' ? Promise.reject(noPositions) : info('/m/good')),
    });
    const { store, route } = storeWith(api);
    route({ type: 'progress', seq: 1, phase: 'load', done: 1, total: 4 });
    const bad = await store.getState().importModel('  /m/bad ');
    expect(api.calls.slice(0, 2)).toEqual([
      { verb: 'models.import', args: { dir: '/m/bad' } },
      { verb: 'models.load', args: { id: 'bad' } },
    ]);
    expect(bad).toEqual({ model: model('bad', '/m/bad'), loaded: false, loadError: noPositions });
    expect(store.getState().modelErrors).toEqual({ bad: noPositions });
    expect(store.getState().progress.load).toBeNull();
    expect(store.getState().currentModel).toBeNull();

    const good = await store.getState().importModel('/m/good');
    expect(good).toMatchObject({ loaded: true });
    expect(store.getState().currentModel?.dir).toBe('/m/good');
    expect(store.getState().models.map((m) => m.id)).toEqual(['bad', 'good']);
    expect(store.getState().notices.map((n) => n.text)).toEqual(['RoPE check is approximate']);

    // With a model loaded, opening another folder only adds it.
    const third = await store.getState().importModel('/m/other');
    expect(third).toMatchObject({ loaded: false });
    expect(api.calls.filter((c) => c.verb === 'models.load')).toHaveLength(2);
  });

  it('returns the import error as is', async () => {
    const missing: ApiError = { code: 'model-invalid', message: '/m/x lacks tokenizer.json', detail: 'missing-file' };
    const { store } = storeWith(scriptedApi({ 'models.import': () => Promise.reject(missing) }));
    expect(await store.getState().importModel('/m/x')).toEqual({ error: missing });
    expect(store.getState().models).toEqual([]);
    expect(errorText(missing)).toBe('/m/x lacks tokenizer.json (missing-file)');
    expect(errorText({ code: 'model-invalid', message: 'bad (missing-file)', detail: 'missing-file' })).toBe('bad (missing-file)');
  });
});

describe('the folder dialog', () => {
  it('is the desktop api’s native dialog where there is one, and absent in a browser', async () => {
    const titles: string[] = [];
    const desktop = { ...scriptedApi({}), pickFolder: (title: string) => (titles.push(title), Promise.resolve('/home/ada/models/smol')) };
    const { store } = storeWith(desktop);
    expect(store.getState().canPickFolder).toBe(true);
    expect(await store.getState().pickModelFolder()).toBe('/home/ada/models/smol');
    expect(titles).toEqual(['Open model folder']);

    const browser = storeWith(scriptedApi({})).store;
    expect(browser.getState().canPickFolder).toBe(false);
    expect(await browser.getState().pickModelFolder()).toBeNull();
  });

  it('says so when the dialog fails', async () => {
    const broken = { ...scriptedApi({}), pickFolder: () => Promise.reject(new Error('no display')) };
    const { store } = storeWith(broken);
    expect(await store.getState().pickModelFolder()).toBeNull();
    expect(store.getState().notices.map((n) => n.text)).toEqual(['Could not open the folder dialog: no display']);
  });
});

describe('changing the provider', () => {
  it('says it applies at the next load and offers to reload the loaded model now', async () => {
    const settings = (provider: string) => ({ ...defaultSettings(), provider }) as AppSettings;
    const api = scriptedApi({
      'settings.update': ({ patch }) => settings(patch.provider ?? 'auto'),
      'models.load': () => ({ dir: '/m/good', name: 'good', provider: 'cuda', warnings: [] }) as unknown as ModelInfo,
    });
    const { store } = storeWith(api);
    store.getState().setSettings(settings('auto'));
    store.getState().setModels([model('good', '/m/good')], { dir: '/m/good', name: 'good', provider: 'cpu', warnings: [] } as unknown as ModelInfo);

    expect(await store.getState().saveSettings({ provider: 'cuda' })).toBeNull();
    const [notice] = store.getState().notices;
    expect(notice.text).toBe('Provider set to CUDA. good still runs on CPU until it loads again.');
    expect(notice.action?.label).toBe('Reload model now');
    notice.action!.run();
    await expect.poll(() => store.getState().currentModel?.provider).toBe('cuda');
    expect(api.calls.filter((c) => c.verb === 'models.load')).toEqual([{ verb: 'models.load', args: { id: 'good' } }]);

    // Saving other settings, or a provider the model already runs on, offers nothing.
    await store.getState().saveSettings({ theme: 'dark' });
    await store.getState().saveSettings({ provider: 'cuda' });
    expect(store.getState().notices).toHaveLength(1);
  });
});
