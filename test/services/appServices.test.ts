// AppServices end to end under Node: real stores in a temp folder, a real engine host in a worker thread,
// the tiny fixture model. Models, streaming turns, stop/regenerate/edit, long conversations past the
// window, host restarts with and without the saved context, and typed errors. Runs under Vitest (Node).
import { cp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppEvent, StreamStart } from '../../common/contract';
import { startWorkerHost } from '../../main/host/workerTransport';
import { ConversationStore } from '../../main/storage/conversationStore';
import { ensureFixture } from '../fixtures/llamaFixture';
import { crashableWorkerHost, startServices, type ServicesHarness } from './servicesKit';

let h: ServicesHarness;
let fixtureDir: string;
let modelId: string;

type MessageEvent = Extract<AppEvent, { type: 'message' }>;

/** Sends and waits for the stored reply; returns it with the events of its seq. */
async function turn(conversationId: string, content: string) {
  const from = h.log.events.length;
  const start = await h.call('chat.send', { conversationId, content });
  return finished(start, from);
}

async function finished(start: StreamStart, from: number) {
  const { message } = (await h.log.next('message', (e) => e.message.id === start.reply.id, from)) as MessageEvent;
  const events = h.log.events.slice(from).filter((e) => 'seq' in e && e.seq === start.seq);
  const done = events.find((e) => e.type === 'done') as Extract<AppEvent, { type: 'done' }> | undefined;
  return { start, message, events, done };
}

beforeAll(async () => {
  fixtureDir = (await ensureFixture('tiny')).dir;
  h = await startServices();
  await h.call('settings.update', { patch: { sampling: { maxTokens: 24 } } });
});

afterAll(async () => {
  await h?.close();
});

describe('models', () => {
  it('refuses to chat before a model is loaded, with no-model', async () => {
    const c = await h.call('conversations.create', {});
    expect((await h.error('chat.send', { conversationId: c.id, content: 'hi' })).code).toBe('no-model');
    expect((await h.call('conversations.open', { conversationId: c.id })).conversation.messages).toEqual([]);
  });

  it('rejects a broken folder with the engine’s own message and keeps working', async () => {
    const broken = join(h.dataDir, 'broken-model');
    await cp(fixtureDir, broken, { recursive: true });
    await rm(join(broken, 'tokenizer.json'));
    const error = await h.error('models.import', { dir: broken });
    expect(error).toEqual({ code: 'model-invalid', message: 'model folder lacks tokenizer.json', detail: 'missing-file' });
    expect((await h.error('models.import', { dir: join(h.dataDir, 'nowhere') })).message).toMatch(/does not exist/);
    expect(await h.call('models.list', {})).toEqual([]);
  });

  it('imports a good folder by reference, lists it and loads it into the host', async () => {
    const model = await h.call('models.import', { dir: fixtureDir });
    modelId = model.id;
    expect(model).toMatchObject({ dir: fixtureDir, name: 'tiny', source: 'imported' });
    expect(await h.call('models.import', { dir: fixtureDir })).toMatchObject({ id: modelId });
    expect(await h.call('models.list', {})).toHaveLength(1);
    const from = h.log.events.length;
    const info = await h.call('models.load', { id: modelId });
    expect(info).toMatchObject({ layers: 2, kvHeads: 2, hasChatTemplate: true });
    expect(h.log.since(from, 'progress').map((e) => e.phase)).toContain('load');
    expect(await h.call('models.current', {})).toMatchObject({ layers: 2 });
    expect((await h.call('settings.get', {})).lastModelId).toBe(modelId);
    expect((await h.error('models.load', { id: 'no-such-model' })).code).toBe('not-found');
  });

  it('loads a 4-bit model with the 4-bit compute setting: int8 activations by default, exact when set', async () => {
    const q4 = await h.call('models.import', { dir: (await ensureFixture('tiny-q4')).dir });
    expect((await h.call('models.load', { id: q4.id })).q4Compute).toBe('int8');
    await h.call('settings.update', { patch: { q4Compute: 'exact' } });
    expect((await h.call('models.load', { id: q4.id })).q4Compute).toBe('exact');
    await h.call('settings.update', { patch: { q4Compute: 'int8' } });
    expect((await h.call('models.load', { id: modelId })).q4Compute).toBeNull();
  });

  it('reports app info with the host’s providers', async () => {
    const info = await h.call('app.info', {});
    expect(info.dataDir).toBe(h.dataDir);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.providers.find((p) => p.name === 'cpu')?.available).toBe(true);
  });

  it('answers the desktop shell typed: providers, and the window bounds it saves (with a settings event)', async () => {
    expect((await h.services.providers()).find((p) => p.name === 'cpu')?.available).toBe(true);
    expect(await h.services.windowBounds()).toBeNull();
    const bounds = { x: 10, y: 20, width: 900, height: 700, maximized: false };
    const from = h.log.events.length;
    await h.services.saveWindowBounds(bounds);
    expect(await h.services.windowBounds()).toEqual(bounds);
    expect((await h.log.next('settings', () => true, from)).settings.windowBounds).toEqual(bounds);
  });
});

describe('chat turns', () => {
  let conversationId: string;

  it('streams a reply as events and stores it complete with stats', async () => {
    conversationId = (await h.call('conversations.create', { title: 'First' })).id;
    const { start, message, events, done } = await turn(conversationId, 'hello there');
    expect(start.userMessage).toMatchObject({ role: 'user', content: 'hello there' });
    expect(start.reply).toMatchObject({ role: 'assistant', status: 'streaming', content: '' });
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    expect(events.findIndex((e) => e.type === 'token')).toBeLessThan(events.findIndex((e) => e.type === 'done'));
    expect(message).toMatchObject({ id: start.reply.id, status: 'complete', role: 'assistant' });
    expect(message.content).toBe(tokens.map((t) => (t.type === 'token' ? t.text : '')).join(''));
    expect(message.stats).toMatchObject({ tokens: done!.stats.decodeTokens, reprocessedTokens: 0 });
    expect(message.stats!.tokPerSec).toBeGreaterThan(0);
    const stored = (await h.call('conversations.open', { conversationId })).conversation.messages;
    expect(stored.map((m) => [m.role, m.status])).toEqual([['user', 'complete'], ['assistant', 'complete']]);
    expect(stored[1]).toEqual(message);
  });

  it('regenerates: the last reply is replaced and nothing is re-processed', async () => {
    const before = (await h.call('conversations.open', { conversationId })).conversation.messages;
    const from = h.log.events.length;
    const start = await h.call('chat.regenerate', { conversationId });
    expect(start.userMessage).toBeUndefined();
    const { message } = await finished(start, from);
    expect(message.status).toBe('complete');
    expect(message.stats!.reprocessedTokens).toBe(0);
    const after = (await h.call('conversations.open', { conversationId })).conversation.messages;
    expect(after.map((m) => m.id)).toEqual([...before.slice(0, -1).map((m) => m.id), message.id]);
    expect(after.at(-1)!.parentId).toBe(before.at(-2)!.id);
    expect(h.log.since(from, 'notice')).toEqual([]);
  });

  it('edits a user message: later messages dropped, the new text answered', async () => {
    await turn(conversationId, 'a second question');
    const before = (await h.call('conversations.open', { conversationId })).conversation.messages;
    expect(before).toHaveLength(4);
    const edited = before[2];
    const from = h.log.events.length;
    const start = await h.call('chat.edit', { conversationId, messageId: edited.id, content: 'something else' });
    const { message } = await finished(start, from);
    const after = (await h.call('conversations.open', { conversationId })).conversation.messages;
    expect(after.map((m) => m.content)).toEqual([before[0].content, before[1].content, 'something else', message.content]);
    expect(after[2].id).not.toBe(edited.id);
    expect(message.stats!.reprocessedTokens).toBe(0);
    expect((await h.error('chat.edit', { conversationId, messageId: after[3].id, content: 'x' })).code).toBe('bad-request');
    expect((await h.error('chat.edit', { conversationId, messageId: 'gone', content: 'x' })).code).toBe('not-found');
  });

  it('exports the conversation as Markdown and JSON', async () => {
    const md = await h.call('conversations.export', { conversationId, format: 'markdown' });
    expect(md.fileName).toBe('First.md');
    expect(md.content).toContain('## User\n\nsomething else');
    const json = await h.call('conversations.export', { conversationId, format: 'json' });
    expect(JSON.parse(json.content).messages).toHaveLength(4);
  });
  it('stops mid-stream: status stopped, the partial text kept', async () => {
    // Seed 4 gives this prompt a reply of 300+ tokens without an end token (checked by the first turn),
    // and regenerate replays the same seed and logits, so the stop lands well before the reply could end.
    const story = (await h.call('conversations.create', { title: 'Story' })).id;
    await h.call('conversations.updateSettings', { conversationId: story, settings: { sampling: { seed: 4, maxTokens: 300 } } });
    const full = await turn(story, 'Tell me a long story.');
    expect(full.done?.reason).toBe('max');
    await h.call('conversations.updateSettings', { conversationId: story, settings: { sampling: { seed: 4, maxTokens: 100_000 } } });
    const from = h.log.events.length;
    const start = await h.call('chat.regenerate', { conversationId: story });
    await h.log.next('token', (e) => e.seq === start.seq, from);
    await h.call('chat.stop', { conversationId: story });
    const { message, events, done } = await finished(start, from);
    expect(done?.reason).toBe('cancelled');
    expect(message.status).toBe('stopped');
    expect(message.stats!.tokens).toBeLessThan(300);
    expect(message.content).toBe(events.map((e) => (e.type === 'token' ? e.text : '')).join(''));
    expect(message.content.length).toBeGreaterThan(0);
    expect(full.message.content.startsWith(message.content)).toBe(true);
    const stored = (await h.call('conversations.open', { conversationId: story })).conversation.messages;
    expect(stored.at(-1)).toEqual(message);
  });
  it('refuses a second send while a reply streams, with busy', async () => {
    const conversationId = (await h.call('conversations.create', { title: 'Busy' })).id;
    await h.call('conversations.updateSettings', { conversationId, settings: { sampling: { maxTokens: 100_000 } } });
    const from = h.log.events.length;
    const start = await h.call('chat.send', { conversationId, content: 'and more' });
    expect((await h.error('chat.send', { conversationId, content: 'again' })).code).toBe('busy');
    expect((await h.error('models.load', { id: modelId })).code).toBe('busy');
    expect((await h.error('chat.preview', { conversationId, draft: 'x' })).code).toBe('busy');
    await h.call('chat.stop', { conversationId });
    const { message } = await finished(start, from);
    expect(message.status).toBe('stopped');
  });
});

describe('back-to-back turns', () => {
  it('takes a send made the moment `done` arrives instead of refusing it as busy', async () => {
    const conversationId = (await h.call('conversations.create', { title: 'Quick' })).id;
    const from = h.log.events.length;
    const first = await h.call('chat.send', { conversationId, content: 'one' });
    await h.log.next('done', (e) => e.seq === first.seq, from);
    // The reply is still being stored now; the next send waits for that rather than failing.
    const second = await h.call('chat.send', { conversationId, content: 'two' });
    const { message } = await finished(second, from);
    expect(message.status).toBe('complete');
  });
});

describe('storage reads', () => {
  it('reads the conversation from disk once per send', async () => {
    const conversationId = (await h.call('conversations.create', { title: 'One read' })).id;
    await turn(conversationId, 'first');
    const load = vi.spyOn(ConversationStore.prototype, 'load');
    try {
      const { message } = await turn(conversationId, 'second');
      expect(message.status).toBe('complete');
      expect(load).toHaveBeenCalledTimes(1);
    } finally {
      load.mockRestore();
    }
  });
});

describe('long conversations and restarts', () => {
  let conversationId: string;

  it('keeps answering for 30 turns past a 32-token window with 0 re-processed tokens', async () => {
    await h.call('settings.update', { patch: { cache: { sink: 4, window: 32 }, sampling: { maxTokens: 8 } } });
    conversationId = (await h.call('conversations.create', { title: 'Long' })).id;
    const reprocessed: number[] = [];
    let last: Awaited<ReturnType<typeof turn>> | null = null;
    for (let i = 0; i < 30; i++) {
      last = await turn(conversationId, `turn ${i}: tell me more`);
      expect(last.message.status).toBe('complete');
      reprocessed.push(last.message.stats!.reprocessedTokens);
    }
    expect(reprocessed).toEqual(new Array(30).fill(0));
    expect(last!.done!.stats.tokensEvicted).toBeGreaterThan(200);
    await h.services.idle();
    expect((await stat(join(h.dataDir, 'conversations', `${conversationId}.kv`))).size).toBeGreaterThan(0);
  });

  it('comes back after a host restart from its snapshot: no notice, nothing re-processed', async () => {
    await h.services.replaceHost(startWorkerHost());
    const from = h.log.events.length;
    const opened = await h.call('conversations.open', { conversationId });
    expect(opened.notice).toBeUndefined();
    expect(opened.conversation.messages).toHaveLength(60);
    const next = await turn(conversationId, 'still there?');
    expect(next.message.status).toBe('complete');
    expect(next.message.stats!.reprocessedTokens).toBe(0);
    // Only the new turn is fed, not the 30 turns before it.
    expect(next.done!.stats.prefillTokens).toBeLessThan(40);
    expect(h.log.since(from, 'notice')).toEqual([]);
  });

  it('rebuilds the context when the snapshot is gone, says so, and still answers', async () => {
    await h.services.idle();
    await rm(join(h.dataDir, 'conversations', `${conversationId}.kv`));
    await h.services.replaceHost(startWorkerHost());
    const opened = await h.call('conversations.open', { conversationId });
    expect(opened.notice).toMatch(/Context rebuilt: no saved context/);
    const next = await turn(conversationId, 'and now?');
    expect(next.message.status).toBe('complete');
    // Rebuilt from the sinks and the last W tokens of the earlier turns, not the whole conversation.
    expect(next.message.stats!.reprocessedTokens).toBeGreaterThan(30);
    expect(next.message.stats!.reprocessedTokens).toBeLessThanOrEqual(4 + 32);
  });

  it('moves the host between conversations through their snapshots', async () => {
    const other = (await h.call('conversations.create', { title: 'Other' })).id;
    await turn(other, 'a different topic');
    const from = h.log.events.length;
    const back = await turn(conversationId, 'back again');
    expect(back.message.stats!.reprocessedTokens).toBe(0);
    expect(back.done!.stats.prefillTokens).toBeLessThan(40);
    expect(h.log.since(from, 'notice')).toEqual([]);
    await h.call('conversations.delete', { conversationId: other });
    expect((await h.error('conversations.open', { conversationId: other })).code).toBe('not-found');
  });

  it('restarts a crashed host once, reports it, and answers again', async () => {
    // The crash comes mid-reply (seed 4 and these settings give a 300+ token reply, as in the stop test).
    const story = (await h.call('conversations.create', { title: 'Crash' })).id;
    const settings = { sampling: { seed: 4, maxTokens: 300 }, cache: { sink: 'auto' as const, window: 'auto' as const } };
    await h.call('conversations.updateSettings', { conversationId: story, settings });
    const crashable = crashableWorkerHost();
    await h.services.replaceHost(crashable.client);
    const from = h.log.events.length;
    const start = await h.call('chat.send', { conversationId: story, content: 'Tell me a long story.' });
    await h.log.next('token', (e) => e.seq === start.seq && e.text !== '', from);
    crashable.crash();
    const { message } = await finished(start, from);
    expect(message.status).toBe('error');
    expect(message.error).toMatch(/^The reply failed: the engine host crashed/);
    expect(message.content.length).toBeGreaterThan(0);
    const notice = await h.log.next('notice', (e) => /stopped unexpectedly/.test(e.text), from);
    expect(notice.level).toBe('warning');
    const next = await turn(conversationId, 'after the crash');
    expect(next.message.status).toBe('complete');
    // A second crash within the minute is not restarted: typed errors until a model load revives it.
    await h.services.idle();
    await h.services.host.close();
    await h.log.next('notice', (e) => /stopped again/.test(e.text), from);
    expect((await h.error('chat.send', { conversationId, content: 'hello?' })).code).toBe('internal');
    await h.call('models.load', { id: modelId });
    expect((await turn(conversationId, 'revived')).message.status).toBe('complete');
  });
});

describe('typed errors', () => {
  it('answers malformed verbs and unknown ids with contract codes', async () => {
    expect(await h.error('chat.explode', {})).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/unknown verb/) });
    expect((await h.error('chat.send', { conversationId: '../../etc', content: 'x' })).code).toBe('bad-request');
    expect((await h.error('chat.send', { conversationId: 'missing', content: 'x' })).code).toBe('not-found');
    expect((await h.error('conversations.rename', { conversationId: 'missing', title: 'x' })).code).toBe('not-found');
    expect((await h.error('chat.regenerate', { conversationId: (await h.call('conversations.create', {})).id })).code).toBe('bad-request');
    expect((await h.error('settings.update', { patch: { cache: { window: 0 } } })).code).toBe('bad-request');
    expect((await h.error('models.remove', { id: 'nope' })).code).toBe('not-found');
  });

  it('lists, searches, renames and deletes conversations with list events', async () => {
    const c = await h.call('conversations.create', { title: 'Searchable thing' });
    const from = h.log.events.length;
    await h.call('conversations.rename', { conversationId: c.id, title: 'Renamed zebra' });
    const listed = await h.log.next('conversations', (e) => e.conversations.some((s) => s.title === 'Renamed zebra'), from);
    expect(listed.conversations.length).toBeGreaterThan(2);
    expect(await h.call('conversations.search', { query: 'zebra' })).toEqual([{ conversationId: c.id, title: 'Renamed zebra', snippet: expect.stringContaining('zebra') }]);
    await h.call('conversations.delete', { conversationId: c.id });
    expect((await h.call('conversations.list', {})).some((s) => s.id === c.id)).toBe(false);
  });
});


