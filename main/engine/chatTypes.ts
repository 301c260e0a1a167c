// Types of a generation request shared by the engine and the host protocol, and cache-settings equality.
import type { ChatMessage } from '../../common/chat';
import type { PositionsMode } from '../../common/cacheGeometry';
import type { SamplingParams } from './sampling/samplingParams';

/** What to feed: a conversation rendered with the chat template, or text continued as is (`--raw`). */
export type Prompt =
  | { readonly kind: 'chat'; readonly messages: readonly ChatMessage[] }
  | { readonly kind: 'raw'; readonly text: string };

export interface CacheSettings {
  /** Sink slots, or `auto`: tokens through the end of the system prompt, at least 4. */
  readonly sink: number | 'auto';
  /** Ring slots; default min(2048, ⌊maxPos/2⌋ − S). */
  readonly window?: number;
  readonly positions: PositionsMode;
  readonly journalTokens?: number;
  readonly chunkSize?: number;
  /** Pin slots after the ring (DESIGN §3 "Pinned memory"), at most W; default ⌊W/4⌋. */
  readonly pinBudget?: number;
}

/** Equal cache settings mean a stream can continue; any difference needs a new stream (a new geometry). */
export function sameCacheSettings(a: Readonly<CacheSettings>, b: Readonly<CacheSettings>): boolean {
  return a.sink === b.sink && a.window === b.window && a.positions === b.positions && a.journalTokens === b.journalTokens && a.chunkSize === b.chunkSize && a.pinBudget === b.pinBudget;
}

export interface GenerateOptions {
  readonly sampling: SamplingParams;
  readonly maxTokens: number;
  readonly stop?: readonly string[];
  /**
   * A soft length: once the reply has this many tokens, it ends before the next token that starts with
   * whitespace (a new word, line or sentence), so it does not stop mid-word; that token is sampled but
   * neither shown nor fed, as an end token. `maxTokens` stays the hard limit. Reason: `max`.
   */
  readonly endAtWordAfter?: number;
}

/**
 * A generated token. The last event of a reply may have `id` -1 and `slot` -1: text held back until the
 * end (an incomplete character, or the start of a stop string that never completed) released as is.
 */
export interface TokenEvent {
  readonly id: number;
  /** Text this token completed (may be empty while a multi-byte character or a possible stop string is pending). */
  readonly text: string;
  /** Original position the token occupies in the stream, and the cache slot it is written to. */
  readonly pos: number;
  readonly slot: number;
}
