// Model downloads through the app services, end to end under Node: the catalog, a download from the
// mock Hub reported as `download` events, the installed model listed, loaded and chatting; cancel,
// resume and discard; a gated repo's typed error, fixed by a token that never leaves main.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEvent, DownloadSnapshot } from '../../common/contract';
import { ModelDownloads } from '../../main/services/modelDownloads';
import { defaultSettings, SAVED_TOKEN_MASK } from '../../common/settingsSchema';
import { startServices, type ServicesHarness } from './servicesKit';
import { ACCEPTED_TOKEN, GRAPH, startModelsHub, type ModelsHub } from './modelsCatalogKit';

type DownloadAppEvent = Extract<AppEvent, { type: 'download' }>;

let h: ServicesHarness;
let m: ModelsHub;

beforeAll(async () => {
  m = await startModelsHub();
  h = await startServices({
    hubBaseUrl: m.hub.baseUrl,
    catalog: m.catalog,
    downloads: { retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 }, idleTimeoutMs: 5000, progressIntervalMs: 0, reserveBytes: 0 },
  });
  await h.call('settings.update', { patch: { sampling: { maxTokens: 6 } } });
});

afterAll(async () => {
  await h?.close();
  await m?.close();
});

/** Download events for `id` from log index `from` on. */
function downloadEvents(id: string, from: number): DownloadSnapshot[] {
  return h.log.since(from, 'download').map((e) => e.event.download).filter((d) => d.id === id);
}

/** Waits for `id` to reach `phase`. */
async function phase(id: string, want: DownloadSnapshot['phase'], from: number): Promise<DownloadSnapshot> {
  const e = (await h.log.next('download', (x) => x.event.download.id === id && x.event.download.phase === want, from, 20_000)) as DownloadAppEvent;
  return e.event.download;
}

describe('catalog', () => {
  it('lists each variant with its download id and the model id it installs as', async () => {
    const listing = await h.call('catalog.list', {});
    expect(listing.updated).toBe('2026-01-01');
    expect(listing.models.map((x) => x.id)).toEqual(['tiny-chat', 'tiny-gated']);
    const [variant] = listing.models[0].variants;
    expect(variant).toMatchObject({ id: 'fp32', downloadId: 'tiny-chat-fp32', modelId: 'downloaded-tiny-chat-fp32', fileCount: 6, weights: 'fp32' });
    expect(variant).not.toHaveProperty('files');
    expect(listing.models[0]).toMatchObject({ suggestedCache: { sink: 4, window: 60 }, gated: false });
    expect((await h.error('downloads.start', { catalogId: 'nope' })).code).toBe('not-found');
    expect(await h.error('downloads.start', { catalogId: 'tiny-chat', variant: 'q4' })).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/available: fp32/) });
  });
});

describe('download → install → load → chat', () => {
  it('cancels mid-file: nothing is installed, the bytes stay resumable, discard removes them', async () => {
    m.hub.fault({ file: GRAPH }, { kind: 'slow', chunkBytes: 4096, delayMs: 20 });
    const from = h.log.events.length;
    const started = await h.call('downloads.start', { catalogId: 'tiny-chat' });
    expect(started).toMatchObject({ id: 'tiny-chat-fp32', phase: 'resolving', catalogId: 'tiny-chat', variant: 'fp32' });
    await h.log.next('download', (e) => e.event.download.file === GRAPH && e.event.download.receivedBytes > m.downloadBytes - 150_000, from);
    await h.call('downloads.cancel', { id: 'tiny-chat-fp32' });
    const cancelled = await phase('tiny-chat-fp32', 'cancelled', from);
    expect(cancelled.resumable).toBe(true);
    expect(cancelled.receivedBytes).toBeGreaterThan(0);
    expect(cancelled.receivedBytes).toBeLessThan(m.downloadBytes);

    expect((await h.call('models.list', {})).map((x) => x.id)).not.toContain('downloaded-tiny-chat-fp32');
    const [row] = await h.call('downloads.list', {});
    expect(row).toMatchObject({ id: 'tiny-chat-fp32', phase: 'cancelled', resumable: true, totalBytes: m.downloadBytes });
    expect(row.receivedBytes).toBeGreaterThan(0);

    await h.call('downloads.discard', { id: 'tiny-chat-fp32' });
    expect(await h.call('downloads.list', {})).toEqual([]);
    expect(await readdir(join(h.dataDir, 'models'))).toEqual([]);
  });

  it('downloads with progress events, installs, re-sends the model list, loads and chats', async () => {
    const from = h.log.events.length;
    await h.call('downloads.start', { catalogId: 'tiny-chat', variant: 'fp32' });
    const installed = await phase('tiny-chat-fp32', 'installed', from);
    expect(installed).toMatchObject({ receivedBytes: m.downloadBytes, totalBytes: m.downloadBytes, error: null, dir: join(h.dataDir, 'models', 'tiny-chat-fp32') });

    const seen = downloadEvents('tiny-chat-fp32', from);
    expect(seen.map((d) => d.phase).filter((p, i, all) => p !== all[i - 1])).toEqual(['resolving', 'downloading', 'verifying', 'installing', 'installed']);
    const bytes = seen.filter((d) => d.phase === 'downloading').map((d) => d.receivedBytes);
    expect(bytes.length).toBeGreaterThan(2);
    expect(bytes.every((b, i) => i === 0 || b >= bytes[i - 1])).toBe(true);

    // The model list follows the install, without the renderer asking.
    const listed = await h.log.next('models', (e) => e.models.some((x) => x.id === 'downloaded-tiny-chat-fp32'), from);
    expect(listed.models.find((x) => x.id === 'downloaded-tiny-chat-fp32')).toMatchObject({ source: 'downloaded', name: 'tiny-chat-fp32' });
    expect(await h.call('downloads.list', {})).toEqual([]);

    await h.call('models.load', { id: 'downloaded-tiny-chat-fp32' });
    const c = await h.call('conversations.create', {});
    const chatFrom = h.log.events.length;
    const start = await h.call('chat.send', { conversationId: c.id, content: 'hello' });
    const stored = await h.log.next('message', (e) => e.message.id === start.reply.id, chatFrom);
    const tokens = h.log.since(chatFrom, 'token').filter((e) => e.seq === start.seq);
    expect(tokens.length).toBeGreaterThan(0);
    expect(stored.message.content).toBe(tokens.map((t) => t.text).join(''));
  });

  it('inspects the downloaded model: shape, parameters, KV per 1K tokens, provenance', async () => {
    const { model, summary } = await h.call('models.inspect', { id: 'downloaded-tiny-chat-fp32' });
    expect(model.source).toBe('downloaded');
    expect(summary).toMatchObject({ layers: 2, kvHeads: 2, headDim: 8, parametersFrom: 'config', weightFormat: 'fp32', kvBytesPerToken: 256, kvBytesPer1kTokens: 262_144 });
    expect(summary.download).toMatchObject({ repo: 'ouro-test/tiny-chat', catalogId: 'tiny-chat', variant: 'fp32' });
    expect((await h.error('models.inspect', { id: 'downloaded-nothing' })).code).toBe('not-found');
  });

  it('delete removes a downloaded model’s folder', async () => {
    await h.call('models.remove', { id: 'downloaded-tiny-chat-fp32' });
    expect((await h.call('models.list', {})).map((x) => x.id)).not.toContain('downloaded-tiny-chat-fp32');
    expect(await readdir(join(h.dataDir, 'models'))).toEqual([]);
    expect(await h.call('models.current', {})).toBeNull();
  });
});

describe('gated models and the Hugging Face token', () => {
  it('fails with a typed gated error that says what to do, and installs nothing', async () => {
    const from = h.log.events.length;
    await h.call('downloads.start', { catalogId: 'tiny-gated' });
    const failed = await phase('tiny-gated-fp32', 'failed', from);
    expect(failed.error?.code).toBe('gated');
    expect(failed.error?.message).toMatch(/accept its licence/);
    expect(failed.error?.message).toMatch(/token/);
    expect((await h.call('models.list', {})).map((x) => x.id)).not.toContain('downloaded-tiny-gated-fp32');
  });

  it('keeps the token in main: settings replies and events show a mask, downloads send the token', async () => {
    const from = h.log.events.length;
    const reply = await h.call('settings.update', { patch: { hfToken: ACCEPTED_TOKEN } });
    expect(reply.hfToken).toBe(SAVED_TOKEN_MASK);
    expect((await h.call('settings.get', {})).hfToken).toBe(SAVED_TOKEN_MASK);
    expect(JSON.stringify(h.log.events.slice(from))).not.toContain(ACCEPTED_TOKEN);
    expect(JSON.parse(await readFile(join(h.dataDir, 'settings.json'), 'utf8')).hfToken).toBe(ACCEPTED_TOKEN);
    // The mask fails the token pattern, so echoing it back cannot overwrite the token.
    expect((await h.error('settings.update', { patch: { hfToken: SAVED_TOKEN_MASK } })).code).toBe('bad-request');

    await h.call('downloads.start', { catalogId: 'tiny-gated' });
    await phase('tiny-gated-fp32', 'installed', from);
    const authorised = m.hub.requests.filter((r) => r.authorization === `Bearer ${ACCEPTED_TOKEN}`);
    expect(authorised.length).toBeGreaterThan(0);
    // The token never follows the redirect to the CDN host.
    expect(authorised.every((r) => r.server === 'hub')).toBe(true);

    await h.call('settings.update', { patch: { hfToken: null } });
    expect((await h.call('settings.get', {})).hfToken).toBeNull();
  });
});

describe('ModelDownloads without an override', () => {
  it('reads the Hub address from the settings at each start, so a change needs no restart', async () => {
    const modelsDir = await mkdtemp(join(tmpdir(), 'ouro-hub-setting-'));
    const settings = { ...defaultSettings(), hubBaseUrl: 'http://127.0.0.1:9' };
    const events: AppEvent[] = [];
    let installed = 0;
    const downloads = new ModelDownloads({
      modelsDir,
      catalog: m.catalog,
      settings: () => settings,
      emit: (e) => events.push(e),
      installed: () => installed++,
      tuning: { retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 }, reserveBytes: 0 },
    });
    try {
      downloads.start('tiny-chat');
      await expect.poll(() => events.some((e) => e.type === 'download' && e.event.download.phase === 'failed'), { timeout: 10_000 }).toBe(true);
      const failed = events.map((e) => (e.type === 'download' ? e.event.download : null)).find((d) => d?.phase === 'failed');
      expect(failed?.error?.code).toBe('network');

      settings.hubBaseUrl = m.hub.baseUrl;
      downloads.start('tiny-chat');
      await expect.poll(() => installed, { timeout: 10_000 }).toBe(1);
      expect(await readdir(modelsDir)).toEqual(['tiny-chat-fp32']);
    } finally {
      await downloads.close();
      await rm(modelsDir, { recursive: true, force: true });
    }
  });
});
