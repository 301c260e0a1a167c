// App settings: changing the provider while a model is loaded offers to reload it now (a notice with a
// "Reload now" button that loads the same model), naming the providers as people write them.
import { describe, expect, it } from 'vitest';
import type { AppSettings, InstalledModel, ModelInfo } from '../../common/contract';
import { scriptedApi, storeWith } from './rendererTestKit';

const settings = (provider: AppSettings['provider']) => ({ provider }) as unknown as AppSettings;
const installed: InstalledModel = { id: 'tiny', name: 'tiny', dir: '/m/tiny', source: 'imported' };
const loaded = (provider: ModelInfo['provider']) => ({ dir: '/m/tiny', name: 'Tiny', provider, providerNote: null, warnings: [] }) as unknown as ModelInfo;

describe('settings slice', () => {
  it('offers to reload the loaded model when the provider changes, and reloads it on request', async () => {
    const api = scriptedApi({
      'settings.update': ({ patch }) => settings(patch.provider ?? 'cpu'),
      'models.load': () => loaded('webgpu'),
    });
    const { store } = storeWith(api);
    store.getState().setSettings(settings('cpu'));
    store.getState().setModels([installed], loaded('cpu'));

    expect(await store.getState().saveSettings({ provider: 'webgpu' })).toBeNull();
    const [notice] = store.getState().notices;
    expect(notice).toMatchObject({ level: 'info', text: 'Provider set to WebGPU; Tiny runs on CPU until it is reloaded.' });
    expect(notice.action?.label).toBe('Reload now');
    notice.action!.run();
    await new Promise((resolve) => setImmediate(resolve));
    expect(api.calls.filter((c) => c.verb === 'models.load')).toEqual([{ verb: 'models.load', args: { id: 'tiny' } }]);
    expect(store.getState().currentModel?.provider).toBe('webgpu');
  });

  it('says nothing when the provider is unchanged or no model is loaded', async () => {
    const api = scriptedApi({ 'settings.update': ({ patch }) => settings(patch.provider ?? 'cpu') });
    const { store } = storeWith(api);
    store.getState().setSettings(settings('cpu'));
    await store.getState().saveSettings({ provider: 'cpu' });
    await store.getState().saveSettings({ provider: 'auto' });
    expect(store.getState().notices).toEqual([]);
  });
});
