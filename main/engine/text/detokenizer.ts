// StreamingDetokenizer: turns generated token ids into text one token at a time, UTF-8 safe.
// Runs in the engine host, once per decode step.
import type { TextTokenizer } from './tokenizer';

/** The part of a tokenizer the stream needs (a seam for tests). */
export type StreamDecoder = Pick<TextTokenizer, 'decode' | 'specialIds'>;

export interface DetokenizerOptions {
  /** Drop special tokens (`<|im_end|>`, `</s>`) from the text, as `decode(..., skipSpecialTokens)` does. */
  readonly skipSpecialTokens: boolean;
  /**
   * Ids shown before the stream starts (e.g. a raw prompt's tail). They are never emitted; they only
   * seed the decode window, so the first streamed token keeps its leading space (`▁there` after
   * "Once upon a time," gives " there"). Without context the first token's leading space is stripped
   * the way the tokenizer's decoder does for a whole decode.
   */
  readonly context?: readonly number[];
}

const REPLACEMENT = '\uFFFD';
/** Context ids kept to seed the window; any non-empty text is enough for the decoder's Strip rule. */
const CONTEXT_TOKENS = 8;
/**
 * Pending tokens after which the window restarts even though the text still ends in an incomplete
 * character. Bounds per-token work when a model emits a long run of invalid bytes; a real
 * character never needs this many tokens.
 */
const MAX_PENDING_TOKENS = 64;
/** Ids before the window are dropped once this many have accumulated (amortised O(1) per token). */
const COMPACT_AFTER = 256;

/**
 * Incremental detokenizer after text-generation-inference's `decode_token`: decode a small window
 * `[prefixOffset, end)` of ids and emit what goes beyond the text of `[prefixOffset, readOffset)`.
 * Starting the window one chunk back lets the decoder see the previous token, so sentencepiece's
 * "strip the first leading space" applies only at the very start. A U+FFFD at the end of the window
 * text is an incomplete UTF-8 sequence (a byte-fallback or byte-level piece split a character): it is
 * held back until the bytes complete, so `push` never emits half a character. Everything before it is
 * final (a UTF-8 decoder only revises its last, incomplete sequence) and is emitted at once.
 *
 * Never applies `clean_up_tokenization_spaces`: that rewrite spans token boundaries. For a tokenizer
 * whose config leaves it off (Llama, Qwen, Gemma, ...), the concatenated output equals
 * `decode(allIds, { skipSpecialTokens, cleanUpSpaces: false })`.
 */
export class StreamingDetokenizer {
  private ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;
  /** Length of the text of `ids[prefixOffset, readOffset)`. */
  private prefixLen = 0;
  /** Code units of the pending text already emitted (the part before a held-back U+FFFD). */
  private partial = 0;

  /** `options` default to skipping special tokens, with no context. */
  constructor(
    private readonly tokenizer: StreamDecoder,
    private readonly options: Readonly<DetokenizerOptions> = { skipSpecialTokens: true },
  ) {
    this.reset(options.context);
  }

  /** Forgets everything; `context` seeds the window as in the constructor options. */
  reset(context: readonly number[] = []): void {
    const kept = this.options.skipSpecialTokens ? context.filter((id) => !this.tokenizer.specialIds.has(id)) : context;
    this.ids = kept.slice(-CONTEXT_TOKENS);
    this.prefixOffset = 0;
    this.readOffset = this.ids.length;
    this.prefixLen = this.decodeRange(0, this.ids.length).length;
    this.partial = 0;
  }

  /** True when every pushed token's text has been emitted (no incomplete character is held back). */
  get settled(): boolean {
    return this.partial === 0 && this.readOffset === this.ids.length;
  }

  /** Adds one token and returns the text it completes ("" while a character is incomplete). */
  push(id: number): string {
    if (this.options.skipSpecialTokens && this.tokenizer.specialIds.has(id)) return '';
    this.ids.push(id);
    const text = this.decodeRange(this.prefixOffset, this.ids.length);
    const incomplete = text.endsWith(REPLACEMENT);
    const stable = incomplete ? text.length - 1 : text.length;
    const start = this.prefixLen + this.partial;
    const out = stable > start ? text.slice(start, stable) : '';
    if (!incomplete && text.length > this.prefixLen) {
      this.advance();
    } else if (this.ids.length - this.readOffset >= MAX_PENDING_TOKENS) {
      // Give up on completing the tail: emit it as the decoder spells it and restart the window.
      const rest = text.length > start + out.length ? text.slice(start + out.length) : '';
      this.restartAtEnd();
      return out + rest;
    } else {
      this.partial += out.length;
    }
    this.compact();
    return out;
  }

  /** Emits whatever is held back (an incomplete character shows as U+FFFD) at the end of a stream. */
  flush(): string {
    const text = this.decodeRange(this.prefixOffset, this.ids.length);
    const start = this.prefixLen + this.partial;
    const out = text.length > start ? text.slice(start) : '';
    if (this.ids.length > this.readOffset) {
      if (text.length > this.prefixLen) this.advance();
      else this.restartAtEnd();
    }
    this.compact();
    return out;
  }

  /** The pending chunk is final: it becomes the prefix of the next window. */
  private advance(): void {
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    this.prefixLen = this.decodeRange(this.prefixOffset, this.readOffset).length;
    this.partial = 0;
  }

  private restartAtEnd(): void {
    this.prefixOffset = this.ids.length;
    this.readOffset = this.ids.length;
    this.prefixLen = 0;
    this.partial = 0;
  }

  private compact(): void {
    if (this.prefixOffset < COMPACT_AFTER) return;
    this.ids = this.ids.slice(this.prefixOffset);
    this.readOffset -= this.prefixOffset;
    this.prefixOffset = 0;
  }

  private decodeRange(from: number, to: number): string {
    if (to <= from) return '';
    return this.tokenizer.decode(this.ids.slice(from, to), {
      skipSpecialTokens: this.options.skipSpecialTokens,
      cleanUpSpaces: false,
    });
  }
}
