// The cache slice over a scripted bridge and the engine's own SinkRingCache: a fresh view on open, deltas
// applied once per frame, written-last-step tracking, the token-to-message map (prompt and reply), the
// horizon crossing messages only at their boundaries, refresh after a reply with busy retries, and a
// new conversation's geometry from its settings. Vitest (Node).
import type { CacheDelta } from '../../common/cacheView';
import { describe, expect, it, vi } from 'vitest';
import type { SinkRingCache } from '../../main/engine/cache/sinkRingCache';
import { defaultSettings } from '../../common/settingsSchema';
import type { ApiError, CacheViewWithText, Message, ModelInfo, SlotOwners } from '../../common/contract';
import { createAppStore } from '../../renderer/state/appStore';
import { createEventRouter } from '../../renderer/state/eventRouter';
import { selectHorizonMessageId } from '../../renderer/state/selectors';
import { feed, makeCache } from '../engine/cache/cacheTestKit';
import { manualFrames, msg, scriptedApi, stats, type Handlers } from './rendererTestKit';

const MODEL = { dir: '/m', name: 'm', kvBytesPerToken: 64 } as ModelInfo;

/** A store showing conversation c1 with `messages`, a loaded model and `handlers` behind the bridge. */
async function setup(handlers: Handlers, messages: Message[], clock = () => 5_000) {
  const api = scriptedApi(handlers);
  const frames = manualFrames();
  const store = createAppStore({ api, scheduler: frames, now: clock });
  const route = createEventRouter(store);
  store.setState({ currentModel: MODEL, settings: defaultSettings() });
  store.getState().showConversation({ id: 'c1', title: 'Chat', createdAt: 1, updatedAt: 1, messages });
  await vi.waitFor(() => expect(store.getState().cacheStatus).not.toBe('loading'));
  return { api, frames, store, route };
}

/** The engine's view with display texts and owners named by `owner(pos)`. */
function viewWith(cache: SinkRingCache, owner: (pos: number) => [string, number] | null, ids: string[]): CacheViewWithText {
  const view = cache.view();
  const message: number[] = [];
  const char: number[] = [];
  for (const s of view.slots) {
    const o = s.pos >= 0 ? owner(s.pos) : null;
    message.push(o ? ids.indexOf(o[0]) : -1);
    char.push(o ? o[1] : -1);
  }
  const owners: SlotOwners = { message, char, pinnedChars: ids.map((id) => (id === '' ? 7 : 0)), located: ids.map((id) => id !== 'gone'), ids };
  return { ...view, texts: view.slots.map((s) => (s.pos >= 0 ? `p${s.pos}` : '')), owners };
}

function deltaEvent(seq: number, delta: CacheDelta, texts: string[]) {
  return { type: 'cacheDelta' as const, seq, delta, texts };
}

const history = [msg('u1', 'user', 'Hi there'), msg('a1', 'assistant', 'Hello you')];
/** Positions 0-9: the system prompt in the sinks, then u1 and a1 (7 is markup). */
const historyOwner = (p: number): [string, number] | null =>
  p < 2 ? ['', p * 3] : p === 7 ? null : p < 7 ? ['u1', (p - 2) * 2] : ['a1', (p - 8) * 5];

describe('cache slice', () => {
  it('loads a fresh view on open: slots, owners, pinned characters and the horizon at the first visible token', async () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 1000, maxChunk: 4 });
    for (let i = 0; i < 3; i++) feed(cache, i < 2 ? 4 : 2);
    const { store, api } = await setup({ 'cache.view': () => viewWith(cache, historyOwner, ['', 'u1', 'a1']) }, history);
    expect(api.calls.filter((c) => c.verb === 'cache.view').map((c) => c.args)).toEqual([{ conversationId: 'c1' }]);
    const s = store.getState();
    expect(s.cacheStatus).toBe('ready');
    const m = s.cacheModel;
    expect(m.capacity).toBe(6);
    expect(m.firstVisible).toBe(7);
    expect(Array.from(m.pos)).toEqual([0, 1, 6, 7, 8, 9]);
    expect(m.texts).toEqual(['p0', 'p1', 'p6', 'p7', 'p8', 'p9']);
    // The head (slot of position 10) still holds position 6, which the next query no longer sees.
    expect(m.head).toBe(2);
    expect(Array.from({ length: 6 }, (_, j) => m.visible(j))).toEqual([true, true, false, true, true, true]);
    expect(s.pinnedChars).toEqual({ '': 7 });
    expect(s.cacheUnfed).toEqual({});
    // Position 7 (first visible) is markup: the horizon is at a1's first token.
    expect(s.horizon).toEqual({ messageId: 'a1', charOffset: 0 });
  });

  it('applies a stream’s deltas at once, publishes them once per frame, and names each write’s message', async () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 1000, maxChunk: 5 });
    for (let i = 0; i < 3; i++) feed(cache, i < 2 ? 4 : 2);
    const { store, frames, route } = await setup({ 'cache.view': () => viewWith(cache, historyOwner, ['', 'u1', 'a1']) }, history);
    const user = msg('u2', 'user', 'What now');
    store.getState().beginStream({ seq: 4, conversationId: 'c1', userMessage: user, reply: msg('a2', 'assistant', '', { status: 'streaming' }) }, 'send');
    const version = store.getState().cacheVersion;

    // The prompt: `<|im_start|> user↵What now` at positions 10-14, in two prefill chunks.
    route(deltaEvent(4, feed(cache, 3).delta, ['<|im_start|>', ' user', '↵']));
    route(deltaEvent(4, feed(cache, 2).delta, ['What', ' now']));
    // The reply: each token event (text, pos) comes before the step that feeds it.
    for (const [i, text] of ['Su', 're', '!'].entries()) {
      route({ type: 'token', seq: 4, id: 50 + i, text, pos: 15 + i, slot: cache.slotOf(15 + i) });
      route(deltaEvent(4, feed(cache, 1).delta, [text]));
    }
    const m = store.getState().cacheModel;
    expect(m.nextPos).toBe(18);
    expect(store.getState().cacheVersion).toBe(version);
    frames.runFrame();
    expect(store.getState().cacheVersion).toBe(version + 1);
    frames.runFrame();
    expect(store.getState().cacheVersion).toBe(version + 1);

    const owner = (p: number) => {
      const j = m.slotHolding(p);
      return j < 0 ? null : [m.ownerIds[m.owner[j]] ?? null, m.ownerChar[j]];
    };
    expect([14, 15, 16, 17].map(owner)).toEqual([
      ['u2', 4],
      ['a2', 0],
      ['a2', 2],
      ['a2', 4],
    ]);
    // The last step wrote exactly position 17.
    expect(Array.from({ length: m.capacity }, (_, j) => m.writtenLast(j))).toEqual(Array.from({ length: 6 }, (_, j) => j === m.slotHolding(17)));
    // firstVisible = 18 - 4 + 1 = 15: the horizon is at the reply's start.
    expect(m.firstVisible).toBe(15);
    expect(store.getState().horizon).toEqual({ messageId: 'a2', charOffset: 0 });
    expect(store.getState().messages.map((x) => x.id)).toEqual(['u1', 'a1', 'u2', 'a2']);
  });

  it('moves the horizon every frame but changes its message only at message boundaries', async () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 1000, maxChunk: 5 });
    for (let i = 0; i < 3; i++) feed(cache, i < 2 ? 4 : 2);
    const { store, frames, route } = await setup({ 'cache.view': () => viewWith(cache, historyOwner, ['', 'u1', 'a1']) }, history);
    store.getState().beginStream({ seq: 5, conversationId: 'c1', reply: msg('a2', 'assistant', '', { status: 'streaming' }) }, 'regenerate');
    const messageIds: (string | null)[] = [];
    const offsets: number[] = [];
    store.subscribe((s, prev) => {
      if (selectHorizonMessageId(s) !== selectHorizonMessageId(prev)) messageIds.push(selectHorizonMessageId(s));
      if (s.horizon && s.horizon !== prev.horizon) offsets.push(s.horizon.charOffset);
    });
    for (let i = 0; i < 10; i++) {
      route({ type: 'token', seq: 5, id: i, text: 'ab', pos: 10 + i, slot: cache.slotOf(10 + i) });
      route(deltaEvent(5, feed(cache, 1).delta, ['ab']));
      frames.runFrame();
    }
    // a1 (positions 8-9) leaves the window after two tokens; then the horizon walks through a2 two characters a step.
    expect(messageIds).toEqual(['a2']);
    expect(offsets.slice(-4)).toEqual([8, 10, 12, 14]);
  });

  it('fetches a fresh view when the reply ends, retrying while main is still ending the turn', async () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 1000, maxChunk: 4 });
    feed(cache, 4);
    let calls = 0;
    const busy: ApiError = { code: 'busy', message: 'A reply is streaming' };
    const { store, frames, route, api } = await setup(
      {
        'cache.view': () => {
          calls++;
          if (calls === 2) throw busy;
          return viewWith(cache, () => null, []);
        },
      },
      history,
    );
    store.getState().beginStream({ seq: 6, conversationId: 'c1', reply: msg('a2', 'assistant', '', { status: 'streaming' }) }, 'regenerate');
    route(deltaEvent(6, feed(cache, 1).delta, ['x']));
    route({ type: 'done', seq: 6, reason: 'eos', stats: stats() });
    frames.runFrame();
    await vi.waitFor(() => expect(calls).toBe(3));
    await vi.waitFor(() => expect(store.getState().cacheStatus).toBe('ready'));
    expect(store.getState().cacheModel.nextPos).toBe(5);
    expect(api.calls.filter((c) => c.verb === 'cache.view')).toHaveLength(3);
  });

  it('starts a new conversation’s first stream from its settings’ geometry when the engine has no cache yet', async () => {
    const { store, frames, route } = await setup({ 'cache.view': () => null }, []);
    expect(store.getState().cacheStatus).toBe('none');
    const cache = makeCache({ sink: 4, window: 32, maxPos: 1000, maxChunk: 32 });
    store.getState().beginStream({ seq: 1, conversationId: 'c1', userMessage: msg('u1', 'user', 'Hi'), reply: msg('a1', 'assistant', '', { status: 'streaming' }) }, 'send');
    // `auto` sizes are the engine's to choose: nothing to draw until the reply ends.
    route(deltaEvent(1, feed(cache, 6).delta, ['a', 'b', 'c', 'd', 'e', 'f']));
    expect(store.getState().cacheStatus).toBe('waiting');
    store.setState({ settings: { ...defaultSettings(), cache: { sink: 4, window: 32, positions: 'cache' } } });
    route(deltaEvent(1, feed(cache, 2).delta, ['g', 'h']));
    frames.runFrame();
    const m = store.getState().cacheModel;
    expect(store.getState().cacheStatus).toBe('ready');
    expect(m.capacity).toBe(36);
    expect(m.nextPos).toBe(8);
    expect(m.texts.slice(6, 8)).toEqual(['g', 'h']);
  });

  it('measures the live decode rate from token arrivals and forgets it when the reply ends', async () => {
    let t = 0;
    const { store, route } = await setup({ 'cache.view': () => null }, history, () => (t += 20));
    store.getState().beginStream({ seq: 2, conversationId: 'c1', reply: msg('a2', 'assistant', '', { status: 'streaming' }) }, 'regenerate');
    for (let i = 0; i < 10; i++) route({ type: 'token', seq: 2, id: i, text: 'x', pos: 20 + i, slot: 5 });
    expect(store.getState().cacheLiveRate()).toBeCloseTo(50, 5);
    route({ type: 'done', seq: 2, reason: 'eos', stats: stats() });
    expect(store.getState().cacheLiveRate()).toBeNull();
  });

  it('previews a send through main, and not while a reply streams', async () => {
    const { store } = await setup({ 'cache.view': () => null, 'chat.preview': ({ draft }) => ({ draftTokens: draft.length, pushedOut: 3 }) }, history);
    expect(await store.getState().previewSend('c1', 'hello')).toEqual({ draftTokens: 5, pushedOut: 3 });
    store.getState().beginStream({ seq: 3, conversationId: 'c1', reply: msg('a2', 'assistant', '', { status: 'streaming' }) }, 'regenerate');
    expect(await store.getState().previewSend('c1', 'hello')).toBeNull();
  });
});
