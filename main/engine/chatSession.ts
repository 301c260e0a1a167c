// ChatSession: one conversation as one growing token stream over the sink-ring cache. A new turn renders
// the whole conversation with the chat template and feeds only what the cache has not consumed.
// Runs in the engine host thread.
import type { ChatMessage, DoneReason } from '../../common/chat';
import { SinkRingCache } from './cache/sinkRingCache';
import type { CacheDelta } from '../../common/cacheView';
import type { CacheSettings, GenerateOptions, Prompt, TokenEvent } from './chatTypes';
import { openStream, type LoadedModel } from './loadedModel';
import { Runner, type CancelFlag } from './runner';
import { Sampler } from './sampling/sampler';
import { StopStringMatcher } from './sampling/stopStrings';
import { emptyStats, perSecond, type GenerationStats } from '../../common/stats';
import { StreamingDetokenizer } from './text/detokenizer';
import type { SessionState } from './sessionSnapshot';
import { commonPrefixLength } from './text/commonPrefix';
import { encodeContinuation } from './text/continuation';
import { locateContents, textOwners, tokenCharStarts, type TextOwners } from './text/textOwners';
import { TokenHistory } from './tokenHistory';

export interface GenerateHooks {
  readonly cancel?: CancelFlag;
  readonly onToken?: (event: TokenEvent) => void;
  readonly onDelta?: (delta: CacheDelta) => void;
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

/** The whole text the stream should spell, or text to append to what it spells. */
type FeedTarget = { readonly kind: 'whole'; readonly text: string } | { readonly kind: 'append'; readonly text: string };

/** A place the stream can be cut back to: `tokens` fed tokens whose text is `fedText.slice(0, chars)`. */
interface Cut {
  readonly tokens: number;
  readonly chars: number;
  /** Turn boundaries are kept for the whole conversation; token cuts only for the latest reply. */
  readonly kind: 'turn' | 'token';
}

export const DEFAULT_CHUNK_SIZE = 256;
const MIN_AUTO_SINK = 4;

/**
 * The conversation state the engine keeps between turns: the cache, the fed token history and the
 * text those tokens spell. Owns its cache and runner; borrows the loaded model.
 */
export class ChatSession {
  private cache: SinkRingCache | null = null;
  private runner: Runner | null = null;
  private readonly history = new TokenHistory();
  /** Text of the fed tokens, as the chat template renders it. */
  private fedText = '';
  private cuts: Cut[] = [{ tokens: 0, chars: 0, kind: 'turn' }];
  /** Logits after the latest prompt, kept so regenerate needs no forward pass. */
  private promptLogits: { tokens: number; logits: Float32Array } | null = null;

  constructor(
    private readonly model: LoadedModel,
    readonly settings: CacheSettings,
  ) {}

  /** A session that continues exactly where a snapshot left it (the snapshot was checked against `model`). */
  static fromSnapshot(model: LoadedModel, state: SessionState): ChatSession {
    const session = new ChatSession(model, state.settings);
    session.cache = SinkRingCache.fromSnapshot(state.cache, model.config.rope);
    session.runner = new Runner(model.session, model.io, session.cache, model.config.vocabSize, {
      chunkSize: session.cache.maxChunk,
    });
    session.history.push(state.history);
    session.fedText = state.fedText;
    session.cuts = state.cuts.map((c) => ({ ...c }));
    session.promptLogits = state.promptLogits;
    return session;
  }

  /** Everything needed to continue this conversation later, bit-exactly. */
  snapshot(): SessionState {
    if (!this.cache) throw new Error('nothing to snapshot: the conversation has not started');
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

  /** The cache, created on the first turn (the auto sink size depends on the system prompt). */
  get kvCache(): SinkRingCache | null {
    return this.cache;
  }

  get tokenCount(): number {
    return this.history.length;
  }

  /** A copy of every token id fed so far, in order. */
  tokenIds(): Int32Array {
    return this.history.slice(0);
  }

  /** Runs one turn: feeds what the cache lacks of `prompt`, then samples until EOS, a stop string or maxTokens. */
  async generate(prompt: Prompt, options: GenerateOptions, hooks: GenerateHooks = {}): Promise<GenerateResult> {
    const started = performance.now();
    const stats = emptyStats();
    const target = this.renderTarget(prompt);
    this.ensureCache(prompt);

    if (this.history.length === 0 && prompt.kind === 'chat' && target.kind === 'whole') {
      const primed = await this.primeEarlierTurns(prompt.messages, target.text, hooks);
      if (primed === null) return this.finish('cancelled', '', stats);
      stats.reprocessedTokens += primed;
      stats.prefillTokens += primed;
    }
    const plan = this.planFeed(target);
    if (plan.cut.tokens < this.history.length) stats.reprocessedTokens += await this.rewindTo(plan.cut, hooks);
    let logits: Float32Array | null;
    if (plan.ids.length > 0) {
      logits = await this.feedTokens(plan.ids, hooks, hooks.onPrefillProgress);
      stats.prefillTokens += plan.ids.length;
      // A cancelled prefill is undone, so the fed tokens always spell `fedText` exactly.
      if (logits === null) await this.rewindTo(plan.cut, hooks);
      else this.fedText += plan.text;
    } else {
      logits = await this.logitsAtEnd(hooks, stats);
    }
    stats.promptTokens = this.history.length;
    stats.prefillMs = performance.now() - started;
    stats.prefillTokPerSec = perSecond(stats.prefillTokens, stats.prefillMs);
    if (logits === null) return this.finish('cancelled', '', stats);

    this.cuts = this.cuts.filter((c) => c.kind === 'turn');
    this.cuts.push({ tokens: this.history.length, chars: this.fedText.length, kind: 'turn' });
    this.promptLogits = { tokens: this.history.length, logits: Float32Array.from(logits) };
    return this.decode(logits, options, hooks, stats, started);
  }

  /**
   * What `generate(prompt)` would feed, without running anything: the new tokens and how many tokens
   * the model sees now would leave its window once they are fed (the composer's horizon preview).
   */
  preview(prompt: Prompt): { draftTokens: number; pushedOut: number } {
    const plan = this.planFeed(this.renderTarget(prompt));
    const draftTokens = plan.ids.length;
    const cache = this.cache;
    if (!cache) return { draftTokens, pushedOut: 0 };
    const { sink, window } = cache;
    const now = this.history.length;
    const after = plan.cut.tokens + draftTokens;
    // Window tokens visible to the next query now: [max(S, now − W + 1), now − 1]; after feeding: from after − W + 1.
    const firstNow = Math.max(sink, now - window + 1);
    const firstAfter = Math.max(sink, after - window + 1);
    const pushedOut = Math.max(0, Math.min(now, firstAfter) - firstNow);
    return { draftTokens, pushedOut };
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

  /** Forgets the conversation (the cache is emptied, its geometry kept). */
  reset(): void {
    this.cache?.reset();
    this.history.clear();
    this.fedText = '';
    this.cuts = [{ tokens: 0, chars: 0, kind: 'turn' }];
    this.promptLogits = null;
  }

  private async decode(
    first: Float32Array,
    options: GenerateOptions,
    hooks: GenerateHooks,
    stats: GenerationStats,
    started: number,
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
      const piece = stops.push(completed);
      text += piece.emit;
      hooks.onToken?.({ id, text: piece.emit, pos, slot: cache.slotOf(pos) });
      if (piece.stopped) {
        reason = 'stop';
        break;
      }
      // The last sampled token is not fed: its K/V would only matter to a token that never comes.
      if (produced + 1 === options.maxTokens) break;
      logits = await this.feedTokens([id], hooks);
      if (logits === null) {
        reason = 'cancelled';
        break;
      }
      // The fed text is what the template will render for this reply: the detokenizer's output, before
      // stop strings are held back. A cut only where no character is half-fed.
      fedReply += completed;
      if (produced % FLATTEN_EVERY === FLATTEN_EVERY - 1) fedReply = flatten(fedReply);
      this.fedText = fedBefore + fedReply;
      if (detok.settled && !tokenizer.specialIds.has(id)) {
        this.cuts.push({ tokens: this.history.length, chars: this.fedText.length, kind: 'token' });
      }
    }
    this.fedText = fedBefore + flatten(fedReply);
    if (reason !== 'stop') {
      const tail = stops.push(detok.flush()).emit + stops.flush();
      if (tail) {
        text += tail;
        hooks.onToken?.({ id: -1, text: tail, pos: this.history.length, slot: -1 });
      }
    }
    stats.decodeMs = performance.now() - decodeStart;
    stats.decodeTokPerSec = perSecond(stats.decodeTokens, stats.decodeMs);
    return this.finish(reason, text, stats);
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
   * model, new cache settings): of the turns before the last user message only the sinks and the last W
   * tokens are fed — what the model would see of them anyway — at their original positions. Returns the
   * tokens fed, or null when cancelled (the stream is then empty again).
   */
  private async primeEarlierTurns(messages: readonly ChatMessage[], target: string, hooks: GenerateHooks): Promise<number | null> {
    const lastUser = messages.findLastIndex((m) => m.role === 'user');
    const earlier = messages.slice(0, lastUser);
    if (!earlier.some((m) => m.role !== 'system')) return 0;
    const text = this.model.template!.render(earlier, { addGenerationPrompt: false });
    if (!target.startsWith(text)) return 0;
    const ids = this.model.tokenizer.encode(text, { addSpecialTokens: false });
    const cache = this.cache!;
    const sinkEnd = Math.min(cache.sink, ids.length);
    const windowStart = Math.max(sinkEnd, ids.length - cache.window);
    let logits: Float32Array | null = null;
    if (sinkEnd > 0) logits = await this.feedTokens(ids.slice(0, sinkEnd), hooks);
    if (windowStart > sinkEnd) {
      cache.skipTo(windowStart);
      this.history.push(ids.slice(sinkEnd, windowStart));
    }
    if (ids.length > windowStart && (sinkEnd === 0 || logits !== null)) logits = await this.feedTokens(ids.slice(windowStart), hooks);
    if (logits === null) {
      this.reset();
      return null;
    }
    this.fedText = text;
    this.cuts.push({ tokens: ids.length, chars: text.length, kind: 'turn' });
    return sinkEnd + ids.length - windowStart;
  }

  /**
   * What the stream should spell after this turn's prompt: the chat template's rendering of the whole
   * conversation, or raw text appended (not joined to the fed text: that string would cost O(conversation)
   * memory every turn).
   */
  private renderTarget(prompt: Prompt): FeedTarget {
    if (prompt.kind === 'raw') return { kind: 'append', text: prompt.text };
    if (!this.model.template) {
      throw new Error("this model's tokenizer_config.json has no chat_template; use raw mode (--raw) to feed plain text");
    }
    return { kind: 'whole', text: this.model.template.render(prompt.messages, { addGenerationPrompt: true }) };
  }

  private ensureCache(prompt: Prompt): void {
    if (this.cache) return;
    const { config } = this.model;
    const sink = this.settings.sink === 'auto' ? this.autoSink(prompt) : this.settings.sink;
    const window = this.settings.window ?? Math.min(2048, Math.floor(config.maxPos / 2) - sink);
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
    });
    this.cache = stream.cache;
    this.runner = stream.runner;
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
   * Where to cut the fed stream and what to feed after it so the stream spells `target`: the latest cut
   * whose text is a prefix of `target`. Only the text past the cut is tokenized, so history is never
   * tokenized or fed again when the template renders earlier turns unchanged.
   */
  private planFeed(target: FeedTarget): { cut: Cut; ids: number[]; text: string } {
    const common = target.kind === 'append' ? this.fedText.length : commonPrefixLength(this.fedText, target.text);
    let cut: Cut;
    if (common === this.fedText.length) {
      cut = { tokens: this.history.length, chars: common, kind: 'token' };
    } else {
      cut = this.cuts[0];
      for (const c of this.cuts) if (c.chars <= common && c.tokens >= cut.tokens) cut = c;
    }
    const text = target.kind === 'append' ? target.text : target.text.slice(cut.chars);
    const { tokenizer } = this.model;
    let ids: number[];
    if (text.length === 0) ids = [];
    // Chat templates spell BOS themselves (transformers' apply_chat_template tokenizes without special
    // tokens); raw text gets BOS as the tokenizer config says.
    else if (cut.tokens === 0) ids = target.kind === 'append' ? tokenizer.encodeRawPrompt(text) : tokenizer.encode(text, { addSpecialTokens: false });
    else ids = encodeContinuation(tokenizer, text);
    return { cut, ids, text };
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
    if (cache.rewind(drop)) {
      this.history.truncate(tokens);
      return 0;
    }
    this.history.truncate(tokens);
    cache.reset();
    const sinkEnd = Math.min(cache.sink, tokens);
    const windowStart = Math.max(sinkEnd, tokens - cache.window);
    if (sinkEnd > 0) await this.feedTokens([...this.history.slice(0, sinkEnd)], hooks, undefined, false);
    if (windowStart > sinkEnd) cache.skipTo(windowStart);
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
