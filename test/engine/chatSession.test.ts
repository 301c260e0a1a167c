// ChatSession on the fixture model: turns feed only what is new, regenerate rewinds exactly, snapshots
// continue bit-exactly, cancellation is prompt, and prompts far longer than the window stream through.
import type { ChatMessage } from '../../common/chat';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatSession } from '../../main/engine/chatSession';
import type { CacheSettings, GenerateOptions } from '../../main/engine/chatTypes';
import { loadModel, openStream, type LoadedModel } from '../../main/engine/loadedModel';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import { ChatTemplate } from '../../main/engine/text/chatTemplate';
import { encodeContinuation } from '../../main/engine/text/continuation';
import { FAMILIES } from './text/chatTemplateFamilies';
import { decodeSessionSnapshot, encodeSessionSnapshot } from '../../main/engine/sessionSnapshot';
import { locateContents, textOwners, tokenCharStarts } from '../../main/engine/text/textOwners';
import { ensureFixture } from '../fixtures/llamaFixture';

let model: LoadedModel;

beforeAll(async () => {
  model = await loadModel((await ensureFixture('tiny')).dir, { threads: 1 });
});

afterAll(async () => {
  await model?.release();
});

const SMALL: CacheSettings = { sink: 4, window: 32, positions: 'cache' };
const sampled = (maxTokens: number, seed = 5): GenerateOptions => ({
  sampling: { ...DEFAULT_SAMPLING, temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed },
  maxTokens,
});
const user = (content: string): ChatMessage => ({ role: 'user', content });
const argmax = (a: Float32Array) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);

/** Generates and records every token id emitted. */
async function turn(session: ChatSession, messages: readonly ChatMessage[], options: GenerateOptions) {
  const ids: number[] = [];
  const result = await session.generate({ kind: 'chat', messages }, options, { onToken: (t) => t.id >= 0 && ids.push(t.id) });
  return { ...result, ids };
}

describe('ChatSession', () => {
  it('feeds only the new turn: the second prompt is the delta, nothing is re-processed', async () => {
    const session = new ChatSession(model, { sink: 4, window: 200, positions: 'cache' });
    const messages: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, user('hello there')];
    const first = await turn(session, messages, sampled(12));
    const afterFirst = session.tokenCount;
    messages.push({ role: 'assistant', content: first.text }, user('and then?'));
    const second = await turn(session, messages, sampled(12));
    expect(second.stats.reprocessedTokens).toBe(0);
    // Nothing fed in turn 1 was cut: the new prompt is appended after all of it (the last sampled token
    // of each reply is not fed), and it is only the new part — far less than the history.
    expect(second.reason).toBe('max');
    expect(session.tokenCount).toBe(afterFirst + second.stats.prefillTokens + second.stats.decodeTokens - 1);
    expect(second.stats.prefillTokens).toBeGreaterThan(0);
    expect(second.stats.prefillTokens).toBeLessThan(afterFirst);
  });

  it('(e) a second turn fed after the first gives what feeding the whole stream at once gives', async () => {
    const settings: CacheSettings = { sink: 4, window: 200, positions: 'cache' };
    const session = new ChatSession(model, settings);
    const messages: ChatMessage[] = [user('tell me about the sea')];
    const first = await turn(session, messages, sampled(10, 1));
    // Greedy, so the next token is the argmax of the logits after the second prompt.
    const second = await turn(session, [...messages, { role: 'assistant', content: first.text }, user('more')], {
      ...sampled(1),
      sampling: { ...sampled(1).sampling, greedy: true },
    });
    const stream = session.tokenIds();
    const { runner } = openStream(model, { sink: 4, window: 200, positions: 'cache', journalTokens: 0, maxChunk: 204 });
    const oneShot = (await runner.feed(stream))!;
    expect(second.ids).toEqual([argmax(oneShot)]);
    expect(second.stats.reprocessedTokens).toBe(0);
  });

  it('(f) regenerate after rewind reproduces the first generation exactly, with 0 re-processed tokens', async () => {
    const session = new ChatSession(model, SMALL);
    const messages = [user('write something long')];
    const first = await turn(session, messages, sampled(60, 9));
    expect(first.ids.length).toBeGreaterThan(32); // long enough to wrap the ring and overwrite slots
    const again = await turn(session, messages, sampled(60, 9));
    expect(again.ids).toEqual(first.ids);
    expect(again.text).toBe(first.text);
    expect(again.stats.reprocessedTokens).toBe(0);
  });

  it('regenerate beyond the undo journal re-prefills the sinks and the window, and still answers', async () => {
    const session = new ChatSession(model, { ...SMALL, journalTokens: 8 });
    const messages = [user('go')];
    const first = await turn(session, messages, sampled(40, 3));
    const again = await turn(session, messages, sampled(40, 3));
    expect(again.stats.reprocessedTokens).toBeGreaterThan(0);
    expect(again.stats.reprocessedTokens).toBeLessThanOrEqual(4 + 32);
    // Nothing new was fed: the prefill is the rebuild.
    expect(again.stats.prefillTokens).toBe(again.stats.reprocessedTokens);
    expect(again.ids.length).toBeGreaterThan(0);
    expect(first.ids.length).toBeGreaterThan(0);
  });

  it('(g) snapshot → restore → continue equals continuing directly, bit-exact', async () => {
    const session = new ChatSession(model, SMALL);
    const messages: ChatMessage[] = [user('a long story please')];
    const first = await turn(session, messages, sampled(50, 4));
    const bytes = encodeSessionSnapshot(model, await session.snapshot());
    const restored = ChatSession.fromSnapshot(model, decodeSessionSnapshot(model, bytes));

    const next = [...messages, { role: 'assistant' as const, content: first.text }, user('again')];
    const direct = await turn(session, next, sampled(30, 8));
    const resumed = await turn(restored, next, sampled(30, 8));
    expect(resumed.ids).toEqual(direct.ids);
    expect(resumed.stats.reprocessedTokens).toBe(0);
    const a = session.kvCache!;
    const b = restored.kvCache!;
    a.keys.forEach((k, l) => expect(Buffer.from(b.keys[l].buffer).equals(Buffer.from(k.buffer))).toBe(true));
    a.values.forEach((v, l) => expect(Buffer.from(b.values[l].buffer).equals(Buffer.from(v.buffer))).toBe(true));
    expect(Array.from(b.slotPos)).toEqual(Array.from(a.slotPos));
  });

  it('an edited user message is cut where it begins: only its turn is fed, and the stream equals a fresh one', async () => {
    const system: ChatMessage = { role: 'system', content: 'Be brief.' };
    const session = new ChatSession(model, SMALL);
    const first = await turn(session, [system, user('one')], sampled(8, 2));
    const afterReply = [system, user('one'), { role: 'assistant' as const, content: first.text }];
    await turn(session, [...afterReply, user('two')], sampled(30, 3));
    const edited = [...afterReply, user('two, edited')];
    const tokensBefore = session.tokenCount;
    const again = await turn(session, edited, sampled(5, 4));
    expect(again.stats.reprocessedTokens).toBe(0);
    const after = model.template!.renderAround(edited, 2)!.after;
    // The first reply hit max tokens: its last sampled token is fed first, then the edited turn's text.
    expect(again.stats.prefillTokens).toBe(1 + encodeContinuation(model.tokenizer, after).length);
    expect(session.tokenCount).toBeLessThan(tokensBefore + again.stats.prefillTokens);

    const clean = new ChatSession(model, SMALL);
    await turn(clean, [system, user('one')], sampled(8, 2));
    const direct = await turn(clean, edited, sampled(5, 4));
    expect(again.ids).toEqual(direct.ids);
    expect(Array.from(session.tokenIds())).toEqual(Array.from(clean.tokenIds()));
  });

  it('an edited reply is fed as written after its prompt; an edited first message keeps the system turn in the cache', async () => {
    const system: ChatMessage = { role: 'system', content: 'You are a careful assistant.' };
    const session = new ChatSession(model, SMALL);
    await turn(session, [system, user('one')], sampled(6, 2));
    const promptTokens = model.tokenizer.encode(model.template!.render([system, user('one')], { addGenerationPrompt: true }), { addSpecialTokens: false });
    const edited = [system, user('one'), { role: 'assistant' as const, content: 'A reply the user wrote. ' }, user('two')];
    const r = await turn(session, edited, sampled(4, 3));
    expect(r.stats.reprocessedTokens).toBe(0);
    const fed = encodeContinuation(model.tokenizer, edited[2].content + model.template!.renderAround(edited, 2)!.after);
    expect(r.stats.prefillTokens).toBe(fed.length);
    expect(Array.from(session.tokenIds().subarray(0, promptTokens.length + fed.length))).toEqual([...promptTokens, ...fed]);

    // No turn boundary comes before the first user message: the stream keeps the leading tokens it holds
    // unchanged (the system turn, the user header) and feeds the rest.
    const old = session.tokenIds();
    const rewritten = await turn(session, [system, user('another start')], sampled(4, 3));
    const now = model.tokenizer.encode(model.template!.render([system, user('another start')], { addGenerationPrompt: true }), { addSpecialTokens: false });
    let same = 0;
    while (old[same] === now[same]) same++;
    expect(same).toBeGreaterThan(4);
    expect(rewritten.stats.reprocessedTokens).toBe(0);
    expect(rewritten.stats.prefillTokens).toBe(now.length - same);
    expect(Array.from(session.tokenIds().subarray(0, now.length))).toEqual(now);
  });

  it('another system prompt mid-conversation starts the stream again from the sinks and the window, counted', async () => {
    const session = new ChatSession(model, SMALL);
    const messages: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }];
    for (const q of ['first question', 'second question', 'third question']) {
      messages.push(user(q));
      messages.push({ role: 'assistant', content: (await turn(session, messages, sampled(10, 5))).text });
    }
    const changed = [{ role: 'system' as const, content: 'Be verbose.' }, ...messages.slice(1), user('fourth')];
    const r = await turn(session, changed, sampled(3, 6));
    const after = model.template!.renderAround(changed, changed.length - 2)!.after;
    expect(r.stats.reprocessedTokens).toBe(4 + 32);
    expect(r.stats.prefillTokens).toBe(4 + 32 + encodeContinuation(model.tokenizer, after).length);
  });

  it('an edited reply under a template that joins messages with a space gets its joining space', async () => {
    const template = ChatTemplate.fromTokenizerConfig(FAMILIES.stories260K.config);
    const session = new ChatSession({ ...model, template }, SMALL);
    await turn(session, [user('Lily had a ball.')], sampled(6, 2));
    const messages = [user('Lily had a ball.'), { role: 'assistant' as const, content: 'She threw it.' }, user('Tom ran.')];
    const r = await turn(session, messages, sampled(4, 3));
    expect(r.stats.reprocessedTokens).toBe(0);
    expect(r.stats.prefillTokens).toBe(encodeContinuation(model.tokenizer, ' She threw it. Tom ran.').length);
  });

  it('a past reply with thinking, which the template strips when it renders it again, is never fed again', async () => {
    const template = ChatTemplate.fromTokenizerConfig(FAMILIES.deepseekR1.config);
    const session = new ChatSession({ ...model, template }, SMALL);
    await turn(session, [user('one')], sampled(6, 2));
    // The user wrote this reply (an edit): it is fed after the first prompt as written, thinking included.
    const thought = { role: 'assistant' as const, content: '<think>\nplan it\n</think>\n\nThe answer. ' };
    const second = [user('one'), thought, user('two')];
    const r2 = await turn(session, second, sampled(5, 3));
    expect(r2.stats.reprocessedTokens).toBe(0);
    const third = [...second, { role: 'assistant' as const, content: r2.text }, user('three')];
    // The template now renders that reply as "The answer. " only; the stream keeps what was fed.
    expect(template.render(third, { addGenerationPrompt: true })).not.toContain('plan it');
    const before = session.tokenCount;
    const r3 = await turn(session, third, sampled(5, 4));
    expect(r3.stats.reprocessedTokens).toBe(0);
    const after = template.renderAround(third, 3)!.after;
    expect(r3.stats.prefillTokens).toBe(1 + encodeContinuation(model.tokenizer, after).length);
    expect(model.tokenizer.decode([...session.tokenIds().subarray(0, before)], { skipSpecialTokens: false })).toContain('plan it');
  });

  it('auto sink covers the system prompt (at least 4 tokens) and the window defaults from the positions', async () => {
    const session = new ChatSession(model, { sink: 'auto', positions: 'cache' });
    const system = 'You are a careful assistant who answers in one sentence.';
    await turn(session, [{ role: 'system', content: system }, user('hi')], sampled(2));
    const cache = session.kvCache!;
    const prefix = model.template!.systemPrefix([{ role: 'system', content: system }, user('hi')])!;
    const expected = model.tokenizer.encode(prefix, { addSpecialTokens: false }).length;
    expect(cache.sink).toBe(Math.max(4, expected));
    expect(cache.sink).toBeGreaterThan(4);
    expect(cache.window).toBe(Math.min(2048, Math.floor(model.config.maxPos / 2) - cache.sink));
  });

  it('streams a prompt 50× the window through in chunks', async () => {
    const session = new ChatSession(model, { ...SMALL, chunkSize: 16 });
    const words = Array.from({ length: 1200 }, (_, i) => `w${i % 97}`).join(' ');
    const chunks: number[] = [];
    const result = await session.generate({ kind: 'raw', text: words }, sampled(3), {
      onPrefillProgress: (done) => chunks.push(done),
    });
    expect(result.stats.prefillTokens).toBeGreaterThan(50 * 32);
    expect(chunks.length).toBeGreaterThan(50);
    const cache = session.kvCache!;
    expect(cache.nextPos).toBe(session.tokenCount);
    expect(cache.evicted).toBe(session.tokenCount - cache.sink - cache.window);
  });

  it('cancel during prefill and during decode returns promptly with reason cancelled', async () => {
    const session = new ChatSession(model, { ...SMALL, chunkSize: 8 });
    let passes = 0;
    const prefillCancel = { cancelled: false };
    const text = Array.from({ length: 800 }, (_, i) => `x${i}`).join(' ');
    const r1 = await session.generate({ kind: 'raw', text }, sampled(5), {
      cancel: prefillCancel,
      onPrefillProgress: () => {
        passes++;
        if (passes === 3) prefillCancel.cancelled = true;
      },
    });
    expect(r1.reason).toBe('cancelled');
    expect(passes).toBe(3);

    const decodeCancel = { cancelled: false };
    let emitted = 0;
    const r2 = await session.generate({ kind: 'raw', text: ' more' }, sampled(500), {
      cancel: decodeCancel,
      onToken: (t) => {
        if (t.id < 0) return;
        emitted++;
        if (emitted === 5) decodeCancel.cancelled = true;
      },
    });
    expect(r2.reason).toBe('cancelled');
    expect(emitted).toBe(5);
  });

  it('stops on stop strings without emitting them, and at max tokens', async () => {
    const session = new ChatSession(model, SMALL);
    const free = await turn(session, [user('x')], sampled(40, 12));
    expect(free.reason).toBe('max');
    // Pick a stop string from the middle of what this seed produces, then expect the reply to end right before it.
    const stop = free.text.slice(10, 13);
    expect(stop.length).toBe(3);
    const stopped = await turn(new ChatSession(model, SMALL), [user('x')], { ...sampled(40, 12), stop: [stop] });
    expect(stopped.reason).toBe('stop');
    expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
  });
  it('past a soft length, ends before the next token that opens a word (not mid-word), leaving it unfed', async () => {
    const texts: string[] = [];
    await new ChatSession(model, SMALL).generate({ kind: 'chat', messages: [user('x')] }, sampled(120, 12), {
      onToken: (t) => texts.push(t.text),
    });
    // A soft length that falls inside a word of this seed's reply: the reply runs on to that word's end.
    const opensWord = (i: number) => /^\s/.test(texts[i] ?? '');
    const soft = texts.findIndex((_, i) => i >= 20 && !opensWord(i) && !opensWord(i + 1));
    const next = texts.findIndex((_, i) => i > soft && opensWord(i));
    expect(soft).toBeGreaterThan(0);
    expect(next).toBeGreaterThan(soft + 1);
    const session = new ChatSession(model, SMALL);
    const ended = await turn(session, [user('x')], { ...sampled(120, 12), endAtWordAfter: soft });
    expect(ended.reason).toBe('max');
    expect(ended.ids.length).toBe(next);
    expect(ended.text).toBe(texts.slice(0, next).join(''));
    // Every emitted token was fed (as before an end token): the next turn continues from all of them.
    const again = await turn(session, [user('x'), { role: 'assistant', content: ended.text }, user('y')], sampled(4));
    expect(again.stats.reprocessedTokens).toBe(0);
  });

  it('undoes a prefill cancelled midway, so the next turn feeds the whole prompt again', async () => {
    const session = new ChatSession(model, { ...SMALL, chunkSize: 8 });
    await turn(session, [user('first')], sampled(5));
    const before = session.tokenCount;
    const cancel = { cancelled: false };
    const long = [user('first'), { role: 'assistant' as const, content: 'ok' }, user(Array.from({ length: 40 }, (_, i) => `y${i}`).join(' '))];
    const stopped = await session.generate({ kind: 'chat', messages: long }, sampled(5), {
      cancel,
      onPrefillProgress: (done) => {
        if (done >= 16) cancel.cancelled = true;
      },
    });
    expect(stopped.reason).toBe('cancelled');
    // Back at the cut the turn started from (the stored reply differs from the generated one, so the cut
    // is at the reply's start), with none of the cancelled prompt left in the stream.
    expect(session.tokenCount).toBeLessThan(before);
    const again = await turn(session, long, sampled(5));
    expect(again.stats.reprocessedTokens).toBe(0);
    // Same tokens as a session that was never interrupted.
    const clean = new ChatSession(model, { ...SMALL, chunkSize: 8 });
    await turn(clean, [user('first')], sampled(5));
    await turn(clean, long, sampled(5));
    expect(Array.from(session.tokenIds())).toEqual(Array.from(clean.tokenIds()));
  });

  it('starts a fresh stream on a long conversation from its sinks and last W tokens only', async () => {
    const messages: ChatMessage[] = [];
    for (let i = 0; i < 12; i++) messages.push(user(`question ${i} about things`), { role: 'assistant', content: `answer ${i} with some words` });
    messages.push(user('and now?'));
    const session = new ChatSession(model, SMALL);
    const result = await turn(session, messages, sampled(3));
    const earlier = model.template!.render(messages.slice(0, -1), { addGenerationPrompt: false });
    const earlierTokens = model.tokenizer.encode(earlier, { addSpecialTokens: false }).length;
    expect(earlierTokens).toBeGreaterThan(4 + 32);
    expect(result.stats.reprocessedTokens).toBe(4 + 32);
    const cache = session.kvCache!;
    // Positions stay the original ones: the stream counts every token of the conversation.
    expect(cache.evicted).toBeGreaterThan(earlierTokens - 36 - 1);
    expect(session.tokenCount).toBeGreaterThan(earlierTokens);
  });

  it('rebuilds a whole conversation from its sinks and last W tokens, through the end of its last reply', async () => {
    const messages: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }];
    for (let i = 0; i < 40; i++) messages.push(user(`question ${i} about the little dog`), { role: 'assistant', content: `answer ${i}: the dog ran to the sea` });
    const session = new ChatSession(model, SMALL);
    expect(await session.rebuild(messages)).toBe(4 + 32);
    const text = model.template!.render(messages, { addGenerationPrompt: false });
    const n = session.tokenCount;
    const { fedText } = await session.snapshot();
    // The stream ends where the last reply's text ends: what the template writes after it comes with the next turn.
    expect(text.startsWith(fedText)).toBe(true);
    expect(fedText.endsWith(messages.at(-1)!.content)).toBe(true);
    expect(session.kvCache!.nextPos).toBe(n);
    // The window's tokens are placed in their messages as decoding the whole history from the start places them.
    const positions = Array.from({ length: 32 }, (_, i) => n - 32 + i);
    const contents = messages.map((m) => m.content);
    const history = session.tokenIds();
    const ids = { length: history.length, slice: (a: number, b?: number) => history.slice(a, b) };
    const fromStart = tokenCharStarts(model.tokenizer, ids, [], positions, fedText);
    const { message, char } = textOwners(locateContents(fedText, contents), fromStart, 0);
    expect(session.textOwners(contents, positions)).toMatchObject({ message, char });
    expect(message.filter((m) => m >= 0).length).toBeGreaterThan(16);
  });
});

