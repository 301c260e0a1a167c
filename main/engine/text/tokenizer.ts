// TextTokenizer: the model's tokenizer.json + tokenizer_config.json behind a small typed surface
// (encode, decode, per-token display text, special ids). Runs in the engine host.
import { Tokenizer } from '@huggingface/tokenizers';
import { additionalSpecialTokens, specialTokenText } from './specialTokens';
import { detectPieceEncoding, pieceDisplayText, visibleWhitespace } from './tokenDisplay';
import type { PieceEncoding } from './tokenDisplay';

/** Which tokenizer file is unusable. */
export type TokenizerErrorCode = 'invalid-tokenizer-json' | 'invalid-tokenizer-config';

/** A tokenizer file that cannot be used; the message names the file and the problem. */
export class TokenizerError extends Error {
  override readonly name = 'TokenizerError';
  readonly code: TokenizerErrorCode;
  readonly file: 'tokenizer.json' | 'tokenizer_config.json';

  constructor(code: TokenizerErrorCode, message: string, options?: { cause?: unknown }) {
    const file = code === 'invalid-tokenizer-json' ? 'tokenizer.json' : 'tokenizer_config.json';
    super(`${file}: ${message}`, options);
    this.code = code;
    this.file = file;
  }
}

export interface EncodeOptions {
  /** Apply the post-processor's special tokens (BOS/EOS), reconciled with add_bos/eos_token. */
  readonly addSpecialTokens: boolean;
}

export interface DecodeOptions {
  readonly skipSpecialTokens: boolean;
  /**
   * transformers' `clean_up_tokenization_spaces` (" ." → "." etc.). Defaults to tokenizer_config's
   * value (true when absent, as in transformers.js).
   */
  readonly cleanUpSpaces?: boolean;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function describe(x: unknown): string {
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
}

/** Checks the shape the library relies on and fills the optional pipeline stages with null. */
function checkTokenizerJson(json: unknown): Record<string, unknown> {
  if (!isRecord(json)) {
    throw new TokenizerError('invalid-tokenizer-json', `expected a JSON object, got ${describe(json)}`);
  }
  if (!isRecord(json.model)) {
    throw new TokenizerError('invalid-tokenizer-json', `"model" must be an object, got ${describe(json.model)}`);
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) {
    throw new TokenizerError('invalid-tokenizer-json', '"added_tokens" must be an array');
  }
  added.forEach((t: unknown, i) => {
    if (!isRecord(t) || !Number.isInteger(t.id) || (t.id as number) < 0 || typeof t.content !== 'string') {
      throw new TokenizerError('invalid-tokenizer-json', `added_tokens[${i}] needs an integer "id" and a string "content"`);
    }
  });
  return {
    ...json,
    added_tokens: added,
    normalizer: json.normalizer ?? null,
    pre_tokenizer: json.pre_tokenizer ?? null,
    post_processor: json.post_processor ?? null,
    decoder: json.decoder ?? null,
  };
}

/** A copy of tokenizer_config with special tokens flattened to strings (the library expects those). */
function checkTokenizerConfig(config: unknown): Record<string, unknown> {
  if (config === undefined || config === null) return {};
  if (!isRecord(config)) {
    throw new TokenizerError('invalid-tokenizer-config', `expected a JSON object, got ${describe(config)}`);
  }
  const out: Record<string, unknown> = { ...config };
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']) {
    if (key in out) out[key] = specialTokenText(out[key]) ?? undefined;
  }
  if ('additional_special_tokens' in out) out.additional_special_tokens = additionalSpecialTokens(out.additional_special_tokens);
  for (const key of ['add_bos_token', 'add_eos_token']) {
    const v = out[key];
    if (v !== undefined && v !== null && typeof v !== 'boolean') {
      throw new TokenizerError('invalid-tokenizer-config', `"${key}" must be true or false, got ${JSON.stringify(v)}`);
    }
  }
  return out;
}

/**
 * A model's tokenizer. Immutable after construction; safe to share between sessions of one model.
 * Ids past the vocabulary (models often pad their logits) decode and display as an empty string.
 */
export class TextTokenizer {
  /** One past the largest id the tokenizer knows (vocabulary plus added tokens). */
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** Ids of added tokens marked special, plus `additional_special_tokens`. */
  readonly specialIds: ReadonlySet<number>;
  /** Whether a raw prompt starts with BOS: tokenizer_config `add_bos_token`, else the post-processor. */
  readonly addBosToken: boolean;
  /** Whether `encode(..., {addSpecialTokens: true})` ends with EOS (same rule as addBosToken). */
  readonly addEosToken: boolean;

  private readonly postAddsBos: boolean;
  private readonly postAddsEos: boolean;
  private readonly addedContent = new Map<number, string>();
  private readonly encoding: PieceEncoding;
  private readonly displayCache: (string | undefined)[] = [];

  private constructor(
    private readonly inner: Tokenizer,
    json: Record<string, unknown>,
    config: Record<string, unknown>,
  ) {
    this.vocabSize = inner.model?.vocab.length ?? 0;
    if (this.vocabSize === 0) throw new TokenizerError('invalid-tokenizer-json', 'the vocabulary is empty');
    this.encoding = detectPieceEncoding(json.decoder, json.pre_tokenizer);
    const special = new Set<number>();
    for (const [id, token] of inner.get_added_tokens_decoder()) {
      this.addedContent.set(id, token.content);
      if (token.special) special.add(id);
    }
    for (const text of additionalSpecialTokens(config.additional_special_tokens)) {
      const id = inner.token_to_id(text);
      if (id !== undefined) special.add(id);
    }
    this.specialIds = special;
    this.bosTokenId = this.idOf(config.bos_token);
    this.eosTokenId = this.idOf(config.eos_token);

    // Probe what the post-processor adds, so add_bos_token / add_eos_token can override it the way
    // transformers' Llama/Gemma tokenizers rebuild their post-processor from those flags.
    const withSpecial = this.libEncode('a', true);
    const without = this.libEncode('a', false);
    this.postAddsBos = this.bosTokenId !== null && withSpecial[0] === this.bosTokenId && without[0] !== this.bosTokenId;
    this.postAddsEos =
      this.eosTokenId !== null && withSpecial.at(-1) === this.eosTokenId && without.at(-1) !== this.eosTokenId;
    const cfgBos = config.add_bos_token;
    const cfgEos = config.add_eos_token;
    this.addBosToken = this.bosTokenId !== null && (typeof cfgBos === 'boolean' ? cfgBos : this.postAddsBos);
    this.addEosToken = this.eosTokenId !== null && (typeof cfgEos === 'boolean' ? cfgEos : this.postAddsEos);
  }

  /**
   * Builds a tokenizer from the parsed contents of tokenizer.json and tokenizer_config.json (the
   * latter may be absent). Throws TokenizerError naming the file when either is unusable.
   */
  static fromObjects(tokenizerJson: unknown, tokenizerConfig?: unknown): TextTokenizer {
    const json = checkTokenizerJson(tokenizerJson);
    const config = checkTokenizerConfig(tokenizerConfig);
    let inner: Tokenizer;
    try {
      inner = new Tokenizer(json, config);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new TokenizerError('invalid-tokenizer-json', `cannot build the tokenizer: ${msg}`, { cause: e });
    }
    try {
      return new TextTokenizer(inner, json, config);
    } catch (e) {
      if (e instanceof TokenizerError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      throw new TokenizerError('invalid-tokenizer-json', `the tokenizer fails on a test string: ${msg}`, { cause: e });
    }
  }

  /** Token ids of `text`. With special tokens, BOS/EOS follow `addBosToken` / `addEosToken`. */
  encode(text: string, options: Readonly<EncodeOptions>): number[] {
    const ids = this.libEncode(text, options.addSpecialTokens);
    if (!options.addSpecialTokens) return ids;
    if (this.postAddsBos && !this.addBosToken) ids.shift();
    else if (!this.postAddsBos && this.addBosToken && this.bosTokenId !== null) ids.unshift(this.bosTokenId);
    if (this.postAddsEos && !this.addEosToken) ids.pop();
    else if (!this.postAddsEos && this.addEosToken && this.eosTokenId !== null) ids.push(this.eosTokenId);
    return ids;
  }

  /**
   * The `--raw` prompt: `text` with no chat template, preceded by BOS when the tokenizer config adds
   * one, and never followed by EOS (the model is meant to continue it).
   */
  encodeRawPrompt(text: string): number[] {
    const ids = this.libEncode(text, false);
    if (this.addBosToken && this.bosTokenId !== null) ids.unshift(this.bosTokenId);
    return ids;
  }

  /**
   * Text of `ids` through the tokenizer's decoder; an empty list gives "". Ids the tokenizer does not
   * know (models pad their logits past the vocabulary, e.g. Qwen2.5) decode to nothing.
   */
  decode(ids: readonly number[], options: Readonly<DecodeOptions>): string {
    let known = ids;
    for (const id of ids) {
      if (this.inner.id_to_token(id) === undefined) {
        known = ids.filter((x) => this.inner.id_to_token(x) !== undefined);
        break;
      }
    }
    if (known.length === 0) return '';
    return this.inner.decode(known as number[], {
      skip_special_tokens: options.skipSpecialTokens,
      clean_up_tokenization_spaces: options.cleanUpSpaces,
    });
  }

  /**
   * Display text of one token for the cache view. Added/special tokens show their content verbatim
   * (`<|im_start|>`); `▁` and GPT-2's `Ġ` become a space (kept, so ` the` differs from `the`);
   * newline, tab and CR show as `↵`, `⇥`, `␍`, other control bytes as `<0xNN>`; a byte-fallback piece
   * shows its character when it is ASCII (`<0x0A>` → `↵`, `<0x41>` → `A`) and stays `<0xE2>` when
   * it is part of a multi-byte character. Unknown ids give "".
   */
  tokenText(id: number): string {
    const cached = this.displayCache[id];
    if (cached !== undefined) return cached;
    const added = this.addedContent.get(id);
    const piece = this.inner.id_to_token(id);
    let text: string;
    if (added !== undefined) text = visibleWhitespace(added);
    else if (piece === undefined) text = '';
    else text = pieceDisplayText(piece, this.encoding);
    if (Number.isInteger(id) && id >= 0 && id < this.vocabSize) this.displayCache[id] = text;
    return text;
  }

  /** The vocabulary piece of `id` as stored in tokenizer.json (e.g. `▁the`, `<0x0A>`), or null. */
  idToPiece(id: number): string | null {
    return this.inner.id_to_token(id) ?? null;
  }

  /** The id of a vocabulary piece or added token (e.g. `<|im_end|>`), or null when absent. */
  pieceToId(piece: string): number | null {
    return this.inner.token_to_id(piece) ?? null;
  }

  private idOf(value: unknown): number | null {
    const text = specialTokenText(value);
    if (text === null) return null;
    return this.inner.token_to_id(text) ?? null;
  }

  private libEncode(text: string, addSpecialTokens: boolean): number[] {
    const ids = this.inner.encode(text, { add_special_tokens: addSpecialTokens }).ids;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === undefined) {
        throw new TokenizerError('invalid-tokenizer-json', 'a piece has no id and the model defines no unk_token');
      }
    }
    return ids;
  }
}
