// Finds text in conversations (titles and message content) and cuts a snippet around each match.
// Runs in the main process (storage); pure functions.

import type { Conversation, MessageRole } from '../../common/conversationSchema';

/** Where the match sits inside `snippet`, in UTF-16 units (for highlighting). */
export interface SnippetMatch {
  readonly start: number;
  readonly length: number;
}

/** One search result: a title match or a message match, with a one-line snippet. */
export type SearchHit =
  | {
      readonly kind: 'title';
      readonly conversationId: string;
      readonly conversationTitle: string;
      readonly updatedAt: number;
      readonly snippet: string;
      readonly match: SnippetMatch;
    }
  | {
      readonly kind: 'message';
      readonly conversationId: string;
      readonly conversationTitle: string;
      readonly updatedAt: number;
      readonly messageId: string;
      readonly role: MessageRole;
      readonly snippet: string;
      readonly match: SnippetMatch;
    };

export interface SearchOptions {
  /** Most hits in all (default 100). */
  readonly limit?: number;
  /** Most message hits per conversation (default 5), so one long conversation cannot crowd out the rest. */
  readonly perConversation?: number;
}

const BEFORE = 40;
const AFTER = 80;

/** Case-insensitive literal search of one conversation's title and messages. */
export function searchConversation(
  conversation: Readonly<Conversation>,
  query: string,
  perConversation: number,
): SearchHit[] {
  const pattern = literalPattern(query);
  if (!pattern) return [];
  const { id: conversationId, title: conversationTitle, updatedAt } = conversation;
  const base = { conversationId, conversationTitle, updatedAt };
  const hits: SearchHit[] = [];
  const title = snippetAt(conversation.title, pattern);
  if (title) hits.push({ kind: 'title', ...base, ...title });
  for (const message of conversation.messages) {
    if (hits.length - (title ? 1 : 0) >= perConversation) break;
    const found = snippetAt(message.content, pattern);
    if (found) hits.push({ kind: 'message', ...base, messageId: message.id, role: message.role, ...found });
  }
  return hits;
}

/** A case-insensitive regular expression matching `query` literally; null for a blank query. */
export function literalPattern(query: string): RegExp | null {
  const trimmed = query.trim();
  if (!trimmed) return null;
  // The `u` flag makes `i` fold case per code point, and indices stay those of the original text.
  return new RegExp(trimmed.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'iu');
}

function snippetAt(text: string, pattern: RegExp): { snippet: string; match: SnippetMatch } | null {
  const found = pattern.exec(text);
  if (!found) return null;
  const start = found.index;
  const end = start + found[0].length;
  const from = safeCut(text, Math.max(0, start - BEFORE));
  const to = safeCut(text, Math.min(text.length, end + AFTER));
  const before = `${from > 0 ? '…' : ''}${collapse(text.slice(from, start)).trimStart()}`;
  const matched = collapse(found[0]);
  const after = `${collapse(text.slice(end, to)).trimEnd()}${to < text.length ? '…' : ''}`;
  return { snippet: before + matched + after, match: { start: before.length, length: matched.length } };
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ');
}

/** Moves a cut off the second half of a surrogate pair, so a snippet never holds half an emoji. */
function safeCut(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return index > 0 && index < text.length && code >= 0xdc00 && code <= 0xdfff ? index - 1 : index;
}
