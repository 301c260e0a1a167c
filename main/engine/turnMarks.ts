// Where a chat session's token stream can be cut back to, and which messages the stream holds there
// (engine host thread). Kept in session snapshots, so turn boundaries survive a restart.
import { createHash } from 'node:crypto';
import type { ChatMessage } from '../../common/chat';

/**
 * What a turn boundary holds: the conversation's first `messages` messages (checked by `digest`), with
 * the stream ending at `end`:
 * - `start`: the empty stream (messages 0);
 * - `prompt`: after the generation prompt that follows those messages;
 * - `reply`: after the fed text of the last of them, an assistant reply, before the template's end of
 *   its turn. `rest` is the reply's text the stream does not hold yet (its last sampled token, characters
 *   held back at its end) and `pending` that token when feeding it spells exactly `rest`.
 */
export type TurnMark =
  | { readonly end: 'start'; readonly messages: 0; readonly digest: string }
  | { readonly end: 'prompt'; readonly messages: number; readonly digest: string }
  | { readonly end: 'reply'; readonly messages: number; readonly digest: string; readonly rest: string; readonly pending: number | null };

/** A place the stream can be cut back to: `tokens` fed tokens whose text is `fedText.slice(0, chars)`. */
export interface Cut {
  readonly tokens: number;
  readonly chars: number;
  /** Turn boundaries are kept for the whole conversation; token cuts only for the latest reply. */
  readonly kind: 'turn' | 'token';
  /** For chat turns: what the stream holds here (raw-text turns have none). */
  readonly turn?: TurnMark;
}

/** The digest of no messages; each further message is chained onto the previous digest. */
export const EMPTY_DIGEST = '';

/** The digest of `previous`'s messages followed by `message`. */
export function chainDigest(previous: string, message: Readonly<ChatMessage>): string {
  return createHash('sha256').update(previous).update('\0').update(message.role).update('\0').update(message.content).digest('base64url');
}

/** Digests of every prefix of `messages`: entry k covers messages[0..k). */
export function prefixDigests(messages: readonly Readonly<ChatMessage>[]): string[] {
  const digests = [EMPTY_DIGEST];
  for (const m of messages) digests.push(chainDigest(digests[digests.length - 1], m));
  return digests;
}

/** The stream's first cut: nothing fed, no messages held. */
export function startCut(): Cut {
  return { tokens: 0, chars: 0, kind: 'turn', turn: { end: 'start', messages: 0, digest: EMPTY_DIGEST } };
}
