// Event routing and lifecycle: list/settings/models/notice events land in their slice, menu commands
// act, first load opens the newest conversation, "New conversation" reuses an empty one, and a
// reconnect closes a stream the drop cut off. Runs under Vitest in Node.
import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../../common/settingsSchema';
import type { Conversation, ConversationSummary } from '../../common/contract';
import { msg, scriptedApi, storeWith } from './rendererTestKit';

const summary = (id: string, updatedAt: number): ConversationSummary => ({ id, title: id, createdAt: 1, updatedAt, messageCount: 1, preview: '' });
const conversation = (id: string, messages = [msg(`${id}-u`, 'user', 'hi')]): Conversation => ({ id, title: id, createdAt: 1, updatedAt: 2, messages });

describe('event router', () => {
  it('puts list, settings, models and notice events into their slices', () => {
    const { store, route } = storeWith(scriptedApi({}));
    route({ type: 'conversations', conversations: [summary('old', 1), summary('new', 9)] });
    route({ type: 'settings', settings: { ...defaultSettings(), theme: 'dark' } });
    route({ type: 'models', models: [{ id: 'm', name: 'M', dir: '/m', source: 'imported' }], current: null });
    route({ type: 'notice', level: 'warning', text: 'Disk almost full' });
    const s = store.getState();
    expect(s.conversations.map((c) => c.id)).toEqual(['new', 'old']);
    expect(s.settings?.theme).toBe('dark');
    expect(s.models.map((m) => m.id)).toEqual(['m']);
    expect(s.modelsLoaded).toBe(true);
    expect(s.notices.map((n) => [n.level, n.text])).toEqual([['warning', 'Disk almost full']]);
  });

  it('acts on menu commands', () => {
    const { store, route } = storeWith(scriptedApi({}));
    route({ type: 'command', command: 'toggleCachePanel' });
    route({ type: 'command', command: 'openSettings' });
    route({ type: 'command', command: 'openModels' });
    expect(store.getState()).toMatchObject({ cachePanelOpen: true, settingsDialog: 'app', view: 'models' });
    route({ type: 'command', command: 'focusComposer' });
    route({ type: 'command', command: 'toggleCachePanel' });
    expect(store.getState()).toMatchObject({ cachePanelOpen: false, view: 'chat', composerFocusTick: 1 });
  });

  it('hands cache deltas to the cache view hook only', async () => {
    const { createEventRouter } = await import('../../renderer/state/eventRouter');
    const { store } = storeWith(scriptedApi({}));
    const seen: number[] = [];
    const route = createEventRouter(store, { onCacheDelta: (e) => seen.push(e.seq) });
    const before = store.getState();
    route({
      type: 'cacheDelta',
      seq: 4,
      delta: { writes: [], head: 0, nextPos: 0, evicted: 0, firstVisible: 0, offset: 0, rebased: false, sinkRopeShift: 0 },
      texts: [],
    });
    expect(seen).toEqual([4]);
    expect(store.getState()).toBe(before);
  });
});

describe('lifecycle', () => {
  it('loads everything and opens the newest conversation', async () => {
    const api = scriptedApi({
      'settings.get': () => defaultSettings(),
      'app.info': () => ({ version: '1', dataDir: '/d', providers: [], platform: 'linux' }),
      'models.list': () => [],
      'models.current': () => null,
      'conversations.list': () => [summary('a', 1), summary('b', 5)],
      'conversations.open': ({ conversationId }) => ({ conversation: conversation(conversationId), notice: 'Context rebuilt: 40 tokens re-read.' }),
    });
    const { store } = storeWith(api);
    store.getState().closeConversation();
    await store.getState().initialize();
    const s = store.getState();
    expect(s.initialized).toBe(true);
    expect(s.activeId).toBe('b');
    expect(s.messages.map((m) => m.id)).toEqual(['b-u']);
    expect(s.notices.map((n) => n.text)).toEqual(['Context rebuilt: 40 tokens re-read.']);
  });

  it('"New conversation" reuses an empty open conversation and creates one otherwise', async () => {
    const api = scriptedApi({ 'conversations.create': () => ({ id: 'fresh', title: '', createdAt: 1, updatedAt: 1, messages: [] }) });
    const { store } = storeWith(api);
    expect(await store.getState().startNewConversation()).toBeNull();
    expect(api.calls).toEqual([]);
    expect(store.getState().composerFocusTick).toBe(1);
    store.getState().showConversation(conversation('busy'));
    expect(await store.getState().startNewConversation()).toBeNull();
    expect(api.calls.map((c) => c.verb)).toEqual(['conversations.create']);
    expect(store.getState().activeId).toBe('fresh');
  });

  it('titles an untitled conversation from its first message', async () => {
    const api = scriptedApi({
      'chat.send': (args) => ({
        seq: 1,
        conversationId: args.conversationId,
        userMessage: msg('u', 'user', args.content),
        reply: msg('r', 'assistant', '', { status: 'streaming' }),
      }),
      'conversations.rename': () => null,
    });
    const { store } = storeWith(api);
    store.getState().showConversation({ id: 'c9', title: '', createdAt: 1, updatedAt: 1, messages: [] });
    await store.getState().send('Packing list for Iceland\nin March');
    expect(api.calls.at(-1)).toEqual({ verb: 'conversations.rename', args: { conversationId: 'c9', title: 'Packing list for Iceland' } });
    expect(store.getState().active?.title).toBe('Packing list for Iceland');
  });

  it('after a reconnect ends the stream the drop cut off and reloads the open conversation', async () => {
    const stored = conversation('c1', [msg('u1', 'user', 'Hi'), msg('a1', 'assistant', 'Hel', { status: 'streaming' })]);
    const api = scriptedApi({
      'chat.stop': () => null,
      'settings.get': () => defaultSettings(),
      'app.info': () => ({ version: '1', dataDir: '/d', providers: [], platform: 'linux' }),
      'models.list': () => [],
      'models.current': () => null,
      'conversations.list': () => [summary('c1', 1)],
      'conversations.open': () => ({ conversation: stored }),
    });
    const { store } = storeWith(api, [msg('u1', 'user', 'Hi')]);
    store.getState().beginStream({ seq: 5, conversationId: 'c1', reply: msg('a1', 'assistant', '', { status: 'streaming' }) }, 'send');
    await store.getState().resync();
    const s = store.getState();
    expect(s.stream).toBeNull();
    expect(api.calls.map((c) => c.verb)).toContain('chat.stop');
    expect(s.messages).toEqual(stored.messages);
  });
});
