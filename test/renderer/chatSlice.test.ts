// Chat state changes: `message` events replace in place, send/regenerate/edit reshape the transcript from
// their StreamStart, a stored final reply ends the stream, and the busy guard. Runs under Vitest in Node.
import { describe, expect, it } from 'vitest';
import type { StreamStart } from '../../common/contract';
import { applyStreamStart, displayStatus, regenerableIndex, titleFromMessage, upsertMessage, versionOf } from '../../renderer/state/messageList';
import { msg, scriptedApi, stats, storeWith } from './rendererTestKit';

const ids = (messages: readonly { id: string }[]) => messages.map((m) => m.id);

describe('message events', () => {
  it('replace the message with the same id in place and append new ones', () => {
    const { store, route } = storeWith(scriptedApi({}), [msg('u1', 'user', 'Hi'), msg('a1', 'assistant', 'Hello')]);
    route({ type: 'message', conversationId: 'c1', message: msg('a1', 'assistant', 'Hello again') });
    route({ type: 'message', conversationId: 'c1', message: msg('u2', 'user', 'More') });
    route({ type: 'message', conversationId: 'other', message: msg('x', 'user', 'elsewhere') });
    const messages = store.getState().messages;
    expect(ids(messages)).toEqual(['u1', 'a1', 'u2']);
    expect(messages[1].content).toBe('Hello again');
  });

  it('keep the array when the same message object arrives again', () => {
    const a = msg('a', 'user', 'x');
    const list = [a];
    expect(upsertMessage(list, a)).toBe(list);
  });

  it('end the stream when the stored final version of the live reply arrives', () => {
    const { store, frames, route } = storeWith(scriptedApi({}));
    store.getState().beginStream(
      { seq: 2, conversationId: 'c1', userMessage: msg('u1', 'user', 'Hi'), reply: msg('a1', 'assistant', '', { status: 'streaming' }) },
      'send',
    );
    route({ type: 'token', seq: 2, id: 1, text: 'Hel', pos: 0, slot: 0 });
    const final = msg('a1', 'assistant', 'Hello', {
      status: 'complete',
      stats: { tokens: 2, tokPerSec: 20, ttftMs: 5, reprocessedTokens: 0 },
    });
    route({ type: 'message', conversationId: 'c1', message: final });
    expect(store.getState().stream).toBeNull();
    expect(store.getState().messages[1]).toBe(final);
    // The engine's done for that seq comes later and changes nothing.
    route({ type: 'done', seq: 2, reason: 'eos', stats: stats() });
    frames.runFrame();
    expect(store.getState().messages[1]).toBe(final);
  });
});

describe('stream start', () => {
  const history = [msg('u1', 'user', 'One'), msg('a1', 'assistant', 'Uno'), msg('u2', 'user', 'Two'), msg('a2', 'assistant', 'Dos')];

  it('regenerate replaces everything after the last user message with the new reply', () => {
    const start: StreamStart = { seq: 1, conversationId: 'c1', reply: msg('a3', 'assistant', '', { status: 'streaming' }) };
    expect(ids(applyStreamStart(history, start, 'regenerate'))).toEqual(['u1', 'a1', 'u2', 'a3']);
  });

  it('edit drops the edited message and all after it, then appends the new user message and reply', () => {
    const start: StreamStart = {
      seq: 1,
      conversationId: 'c1',
      userMessage: msg('u1b', 'user', 'One, edited'),
      reply: msg('a9', 'assistant', '', { status: 'streaming' }),
    };
    const next = applyStreamStart(history, start, 'edit', 'u2');
    expect(ids(next)).toEqual(['u1', 'a1', 'u1b', 'a9']);
    expect(ids(applyStreamStart(history, start, 'edit', 'u1'))).toEqual(['u1b', 'a9']);
  });

  it('does not double a message that a message event appended before the StreamStart', () => {
    const early = [...history, msg('u3', 'user', 'Three')];
    const start: StreamStart = {
      seq: 1,
      conversationId: 'c1',
      userMessage: msg('u3', 'user', 'Three'),
      reply: msg('a3', 'assistant', '', { status: 'streaming' }),
    };
    expect(ids(applyStreamStart(early, start, 'send'))).toEqual(['u1', 'a1', 'u2', 'a2', 'u3', 'a3']);
  });

  it('knows which reply can be regenerated and how a dead stream shows', () => {
    expect(regenerableIndex(history)).toBe(3);
    expect(regenerableIndex(history.slice(0, 3))).toBe(-1);
    expect(displayStatus(msg('a', 'assistant', '', { status: 'streaming' }), true)).toBe('streaming');
    expect(displayStatus(msg('a', 'assistant', '', { status: 'streaming' }), false)).toBe('interrupted');
    expect(titleFromMessage('  Plan a trip\nto Lisbon')).toBe('Plan a trip');
    expect(titleFromMessage('x'.repeat(80))).toHaveLength(58);
  });
});

describe('chat actions', () => {
  it('regenerate calls chat.regenerate and shows the new streaming reply in place of the old one', async () => {
    const api = scriptedApi({
      'chat.regenerate': () => ({ seq: 11, conversationId: 'c1', reply: msg('a2', 'assistant', '', { status: 'streaming' }) }),
    });
    const { store } = storeWith(api, [msg('u1', 'user', 'Hi'), msg('a1', 'assistant', 'Old answer')]);
    expect(await store.getState().regenerate()).toBeNull();
    const state = store.getState();
    expect(api.calls.at(-1)).toEqual({ verb: 'chat.regenerate', args: { conversationId: 'c1' } });
    expect(ids(state.messages)).toEqual(['u1', 'a2']);
    expect(state.stream).toMatchObject({ seq: 11, replyId: 'a2', kind: 'regenerate', text: '' });
    expect(state.pending).toBeNull();
  });

  it('regenerate keeps the replaced reply as a version; showing one asks main and shows the conversation it answers', async () => {
    const a1 = msg('a1', 'assistant', 'Old answer', { parentId: 'u1' });
    const api = scriptedApi({
      'chat.regenerate': () => ({ seq: 11, conversationId: 'c1', reply: msg('a2', 'assistant', '', { status: 'streaming', parentId: 'u1' }) }),
      'chat.showVersion': ({ messageId }) => ({
        conversation: { id: 'c1', title: 'Chat', createdAt: 1, updatedAt: 2, messages: [msg('u1', 'user', 'Hi'), a1], replyVersions: { u1: [a1, msg('a2', 'assistant', 'New', { parentId: 'u1' })] } },
        reprocessedTokens: messageId === 'a1' ? 40 : 0,
      }),
    });
    const { store } = storeWith(api, [msg('u1', 'user', 'Hi'), a1]);
    expect(versionOf(store.getState().active?.replyVersions, a1)).toBeNull();
    await store.getState().regenerate();
    const versions = store.getState().active?.replyVersions;
    expect(versions?.u1.map((m) => m.id)).toEqual(['a1', 'a2']);
    expect(versionOf(versions, store.getState().messages[1])).toEqual({ index: 1, ids: ['a1', 'a2'] });
    // Still streaming: another version waits.
    expect(await store.getState().showVersion('a1')).toMatchObject({ code: 'busy' });
    store.setState({ stream: null });
    expect(await store.getState().showVersion('a1')).toBeNull();
    expect(api.calls.at(-1)).toEqual({ verb: 'chat.showVersion', args: { conversationId: 'c1', messageId: 'a1' } });
    expect(ids(store.getState().messages)).toEqual(['u1', 'a1']);
    expect(versionOf(store.getState().active?.replyVersions, a1)).toEqual({ index: 0, ids: ['a1', 'a2'] });
    expect(store.getState().notices.at(-1)?.text).toBe('The model read this conversation again to follow the version shown (40 tokens re-processed).');
  });

  it('edit-and-resend calls chat.edit, closes the editor and truncates after the edited message', async () => {
    const api = scriptedApi({
      'chat.edit': (args) => ({
        seq: 12,
        conversationId: 'c1',
        userMessage: msg('u1', 'user', args.content),
        reply: msg('a3', 'assistant', '', { status: 'streaming' }),
      }),
    });
    const { store } = storeWith(api, [msg('u1', 'user', 'Hi'), msg('a1', 'assistant', 'Hello'), msg('u2', 'user', 'And?'), msg('a2', 'assistant', 'So.')]);
    store.getState().startEdit('u1', 'Hi there');
    expect(await store.getState().editAndResend('u1', 'Hi there')).toBeNull();
    const state = store.getState();
    expect(api.calls.at(-1)).toEqual({ verb: 'chat.edit', args: { conversationId: 'c1', messageId: 'u1', content: 'Hi there' } });
    expect(state.editing).toBeNull();
    expect(state.messages.map((m) => [m.id, m.content])).toEqual([
      ['u1', 'Hi there'],
      ['a3', ''],
    ]);
  });

  it('refuses to start a second stream while one is live, and reports a failed send', async () => {
    const api = scriptedApi({
      'chat.send': () => ({ seq: 1, conversationId: 'c1', userMessage: msg('u1', 'user', 'a'), reply: msg('a1', 'assistant', '', { status: 'streaming' }) }),
      'chat.regenerate': () => Promise.reject({ code: 'no-model', message: 'Load a model first.' }),
    });
    const { store } = storeWith(api);
    expect(await store.getState().send('   ')).toMatchObject({ code: 'bad-request' });
    expect(await store.getState().send('a')).toBeNull();
    expect(await store.getState().send('b')).toMatchObject({ code: 'busy' });
    expect(api.calls.filter((c) => c.verb === 'chat.send')).toHaveLength(1);
    store.getState().finishStream(1, { kind: 'done', reason: 'eos', stats: stats() });
    expect(await store.getState().regenerate()).toEqual({ code: 'no-model', message: 'Load a model first.' });
    expect(store.getState().pending).toBeNull();
  });

  it('send with no open conversation creates one titled from the message', async () => {
    const api = scriptedApi({
      'conversations.create': (args) => ({ id: 'new1', title: args.title ?? '', createdAt: 1, updatedAt: 1, messages: [] }),
      'chat.send': (args) => ({
        seq: 1,
        conversationId: args.conversationId,
        userMessage: msg('u1', 'user', args.content),
        reply: msg('a1', 'assistant', '', { status: 'streaming' }),
      }),
    });
    const { store } = storeWith(api);
    store.getState().closeConversation();
    expect(await store.getState().send('Write a haiku\nabout rain')).toBeNull();
    expect(api.calls.map((c) => c.verb)).toEqual(['conversations.create', 'chat.send']);
    expect(api.calls[0].args).toEqual({ title: 'Write a haiku' });
    expect(store.getState().activeId).toBe('new1');
    expect(ids(store.getState().messages)).toEqual(['u1', 'a1']);
    expect(store.getState().conversations.map((c) => c.id)).toEqual(['new1']);
  });

  it('stop asks main to stop the live stream once', async () => {
    const api = scriptedApi({ 'chat.stop': () => null });
    const { store } = storeWith(api);
    store.getState().beginStream({ seq: 3, conversationId: 'c1', reply: msg('a1', 'assistant', '', { status: 'streaming' }) }, 'regenerate');
    await store.getState().stop();
    await store.getState().stop();
    expect(api.calls).toEqual([{ verb: 'chat.stop', args: { conversationId: 'c1' } }]);
    expect(store.getState().stream?.stopping).toBe(true);
  });
});

describe('a read-only conversation (damaged file)', () => {
  it('opens with its reason, refuses send, regenerate and edit without calling main, and a normal one clears it', async () => {
    const reason = 'Conversation file /x.jsonl is damaged at line 4 (not valid JSON).';
    const api = scriptedApi({
      'conversations.open': ({ conversationId }) => ({
        conversation: { id: conversationId, title: 'T', createdAt: 1, updatedAt: 1, messages: [msg('u1', 'user', 'Hi')] },
        ...(conversationId === 'bad' ? { readOnly: reason } : {}),
      }),
    });
    const { store } = storeWith(api);
    await store.getState().openConversation('bad');
    expect(store.getState().readOnly).toBe(reason);
    expect(ids(store.getState().messages)).toEqual(['u1']);
    for (const attempt of [store.getState().send('more'), store.getState().regenerate(), store.getState().editAndResend('u1', 'x')]) {
      expect(await attempt).toEqual({ code: 'bad-request', message: reason });
    }
    expect(api.calls.map((c) => c.verb)).toEqual(['conversations.open']);

    await store.getState().openConversation('good');
    expect(store.getState().readOnly).toBeNull();
  });
});

describe('repairs from main', () => {
  it('come from the start-up fetch and `repairs` events, and a dismiss tells main', async () => {
    const repair = { id: 'r1', at: 1, file: '/d/settings.json', keptAs: '/d/settings.json.corrupt-1', lost: ['the system prompt'], message: 'm' };
    const api = scriptedApi({ 'repairs.list': () => [repair], 'repairs.dismiss': () => null });
    const { store, route } = storeWith(api);
    await store.getState().initialize();
    expect(store.getState().repairs).toEqual([repair]);
    route({ type: 'repairs', repairs: [repair, { ...repair, id: 'r2' }] });
    expect(store.getState().repairs.map((r) => r.id)).toEqual(['r1', 'r2']);
    await store.getState().dismissRepair('r1');
    expect(store.getState().repairs.map((r) => r.id)).toEqual(['r2']);
    expect(api.calls.at(-1)).toEqual({ verb: 'repairs.dismiss', args: { id: 'r1' } });
  });
});
