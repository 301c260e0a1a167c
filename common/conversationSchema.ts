// Runtime schemas and types of conversations and of the records of a conversation file (JSONL).
// Pure data (zod only): storage, the IPC contract and the renderer import it alike.

import { z } from 'zod';
import { ConversationSettingsSchema } from './settingsSchema';

/** The conversation file format this code writes; a header with a higher version is refused. */
export const CONVERSATION_FORMAT_VERSION = 1;

/** A conversation id doubles as a file name, so it is restricted to characters safe everywhere. */
export const ConversationIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a conversation id is 1-64 letters, digits, "_" or "-"');
export const MessageIdSchema = z
  .string()
  .min(1, 'a message id is not empty')
  .max(128, 'a message id is at most 128 characters');
/** Milliseconds since the Unix epoch. */
export const TimestampSchema = z.int().min(0);
export const TitleSchema = z.string().max(500, 'a title is at most 500 characters');

export const MessageRoleSchema = z.enum(['system', 'user', 'assistant']);
/** `streaming` in a loaded conversation with no open writer means the app stopped mid-reply: show it as interrupted. */
export const MessageStatusSchema = z.enum(['complete', 'streaming', 'stopped', 'error']);

/** Generation stats of an assistant reply (DESIGN §2 Stats). */
export const MessageStatsSchema = z.object({
  tokens: z.int().min(0),
  tokPerSec: z.number().min(0),
  ttftMs: z.number().min(0),
  /** Tokens the engine had to prefill again (edits beyond the undo journal, template changes). */
  reprocessedTokens: z.int().min(0),
});

/** One message as the UI shows it. */
export const MessageSchema = z.object({
  id: MessageIdSchema,
  role: MessageRoleSchema,
  content: z.string(),
  createdAt: TimestampSchema,
  status: MessageStatusSchema,
  stats: MessageStatsSchema.optional(),
  /** The message this one followed when it was written: the thread survives in the file across edits. */
  parentId: MessageIdSchema.optional(),
  /** For status `error`: what went wrong, for the user. */
  error: z.string().optional(),
  /** For status `complete`: what ended the reply (its end token, a stop string, the token limit). */
  endReason: z.enum(['eos', 'stop', 'max']).optional(),
});

/** Characters [start, end) of a message's source text (its markdown, as stored). */
export const CharSpanSchema = z
  .object({ start: z.int().min(0), end: z.int().min(1) })
  .refine((c) => c.start < c.end, 'a character span ends after it starts');

/**
 * A message, or characters `chars` of it, pinned to the model's memory (DESIGN §3 "Pinned memory"): the
 * tokens spelling it stay visible to the model for the rest of the conversation (a span that cuts a token
 * pins the whole token).
 */
export const PinSchema = z.object({ messageId: MessageIdSchema, chars: CharSpanSchema.optional() });

/** A conversation folded from its file: the state the UI shows, and the JSON export format. */
export const ConversationSchema = z.object({
  id: ConversationIdSchema,
  title: TitleSchema,
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  modelId: z.string().min(1).optional(),
  settings: ConversationSettingsSchema.optional(),
  messages: z.array(MessageSchema),
  /** Pinned messages and spans, in the order they were pinned; absent when none is. */
  pins: z.array(PinSchema).optional(),
  /**
   * Reply versions: every reply written to a message of the thread, by that message's id, oldest first,
   * where a regenerate left two or more (the thread shows one of them). Folded from the file: a truncate
   * keeps the replies it drops here, and showing another version is a truncate and that reply's record
   * again, so older files and readers fold the same thread.
   */
  replyVersions: z.record(MessageIdSchema, z.array(MessageSchema)).optional(),
});

/** A row of the conversation list. `problem` is set when the file is damaged (then only part of it is readable). */
export const ConversationSummarySchema = z.object({
  id: ConversationIdSchema,
  title: TitleSchema,
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  messageCount: z.int().min(0),
  preview: z.string(),
  problem: z.string().optional(),
});

// ---- File records. Line 1 is the header; every later line is one body record. ----

export const HeaderRecordSchema = z.object({
  type: z.literal('header'),
  version: z.int().min(1),
  id: ConversationIdSchema,
  title: TitleSchema,
  createdAt: TimestampSchema,
  modelId: z.string().min(1).optional(),
  settings: ConversationSettingsSchema.optional(),
});

/**
 * A message, or a new version of one: a record whose id is already in the conversation replaces that
 * message in place (how a streamed reply is finalised). `updatedAt` marks such a replacement.
 */
export const MessageRecordSchema = MessageSchema.extend({
  type: z.literal('message'),
  updatedAt: TimestampSchema.optional(),
});

/** Streamed text appended to a message that is still `streaming`. */
export const ChunkRecordSchema = z.object({
  type: z.literal('chunk'),
  messageId: MessageIdSchema,
  text: z.string(),
  at: TimestampSchema,
});

/** A change of header fields: a new title, model or overrides (`null` clears the model or the overrides). */
export const UpdateRecordSchema = z.object({
  type: z.literal('update'),
  at: TimestampSchema,
  title: TitleSchema.optional(),
  modelId: z.string().min(1).nullable().optional(),
  settings: ConversationSettingsSchema.nullable().optional(),
  /** The pinned messages from now on (replaces the list; empty: none). */
  pins: z.array(PinSchema).optional(),
});

/**
 * Drops every message after `afterMessageId` (`null`: every message). Edit-and-resend and regenerate
 * are a truncate followed by the new messages, so the file stays append-only and keeps old versions.
 */
export const TruncateRecordSchema = z.object({
  type: z.literal('truncate'),
  at: TimestampSchema,
  afterMessageId: MessageIdSchema.nullable(),
});

export const BodyRecordSchema = z.discriminatedUnion('type', [
  MessageRecordSchema,
  ChunkRecordSchema,
  UpdateRecordSchema,
  TruncateRecordSchema,
]);

export type MessageRole = z.output<typeof MessageRoleSchema>;
export type MessageStatus = z.output<typeof MessageStatusSchema>;
export type MessageStats = z.output<typeof MessageStatsSchema>;
export type Message = z.output<typeof MessageSchema>;
export type CharSpan = z.output<typeof CharSpanSchema>;
export type Pin = z.output<typeof PinSchema>;
export type Conversation = z.output<typeof ConversationSchema>;
export type ConversationSummary = z.output<typeof ConversationSummarySchema>;
export type HeaderRecord = z.output<typeof HeaderRecordSchema>;
export type MessageRecord = z.output<typeof MessageRecordSchema>;
export type ChunkRecord = z.output<typeof ChunkRecordSchema>;
export type UpdateRecord = z.output<typeof UpdateRecordSchema>;
export type TruncateRecord = z.output<typeof TruncateRecordSchema>;
export type BodyRecord = z.output<typeof BodyRecordSchema>;
