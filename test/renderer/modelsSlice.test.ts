// Models state: opening a folder loads it when nothing is loaded, a load failure comes back with the
// engine's error (kept per model), and model progress is cleared when a load settles. Runs under Vitest
// in Node.
import { describe, expect, it } from 'vitest';
import type { ApiError, InstalledModel, ModelInfo } from '../../common/contract';
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
