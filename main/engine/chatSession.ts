// ChatSession: one conversation as one growing token stream over the sink-ring cache. What was fed is
// canonical: a new turn feeds only the chat template's text for the new messages, appended to what the
// cache holds, however the template would re-render earlier turns. Runs in the engine host thread.
import type { ChatMessage, DoneReason } from '../../common/chat';
import { PinError, SinkRingCache } from './cache/sinkRingCache';
import type { CacheDelta } from '../../common/cacheView';
import type { CacheSettings, GenerateOptions, Prompt, TokenEvent } from './chatTypes';
import { defaultWindow, MIN_AUTO_SINK, openStream, type LoadedModel } from './loadedModel';
import { Runner, type CancelFlag } from './runner';
import type { SlotAttention } from '../../common/attentionView';
import { Sampler } from './sampling/sampler';
import { StopStringMatcher } from './sampling/stopStrings';
import { emptyStats, perSecond, type GenerationStats } from '../../common/stats';
import { StreamingDetokenizer } from './text/detokenizer';
import type { SessionState } from './sessionSnapshot';
import type { ChatTemplate } from './text/chatTemplate';
import { encodeContinuation } from './text/continuation';
import { locateContents, textOwners, tokenCharStarts, type TextOwners } from './text/textOwners';
import { TokenHistory } from './tokenHistory';
import { chainDigest, prefixDigests, startCut, type Cut, type TurnMark } from './turnMarks';

export interface GenerateHooks {
  readonly cancel?: CancelFlag;
  readonly onToken?: (event: TokenEvent) => void;
  readonly onDelta?: (delta: CacheDelta) => void;
  /** The cache was cut back exactly to `to` tokens from `from` (the undo journal restored what they overwrote). */
  readonly onRewind?: (to: number, from: number) => void;
  /** The cache was emptied to be fed again (a rewind beyond the journal); deltas of the re-feed follow. */
  readonly onReset?: () => void;
  readonly onPrefillProgress?: (done: number, total: number) => void;
  /** Running stats: after the first token (prefill, time to first token), then every STATS_EVERY tokens. */
  readonly onStats?: (stats: Readonly<GenerationStats>) => void;
}

const STATS_EVERY = 32;
/** Tokens between flattenings of a long reply's fed text (a copy of the reply each time). */
const FLATTEN_EVERY = 1024;

export interface GenerateResult {
  readonly reason: DoneReason;
  readonly text: string;
  readonly stats: GenerationStats;
}

/** Where to cut the stream back to and what to feed after the cut. */
interface FeedPlan {
  readonly cut: Cut;
  readonly ids: number[];
  /** The text `ids` spell, appended to the fed text. */
  readonly text: string;
  /** How many of `ids` the stream had consumed before (a conversation fed again from its start). */
  readonly refed: number;
  /** True when no turn boundary continues the prompt: it is fed from the stream's start (or shared head). */
  readonly fromStart: boolean;
}

/** The messages a chat prompt holds: how many and their digest (what a turn mark records). */
interface Held {
  readonly messages: number;
  readonly digest: string;
}

export const DEFAULT_CHUNK_SIZE = 256;

/**
 * The conversation state the engine keeps between turns: the cache, the fed token history and the
 * text those tokens spell. Owns its cache and runner; borrows the loaded model.
 */
export class ChatSession {
  private cache: SinkRingCache | null = null;
  private runner: Runner | null = null;
  private readonly history = new TokenHistory();
  /** Text of the fed tokens: the record of what the model saw. */
  private fedText = '';
  private cuts: Cut[] = [startCut()];
  /** Logits after the latest prompt, kept so regenerate needs no forward pass. */
  private promptLogits: { tokens: number; logits: Float32Array } | null = null;
  /** Whether forward passes report their attention (the attention view is open), for every runner this session makes. */
  private attentionWanted = false;
  private attentionInterval = 0;
  private attentionPerLayer = true;

  constructor(
    private readonly model: LoadedModel,
    readonly settings: CacheSettings,
  ) {}

  /** A session that continues exactly where a snapshot left it (the snapshot was checked against `model`). */
  static fromSnapshot(model: LoadedModel, state: SessionState): ChatSession {
    const session = new ChatSession(model, state.settings);
    const cache = SinkRingCache.fromSnapshot(state.cache, model.config.rope);
    // The budget is the settings' (a snapshot from before pinned memory has none), never below what is pinned.
    cache.pinBudget = Math.max(cache.pinnedTokens, session.pinBudgetFor(cache.window));
    session.cache = cache;
    session.runner = new Runner(model.session, model.io, session.cache, model.config.vocabSize, {
      chunkSize: session.cache.maxChunk,
    });
    session.applyAttention();
    session.history.push(state.history);
    session.fedText = state.fedText;
    session.cuts = state.cuts.map((c) => ({ ...c }));
    session.promptLogits = state.promptLogits;
    return session;
  }

  /**
   * Everything needed to continue this conversation later, bit-exactly. A cache in device memory is
   * downloaded once for it.
   */
  async snapshot(): Promise<SessionState> {
    if (!this.cache) throw new Error('nothing to snapshot: the conversation has not started');
    await this.runner!.sync();
    return {
      settings: this.settings,
      cache: this.cache.snapshot(),
      history: this.history.slice(0),
      fedText: this.fedText,
      cuts: this.cuts.map((c) => ({ ...c })),
      promptLogits: this.promptLogits && { tokens: this.promptLogits.tokens, logits: Float32Array.from(this.promptLogits.logits) },
    };
  }

  /** Cuts the stream back to at most `tokens` tokens, at the latest cut point; returns the tokens fed again. */
  async rewind(tokens: number, hooks: GenerateHooks = {}): Promise<number> {
    if (!this.cache || tokens >= this.history.length) return 0;
    let cut = this.cuts[0];
    for (const c of this.cuts) if (c.tokens <= tokens && c.tokens >= cut.tokens) cut = c;
    return this.rewindTo(cut, hooks);
  }

  /** Frees the device memory a cache kept on the GPU holds (nothing to free for a host cache). */
  dispose(): void {
    this.runner?.dispose();
  }

  /**
   * Runs one throwaway step at each past length this conversation's decode steps can feed that the session
   * has not run yet (Runner.warmDecodeShapes; the load warmed a default stream's); returns how many ran.
   * The engine host calls it right after a reply's done event: an auto sink (the system prompt's length)
   * gives the stream another C than the load's.
   */
  async warmDecodeShapes(): Promise<number> {
    return (await this.runner?.warmDecodeShapes()) ?? 0;
  }

  /** The cache, created on the first turn (the auto sink size depends on the system prompt). */
  get kvCache(): SinkRingCache | null {
    return this.cache;
  }

  get tokenCount(): number {
    return this.history.length;
  }

  /**
   * Length of the text the stream spells. While a prompt is fed it already counts the whole prompt;
   * while a reply is decoded, every token fed before the current one: where the current one begins.
   */
  get fedChars(): number {
    return this.fedText.length;
  }

  /** A copy of every token id fed so far, in order. */
  tokenIds(): Int32Array {
    return this.history.slice(0);
  }

  /**
   * Runs one turn: feeds what the cache lacks of `prompt`, then samples until EOS, a stop string or
   * maxTokens. Stats: `reprocessedTokens` counts every token fed that the cache had consumed before
   * (a rebuilt context, a rewind beyond the undo journal, a conversation fed again from its start);
   * `prefillTokens` is the new tokens plus those.
   */
  async generate(prompt: Prompt, options: GenerateOptions, hooks: GenerateHooks = {}): Promise<GenerateResult> {
    const started = performance.now();
    const stats = emptyStats();
    if (prompt.kind === 'chat') this.requireTemplate();
    this.ensureCache(prompt);

    let plan = this.planFeed(prompt);
    // A conversation with earlier turns that the stream cannot continue (it is empty, or the conversation
    // changed before its first turn boundary: another system prompt) starts again from the sinks and the
    // window of those turns, not from all of them.
    if (plan.fromStart && prompt.kind === 'chat' && prompt.messages.some((m) => m.role === 'assistant')) {
      this.reset();
      const primed = await this.primeEarlierTurns(prompt.messages, hooks);
      if (primed === null) return this.finish('cancelled', '', stats);
      stats.reprocessedTokens += primed;
      plan = this.planFeed(prompt);
    }
    if (plan.cut.tokens < this.history.length) stats.reprocessedTokens += await this.rewindTo(plan.cut, hooks);
    stats.reprocessedTokens += plan.refed;
    let logits: Float32Array | null;
    if (plan.ids.length > 0) {
      // The text comes first, so the tokens being fed can be placed in it (textOwners) as they land.
      this.fedText += plan.text;
      logits = await this.feedTokens(plan.ids, hooks, hooks.onPrefillProgress);
      // A cancelled prefill is undone, so the fed tokens always spell `fedText` exactly.
      if (logits === null) await this.rewindTo(plan.cut, hooks);
    } else {
      logits = await this.logitsAtEnd(hooks, stats);
    }
    stats.prefillTokens = plan.ids.length - plan.refed + stats.reprocessedTokens;
    stats.promptTokens = this.history.length;
    stats.prefillMs = performance.now() - started;
    stats.prefillTokPerSec = perSecond(stats.prefillTokens, stats.prefillMs);
    if (logits === null) return this.finish('cancelled', '', stats);

    const held = prompt.kind === 'chat' ? { messages: prompt.messages.length, digest: prefixDigests(prompt.messages).at(-1)! } : null;
    // Marks at the new end are superseded by this prompt's (a regenerated reply's, an empty reply's).
    const end = this.history.length;
    this.cuts = this.cuts.filter((c) => c.kind === 'turn' && (c.tokens < end || c.turn?.end === 'start'));
    this.cuts.push({ tokens: end, chars: this.fedText.length, kind: 'turn', ...(held && { turn: { end: 'prompt', ...held } }) });
    this.promptLogits = { tokens: end, logits: Float32Array.from(logits) };
    return this.decode(logits, options, hooks, stats, started, held);
  }

  /**
   * What `generate(prompt)` would feed, without running anything: the new tokens and how many tokens
   * the model sees now would leave its window once they are fed (the composer's horizon preview).
   */
  preview(prompt: Prompt): { draftTokens: number; pushedOut: number } {
    if (prompt.kind === 'chat') this.requireTemplate();
    const plan = this.planFeed(prompt);
    const draftTokens = plan.ids.length;
    const cache = this.cache;
    if (!cache) return { draftTokens, pushedOut: 0 };
    const { sink, window } = cache;
    const now = this.history.length;
    const after = plan.cut.tokens + draftTokens;
    // Window tokens visible to the next query now: [max(S, now − W + 1), now − 1]; after feeding: from after − W + 1.
    const firstNow = Math.max(sink, now - window + 1);
    const firstAfter = Math.max(sink, after - window + 1);
    // Pinned tokens stay in view: leaving the window does not push them out.
    const leaving = Math.min(now, firstAfter);
    let pinned = 0;
    for (const s of cache.pinned) pinned += Math.max(0, Math.min(s.end, leaving) - Math.max(s.start, firstNow));
    const pushedOut = Math.max(0, leaving - firstNow - pinned);
    return { draftTokens, pushedOut };
  }

  /**
   * Pins the tokens that spell `contents[index]` (the conversation's message texts in prompt order), or
   * the characters [chars.start, chars.end) of it, so the model keeps seeing them (DESIGN §3 "Pinned
   * memory"): their rows are copied when the ring holds them all, else they are fed again. Tokens the
   * sinks hold are left out. Returns the pinned positions and the tokens fed again (null when cancelled).
   * @throws PinError when the message is not in the fed text, lies in the sinks, or exceeds the budget.
   */
  async pin(
    contents: readonly string[],
    index: number,
    chars: { readonly start: number; readonly end: number } | null,
    cancel?: CancelFlag,
  ): Promise<{ start: number; end: number; reprocessedTokens: number } | null> {
    const cache = this.cache;
    if (!cache || !this.runner) throw new PinError('nothing to pin yet: the conversation has not started');
    const { start, end } = this.tokenSpan(contents, index, chars);
    if (start >= end) throw new PinError('the sinks already hold this text: it is always visible');
    const shared = cache.pinned.find((s) => s.start < end && start < s.end);
    if (shared) {
      throw new PinError(
        `its tokens ${start}–${end - 1} share tokens with the pinned span ${shared.start}–${shared.end - 1} (a span that cuts a token pins the whole token): unpin that span first, or select less`,
      );
    }
    const fed = await this.runner.pin(start, end, this.history.slice(start, end), cancel);
    return fed === null ? null : { start, end, reprocessedTokens: fed };
  }

  /**
   * Unpins every pinned span that shares a token with `contents[index]` (or with its characters `chars`);
   * returns how many spans were unpinned.
   */
  async unpin(contents: readonly string[], index: number, chars: { readonly start: number; readonly end: number } | null = null): Promise<number> {
    const cache = this.cache;
    if (!cache || cache.pinned.length === 0) return 0;
    const { start, end } = this.tokenSpan(contents, index, chars);
    // Unpinning removes pin slots from the host copy of a cache kept in device memory.
    if (cache.pinned.some((s) => s.start < end && s.end > start)) await this.runner!.sync();
    let n = 0;
    for (const span of cache.pinned) if (span.start < end && span.end > start && cache.unpin(span.start)) n++;
    return n;
  }

  /** Positions [start, end) of the tokens spelling `contents[index]` (or its chars), from the sinks' end on. */
  private tokenSpan(contents: readonly string[], index: number, chars: { readonly start: number; readonly end: number } | null): { start: number; end: number } {
    const content = contents[index];
    if (content === undefined) throw new PinError(`no message ${index} among the ${contents.length} passed`);
    const range = locateContents(this.fedText, contents)[index];
    if (range.start < 0) throw new PinError('the model was never fed this message (the chat template leaves it out)');
    let from = range.start;
    let to = range.end;
    if (chars) {
      if (!(Number.isInteger(chars.start) && Number.isInteger(chars.end) && chars.start >= 0 && chars.start < chars.end && chars.end <= content.length)) {
        throw new PinError(`characters ${chars.start}..${chars.end} are not a span of this ${content.length}-character message`);
      }
      from = Math.max(range.start, range.start + chars.start - range.lead);
      to = Math.min(range.end, range.start + chars.end - range.lead);
      if (from >= to) throw new PinError('the selected characters were trimmed away by the chat template');
    }
    // Decode only the turns around the text: from the last cut at or before it to the first after it.
    let lo = 0;
    let hi = this.history.length;
    for (const c of this.cuts) {
      if (c.chars <= from && c.tokens > lo) lo = c.tokens;
      if (c.chars >= to && c.tokens < hi) hi = c.tokens;
    }
    const positions = Array.from({ length: hi - lo }, (_, i) => lo + i);
    const starts = tokenCharStarts(this.model.tokenizer, this.history, this.cuts, positions, this.fedText);
    const next = (i: number) => (i + 1 < starts.length ? starts[i + 1] : this.fedText.length);
    let first = -1;
    let last = -1;
    starts.forEach((c, i) => {
      if (c < 0) return;
      if (first < 0 && next(i) > from) first = i;
      if (c < to) last = i;
    });
    if (first < 0 || last < first) throw new PinError('no token of the stream spells this text');
    return { start: Math.max(this.cache!.sink, lo + first), end: lo + last + 1 };
  }

  /**
   * Which of `contents` (the conversation's message texts in prompt order) the token at each of
   * `positions` spells, and what the sinks pin: the cache visualizer's token-to-message map. Decodes
   * from the nearest cut before each run of positions, so the cost follows the distance, not the history.
   */
  textOwners(contents: readonly string[], positions: readonly number[]): TextOwners {
    const sink = this.cache?.sink ?? 0;
    const starts = tokenCharStarts(this.model.tokenizer, this.history, this.cuts, [...positions, sink], this.fedText);
    const sinkEnd = sink < this.history.length ? starts[positions.length] : this.fedText.length;
    return textOwners(locateContents(this.fedText, contents), starts.slice(0, positions.length), sinkEnd);
  }

  /**
   * Starts this (empty) stream on a whole conversation without answering it (new cache settings, a
   * rebuilt context): the sinks and the last W tokens of its text are fed, as a turn would after a
   * restart. Returns the tokens fed, or null when cancelled (the stream is then empty again).
   */
  async rebuild(messages: readonly ChatMessage[], hooks: GenerateHooks = {}): Promise<number | null> {
    if (this.history.length > 0) throw new Error('rebuild needs an empty stream');
    if (!this.model.template) throw new Error("this model's tokenizer_config.json has no chat_template; a conversation cannot be rebuilt");
    this.ensureCache({ kind: 'chat', messages });
    return this.primeEarlierTurns(messages, hooks);
  }

  /** Forgets the conversation (the cache is emptied, its geometry kept). */
  reset(): void {
    this.cache?.reset();
    this.history.clear();
    this.fedText = '';
    this.cuts = [startCut()];
    this.promptLogits = null;
  }

  private async decode(
    first: Float32Array,
    options: GenerateOptions,
    hooks: GenerateHooks,
    stats: GenerationStats,
    started: number,
    held: Held | null,
  ): Promise<GenerateResult> {
    const { tokenizer, eosTokenIds } = this.model;
    const sampler = new Sampler(options.sampling);
    const detok = new StreamingDetokenizer(tokenizer);
    const stops = new StopStringMatcher(options.stop ?? []);
    const cache = this.cache!;
    const decodeStart = performance.now();
    let logits: Float32Array | null = first;
    let text = '';
    let reason: DoneReason = 'max';
    // The reply's fed text is kept apart and flattened now and then: a string grown by `+=` per token is
    // a rope of ~55 bytes a piece, which would make the conversation's text cost 10× its size.
    const fedBefore = this.fedText;
    let fedReply = '';
    /** The last sampled token when it was emitted but not fed (the reply hit maxTokens or was cancelled). */
    let unfed: number | null = null;
    /** The reply ended before a new word past its soft length: the token that opened it is dropped. */
    let wordEnd = false;
    /** Whether the fed tokens end on a character boundary (the detokenizer holds none of their bytes back). */
    let fedSettled = true;

    for (let produced = 0; produced < options.maxTokens; produced++) {
      const id = sampler.sample(logits!, this.history.tail(options.sampling.repetitionWindow));
      if (produced === 0) stats.timeToFirstTokenMs = performance.now() - started;
      stats.decodeTokens++;
      if (hooks.onStats && (produced === 0 || stats.decodeTokens % STATS_EVERY === 0)) {
        stats.decodeMs = performance.now() - decodeStart;
        stats.decodeTokPerSec = perSecond(stats.decodeTokens, stats.decodeMs);
        hooks.onStats(stats);
      }
      if (eosTokenIds.has(id)) {
        reason = 'eos';
        break;
      }
      const pos = this.history.length;
      const completed = detok.push(id);
      // A token that opens a new word starts with whitespace, so nothing of it was pending before.
      if (produced >= (options.endAtWordAfter ?? Infinity) && /^\s/.test(completed)) {
        wordEnd = true;
        break;
      }
      const piece = stops.push(completed);
      text += piece.emit;
      hooks.onToken?.({ id, text: piece.emit, pos, slot: cache.slotOf(pos) });
      if (piece.stopped) {
        reason = 'stop';
        break;
      }
      // The last sampled token is not fed: its K/V would only matter to a token that never comes (the
      // next turn feeds it first).
      if (produced + 1 === options.maxTokens) {
        unfed = id;
        break;
      }
      logits = await this.feedTokens([id], hooks);
      if (logits === null) {
        reason = 'cancelled';
        unfed = id;
        break;
      }
      // The fed text is the detokenizer's output, before stop strings are held back. A cut only where no
      // character is half-fed.
      fedReply += completed;
      if (produced % FLATTEN_EVERY === FLATTEN_EVERY - 1) fedReply = flatten(fedReply);
      this.fedText = fedBefore + fedReply;
      fedSettled = detok.settled;
      if (detok.settled && !tokenizer.specialIds.has(id)) {
        this.cuts.push({ tokens: this.history.length, chars: this.fedText.length, kind: 'token' });
      }
    }
    if (reason !== 'stop' && !wordEnd) {
      const held = detok.flush();
      // With every sampled token fed (EOS ended the reply), what the detokenizer held back is the text of
      // fed tokens: a character their last bytes leave incomplete, shown as U+FFFD. The stream holds those
      // bytes, so the text is fed text; as rest it would be fed again as the U+FFFD's own tokens.
      if (unfed === null) fedReply += held;
      const tail = stops.push(held).emit + stops.flush();
      if (tail) {
        text += tail;
        hooks.onToken?.({ id: -1, text: tail, pos: this.history.length, slot: -1 });
      }
    }
    this.fedText = fedBefore + flatten(fedReply);
    if (reason === 'stop' && !fedSettled) {
      // The stop came inside a character whose first bytes were fed: the next turn feeds the reply's rest
      // as text, which would spell those bytes again. Cut the stream back to the last character boundary
      // (the journal's exact undo); the rest then starts there.
      const refed = await this.rewindTo(this.cuts[this.cuts.length - 1], hooks);
      stats.reprocessedTokens += refed;
      stats.prefillTokens += refed;
    }
    stats.decodeMs = performance.now() - decodeStart;
    stats.decodeTokPerSec = perSecond(stats.decodeTokens, stats.decodeMs);
    if (held) this.markReply(held, text, this.fedText.length - fedBefore.length, unfed);
    return this.finish(reason, text, stats);
  }

  /**
   * Records the turn boundary after a reply: the prompt's messages plus the reply as the conversation
   * stores it (`text`), of which the stream holds the first `fedChars` characters' worth. The rest (the
   * unfed last token, characters held back) is fed with the next turn; where the stream holds more than
   * the reply (the start of a stop string), it keeps it: the model saw it.
   */
  private markReply(held: Held, text: string, fedChars: number, unfed: number | null): void {
    const fed = this.fedText.slice(this.fedText.length - fedChars);
    const rest = text.startsWith(fed) ? text.slice(fed.length) : '';
    const turn: TurnMark = {
      end: 'reply',
      messages: held.messages + 1,
      digest: chainDigest(held.digest, { role: 'assistant', content: text }),
      rest,
      // Fed as the sampled id, not re-tokenized, when it spells the rest (no stop string cut into it).
      pending: unfed !== null && rest !== '' ? unfed : null,
    };
    this.cuts.push({ tokens: this.history.length, chars: this.fedText.length, kind: 'turn', turn });
  }

  private finish(reason: DoneReason, text: string, stats: GenerationStats): GenerateResult {
    const cache = this.cache!;
    stats.tokensSeen = cache.nextPos;
    stats.tokensEvicted = cache.evicted;
    stats.kvBytes = cache.kvBytes();
    return { reason, text, stats };
  }

  /**
   * Starts an empty stream on a conversation that already has turns (a restart without a snapshot, another
   * model, new cache settings): the template's rendering of everything through the last reply's text, of
   * which only the sinks and the last W tokens are fed — what the model would see of them anyway — at
   * their original positions. Later turns append to it as to any reply. Returns the tokens fed (all of
   * them re-processed), or null when cancelled (the stream is then empty again).
   */
  private async primeEarlierTurns(messages: readonly ChatMessage[], hooks: GenerateHooks): Promise<number | null> {
    const last = messages.findLastIndex((m) => m.role === 'assistant');
    if (last < 0) return 0;
    const template = this.requireTemplate();
    const around = template.renderAround(messages, last);
    const whole = template.render(messages, { addGenerationPrompt: true });
    if (!around || !whole.startsWith(around.before) || !whole.endsWith(around.after)) return 0;
    const text = whole.slice(0, whole.length - around.after.length);
    if (text.length < around.before.length) return 0;
    const ids = this.model.tokenizer.encode(text, { addSpecialTokens: false });
    const cache = this.cache!;
    const sinkEnd = Math.min(cache.sink, ids.length);
    const windowStart = Math.max(sinkEnd, ids.length - cache.window);
    // The text comes first, so the tokens being fed can be placed in it (textOwners) as they land.
    this.fedText = text;
    let logits: Float32Array | null = null;
    if (sinkEnd > 0) logits = await this.feedTokens(ids.slice(0, sinkEnd), hooks);
    if (windowStart > sinkEnd) {
      await this.runner!.sync();
      cache.skipTo(windowStart);
      this.history.push(ids.slice(sinkEnd, windowStart));
    }
    if (ids.length > windowStart && (sinkEnd === 0 || logits !== null)) logits = await this.feedTokens(ids.slice(windowStart), hooks);
    if (logits === null) {
      this.reset();
      return null;
    }
    const digest = prefixDigests(messages.slice(0, last + 1)).at(-1)!;
    this.cuts.push({ tokens: ids.length, chars: text.length, kind: 'turn', turn: { end: 'reply', messages: last + 1, digest, rest: '', pending: null } });
    return sinkEnd + ids.length - windowStart;
  }

  private requireTemplate(): ChatTemplate {
    if (!this.model.template) {
      throw new Error("this model's tokenizer_config.json has no chat_template; use raw mode (--raw) to feed plain text");
    }
    return this.model.template;
  }

  private ensureCache(prompt: Prompt): void {
    if (this.cache) return;
    const { config } = this.model;
    const sink = this.settings.sink === 'auto' ? this.autoSink(prompt) : this.settings.sink;
    const window = this.settings.window ?? defaultWindow(config.maxPos, sink);
    if (!(window >= 1)) {
      throw new Error(
        `sink size ${sink} leaves no room for a window under this model's ${config.maxPos} positions; use a smaller sink`,
      );
    }
    const chunkSize = Math.min(this.settings.chunkSize ?? DEFAULT_CHUNK_SIZE, sink + window);
    const stream = openStream(this.model, {
      sink,
      window,
      positions: this.settings.positions,
      journalTokens: this.settings.journalTokens,
      maxChunk: chunkSize,
      pinBudget: this.pinBudgetFor(window),
    });
    this.cache = stream.cache;
    this.runner = stream.runner;
    this.applyAttention();
  }

  /** The settings' pin budget for a window of W: up to a quarter of it by default. */
  private pinBudgetFor(window: number): number {
    return Math.min(window, this.settings.pinBudget ?? Math.floor(window / 4));
  }

  /**
   * Whether forward passes fetch their attention (DESIGN §3 "Attention view"); ignored when the model
   * cannot report it (the runner's `attentionUnavailable` says why).
   */
  set attention(on: boolean) {
    this.attentionWanted = on;
    this.applyAttention();
  }

  /** While {@link attention} is on: fetch it at most every this many ms (0: every step; Runner.attentionEveryMs). */
  set attentionEveryMs(ms: number) {
    this.attentionInterval = ms;
    this.applyAttention();
  }

  /** While {@link attention} is on: fetch each layer's row too, not only their mean (Runner.attentionLayers). */
  set attentionLayers(on: boolean) {
    this.attentionPerLayer = on;
    this.applyAttention();
  }

  /** The last forward pass's attention by slot, while {@link attention} is on and a pass ran since. */
  get lastAttention(): SlotAttention | null {
    return this.runner?.lastSlotAttention ?? null;
  }

  private applyAttention(): void {
    if (!this.runner || this.runner.attentionUnavailable !== null) return;
    this.runner.attention = this.attentionWanted;
    this.runner.attentionEveryMs = this.attentionInterval;
    this.runner.attentionLayers = this.attentionPerLayer;
  }

  /** Tokens through the end of the system prompt, at least 4 and at most a quarter of the positions. */
  private autoSink(prompt: Prompt): number {
    if (prompt.kind === 'raw') return MIN_AUTO_SINK;
    const prefix = this.model.template?.systemPrefix(prompt.messages) ?? null;
    if (prefix === null) return MIN_AUTO_SINK;
    const count = this.model.tokenizer.encode(prefix, { addSpecialTokens: false }).length;
    return Math.min(Math.floor(this.model.config.maxPos / 4), Math.max(MIN_AUTO_SINK, count));
  }

  /**
   * Where to cut the stream and what to feed after it. Raw text is appended. A chat prompt continues from
   * the latest turn boundary whose messages it starts with (all of them after a new user message; fewer
   * after an edit or for a regenerate) with the template's text for the messages past it, derived from
   * the template itself (ChatTemplate.renderAround); only that text is tokenized and fed.
   */
  private planFeed(prompt: Prompt): FeedPlan {
    const { tokenizer } = this.model;
    if (prompt.kind === 'raw') {
      const end: Cut = { tokens: this.history.length, chars: this.fedText.length, kind: 'token' };
      // Raw text gets BOS as the tokenizer config says.
      let ids: number[] = [];
      if (prompt.text && end.tokens === 0) ids = tokenizer.encodeRawPrompt(prompt.text);
      else if (prompt.text) ids = encodeContinuation(tokenizer, prompt.text);
      return { cut: end, ids, text: prompt.text, refed: 0, fromStart: false };
    }
    const template = this.requireTemplate();
    const { messages } = prompt;
    const digests = prefixDigests(messages);
    for (let i = this.cuts.length - 1; i > 0; i--) {
      const cut = this.cuts[i];
      const mark = cut.turn;
      if (!mark || mark.messages > messages.length || digests[mark.messages] !== mark.digest) continue;
      const plan = this.planAfter(cut, mark, template, messages);
      if (plan) return plan;
    }
    // From the start: the whole rendering. Chat templates spell BOS themselves (transformers'
    // apply_chat_template tokenizes without special tokens).
    const text = template.render(messages, { addGenerationPrompt: true });
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    // An empty stream on a conversation with earlier turns it could not prime feeds them all again.
    if (this.history.length === 0) return { cut: this.cuts[0], ids, text, refed: messages.some((m) => m.role === 'assistant') ? ids.length : 0, fromStart: true };
    return this.keepSharedStart(text, ids);
  }

  /**
   * A conversation that changed before its first turn boundary (its first message edited): the stream keeps the leading tokens it already holds at the same positions (their K/V are
   * the same; the template's header, an unchanged system turn) and is cut after them. Where no cut there
   * spells a prefix of both texts, it is fed again from the start and those tokens count as re-processed.
   */
  private keepSharedStart(text: string, ids: readonly number[]): FeedPlan {
    const old = this.history.slice(0, ids.length);
    let same = 0;
    while (same < old.length && old[same] === ids[same]) same++;
    if (same > 0) {
      // Where those tokens end in the fed text; the new text must spell the same there.
      const [chars] = same < this.history.length ? tokenCharStarts(this.model.tokenizer, this.history, this.cuts, [same], this.fedText) : [this.fedText.length];
      if (chars > 0 && text.startsWith(this.fedText.slice(0, chars))) {
        return { cut: { tokens: same, chars, kind: 'token' }, ids: ids.slice(same), text: text.slice(chars), refed: 0, fromStart: true };
      }
    }
    return { cut: this.cuts[0], ids: [...ids], text, refed: same, fromStart: true };
  }

  /** What to feed after turn boundary `cut` to spell `messages`, or null when it cannot be continued from there. */
  private planAfter(cut: Cut, mark: TurnMark, template: ChatTemplate, messages: readonly ChatMessage[]): FeedPlan | null {
    const { tokenizer } = this.model;
    if (mark.end === 'prompt') {
      if (mark.messages === messages.length) return { cut, ids: [], text: '', refed: 0, fromStart: false };
      // After a generation prompt only a reply can follow; it is fed as the model would have written it,
      // after whatever the template writes between the generation prompt and a reply's text (stories260K's
      // joining space; nothing for templates whose generation prompt is the reply's header).
      const reply = messages[mark.messages];
      if (reply.role !== 'assistant') return null;
      const around = template.renderAround(messages, mark.messages);
      if (!around) return null;
      const prompt = template.render(messages.slice(0, mark.messages), { addGenerationPrompt: true });
      const joiner = around.before.startsWith(prompt) ? around.before.slice(prompt.length) : '';
      const text = joiner + reply.content + around.after;
      return { cut, ids: text ? encodeContinuation(tokenizer, text) : [], text, refed: 0, fromStart: false };
    }
    if (mark.end !== 'reply') return null;
    const around = template.renderAround(messages, mark.messages - 1);
    if (!around) return null;
    const text = mark.rest + around.after;
    let ids: number[];
    if (mark.pending !== null) ids = [mark.pending, ...(around.after ? encodeContinuation(tokenizer, around.after) : [])];
    else ids = text ? encodeContinuation(tokenizer, text) : [];
    return { cut, ids, text, refed: 0, fromStart: false };
  }

  /** Logits after the last fed token: saved ones when they are current, else that token fed again. */
  private async logitsAtEnd(hooks: GenerateHooks, stats: GenerationStats): Promise<Float32Array | null> {
    const saved = this.promptLogits;
    if (saved && saved.tokens === this.history.length) return saved.logits;
    if (this.history.length === 0) throw new Error('nothing to generate from: the prompt is empty');
    const end = this.history.length;
    const last = this.history.slice(end - 1, end);
    const chars = this.cuts.findLast((c) => c.tokens === end - 1)?.chars ?? this.fedText.length;
    stats.reprocessedTokens += await this.rewindTo({ tokens: end - 1, chars, kind: 'token' }, hooks);
    stats.reprocessedTokens += 1;
    return this.feedTokens([...last], hooks);
  }

  private async feedTokens(
    ids: readonly number[],
    hooks: GenerateHooks,
    onProgress?: (done: number, total: number) => void,
    record = true,
  ): Promise<Float32Array | null> {
    let fed = 0;
    return this.runner!.feed(ids, {
      cancel: hooks.cancel,
      onDelta: (delta) => {
        const n = delta.writes.length;
        if (record) this.history.push(ids.slice(fed, fed + n));
        fed += n;
        hooks.onDelta?.(delta);
      },
      onProgress,
    });
  }

  /**
   * Cuts the stream back to `cut`: exactly from the undo journal when it covers the distance, else by
   * re-prefilling the sinks and the last W tokens before the cut. Returns the tokens fed again.
   */
  private async rewindTo(cut: Cut, hooks: GenerateHooks): Promise<number> {
    const cache = this.cache!;
    const { tokens } = cut;
    this.fedText = this.fedText.slice(0, cut.chars);
    this.cuts = this.cuts.filter((c) => c.tokens <= tokens);
    if (this.promptLogits && this.promptLogits.tokens > tokens) this.promptLogits = null;
    const drop = this.history.length - tokens;
    if (drop <= 0) return 0;
    const from = this.history.length;
    // Exact undo edits the host copy of a cache kept in device memory: one download, then one upload.
    if (drop <= cache.rewindable) await this.runner!.sync();
    if (cache.rewind(drop)) {
      this.history.truncate(tokens);
      hooks.onRewind?.(tokens, from);
      return 0;
    }
    this.history.truncate(tokens);
    // Pinned rows do not depend on the ring: the spans before the cut stay pinned through the re-prefill
    // (kept, and those past the cut dropped, on the host copy of a cache kept in device memory).
    if (cache.pinnedTokens > 0) await this.runner!.sync();
    cache.unpinFrom(tokens);
    cache.reset(true);
    hooks.onReset?.();
    const sinkEnd = Math.min(cache.sink, tokens);
    const windowStart = Math.max(sinkEnd, tokens - cache.window);
    if (sinkEnd > 0) await this.feedTokens([...this.history.slice(0, sinkEnd)], hooks, undefined, false);
    if (windowStart > sinkEnd) {
      await this.runner!.sync();
      cache.skipTo(windowStart);
    }
    if (tokens > windowStart) await this.feedTokens([...this.history.slice(windowStart, tokens)], hooks, undefined, false);
    return sinkEnd + (tokens - windowStart);
  }
}

/**
 * `s` as one flat string: a JSON round trip copies any string exactly (lone surrogates included) into a
 * fresh flat one, where tricks that make V8 flatten in place can be optimised away.
 */
function flatten(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
