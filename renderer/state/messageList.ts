// Pure reducers over a conversation's message array: upserts from `message` events, the state change a
// new stream makes (send, regenerate, edit), and how a finished stream becomes a stored reply. Renderer.
import type { Conversation, DoneReason, GenerationStats, Message, StreamStart } from '../../common/contract';
import type { MessageStats } from '../../common/conversationSchema';

/** What the user did to start a stream; decides which messages the new reply replaces. */
export type StreamKind = 'send' | 'regenerate' | 'edit';

/** How a stream ended: the engine's done/error event, or main's stored final version of the reply. */
export type StreamOutcome =
  | { readonly kind: 'done'; readonly reason: DoneReason; readonly stats: GenerationStats }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'message'; readonly message: Message };

/** A message's status as the UI shows it: a `streaming` message with no live stream was interrupted. */
export type DisplayStatus = 'complete' | 'streaming' | 'stopped' | 'error' | 'interrupted';

/** Replaces the message with the same id in place, else appends it. */
export function upsertMessage(messages: readonly Message[], message: Message): readonly Message[] {
  const index = findMessage(messages, message.id);
  if (index < 0) return [...messages, message];
  if (messages[index] === message) return messages;
  const next = messages.slice();
  next[index] = message;
  return next;
}

/** Index of the message with `id`, searching from the end (recent messages change most), or -1. */
export function findMessage(messages: readonly Message[], id: string): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].id === id) return i;
  return -1;
}

/**
 * The messages once a stream has started. `send` appends the stored user message and the reply;
 * `regenerate` drops what follows the last user message; `edit` drops the edited message and all
 * after it. Copies that `message` events appended early are dropped with the rest, so nothing doubles.
 */
export function applyStreamStart(
  messages: readonly Message[],
  start: Readonly<StreamStart>,
  kind: StreamKind,
  editedId?: string,
): readonly Message[] {
  let kept: readonly Message[];
  if (kind === 'regenerate') {
    let lastUser = -1;
    for (let i = messages.length - 1; i >= 0; i--) {
      if (messages[i].role === 'user' && messages[i].id !== start.reply.id) {
        lastUser = i;
        break;
      }
    }
    kept = messages.slice(0, lastUser + 1);
  } else if (kind === 'edit') {
    const edited = editedId === undefined ? -1 : findMessage(messages, editedId);
    kept = edited < 0 ? withoutIds(messages, start) : messages.slice(0, edited);
  } else {
    kept = withoutIds(messages, start);
  }
  const added = start.userMessage ? [start.userMessage, start.reply] : [start.reply];
  return [...withoutIds(kept, start), ...added];
}

function withoutIds(messages: readonly Message[], start: Readonly<StreamStart>): readonly Message[] {
  const userId = start.userMessage?.id;
  return messages.filter((m) => m.id !== start.reply.id && m.id !== userId);
}

/** The footer stats of a reply from the engine's generation stats. */
export function statsFromGeneration(stats: Readonly<GenerationStats>): MessageStats {
  return {
    tokens: stats.decodeTokens,
    tokPerSec: stats.decodeTokPerSec,
    ttftMs: stats.timeToFirstTokenMs,
    reprocessedTokens: stats.reprocessedTokens,
  };
}

/** The reply as it stands once its stream ended with `outcome`, given the text streamed so far. */
export function finalizeReply(reply: Message, text: string, outcome: StreamOutcome): Message {
  switch (outcome.kind) {
    case 'message':
      return outcome.message;
    case 'done':
      return {
        ...reply,
        content: text,
        status: outcome.reason === 'cancelled' ? 'stopped' : 'complete',
        stats: statsFromGeneration(outcome.stats),
      };
    case 'error':
      return { ...reply, content: text, status: 'error', error: outcome.message };
  }
}

/** The status to show for `message`; `live` says whether it is the reply streaming right now. */
export function displayStatus(message: Readonly<Message>, live: boolean): DisplayStatus {
  if (message.status === 'streaming') return live ? 'streaming' : 'interrupted';
  return message.status;
}

/** Index of the reply that Regenerate may replace: the last message when it is an assistant's, else -1. */
export function regenerableIndex(messages: readonly Message[]): number {
  const last = messages.length - 1;
  return last >= 0 && messages[last].role === 'assistant' ? last : -1;
}

/** What an untitled conversation is called until its first message names it. */
export const UNTITLED = 'New conversation';

/** A conversation title from the first line of its first message. */
export function titleFromMessage(content: string): string {
  const line = content.trim().split('\n', 1)[0].replace(/\s+/g, ' ');
  return line.length > 60 ? `${line.slice(0, 57).trimEnd()}…` : line;
}

/** Reply versions by the id of the message they answer (Conversation.replyVersions). */
export type ReplyVersions = NonNullable<Conversation['replyVersions']>;

/**
 * The reply versions once a regenerate started `reply` on `messages` (the thread before it): the reply it
 * replaces joins the versions of the message they answer (as the conversation file folds it), then `reply`.
 */
export function versionsAfterRegenerate(versions: Readonly<ReplyVersions> | undefined, messages: readonly Message[], reply: Message): ReplyVersions {
  const replaced = messages.at(-1);
  const all: ReplyVersions = { ...versions };
  if (replaced?.role !== 'assistant' || replaced.parentId === undefined) return all;
  const list = (all[replaced.parentId] ?? []).filter((m) => m.id !== replaced.id && m.id !== reply.id);
  const at = all[replaced.parentId]?.findIndex((m) => m.id === replaced.id) ?? -1;
  list.splice(at < 0 ? list.length : at, 0, replaced);
  all[replaced.parentId] = [...list, { ...reply, parentId: replaced.parentId }];
  return all;
}

/** Where `reply` stands among the versions of its message (`index` 0-based), or null when it has no others. */
export function versionOf(versions: Readonly<ReplyVersions> | undefined, reply: Readonly<Message>): { index: number; ids: readonly string[] } | null {
  const list = reply.parentId === undefined ? undefined : versions?.[reply.parentId];
  const index = list?.findIndex((m) => m.id === reply.id) ?? -1;
  return list && list.length > 1 && index >= 0 ? { index, ids: list.map((m) => m.id) } : null;
}
