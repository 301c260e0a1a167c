// Folds the records of a conversation file into the conversation, tolerating a torn last line.
// Runs in the main process (storage); pure functions over bytes, no I/O.

import { BodyRecordSchema, CONVERSATION_FORMAT_VERSION, HeaderRecordSchema } from '../../common/conversationSchema';
import type { BodyRecord, Conversation, HeaderRecord, Message, Pin } from '../../common/conversationSchema';

/** Where a file stops being readable, with a 1-based line number. */
export interface LineProblem {
  readonly line: number;
  readonly reason: string;
}

/** The state of one conversation file after replay. */
export interface ReplayResult {
  /** The conversation as far as the file could be read. */
  readonly conversation: Conversation;
  /** Bytes at the start of the file that hold accepted records: the next append is written here. */
  readonly validBytes: number;
  /** The last accepted record lacks its newline (the crash fell between the record and its `\n`). */
  readonly needsNewline: boolean;
  /** A torn or invalid last line that was left out; the file is cut back to `validBytes` on the next append. */
  readonly dropped?: LineProblem & { readonly bytes: number };
  /** An invalid line before the last one (or no valid header): what precedes it is in `conversation`. */
  readonly damage?: LineProblem;
}

const NEWLINE = 0x0a;
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Replays a conversation file. Only the last line may be bad, because appends are sequential and
 * fsynced: a bad last line is a crash artefact and is dropped. A bad line before it is damage from
 * elsewhere; replay stops there instead of folding later records (which may depend on the lost one)
 * into a silently wrong state.
 */
export function replayConversation(bytes: Uint8Array, id: string): ReplayResult {
  const lines = splitLines(bytes);
  const lastContent = lines.findLastIndex((l) => l.end > l.start);
  let conversation: Conversation | undefined;
  let validBytes = 0;
  let needsNewline = false;
  for (let i = 0; i <= lastContent; i++) {
    const line = lines[i];
    if (line.end === line.start) {
      validBytes = line.next;
      continue;
    }
    const parsed = conversation ? parseBody(bytes, line) : parseHeader(bytes, line);
    if (!parsed.ok) {
      const problem = { line: i + 1, reason: parsed.reason };
      if (!conversation) return damaged(emptyConversation(id), problem, validBytes);
      if (i === lastContent) {
        const dropped = { ...problem, bytes: bytes.length - line.start };
        return { conversation, validBytes, needsNewline, dropped };
      }
      return damaged(conversation, problem, validBytes);
    }
    if (parsed.header) conversation = conversationFromHeader(parsed.header, id);
    else if (conversation && parsed.body) applyRecord(conversation, parsed.body);
    validBytes = line.next;
    needsNewline = !line.terminated;
  }
  if (!conversation) return damaged(emptyConversation(id), { line: 1, reason: 'the file is empty' }, 0);
  return { conversation, validBytes, needsNewline };
}

/** Applies one body record to `conversation` in place (the same fold for replay and for live writes). */
export function applyRecord(conversation: Conversation, record: Readonly<BodyRecord>): void {
  const messages = conversation.messages;
  switch (record.type) {
    case 'message': {
      const { type: _type, updatedAt, ...message } = record;
      const index = messages.findIndex((m) => m.id === message.id);
      if (index >= 0) messages[index] = message;
      else messages.push(message);
      keepVersion(conversation, message, false);
      touch(conversation, updatedAt ?? message.createdAt);
      break;
    }
    case 'chunk': {
      const message = messages.find((m) => m.id === record.messageId);
      // A chunk for a message that was finalised or truncated away changes nothing.
      if (message?.status === 'streaming') message.content += record.text;
      touch(conversation, record.at);
      break;
    }
    case 'update':
      if (record.title !== undefined) conversation.title = record.title;
      if (record.modelId === null) delete conversation.modelId;
      else if (record.modelId !== undefined) conversation.modelId = record.modelId;
      if (record.settings === null) delete conversation.settings;
      else if (record.settings !== undefined) conversation.settings = record.settings;
      if (record.pins !== undefined) setPins(conversation, record.pins);
      touch(conversation, record.at);
      break;
    case 'truncate': {
      const index = record.afterMessageId === null ? -1 : messages.findIndex((m) => m.id === record.afterMessageId);
      if (record.afterMessageId === null || index >= 0) {
        // The replies it drops stay as versions of the message they answered (regenerate keeps them).
        for (const dropped of messages.splice(index + 1)) keepVersion(conversation, dropped, true);
        pruneVersions(conversation);
      }
      // A pin of a message cut away goes with it.
      if (conversation.pins) setPins(conversation, conversation.pins);
      touch(conversation, record.at);
      break;
    }
  }
}

/** Sets the pins of messages the conversation holds; none leaves the field out. */
function setPins(conversation: Conversation, pins: readonly Pin[]): void {
  const kept = pins.filter((p) => conversation.messages.some((m) => m.id === p.messageId));
  if (kept.length > 0) conversation.pins = kept;
  else delete conversation.pins;
}

/**
 * Files reply `message` among the versions of the message it answers: always when a truncate drops it
 * (`dropped`), otherwise only where that message has versions already (a new or updated one).
 */
function keepVersion(conversation: Conversation, message: Readonly<Message>, dropped: boolean): void {
  if (message.role !== 'assistant' || message.parentId === undefined) return;
  const versions = conversation.replyVersions?.[message.parentId];
  if (!versions && !dropped) return;
  const all = (conversation.replyVersions ??= {});
  const list = (all[message.parentId] = versions ?? []);
  const at = list.findIndex((m) => m.id === message.id);
  if (at >= 0) list[at] = message;
  else list.push(message);
}

/** Versions of messages no longer in the thread (an edit replaced them) are dropped. */
function pruneVersions(conversation: Conversation): void {
  const all = conversation.replyVersions;
  if (!all) return;
  const thread = new Set(conversation.messages.map((m) => m.id));
  for (const parentId of Object.keys(all)) if (!thread.has(parentId)) delete all[parentId];
  if (Object.keys(all).length === 0) delete conversation.replyVersions;
}

/** One record as a line of the file. */
export function encodeRecord(record: Readonly<HeaderRecord | BodyRecord>): string {
  return `${JSON.stringify(record)}\n`;
}

/** The conversation a header alone describes. The file's id wins, so a copied file stays addressable. */
export function conversationFromHeader(header: Readonly<HeaderRecord>, id: string): Conversation {
  const conversation: Conversation = {
    id,
    title: header.title,
    createdAt: header.createdAt,
    updatedAt: header.createdAt,
    messages: [] as Message[],
  };
  if (header.modelId !== undefined) conversation.modelId = header.modelId;
  if (header.settings !== undefined) conversation.settings = header.settings;
  return conversation;
}

interface Line {
  readonly start: number;
  /** End of the content, without the newline. */
  readonly end: number;
  /** Start of the next line. */
  readonly next: number;
  readonly terminated: boolean;
}

type Parsed =
  | { ok: true; header?: HeaderRecord; body?: BodyRecord }
  | { ok: false; reason: string };

function splitLines(bytes: Uint8Array): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start < bytes.length) {
    const nl = bytes.indexOf(NEWLINE, start);
    if (nl < 0) {
      lines.push({ start, end: bytes.length, next: bytes.length, terminated: false });
      break;
    }
    lines.push({ start, end: nl, next: nl + 1, terminated: true });
    start = nl + 1;
  }
  return lines;
}

function parseJson(bytes: Uint8Array, line: Line): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(decoder.decode(bytes.subarray(line.start, line.end))) };
  } catch (error) {
    return { ok: false, reason: error instanceof TypeError ? 'invalid UTF-8' : 'not valid JSON' };
  }
}

function parseHeader(bytes: Uint8Array, line: Line): Parsed {
  const json = parseJson(bytes, line);
  if (!json.ok) return json;
  const header = HeaderRecordSchema.safeParse(json.value);
  if (!header.success) {
    return { ok: false, reason: `not an Ouro conversation header (${describe(header.error.issues)})` };
  }
  if (header.data.version > CONVERSATION_FORMAT_VERSION) {
    return {
      ok: false,
      reason: `written by a newer Ouro (format ${header.data.version}; this one reads ${CONVERSATION_FORMAT_VERSION})`,
    };
  }
  return { ok: true, header: header.data };
}

function parseBody(bytes: Uint8Array, line: Line): Parsed {
  const json = parseJson(bytes, line);
  if (!json.ok) return json;
  const body = BodyRecordSchema.safeParse(json.value);
  if (!body.success) return { ok: false, reason: `invalid record (${describe(body.error.issues)})` };
  return { ok: true, body: body.data };
}

function describe(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

function damaged(conversation: Conversation, damage: LineProblem, validBytes: number): ReplayResult {
  return { conversation, validBytes, needsNewline: false, damage };
}

function emptyConversation(id: string): Conversation {
  return { id, title: '', createdAt: 0, updatedAt: 0, messages: [] };
}

function touch(conversation: Conversation, at: number): void {
  if (at > conversation.updatedAt) conversation.updatedAt = at;
}
