// Downloads and model details in the renderer's store: `download` events drive each download's
// snapshot, verb replies never roll an event back, failures stay with their download, deleting a model
// forgets the download that installed it, inspect results are cached per folder; and the Models page's
// words for progress and failures. Runs under Vitest in Node.
import { describe, expect, it } from 'vitest';
import type { ApiError, CatalogListing, DownloadSnapshot, InstalledModel, ModelDetails } from '../../common/contract';
import { failureHelp, formatEta, formatParameters, modelDisplayName, progressDetail } from '../../renderer/components/models/modelText';
import { defaultSettings } from '../../common/settingsSchema';
import type { AppState } from '../../renderer/state/appState';
import { selectDownload, selectHfTokenSaved, selectIsInstalled, selectVariantProvider } from '../../renderer/state/selectors';
import { scriptedApi, storeWith } from './rendererTestKit';

const MB = 1024 * 1024;

function snap(extra: Partial<DownloadSnapshot> = {}): DownloadSnapshot {
  return {
    id: 'tiny-chat-fp32',
    name: 'Tiny Chat (fp32)',
    repo: 'ouro-test/tiny-chat',
    revision: 'main',
    commit: null,
    catalogId: 'tiny-chat',
    variant: 'fp32',
    phase: 'resolving',
    receivedBytes: 0,
    totalBytes: 0,
    bytesPerSecond: 0,
    etaSeconds: null,
    file: null,
    retry: null,
    error: null,
    dir: null,
    resumable: false,
    ...extra,
  };
}

const catalog: CatalogListing = {
  updated: '2026-01-01',
  models: [
    {
      id: 'tiny-chat',
      name: 'Tiny Chat',
      repo: 'ouro-test/tiny-chat',
      revision: 'main',
      verified: false,
      engineTested: true,
      notes: [],
      licence: { id: 'apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      gated: false,
      family: 'llama',
      parameters: 134_515_008,
      contextLength: 2048,
      kvBytesPerToken: 256,
      suggestedCache: { sink: 4, window: 60 },
      defaultVariant: 'fp32',
      variants: [
        { id: 'fp32', onnxFile: 'onnx/model.onnx', weights: 'fp32', kvDtype: 'float32', approxDownloadBytes: 210_000, approxRamBytes: 840_000, downloadId: 'tiny-chat-fp32', modelId: 'downloaded-tiny-chat-fp32', fileCount: 6 },
      ],
    },
  ],
};

const downloaded: InstalledModel = { id: 'downloaded-tiny-chat-fp32', name: 'tiny-chat-fp32', dir: '/data/models/tiny-chat-fp32', source: 'downloaded' };

describe('the provider catalog variants are offered for', () => {
  it("is the chosen provider, or for auto what it picked for the loaded model, else unknown", () => {
    const state = (provider: string, currentModel: unknown = null) => ({ settings: { ...defaultSettings(), provider }, currentModel }) as unknown as AppState;
    expect(selectVariantProvider(state('webgpu'))).toBe('webgpu');
    expect(selectVariantProvider(state('cpu', { provider: 'webgpu', providerNote: null }))).toBe('cpu');
    expect(selectVariantProvider(state('auto'))).toBeNull();
    expect(selectVariantProvider(state('auto', { provider: 'cuda', providerNote: 'auto: CUDA (an NVIDIA GPU)' }))).toBe('cuda');
    expect(selectVariantProvider({ settings: null, currentModel: null } as unknown as AppState)).toBeNull();
  });
});

describe('downloads in the store', () => {
  it('follows download events, and a late start reply does not roll the progress back', async () => {
    let reply!: (s: DownloadSnapshot) => void;
    const api = scriptedApi({ 'downloads.start': () => new Promise<DownloadSnapshot>((r) => (reply = r)) });
    const { store, route } = storeWith(api);
    const started = store.getState().startDownload('tiny-chat', 'fp32', 'tiny-chat-fp32');
    expect(store.getState().downloadPending).toEqual({ 'tiny-chat-fp32': true });
    expect(api.calls).toEqual([{ verb: 'downloads.start', args: { catalogId: 'tiny-chat', variant: 'fp32' } }]);

    route({ type: 'download', event: { type: 'phase', download: snap({ phase: 'downloading', totalBytes: 4 * MB }) } });
    route({ type: 'download', event: { type: 'progress', download: snap({ phase: 'downloading', totalBytes: 4 * MB, receivedBytes: MB }) } });
    reply(snap());
    expect(await started).toBeNull();
    const now = selectDownload('tiny-chat-fp32')(store.getState());
    expect(now).toMatchObject({ phase: 'downloading', receivedBytes: MB });
    expect(store.getState().downloadPending).toEqual({});
  });

  it('keeps a verb failure with its download and clears it on the next try', async () => {
    const busy: ApiError = { code: 'bad-request', message: 'Tiny Chat has no variant "q8"' };
    let fail = true;
    const api = scriptedApi({ 'downloads.start': () => (fail ? Promise.reject(busy) : snap()) });
    const { store } = storeWith(api);
    expect(await store.getState().startDownload('tiny-chat', 'q8', 'tiny-chat-q8')).toEqual(busy);
    expect(store.getState().downloadErrors).toEqual({ 'tiny-chat-q8': busy });
    fail = false;
    expect(await store.getState().startDownload('tiny-chat', 'q8', 'tiny-chat-q8')).toBeNull();
    expect(store.getState().downloadErrors).toEqual({});
    expect(store.getState().downloads['tiny-chat-fp32']?.phase).toBe('resolving');
  });

  it('lists unfinished downloads, discards one, and dismisses a failed one', async () => {
    const paused = snap({ phase: 'paused', receivedBytes: MB, totalBytes: 4 * MB, resumable: true });
    const failed = snap({ id: 'other-q4', phase: 'failed', error: { code: 'invalid-model', message: 'no position_ids', file: 'onnx/model_q4.onnx' } });
    const api = scriptedApi({ 'downloads.list': () => [paused, failed], 'downloads.discard': () => null });
    const { store } = storeWith(api);
    await store.getState().refreshDownloads();
    expect(Object.keys(store.getState().downloads)).toEqual(['tiny-chat-fp32', 'other-q4']);
    await store.getState().discardDownload('tiny-chat-fp32');
    expect(api.calls.at(-1)).toEqual({ verb: 'downloads.discard', args: { id: 'tiny-chat-fp32' } });
    store.getState().dismissDownload('other-q4');
    expect(store.getState().downloads).toEqual({});
  });

  it('deleting a downloaded model forgets its details and the download that installed it', async () => {
    const summary = { parameters: 1000, layers: 2 } as unknown as ModelDetails['summary'];
    const api = scriptedApi({ 'models.remove': () => null, 'models.inspect': ({ id }) => ({ model: downloaded, summary: { ...summary, dir: id } }) });
    const { store, route } = storeWith(api);
    store.getState().setModels([downloaded], null);
    route({ type: 'download', event: { type: 'phase', download: snap({ phase: 'installed', dir: downloaded.dir }) } });
    expect(selectIsInstalled(downloaded.id)(store.getState())).toBe(true);

    await store.getState().inspectModel(downloaded.id);
    await store.getState().inspectModel(downloaded.id);
    expect(api.calls.filter((c) => c.verb === 'models.inspect')).toHaveLength(1);
    expect(store.getState().modelDetails[downloaded.id]).toMatchObject({ status: 'ready', dir: downloaded.dir });

    expect(await store.getState().removeModel(downloaded.id)).toBeNull();
    expect(store.getState().models).toEqual([]);
    expect(store.getState().downloads).toEqual({});
    expect(store.getState().modelDetails).toEqual({});
  });

  it('inspects again when the model’s folder changed, and keeps an inspect failure', async () => {
    const broken: ApiError = { code: 'model-invalid', message: 'model folder lacks tokenizer.json', detail: 'missing-file' };
    const api = scriptedApi({ 'models.inspect': () => Promise.reject(broken) });
    const { store } = storeWith(api);
    store.getState().setModels([downloaded], null);
    await store.getState().inspectModel(downloaded.id);
    expect(store.getState().modelDetails[downloaded.id]).toEqual({ status: 'failed', dir: downloaded.dir, error: broken });
    store.getState().setModels([{ ...downloaded, dir: '/elsewhere' }], null);
    await store.getState().inspectModel(downloaded.id);
    expect(api.calls.filter((c) => c.verb === 'models.inspect')).toHaveLength(2);
  });

  it('imports with the chosen mode and knows whether a token is saved without seeing it', async () => {
    const api = scriptedApi({ 'models.import': ({ dir }) => ({ id: 'copied', name: 'copied', dir, source: 'downloaded' }) });
    const { store, route } = storeWith(api);
    store.getState().setModels([], { dir: '/other' } as never);
    await store.getState().importModel(' /m/x ', 'copy');
    expect(api.calls[0]).toEqual({ verb: 'models.import', args: { dir: '/m/x', mode: 'copy' } });
    expect(selectHfTokenSaved(store.getState())).toBe(false);
    route({ type: 'settings', settings: { hfToken: '\u2022saved\u2022', hubBaseUrl: 'https://huggingface.co' } as never });
    expect(selectHfTokenSaved(store.getState())).toBe(true);
  });
});

describe('Models page words', () => {
  it('describes progress with bytes, speed and ETA', () => {
    expect(progressDetail(snap())).toBe('Asking the Hub for the files…');
    const running = snap({ phase: 'downloading', receivedBytes: 12 * MB, totalBytes: 200 * MB, bytesPerSecond: 1.5 * MB, etaSeconds: 125 });
    expect(progressDetail(running)).toBe('12.0 MB of 200.0 MB · 1.5 MB/s · about 2 min left');
    expect(progressDetail({ ...running, phase: 'cancelled' })).toBe('12.0 MB of 200.0 MB');
    expect(formatEta(30)).toBe('less than a minute left');
    expect(formatEta(2 * 3600 + 5 * 60)).toBe('about 2 h 5 min left');
    expect(formatParameters(134_515_008)).toBe('135M');
    expect(formatParameters(1_711_376_384)).toBe('1.7B');
  });

  it('says what to do about each failure and offers the buttons that do it', () => {
    const gated = failureHelp({ code: 'gated', message: 'x', file: null }, true);
    expect(gated.actions).toEqual(['open-model-page', 'add-token', 'resume']);
    expect(gated.advice).toMatch(/accept the licence.*token/);
    expect(failureHelp({ code: 'auth-required', message: 'x', file: null }, false).actions).toEqual(['add-token', 'retry']);
    expect(failureHelp({ code: 'network', message: 'x', file: null }, true).actions).toEqual(['resume']);
    expect(failureHelp({ code: 'invalid-model', message: 'x', file: null }, false).actions).toEqual([]);
  });

  it('names catalog downloads by their catalog name and variant, anything else by folder', () => {
    expect(modelDisplayName(downloaded, catalog)).toBe('Tiny Chat (fp32)');
    expect(modelDisplayName(downloaded, null)).toBe('tiny-chat-fp32');
    expect(modelDisplayName({ ...downloaded, id: 'mine-1234' }, catalog)).toBe('tiny-chat-fp32');
  });
});
