// Renders a conversation as Markdown or JSON for the user to save or share.
// Runs in the main process (storage); pure functions.

import { ConversationSchema } from '../../common/conversationSchema';
import type { Conversation, Message } from '../../common/conversationSchema';

const ROLE_HEADINGS: Readonly<Record<Message['role'], string>> = {
  system: 'System',
  user: 'User',
  assistant: 'Assistant',
};

const STATUS_NOTES: Readonly<Record<Message['status'], string | null>> = {
  complete: null,
  streaming: '_(interrupted: the app stopped before this reply ended)_',
  stopped: '_(stopped)_',
  error: '_(failed)_',
};

/**
 * Markdown with the title as `#` and each message under a `##` heading naming its role. Message text
 * is copied verbatim (it is Markdown already, fenced code included); a fence an interrupted reply left
 * open is closed, so it cannot swallow the messages after it.
 */
export function conversationToMarkdown(conversation: Readonly<Conversation>): string {
  const parts: string[] = [`# ${oneLine(conversation.title) || 'Untitled conversation'}`];
  const facts = [`Exported from Ouro`, `started ${new Date(conversation.createdAt).toISOString()}`];
  if (conversation.modelId) facts.push(`model ${conversation.modelId}`);
  parts.push(`_${facts.join(' · ')}_`);
  for (const message of conversation.messages) {
    parts.push(`## ${ROLE_HEADINGS[message.role]}`);
    const body = closeOpenFence(message.content.replace(/\s+$/, ''));
    if (body) parts.push(body);
    const note = STATUS_NOTES[message.status];
    if (note) parts.push(message.status === 'error' && message.error ? `${note} ${oneLine(message.error)}` : note);
  }
  return `${parts.join('\n\n')}\n`;
}

/** The conversation as JSON in the {@link ConversationSchema} shape (validated on the way out). */
export function conversationToJson(conversation: Readonly<Conversation>): string {
  return `${JSON.stringify(ConversationSchema.parse(conversation), null, 2)}\n`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Appends a closing fence if `text` ends inside a fenced code block (CommonMark fence rules, simplified). */
function closeOpenFence(text: string): string {
  let open: { char: string; length: number } | null = null;
  for (const line of text.split('\n')) {
    const fence = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (!fence) continue;
    const marker = fence[1];
    if (!open) {
      // A backtick fence's info string may not contain backticks.
      if (marker[0] === '`' && fence[2].includes('`')) continue;
      open = { char: marker[0], length: marker.length };
    } else if (marker[0] === open.char && marker.length >= open.length && fence[2].trim() === '') {
      open = null;
    }
  }
  return open ? `${text}\n${open.char.repeat(open.length)}` : text;
}
