// The cache is the truth: over 30 turns with real chat templates and the real SmolLM2 BPE, every turn feeds
// only the template's text for its new messages (0 re-processed), the whole stream decodes to what the model
// saw, and so it stays after a restart from a snapshot; a restart without one counts its rebuild.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatSession } from '../../main/engine/chatSession';
import type { ChatMessage } from '../../common/chat';
import type { CacheSettings, GenerateOptions } from '../../main/engine/chatTypes';
import { loadModel, type LoadedModel } from '../../main/engine/loadedModel';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import { decodeSessionSnapshot, encodeSessionSnapshot } from '../../main/engine/sessionSnapshot';
import { ChatTemplate } from '../../main/engine/text/chatTemplate';
import { encodeContinuation } from '../../main/engine/text/continuation';
import { TextTokenizer } from '../../main/engine/text/tokenizer';
import { fillUniform } from '../fixtures/fixturePrng';
import { ensureFixture, TINY } from '../fixtures/llamaFixture';
import { FAMILIES } from './text/chatTemplateFamilies';

const smolDir = fileURLToPath(new URL('../../../shared/models/smollm2-135m-instruct-tokenizer/', import.meta.url));
const hasSmol = existsSync(`${smolDir}tokenizer.json`);
const storiesDir = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const hasStories = existsSync(`${storiesDir}/config.json`);

/** Templates written out from their public definitions, each with whether it takes a system message. */
const CASES = [
  ['smollm2', true],
  ['qwen25', true],
  ['llama3', true],
  ['gemma', false],
  ['mistral', false],
  ['phi3', true],
  ['deepseekR1', true],
  ['stories260K', true],
] as const;

const SINK = 4;
const WINDOW = 48;
// The default pin budget (W/4): nothing is pinned, so the stream has no pin slots.
const SETTINGS: CacheSettings = { sink: SINK, window: WINDOW, positions: 'cache' };
const TURNS = 30;
const WORDS = ['ball', 'Tom', 'red', 'sky', 'ran', 'über', 'naïve', 'x=1;', '日本', '🙂', 'the', '</think>', 'end.'];

/**
 * How a reply ends; `ws` makes it end in whitespace (a token ending in a space or newline, then EOS);
 * `split` ends it with EOS right after a fed token that leaves a character incomplete (a byte-level token
 * holding the first bytes of a multi-byte character).
 */
type Ending = 'max' | 'stop' | 'eos' | 'ws' | 'split';

/**
 * The model's EOS set for one reply: its own EOS ids, plus which sampled token counts as EOS for the
 * ending asked (the template then writes its end of turn itself). Only `has` is asked of it.
 */
class ReplyEnd extends Set<number> {
  ending: Ending = 'max';
  private sampled = 0;
  private lastEndsInSpace = false;
  private replyIds: number[] = [];

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly own: ReadonlySet<number>,
  ) {
    super();
  }

  start(ending: Ending): void {
    this.ending = ending;
    this.sampled = 0;
    this.lastEndsInSpace = false;
    this.replyIds = [];
  }

  override has(id: number): boolean {
    this.sampled++;
    if (this.own.has(id)) return true;
    if (this.ending === 'eos') return this.sampled > 4;
    if (this.ending === 'split') {
      // The tokens sampled so far were all fed: end when they stop inside a character.
      if (this.replyIds.length > 0 && this.tokenizer.decode(this.replyIds, { skipSpecialTokens: false }).endsWith('\uFFFD')) return true;
      this.replyIds.push(id);
      return false;
    }
    if (this.ending !== 'ws') return false;
    if (this.lastEndsInSpace || this.sampled > 120) return true;
    this.lastEndsInSpace = this.sampled > 1 && /\s$/.test(this.tokenizer.decode([id], { skipSpecialTokens: false }));
    return false;
  }
}

let base: LoadedModel;
let smol: TextTokenizer;

beforeAll(async () => {
  if (!hasSmol) return;
  // The tiny fixture's layers with SmolLM2's vocabulary size, so every SmolLM2 token id is a valid input.
  const { dir } = await ensureFixture('tiny-smollm2-vocab', { ...TINY, vocab: 49152, maxPositions: 8192, seed: 11 });
  base = await loadModel(dir, { threads: 1 });
  smol = TextTokenizer.fromObjects(JSON.parse(readFileSync(`${smolDir}tokenizer.json`, 'utf8')));
});

afterAll(async () => {
  await base?.release();
});

/** Seeded uniform numbers in [0, 1) for `label`. */
function uniforms(label: string): () => number {
  const pool = new Float32Array(4096);
  fillUniform(pool, 3, label, 0.5 / Math.sqrt(3), 0.5);
  let i = 0;
  return () => Math.min(pool[i++ % pool.length], 0.999999);
}

function randomText(rand: () => number): string {
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const words = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pick(WORDS));
  return pick(['', ' ', '\n', '  ']) + words.join(pick([' ', ' ', '\n'])) + pick(['', ' ', '\n', '\n\n']);
}

/**
 * Runs 30 turns on `model` (its tokenizer and template; EOS set `ends`) and checks each: only the turn's
 * own tokens are fed, nothing re-processed, and the stream is exactly the model's reply tokens and each
 * turn's text. Returns the kinds of reply endings met.
 */
async function thirtyTurns(model: LoadedModel, ends: ReplyEnd, label: string, takesSystem: boolean, exactDecode: boolean): Promise<Set<string>> {
  const { tokenizer } = model;
  const template = model.template!;
  const rand = uniforms(label);
  const messages: ChatMessage[] = takesSystem ? [{ role: 'system', content: 'You tell short stories.' }] : [];
  let session = new ChatSession(model, SETTINGS);
  /** What the model has seen, as the test expects it: each turn's tokens and the reply tokens it sampled. */
  let stream: number[] = [];
  /** How the last reply ends the stream: its last token when sampled but not fed, the text not fed yet. */
  let unfed: { readonly pending: number | null; readonly rest: string } = { pending: null, rest: '' };
  const seen = new Set<string>();

  for (let turn = 0; turn < TURNS; turn++) {
    const ending: Ending = (['max', 'stop', 'eos', 'ws'] as const)[turn % 4];
    ends.start(ending);
    messages.push({ role: 'user', content: randomText(rand) });
    const restart = turn === 20 ? 'none' : turn % 7 === 6 ? 'snapshot' : null;
    if (restart === 'snapshot') session = ChatSession.fromSnapshot(model, decodeSessionSnapshot(model, encodeSessionSnapshot(model, await session.snapshot())));
    if (restart === 'none') session = new ChatSession(model, SETTINGS);

    let prefillEnd = -1;
    const events: { id: number; text: string }[] = [];
    const options: GenerateOptions = {
      sampling: { ...DEFAULT_SAMPLING, temperature: 1, topK: 64, topP: 1, minP: 0, repetitionPenalty: 1, seed: turn + 1 },
      maxTokens: ending === 'max' ? 3 + (turn % 5) : 200,
      ...(ending === 'stop' && { stop: ['e'] }),
    };
    const result = await session.generate({ kind: 'chat', messages }, options, {
      onToken: (t) => {
        if (prefillEnd < 0) prefillEnd = t.pos;
        if (t.id >= 0) events.push(t);
      },
    });
    if (prefillEnd < 0) prefillEnd = session.tokenCount;
    const { stats } = result;
    const fed = Array.from(session.tokenIds().subarray(0, prefillEnd));

    // Text before the reply being continued: the template around a placeholder for it. After it: the
    // reply's end of turn, the user message and the generation prompt, however the template spells them.
    const around = turn === 0 ? null : template.renderAround(messages, messages.length - 2)!;
    let turnIds: number[];
    if (turn === 0) {
      stream = tokenizer.encode(template.render(messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
      turnIds = stream;
      expect(stats.reprocessedTokens).toBe(0);
    } else if (restart === 'none') {
      // A new stream: the template's rendering through the last reply, of which the sinks and the window
      // are fed again (counted), then this turn.
      const whole = template.render(messages, { addGenerationPrompt: true });
      stream = tokenizer.encode(whole.slice(0, whole.length - around!.after.length), { addSpecialTokens: false });
      expect(stream.length).toBeGreaterThan(SINK + WINDOW);
      expect(stats.reprocessedTokens).toBe(SINK + WINDOW);
      turnIds = encodeContinuation(tokenizer, around!.after);
      stream.push(...turnIds);
    } else {
      turnIds = unfed.pending !== null ? [unfed.pending, ...encodeContinuation(tokenizer, around!.after)] : encodeContinuation(tokenizer, unfed.rest + around!.after);
      stream.push(...turnIds);
      expect(stats.reprocessedTokens).toBe(0);
    }
    // Only this turn's tokens were fed (plus a rebuild where there was one), and the whole stream is the
    // model's own reply tokens and each turn's text, never re-tokenized.
    expect(stats.prefillTokens).toBe(turnIds.length + stats.reprocessedTokens);
    expect(fed).toEqual(stream);
    // Its text ends with this turn's text, where decoding gives text back exactly (a byte-level BPE; a
    // sentencepiece decode adds a word-start space after `<s>`).
    if (exactDecode) {
      const text = tokenizer.decode(fed, { skipSpecialTokens: false });
      expect(text.endsWith(around ? around.after : template.render(messages, { addGenerationPrompt: true }))).toBe(true);
    }

    // The reply's tokens the stream holds: all it sampled but the one that ended it unfed (after a stop, back
    // to the last whole character: the rest is fed as text).
    const sampled = events.map((e) => e.id);
    const held = result.reason === 'max' || result.reason === 'stop' ? sampled.slice(0, -1) : sampled;
    if (result.reason === 'stop') while (held.length > 0 && tokenizer.decode(held, { skipSpecialTokens: false }).endsWith('\uFFFD')) held.pop();
    stream.push(...held);
    expect(Array.from(session.tokenIds())).toEqual(stream);
    const rest = events.slice(held.length).map((e) => e.text).join('');
    unfed = result.reason === 'max' ? { pending: sampled.at(-1)!, rest: '' } : { pending: null, rest: result.reason === 'stop' ? rest : '' };
    seen.add(result.reason);
    if (/\s$/.test(result.text)) seen.add('ends in whitespace');
    if (/^\s/.test(result.text)) seen.add('starts with whitespace');
    messages.push({ role: 'assistant', content: result.text });
  }
  return seen;
}

describe.skipIf(!hasSmol)('every turn feeds only its own tokens (skipped: ../shared/models/smollm2-135m-instruct-tokenizer absent)', () => {
  it.each(CASES)('%s: 30 turns, restarts from snapshots and one without', async (family, takesSystem) => {
    const template = ChatTemplate.fromTokenizerConfig(FAMILIES[family].config);
    const ends = new ReplyEnd(smol, new Set());
    const seen = await thirtyTurns({ ...base, tokenizer: smol, template, eosTokenIds: ends }, ends, family, takesSystem, true);
    // The run met every kind of reply ending the issue names.
    expect([...seen].sort()).toEqual(['ends in whitespace', 'eos', 'max', 'starts with whitespace', 'stop']);
  });
});

describe.skipIf(!hasSmol)('a reply ended by EOS, then the next turn (skipped: ../shared/models/smollm2-135m-instruct-tokenizer absent)', () => {
  it.each(CASES)('%s: the next turn feeds only the template\'s text after the reply, also when the reply stops inside a character', async (family, takesSystem) => {
    const template = ChatTemplate.fromTokenizerConfig(FAMILIES[family].config);
    const ends = new ReplyEnd(smol, new Set());
    const model = { ...base, tokenizer: smol, template, eosTokenIds: ends };
    for (const ending of ['eos', 'split'] as const) {
      const messages: ChatMessage[] = takesSystem ? [{ role: 'system', content: 'You tell short stories.' }] : [];
      const session = new ChatSession(model, SETTINGS);
      messages.push({ role: 'user', content: 'Tell me about 日本.' });
      ends.start(ending);
      const options: GenerateOptions = { sampling: { ...DEFAULT_SAMPLING, temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 3 }, maxTokens: 400 };
      const reply = await session.generate({ kind: 'chat', messages }, options);
      expect(reply.reason).toBe('eos');
      // Every sampled token but EOS was fed; a split reply's text ends in the U+FFFD its last bytes decode to.
      expect(reply.text.endsWith('\uFFFD')).toBe(ending === 'split');
      const before = Array.from(session.tokenIds());
      messages.push({ role: 'assistant', content: reply.text }, { role: 'user', content: 'And then?' });
      ends.start('max');
      const next = await session.generate({ kind: 'chat', messages }, { ...options, maxTokens: 1 });
      const after = template.renderAround(messages, messages.length - 2)!.after;
      const turnIds = encodeContinuation(smol, after);
      expect(next.stats.reprocessedTokens).toBe(0);
      expect(next.stats.prefillTokens).toBe(turnIds.length);
      expect(Array.from(session.tokenIds())).toEqual([...before, ...turnIds]);
    }
  });
});

describe.skipIf(!hasSmol)('a reply stopped by a stop string inside a character, then the next turn (skipped: ../shared/models/smollm2-135m-instruct-tokenizer absent)', () => {
  it.each(CASES)('%s: the stream is cut back to the last whole character and the rest is fed as text, once', async (family, takesSystem) => {
    const template = ChatTemplate.fromTokenizerConfig(FAMILIES[family].config);
    const ends = new ReplyEnd(smol, new Set());
    const model = { ...base, tokenizer: smol, template, eosTokenIds: ends };
    const messages: ChatMessage[] = takesSystem ? [{ role: 'system', content: 'You tell short stories.' }] : [];
    messages.push({ role: 'user', content: 'Tell me about 日本.' });
    const options: GenerateOptions = { sampling: { ...DEFAULT_SAMPLING, temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 5 }, maxTokens: 400 };
    const reply = async (stop: string[]) => {
      const session = new ChatSession(model, SETTINGS);
      const events: { id: number; text: string; pos: number }[] = [];
      ends.start('max');
      const result = await session.generate({ kind: 'chat', messages }, { ...options, stop }, { onToken: (t) => t.id >= 0 && events.push(t) });
      return { session, events, result };
    };
    // A first run finds a token that completes a character whose first bytes the tokens before it held,
    // and emits more after it: a stop string of that "more" then stops the same run inside the character's token.
    const probe = await reply([]);
    const texts = probe.events.map((e) => e.text);
    const at = texts.findIndex((t, i) => i > 0 && texts[i - 1] === '' && t.length >= 2 && !texts.slice(0, i).join('').includes(t.slice(1)));
    expect(at).toBeGreaterThan(0);
    const stop = texts[at].slice(1);
    const { session, events, result } = await reply([stop]);
    expect(result.reason).toBe('stop');
    expect(events.length).toBe(at + 1);
    const prompt = events[0].pos;
    // The stream ends on a whole character: before the tokens whose bytes the stop cut into.
    const before = Array.from(session.tokenIds());
    const fedReply = smol.decode(before.slice(prompt), { skipSpecialTokens: false });
    expect(fedReply.endsWith('\uFFFD')).toBe(false);
    expect(before.length).toBeLessThan(prompt + at);
    expect(result.text.startsWith(fedReply)).toBe(true);
    messages.push({ role: 'assistant', content: result.text }, { role: 'user', content: 'And then?' });
    const next = await session.generate({ kind: 'chat', messages }, { ...options, maxTokens: 1 });
    const turnIds = encodeContinuation(smol, result.text.slice(fedReply.length) + template.renderAround(messages, messages.length - 2)!.after);
    expect(next.stats.reprocessedTokens).toBe(0);
    expect(next.stats.prefillTokens).toBe(turnIds.length);
    expect(Array.from(session.tokenIds())).toEqual([...before, ...turnIds]);
  });
});

describe.skipIf(!hasStories)('the same on stories260K itself: its weights, sentencepiece tokenizer and template (skipped: ../shared/models/stories260K absent)', () => {
  it('30 turns, restarts from snapshots and one without', async () => {
    const stories = await loadModel(storiesDir, { threads: 1 });
    try {
      const ends = new ReplyEnd(stories.tokenizer, stories.eosTokenIds);
      const seen = await thirtyTurns({ ...stories, eosTokenIds: ends }, ends, 'stories260K', true, false);
      expect(seen).toContain('max');
      expect(seen).toContain('stop');
      expect(seen).toContain('eos');
    } finally {
      await stories.release();
    }
  });
});
