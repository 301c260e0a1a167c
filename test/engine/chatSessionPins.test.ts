// ChatSession's pinned memory on the fixture model: a message pinned by its text while in the ring
// (copied) and after it left (fed again, counted), the send preview not counting pinned tokens as pushed
// out, unpin, and a rewind beyond the undo journal keeping the pins before the cut.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../common/chat';
import { ChatSession } from '../../main/engine/chatSession';
import type { GenerateOptions } from '../../main/engine/chatTypes';
import { loadModel, type LoadedModel } from '../../main/engine/loadedModel';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import { ensureFixture } from '../fixtures/llamaFixture';

let model: LoadedModel;

beforeAll(async () => {
  model = await loadModel((await ensureFixture('tiny')).dir, { threads: 1 });
});

afterAll(async () => {
  await model?.release();
});

const greedy = (maxTokens: number): GenerateOptions => ({ sampling: { ...DEFAULT_SAMPLING, greedy: true }, maxTokens });
const user = (content: string): ChatMessage => ({ role: 'user', content });

/** Text of the tokens at [start, end) of the session's stream. */
function spelled(session: ChatSession, start: number, end: number): string {
  return model.tokenizer.decode(Array.from(session.tokenIds().slice(start, end)), { skipSpecialTokens: false });
}

describe('ChatSession pins', () => {
  it('pins a message by its text: copied while in the ring, fed again (counted) once evicted; unpin frees it', async () => {
    const session = new ChatSession(model, { sink: 4, window: 48, positions: 'cache', pinBudget: 24 });
    const fact = 'the code is 7412';
    const messages: ChatMessage[] = [user(fact)];
    const first = await session.generate({ kind: 'chat', messages }, greedy(4));
    const contents = [fact];
    const copied = (await session.pin(contents, 0, null))!;
    expect(copied.reprocessedTokens).toBe(0);
    expect(spelled(session, copied.start, copied.end)).toContain(fact);
    expect(session.kvCache!.pinned).toEqual([{ start: copied.start, end: copied.end }]);
    expect(await session.unpin(contents, 0)).toBe(1);
    expect(session.kvCache!.pinned).toEqual([]);

    // Push the fact out of the window, then pin it again: its tokens are fed again.
    messages.push({ role: 'assistant', content: first.text }, user('x '.repeat(60)));
    await session.generate({ kind: 'chat', messages }, greedy(2));
    expect(session.kvCache!.evicted).toBeGreaterThan(copied.end);
    const refed = (await session.pin(contents, 0, { start: 12, end: 16 }))!;
    expect(spelled(session, refed.start, refed.end)).toContain('7412');
    expect(refed.end - refed.start).toBeLessThan(copied.end - copied.start);
    expect(refed.reprocessedTokens).toBe(refed.end - refed.start);
    await expect(session.pin(['never said'], 0, null)).rejects.toThrow(/never fed this message/);
  });

  it('the send preview does not count pinned tokens as pushed out; a rewind beyond the journal keeps earlier pins', async () => {
    const session = new ChatSession(model, { sink: 4, window: 64, positions: 'cache', pinBudget: 16, journalTokens: 4 });
    const messages: ChatMessage[] = [user('remember blue')];
    const first = await session.generate({ kind: 'chat', messages }, greedy(3));
    messages.push({ role: 'assistant', content: first.text }, user('ok'));
    const second = await session.generate({ kind: 'chat', messages }, greedy(3));
    const draft = { kind: 'chat' as const, messages: [...messages, { role: 'assistant' as const, content: second.text }, user('y '.repeat(60))] };
    const before = session.preview(draft);
    const pin = (await session.pin(['remember blue'], 0, null))!;
    const after = session.preview(draft);
    expect(pin.reprocessedTokens).toBe(0);
    expect(before.pushedOut).toBeGreaterThan(pin.end - pin.start);
    expect(after.pushedOut).toBe(before.pushedOut - (pin.end - pin.start));

    const tokens = session.tokenCount;
    await session.generate(draft, greedy(8));
    // Regenerate beyond the 4-token journal: re-prefilled, the pin (before the cut) stays.
    await session.rewind(tokens);
    expect(session.kvCache!.pinned).toEqual([{ start: pin.start, end: pin.end }]);
    await session.rewind(pin.start);
    expect(session.kvCache!.pinned).toEqual([]);
  });

  it('pins a span of characters as the whole tokens it touches; a span sharing a token with a pin is refused; unpin by characters drops only that span', async () => {
    const session = new ChatSession(model, { sink: 4, window: 64, positions: 'cache', pinBudget: 16 });
    const fact = 'remember the harbour code 7412 tonight';
    const contents = [fact];
    await session.generate({ kind: 'chat', messages: [user(fact)] }, greedy(3));
    // The first character of "harbour" alone: its whole token is pinned, and that token spells more of the word.
    const at = fact.indexOf('harbour');
    const cut = (await session.pin(contents, 0, { start: at, end: at + 1 }))!;
    const piece = spelled(session, cut.start, cut.end);
    expect(cut.end - cut.start).toBe(1);
    expect(piece.trim().length).toBeGreaterThan(1);
    expect('harbour'.startsWith(piece.trim())).toBe(true);
    // The next character lies in the same token: refused, saying why.
    await expect(session.pin(contents, 0, { start: at + 1, end: at + 2 })).rejects.toThrow(/share tokens with the pinned span .*pins the whole token/);
    const code = (await session.pin(contents, 0, { start: fact.indexOf('7412'), end: fact.indexOf('7412') + 4 }))!;
    expect(spelled(session, code.start, code.end)).toContain('7412');
    expect(session.kvCache!.pinned).toEqual([
      { start: cut.start, end: cut.end },
      { start: code.start, end: code.end },
    ]);
    expect(await session.unpin(contents, 0, { start: at, end: at + 1 })).toBe(1);
    expect(session.kvCache!.pinned).toEqual([{ start: code.start, end: code.end }]);
  });

  it('holds pin slots only while something is pinned, and a restored session pins within its settings\' budget', async () => {
    const session = new ChatSession(model, { sink: 4, window: 48, positions: 'cache' });
    const fact = 'the code is 7412';
    await session.generate({ kind: 'chat', messages: [user(fact)] }, greedy(2));
    const cache = session.kvCache!;
    const { layers, kvHeads, headDim } = cache.geometry;
    const bytesPerSlot = 2 * layers * kvHeads * headDim * 4;
    expect(cache.pinBudget).toBe(12);
    expect(cache.capacity).toBe(4 + 48);
    expect(cache.kvBytes()).toBe((4 + 48) * bytesPerSlot);
    // A snapshot from before pinned memory (version 1) restores with a budget of 0: the session's settings give it one.
    const state = await session.snapshot();
    const old = { ...state, cache: { ...state.cache, options: { ...state.cache.options, pinBudget: 0 } } };
    const restored = ChatSession.fromSnapshot(model, old);
    expect(restored.kvCache!.pinBudget).toBe(12);
    const pin = (await restored.pin([fact], 0, { start: 12, end: 16 }))!;
    expect(pin.reprocessedTokens).toBe(0);
    const pinned = pin.end - pin.start;
    expect(restored.kvCache!.capacity).toBe(4 + 48 + pinned);
    expect(restored.kvCache!.kvBytes()).toBe((4 + 48 + pinned) * bytesPerSlot);
    expect(await restored.unpin([fact], 0)).toBe(1);
    expect(restored.kvCache!.kvBytes()).toBe((4 + 48) * bytesPerSlot);
  });
});
