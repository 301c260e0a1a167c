// App settings: a provider change with no model loaded says when it applies, naming the provider as
// people write it (the reload offer for a loaded model: modelsSlice.test.ts).
import { describe, expect, it } from 'vitest';
import type { AppSettings } from '../../common/contract';
import { scriptedApi, storeWith } from './rendererTestKit';

const settings = (provider: AppSettings['provider']) => ({ provider }) as unknown as AppSettings;

describe('settings slice', () => {
  it('says nothing when the provider is unchanged, and names the next load when no model is loaded', async () => {
    const api = scriptedApi({ 'settings.update': ({ patch }) => settings(patch.provider ?? 'cpu') });
    const { store } = storeWith(api);
    store.getState().setSettings(settings('cpu'));
    await store.getState().saveSettings({ provider: 'cpu' });
    expect(store.getState().notices).toEqual([]);
    await store.getState().saveSettings({ provider: 'webgpu' });
    expect(store.getState().notices.map((n) => n.text)).toEqual(['Provider set to WebGPU: the next model you load runs on it.']);
  });
});
