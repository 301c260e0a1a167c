// The cache slice over a scripted bridge and the engine's own SinkRingCache: a full view on open, the
// cache view protocol's ops applied at once and published once per frame, written-last-step tracking,
// each token's message as the ops name it, the horizon crossing messages only at their boundaries, a new
// stream's geometry from its `start` op, exact rewinds and resets, ops of another conversation ignored, a
// gap caught up with a full view, and a full view after new cache settings. Vitest (Node).
import type { CacheDelta, CacheFullView, CacheRow, CacheViewEvent, CacheViewOp } from '../../common/cacheView';
import { describe, expect, it, vi } from 'vitest';
import type { SinkRingCache } from '../../main/engine/cache/sinkRingCache';
import { defaultSettings } from '../../common/settingsSchema';
import type { ApiError, Message, ModelInfo, SlotOwners } from '../../common/contract';
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

/** The engine's full view as of op `seq`, with display texts and owners named by `owner(pos)`. */
function viewWith(cache: SinkRingCache, owner: (pos: number) => [string, number] | null, ids: string[], seq = 0): CacheFullView {
  const view = cache.view();
  const message: number[] = [];
  const char: number[] = [];
  for (const s of view.slots) {
    const o = s.pos >= 0 ? owner(s.pos) : null;
    message.push(o ? ids.indexOf(o[0]) : -1);
    char.push(o ? o[1] : -1);
  }
  const owners: SlotOwners = { message, char, pinnedChars: ids.map((id) => (id === '' ? 7 : 0)), located: ids.map((id) => id !== 'gone'), ids };
  return { ...view, seq, stream: 'c1', texts: view.slots.map((s) => (s.pos >= 0 ? `p${s.pos}` : '')), owners };
}

/** Numbers ops as the engine host does. */
function opStream(stream = 'c1', first = 1) {
  let seq = first - 1;
  return (op: CacheViewOp): CacheViewEvent => ({ type: 'cacheView', viewSeq: ++seq, stream, op });
}

/** A step's `write` op: its delta with each row's text and message (`owner(pos)`). */
function writeOp(delta: CacheDelta, texts: readonly string[], owner: (pos: number) => [string, number] | null = () => null): CacheViewOp {
  const rows = delta.writes.map((w, i): CacheRow => {
    const o = owner(w.pos);
    return { ...w, text: texts[i] ?? '', message: o ? o[0] : null, char: o ? o[1] : -1 };
  });
  const { writes: _writes, rebased, ...header } = delta;
  return { kind: 'write', rows, rebased, header };
}

const history = [msg('u1', 'user', 'Hi there'), msg('a1', 'assistant', 'Hello you')];
/** Positions 0-9: the system prompt in the sinks, then u1 and a1 (7 is markup). */
const historyOwner = (p: number): [string, number] | null =>
  p < 2 ? ['', p * 3] : p === 7 ? null : p < 7 ? ['u1', (p - 2) * 2] : ['a1', (p - 8) * 5];

/** A cache of S=2, W=4 holding positions 0-9 (history). */
function historyCache(): SinkRingCache {
  const cache = makeCache({ sink: 2, window: 4, maxPos: 1000, maxChunk: 5 });
  for (let i = 0; i < 3; i++) feed(cache, i < 2 ? 4 : 2);
  return cache;
}

describe('cache slice', () => {
  it('loads a fresh view on open: slots, owners, pinned characters and the horizon at the first visible token', async () => {
    const cache = historyCache();
    const { store, api } = await setup({ 'cache.view': () => viewWith(cache, historyOwner, ['', 'u1', 'a1']) }, history);
    expect(api.calls.filter((c) => c.verb === 'cache.view').map((c) => c.args)).toEqual([{ conversationId: 'c1' }]);
    const s = store.getState();
    expect(s.cacheStatus).toBe('ready');
    const m = s.cacheMirror;
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

  it('applies a stream’s ops at once, publishes them once per frame, and names each write’s message as the op does', async () => {
    const cache = historyCache();
    const { store, frames, route } = await setup({ 'cache.view': () => viewWith(cache, historyOwner, ['', 'u1', 'a1'], 10) }, history);
    const user = msg('u2', 'user', 'What now');
    store.getState().beginStream({ seq: 4, conversationId: 'c1', userMessage: user, reply: msg('a2', 'assistant', '', { status: 'streaming' }) }, 'send');
    const version = store.getState().cacheVersion;
    const op = opStream('c1', 11);
    const owner = (p: number): [string, number] | null => (p < 12 ? null : p < 15 ? ['u2', (p - 12) * 4] : ['a2', (p - 15) * 2]);
    // The prompt at positions 10-14, in two prefill chunks; then the reply, a token a step.
    route(op(writeOp(feed(cache, 3).delta, ['<|im_start|>', ' user', '↵'], owner)));
    route(op(writeOp(feed(cache, 2).delta, ['What', ' now'], owner)));
    route(op({ kind: 'messages', pinnedChars: { '': 7 }, unfed: ['u1'] }));
    for (const text of ['Su', 're', '!']) route(op(writeOp(feed(cache, 1).delta, [text], owner)));
    const m = store.getState().cacheMirror;
    expect(m.nextPos).toBe(18);
    expect(store.getState().cacheVersion).toBe(version);
    frames.runFrame();
    expect(store.getState().cacheVersion).toBe(version + 1);
    frames.runFrame();
    expect(store.getState().cacheVersion).toBe(version + 1);
    expect(store.getState().cacheUnfed).toEqual({ u1: true });

    const ownerAt = (p: number) => {
      const j = m.slotHolding(p);
      return j < 0 ? null : [m.ownerIds[m.owner[j]] ?? null, m.ownerChar[j]];
    };
    expect([14, 15, 16, 17].map(ownerAt)).toEqual([
      ['u2', 8],
      ['a2', 0],
      ['a2', 2],
      ['a2', 4],
    ]);
    // The last step wrote exactly position 17.
    expect(Array.from({ length: m.capacity }, (_, j) => m.writtenLast(j))).toEqual(Array.from({ length: 6 }, (_, j) => j === m.slotHolding(17)));
    // firstVisible = 18 - 4 + 1 = 15: the horizon is at the reply's start.
    expect(m.firstVisible).toBe(15);
    expect(store.getState().horizon).toEqual({ messageId: 'a2', charOffset: 0 });
  });

  it('moves the horizon every frame but changes its message only at message boundaries', async () => {
    const cache = historyCache();
    const { store, frames, route } = await setup({ 'cache.view': () => viewWith(cache, historyOwner, ['', 'u1', 'a1'], 3) }, history);
    store.getState().beginStream({ seq: 5, conversationId: 'c1', reply: msg('a2', 'assistant', '', { status: 'streaming' }) }, 'regenerate');
    const messageIds: (string | null)[] = [];
    const offsets: number[] = [];
    store.subscribe((s, prev) => {
      if (selectHorizonMessageId(s) !== selectHorizonMessageId(prev)) messageIds.push(selectHorizonMessageId(s));
      if (s.horizon && s.horizon !== prev.horizon) offsets.push(s.horizon.charOffset);
    });
    const op = opStream('c1', 4);
    for (let i = 0; i < 10; i++) {
      route(op(writeOp(feed(cache, 1).delta, ['ab'], (p) => ['a2', (p - 10) * 2])));
      frames.runFrame();
    }
    // a1 (positions 8-9) leaves the window after two tokens; then the horizon walks through a2 two characters a step.
    expect(messageIds).toEqual(['a2']);
    expect(offsets.slice(-4)).toEqual([8, 10, 12, 14]);
  });

  it('shows a new stream from its start op at once (a first reply, or a turn that rebuilds the cache)', async () => {
    const { store, frames, route } = await setup({ 'cache.view': () => null }, []);
    expect(store.getState().cacheStatus).toBe('none');
    const cache = makeCache({ sink: 4, window: 32, maxPos: 1000, maxChunk: 32 });
    store.getState().beginStream({ seq: 1, conversationId: 'c1', userMessage: msg('u1', 'user', 'Hi'), reply: msg('a1', 'assistant', '', { status: 'streaming' }) }, 'send');
    const op = opStream('c1', 40);
    const empty = { nextPos: 0, head: 0, evicted: 0, firstVisible: 4, offset: 0, sinkRopeShift: 0 };
    route(op({ kind: 'start', geometry: { sink: 4, window: 32, capacity: 36, pinBudget: 0, positions: 'cache' }, header: empty }));
    expect(store.getState().cacheStatus).toBe('ready');
    route(op(writeOp(feed(cache, 6).delta, ['a', 'b', 'c', 'd', 'e', 'f'])));
    frames.runFrame();
    const m = store.getState().cacheMirror;
    expect(store.getState().cacheStatus).toBe('ready');
    expect([m.capacity, m.nextPos, m.seq]).toEqual([36, 6, 41]);
    expect(m.texts.slice(4, 6)).toEqual(['e', 'f']);
  });

  it('empties what a rewind undoes and puts the restored rows back; a reset empties every slot', async () => {
    const cache = historyCache();
    const { store, frames, route } = await setup({ 'cache.view': () => viewWith(cache, historyOwner, ['', 'u1', 'a1'], 1) }, history);
    const op = opStream('c1', 2);
    route(op(writeOp(feed(cache, 3).delta, ['x', 'y', 'z'], () => ['a2', 0])));
    expect(cache.rewind(3)).toBe(true);
    // Positions 10-12 overwrote 6-8; the rewind brings 7 and 8 back (6 is out of view, but held again too).
    const restored = [6, 7, 8].map((p): CacheRow => {
      const j = cache.slotOf(p);
      const o = historyOwner(p);
      return { slot: j, pos: p, tokenId: cache.slotToken[j], ropePos: p, text: `p${p}`, message: o ? o[0] : null, char: o ? o[1] : -1 };
    });
    route(op({ kind: 'rewind', to: 10, restored, header: cache.header() }));
    frames.runFrame();
    const m = store.getState().cacheMirror;
    const view = viewWith(cache, historyOwner, ['', 'u1', 'a1']);
    expect(Array.from(m.pos)).toEqual(view.slots.map((s) => s.pos));
    expect(m.texts).toEqual(view.texts);
    expect([m.nextPos, m.head, m.evicted]).toEqual([view.nextPos, view.head, view.evicted]);
    expect(m.ownerIds[m.owner[m.slotHolding(8)]]).toBe('a1');
    cache.reset();
    route(op({ kind: 'reset', header: cache.header() }));
    expect(Array.from(m.pos)).toEqual([-1, -1, -1, -1, -1, -1]);
    expect(m.nextPos).toBe(0);
  });

  it('ignores another conversation’s ops, and catches up with a full view after a gap', async () => {
    const cache = historyCache();
    let views = 0;
    const { store, frames, route } = await setup({ 'cache.view': () => (views++, viewWith(cache, historyOwner, ['', 'u1', 'a1'], views === 1 ? 1 : 5)) }, history);
    const before = store.getState().cacheMirror.version;
    route(opStream('c2', 2)(writeOp(feed(makeCache({ sink: 2, window: 4, maxPos: 1000, maxChunk: 5 }), 2).delta, ['q', 'r'])));
    expect(store.getState().cacheMirror.version).toBe(before);
    expect(views).toBe(1);
    // Ops 2-4 went elsewhere (another conversation); op 5 is already in the next full view, op 6 follows it.
    feed(cache, 1);
    const late = opStream('c1', 5);
    route(late(writeOp(feed(cache, 1).delta, ['s'])));
    await vi.waitFor(() => expect(views).toBe(2));
    route(late(writeOp(feed(cache, 1).delta, ['t'])));
    frames.runFrame();
    const m = store.getState().cacheMirror;
    expect([m.seq, m.nextPos]).toEqual([6, 13]);
    expect(m.texts[m.slotHolding(12)]).toBe('t');
  });

  it('reads the view again when the conversation’s cache settings change (the engine rebuilds its stream)', async () => {
    const cache = historyCache();
    const { store, api } = await setup({ 'cache.view': () => viewWith(cache, historyOwner, ['', 'u1', 'a1'], 1) }, history);
    const calls = () => api.calls.filter((c) => c.verb === 'cache.view').length;
    expect(calls()).toBe(1);
    // Another setting (the theme) leaves the cache alone; a new window does not.
    store.setState({ settings: { ...defaultSettings(), theme: 'dark' } });
    await Promise.resolve();
    expect(calls()).toBe(1);
    store.setState({ settings: { ...defaultSettings(), theme: 'dark', cache: { ...defaultSettings().cache, window: 64 } } });
    await vi.waitFor(() => expect(calls()).toBe(2));
  });

  it('catches up after a reply that missed ops, retrying while main is still ending the turn', async () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 1000, maxChunk: 4 });
    feed(cache, 4);
    let calls = 0;
    const busy: ApiError = { code: 'busy', message: 'A reply is streaming' };
    const { store, frames, route, api } = await setup(
      {
        'cache.view': () => {
          calls++;
          if (calls === 2) throw busy;
          return viewWith(cache, () => null, [], calls === 1 ? 1 : 9);
        },
      },
      history,
    );
    store.getState().beginStream({ seq: 6, conversationId: 'c1', reply: msg('a2', 'assistant', '', { status: 'streaming' }) }, 'regenerate');
    route(opStream('c1', 8)(writeOp(feed(cache, 1).delta, ['x'])));
    expect(store.getState().cacheStatus).toBe('waiting');
    route({ type: 'done', seq: 6, reason: 'eos', stats: stats() });
    frames.runFrame();
    await vi.waitFor(() => expect(calls).toBe(3));
    await vi.waitFor(() => expect(store.getState().cacheStatus).toBe('ready'));
    expect(store.getState().cacheMirror.nextPos).toBe(5);
    expect(api.calls.filter((c) => c.verb === 'cache.view')).toHaveLength(3);
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
