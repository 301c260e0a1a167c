// Token coalescing: tokens reach the store once per animation frame, only the streaming slice changes
// per token, and events that beat their StreamStart are kept for it. Runs under Vitest in Node.
import { describe, expect, it } from 'vitest';
import type { StreamStart } from '../../common/contract';
import { msg, scriptedApi, stats, storeWith } from './rendererTestKit';

const start = (seq: number, replyId = 'a1', userId = 'u1'): StreamStart => ({
  seq,
  conversationId: 'c1',
  userMessage: msg(userId, 'user', 'Hi'),
  reply: msg(replyId, 'assistant', '', { status: 'streaming' }),
});

describe('stream pump', () => {
  it('coalesces the tokens of one frame into one store update', () => {
    const { store, frames, route } = storeWith(scriptedApi({}));
    store.getState().beginStream(start(7), 'send');
    let updates = 0;
    const unsubscribe = store.subscribe(() => updates++);
    for (const text of ['Hel', 'lo', ' world']) route({ type: 'token', seq: 7, id: 1, text, pos: 0, slot: 0 });
    expect(updates).toBe(0);
    expect(frames.pending).toBe(1);
    frames.runFrame();
    expect(updates).toBe(1);
    expect(store.getState().stream).toMatchObject({ text: 'Hello world', tokens: 3, firstTokenAt: 5_000 });
    route({ type: 'token', seq: 7, id: 2, text: '!', pos: 1, slot: 1 });
    frames.runFrame();
    expect(updates).toBe(2);
    expect(store.getState().stream?.text).toBe('Hello world!');
    unsubscribe();
  });

  it('changes only the streaming slice per token: the message list keeps its identity', () => {
    const { store, frames, route } = storeWith(scriptedApi({}), [msg('u0', 'user', 'Earlier')]);
    store.getState().beginStream(start(3), 'send');
    const messages = store.getState().messages;
    const conversations = store.getState().conversations;
    for (let i = 0; i < 50; i++) {
      route({ type: 'token', seq: 3, id: i, text: 'x', pos: i, slot: i });
      if (i % 10 === 9) frames.runFrame();
    }
    expect(store.getState().stream?.text).toBe('x'.repeat(50));
    expect(store.getState().messages).toBe(messages);
    expect(store.getState().conversations).toBe(conversations);
  });

  it('keeps tokens and the end that arrive before the StreamStart and delivers them to it', () => {
    const { store, frames, route } = storeWith(scriptedApi({}));
    route({ type: 'token', seq: 9, id: 1, text: 'Early ', pos: 0, slot: 0 });
    route({ type: 'token', seq: 9, id: 2, text: 'bird', pos: 1, slot: 1 });
    route({ type: 'done', seq: 9, reason: 'eos', stats: stats({ decodeTokens: 2 }) });
    expect(store.getState().stream).toBeNull();
    store.getState().beginStream(start(9), 'send');
    frames.runFrame();
    const state = store.getState();
    expect(state.stream).toBeNull();
    expect(state.messages.map((m) => [m.id, m.status, m.content])).toEqual([
      ['u1', 'complete', 'Hi'],
      ['a1', 'complete', 'Early bird'],
    ]);
    expect(state.messages[1].stats).toEqual({ tokens: 2, tokPerSec: 50, ttftMs: 42, reprocessedTokens: 0 });
  });

  it('flushes pending text before done and ignores tokens that come after it', () => {
    const { store, frames, route } = storeWith(scriptedApi({}));
    store.getState().beginStream(start(4), 'send');
    route({ type: 'token', seq: 4, id: 1, text: 'All', pos: 0, slot: 0 });
    route({ type: 'done', seq: 4, reason: 'max', stats: stats({ reprocessedTokens: 0, decodeTokens: 1 }) });
    route({ type: 'token', seq: 4, id: 2, text: ' late', pos: 1, slot: 1 });
    frames.runFrame();
    const reply = store.getState().messages.find((m) => m.id === 'a1');
    expect(reply).toMatchObject({ content: 'All', status: 'complete' });
    expect(store.getState().stream).toBeNull();
    expect(store.getState().lastStats?.kvBytes).toBe(1024);
  });

  it('marks a cancelled reply stopped and an errored one error with the engine message', () => {
    const { store, frames, route } = storeWith(scriptedApi({}));
    store.getState().beginStream(start(1), 'send');
    route({ type: 'token', seq: 1, id: 1, text: 'Half', pos: 0, slot: 0 });
    route({ type: 'done', seq: 1, reason: 'cancelled', stats: stats() });
    expect(store.getState().messages.find((m) => m.id === 'a1')).toMatchObject({ status: 'stopped', content: 'Half' });

    store.getState().beginStream(start(2, 'a2', 'u2'), 'send');
    route({ type: 'token', seq: 2, id: 1, text: 'Oops', pos: 0, slot: 0 });
    route({ type: 'error', seq: 2, error: { code: 'internal', message: 'onnxruntime failed: out of memory' } });
    frames.runFrame();
    expect(store.getState().messages.find((m) => m.id === 'a2')).toMatchObject({
      status: 'error',
      content: 'Oops',
      error: 'onnxruntime failed: out of memory',
    });
  });

  it('ignores tokens of another seq while a stream is live', () => {
    const { store, frames, route } = storeWith(scriptedApi({}));
    store.getState().beginStream(start(5), 'send');
    route({ type: 'token', seq: 6, id: 1, text: 'stray', pos: 0, slot: 0 });
    route({ type: 'token', seq: 5, id: 1, text: 'mine', pos: 0, slot: 0 });
    frames.runFrame();
    expect(store.getState().stream?.text).toBe('mine');
  });

  it('clears the prefill progress bar when the first text of its stream arrives', () => {
    const { store, frames, route } = storeWith(scriptedApi({}));
    store.getState().beginStream(start(8), 'send');
    route({ type: 'progress', seq: 8, phase: 'prefill', done: 100, total: 400 });
    expect(store.getState().progress.prefill).toEqual({ seq: 8, done: 100, total: 400 });
    route({ type: 'token', seq: 8, id: 1, text: 'a', pos: 0, slot: 0 });
    frames.runFrame();
    expect(store.getState().progress.prefill).toBeNull();
  });
});
