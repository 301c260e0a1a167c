// Conversations on disk: one append-only JSONL file per conversation under `<root>/conversations/`,
// plus the engine snapshot beside it. Runs in the main process (storage); plain Node, no electron.

import { randomUUID } from 'node:crypto';
import { mkdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConversationLog, damagedError, notFoundError } from './conversationLog';
import type { LogState } from './conversationLog';
import { conversationToJson, conversationToMarkdown } from './conversationExport';
import { searchConversation } from './conversationSearch';
import type { SearchHit, SearchOptions } from './conversationSearch';
import { ConversationStoreError, checkInput as check } from './conversationStoreError';
import {
  CONVERSATION_FORMAT_VERSION,
  ConversationIdSchema,
  HeaderRecordSchema,
  MessageIdSchema,
  MessageRecordSchema,
  TitleSchema,
  UpdateRecordSchema,
} from '../../common/conversationSchema';
import type {
  Conversation,
  ConversationSummary,
  Message,
  Pin,
  MessageRole,
  MessageStats,
  MessageStatus,
} from '../../common/conversationSchema';
import type { ConversationSettings } from '../../common/settingsSchema';
import { readSnapshotFile, writeSnapshotFile } from './snapshotFile';
import type { Snapshot, SnapshotMeta } from './snapshotFile';
import { KeyedQueue } from './keyedQueue';
import { DEFAULT_STREAM_TIMING, StreamWriter, type StreamTiming } from './streamWriter';
import { createStreamSink } from './conversationStreamSink';
import type { StorageWarningListener } from './storageWarning';

/** A loaded conversation; `recovered` is set when a torn last record was left out (crash while writing). */
export interface LoadedConversation extends Conversation {
  readonly recovered?: { readonly droppedBytes: number; readonly line: number; readonly reason: string };
}

/**
 * What {@link ConversationStore.loadReadable} returns: the conversation, or for a damaged file the part
 * before the damage with `damage` set (its message is for the user: where, why, what is left out).
 */
export interface ReadableConversation extends LoadedConversation {
  readonly damage?: { readonly line: number; readonly reason: string; readonly message: string };
}

/**
 * A message to append. The store fills what is left out: `id` (random), `createdAt` (now),
 * `status` (complete) and `parentId` (the last message).
 */
export interface NewMessage {
  readonly id?: string;
  readonly role: MessageRole;
  readonly content: string;
  readonly status?: MessageStatus;
  readonly stats?: MessageStats;
  readonly parentId?: string;
  readonly error?: string;
  readonly createdAt?: number;
}

/**
 * A conversation to create; `id` defaults to a random UUID, `title` to '' (untitled: the renderer names it
 * after its first message).
 */
export interface NewConversation {
  readonly id?: string;
  readonly title?: string;
  readonly modelId?: string;
  readonly settings?: ConversationSettings;
}

/** A change of a conversation's model or setting overrides: `null` clears, absent leaves as is. */
export interface ConversationSettingsChange {
  readonly modelId?: string | null;
  readonly settings?: ConversationSettings | null;
}

export interface ConversationStoreOptions {
  /** How often a streaming reply's text is written and fsynced (default {@link DEFAULT_STREAM_TIMING}). */
  readonly streamTiming?: Partial<StreamTiming>;
  readonly now?: () => number;
  readonly onWarning?: StorageWarningListener;
}

/**
 * Owns `<root>/conversations/`. Every write for a conversation goes through one queue, so records
 * never interleave. Damage policy: a torn last record (crash) is dropped on load and cut off on the
 * next append; an invalid record before the last one makes `load` throw `damaged` (with the
 * readable part in `details.partial`) and every write refuse, leaving the file as it is.
 */
export class ConversationStore {
  /** `<root>/conversations`. */
  readonly dir: string;
  private readonly log: ConversationLog;
  private readonly queue = new KeyedQueue();
  private readonly writers = new Set<StreamWriter>();
  private readonly streamTiming: StreamTiming;
  private readonly now: () => number;
  private readonly onWarning?: StorageWarningListener;

  constructor(rootDir: string, options: ConversationStoreOptions = {}) {
    this.dir = join(rootDir, 'conversations');
    this.streamTiming = { ...DEFAULT_STREAM_TIMING, ...options.streamTiming };
    this.now = options.now ?? Date.now;
    this.onWarning = options.onWarning;
    this.log = new ConversationLog(this.dir, options.onWarning);
  }

  /** Starts a conversation file (header only). */
  async create(init: Readonly<NewConversation> = {}): Promise<Conversation> {
    const header = check(
      HeaderRecordSchema,
      {
        type: 'header',
        version: CONVERSATION_FORMAT_VERSION,
        id: init.id ?? randomUUID(),
        title: init.title ?? '',
        createdAt: this.now(),
        ...(init.modelId === undefined ? {} : { modelId: init.modelId }),
        ...(init.settings === undefined ? {} : { settings: init.settings }),
      },
      'conversation',
    );
    await mkdir(this.dir, { recursive: true });
    return this.queue.run(header.id, () => this.log.create(header));
  }

  /** Every conversation, newest change first. Damaged files are listed with `problem` set. */
  async list(): Promise<ConversationSummary[]> {
    const rows = await Promise.all((await this.log.listIds()).map((id) => this.ifPresent(id, () => this.log.summary(id))));
    return rows
      .filter((row): row is ConversationSummary => row !== null)
      .sort((a, b) => b.updatedAt - a.updatedAt || a.id.localeCompare(b.id));
  }

  /** The conversation with every record folded in. @throws `not_found`, or `damaged` (see the class note). */
  async load(id: string): Promise<LoadedConversation> {
    return this.queue.run(checkId(id), async () => {
      const state = await this.log.read(id);
      if (state.damage) throw damagedError(this.log.pathOf(id), state);
      return this.readable(id, state);
    });
  }

  /**
   * Like `load`, but a damaged file gives its readable part (the records before the damaged line) with
   * `damage` set instead of an error: to show it read-only and to export it.
   * @throws `not_found`.
   */
  async loadReadable(id: string): Promise<ReadableConversation> {
    return this.queue.run(checkId(id), async () => this.readable(id, await this.log.read(id)));
  }

  /** Appends a complete message (fsynced). @throws `duplicate_message` if the id is taken. */
  async appendMessage(id: string, input: Readonly<NewMessage>): Promise<Message> {
    return this.queue.run(checkId(id), async () => {
      const state = await this.log.read(id);
      const messages = state.conversation.messages;
      const record = check(
        MessageRecordSchema,
        {
          type: 'message',
          ...input,
          id: input.id ?? randomUUID(),
          createdAt: input.createdAt ?? this.now(),
          status: input.status ?? 'complete',
          parentId: input.parentId ?? messages.at(-1)?.id,
        },
        'message',
      );
      if (messages.some((m) => m.id === record.id)) throw duplicate(record.id);
      await this.log.append(id, [record], true);
      const { type: _type, updatedAt: _updatedAt, ...message } = record;
      return structuredClone(message);
    });
  }

  /**
   * Starts a streaming message (status `streaming`, empty) and returns its writer. A crash before
   * `end` leaves it `streaming` with the text of the last flush: show it as interrupted.
   */
  async beginStreaming(
    id: string,
    messageId: string,
    options: Readonly<{ role?: MessageRole; parentId?: string }> = {},
  ): Promise<StreamWriter> {
    const msgId = check(MessageIdSchema, messageId, 'message id');
    return this.queue.run(checkId(id), async () => {
      const state = await this.log.read(id);
      const messages = state.conversation.messages;
      const open = [...this.writers].some((w) => w.conversationId === id && w.messageId === msgId);
      if (open || messages.some((m) => m.id === msgId)) throw duplicate(msgId);
      const start = {
        type: 'message' as const,
        id: msgId,
        role: options.role ?? 'assistant',
        content: '',
        createdAt: this.now(),
        status: 'streaming' as const,
      };
      const parentId = options.parentId ?? messages.at(-1)?.id;
      const record = parentId === undefined ? start : { ...start, parentId };
      await this.log.append(id, [record], false);
      const sink = createStreamSink({
        id,
        start: record,
        log: this.log,
        queue: this.queue,
        now: this.now,
        onWarning: this.onWarning,
        onClosed: () => this.writers.delete(writer),
      });
      const writer: StreamWriter = new StreamWriter(id, msgId, sink, this.streamTiming);
      this.writers.add(writer);
      return writer;
    });
  }

  /** Renames a conversation. */
  async rename(id: string, title: string): Promise<void> {
    return this.appendUpdate(id, { title: check(TitleSchema, title, 'title') });
  }

  /** Sets or clears the conversation's model and setting overrides. */
  async updateSettings(id: string, change: Readonly<ConversationSettingsChange>): Promise<void> {
    return this.appendUpdate(id, change);
  }

  /** Sets the conversation's pinned messages (the whole list; empty: none). */
  async updatePins(id: string, pins: readonly Pin[]): Promise<void> {
    return this.appendUpdate(id, { pins });
  }

  /**
   * Drops every message after `afterMessageId` (`null`: all). Regenerate = truncate after the user
   * message, then stream a new reply; edit-and-resend = truncate after the message before the edited
   * one, then append the edited copy (a new id). Old versions stay in the file.
   * @throws `unknown_message` if `afterMessageId` is not in the conversation.
   */
  async truncateAfter(id: string, afterMessageId: string | null): Promise<void> {
    return this.queue.run(checkId(id), async () => {
      const state = await this.log.read(id);
      if (afterMessageId !== null && !state.conversation.messages.some((m) => m.id === afterMessageId)) {
        throw new ConversationStoreError('unknown_message', `Message ${afterMessageId} is not in conversation ${id}.`);
      }
      await this.log.append(id, [{ type: 'truncate', at: this.now(), afterMessageId }], true);
    });
  }

  /**
   * Shows reply version `messageId` of message `parentId` (see Conversation.replyVersions): drops what
   * follows `parentId` (kept as versions) and writes that reply's record again. Returns the conversation.
   * @throws `unknown_message` if `parentId` is not in the thread or has no such reply version.
   */
  async showVersion(id: string, parentId: string, messageId: string): Promise<Conversation> {
    return this.queue.run(checkId(id), async () => {
      const state = await this.log.read(id);
      if (state.damage) throw damagedError(this.log.pathOf(id), state);
      const { conversation } = state;
      const version = conversation.replyVersions?.[parentId]?.find((m) => m.id === messageId);
      if (!version || !conversation.messages.some((m) => m.id === parentId)) {
        throw new ConversationStoreError('unknown_message', `Message ${parentId} of conversation ${id} has no reply ${messageId}.`);
      }
      const at = this.now();
      await this.log.append(id, [{ type: 'truncate', at, afterMessageId: parentId }, { type: 'message', ...version, updatedAt: at }], true);
      return this.readable(id, await this.log.read(id));
    });
  }

  /** Removes the conversation file and its snapshot. Open writers for it are detached. */
  async delete(id: string): Promise<void> {
    await this.queue.run(checkId(id), async () => {
      const path = this.log.pathOf(id);
      this.log.forget(id);
      try {
        await unlink(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        throw notFoundError(id, path);
      }
    });
    await this.queue.run(snapshotKey(id), () => unlinkIfPresent(this.snapshotPath(id)));
  }

  /** Case-insensitive search of titles and message text, newest conversations first. */
  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    const limit = options.limit ?? 100;
    const states = await Promise.all((await this.log.listIds()).map((id) => this.ifPresent(id, () => this.log.read(id))));
    const hits = states
      .filter((s): s is LogState => s !== null)
      .map((s) => s.conversation)
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .flatMap((c) => searchConversation(c, query, options.perConversation ?? 5));
    return hits.slice(0, limit);
  }

  /** The conversation as Markdown (roles as headings, message text verbatim); of a damaged file, what is readable. */
  async exportMarkdown(id: string): Promise<string> {
    const { damage, ...conversation } = await this.loadReadable(id);
    return conversationToMarkdown(conversation, damage && `The file is damaged at line ${damage.line} (${damage.reason}): only the messages before it are here.`);
  }

  /** The conversation as JSON in the `ConversationSchema` shape; of a damaged file, what is readable. */
  async exportJson(id: string): Promise<string> {
    const { recovered: _recovered, damage: _damage, ...conversation } = await this.loadReadable(id);
    return conversationToJson(conversation);
  }

  /** Where the engine snapshot of a conversation lives. Write and read it through the methods below. */
  snapshotPath(id: string): string {
    return join(this.dir, `${checkId(id)}.kv`);
  }

  /** Stores an engine snapshot atomically (a crash leaves the old one or the new one). */
  async writeSnapshot(id: string, bytes: Uint8Array, meta: Readonly<SnapshotMeta>): Promise<void> {
    return this.queue.run(snapshotKey(checkId(id)), async () => {
      // A snapshot only lives beside its conversation (stat, not read: this queue is not the file's).
      const path = this.log.pathOf(id);
      await stat(path).catch((error: NodeJS.ErrnoException) => {
        throw error.code === 'ENOENT' ? notFoundError(id, path) : error;
      });
      await writeSnapshotFile(this.snapshotPath(id), bytes, meta);
    });
  }

  /** The stored snapshot, or null if there is none or it is unusable (reported as a warning). */
  async readSnapshot(id: string): Promise<Snapshot | null> {
    const path = this.snapshotPath(id);
    return this.queue.run(snapshotKey(id), async () => {
      const result = await readSnapshotFile(path);
      if (result.kind === 'ok') return result.snapshot;
      if (result.kind === 'invalid') {
        const message = `The saved engine state ${path} was ignored: ${result.reason}.`;
        this.onWarning?.({ kind: 'snapshot-invalid', file: path, message });
      }
      return null;
    });
  }

  /** Flushes every open stream and waits for all queued writes (call before quitting). */
  async close(): Promise<void> {
    await Promise.all([...this.writers].map((w) => w.flush()));
    await this.queue.idle();
  }

  /** Resolves when every write queued so far for `id` (or for every conversation) is done. */
  idle(id?: string): Promise<void> {
    return this.queue.idle(id);
  }

  /** A copy of the file's conversation with what its replay left out or stopped at. */
  private readable(id: string, state: Readonly<LogState>): ReadableConversation {
    let conversation: ReadableConversation = structuredClone(state.conversation);
    if (state.dropped) {
      const { bytes, line, reason } = state.dropped;
      conversation = { ...conversation, recovered: { droppedBytes: bytes, line, reason } };
    }
    if (state.damage) {
      const { line, reason } = state.damage;
      conversation = { ...conversation, damage: { line, reason, message: damagedError(this.log.pathOf(id), state).message } };
    }
    return conversation;
  }

  /** `read` run in the file's queue, or null if the file was deleted meanwhile. */
  private async ifPresent<T>(id: string, read: () => Promise<T>): Promise<T | null> {
    try {
      return await this.queue.run(id, read);
    } catch (error) {
      if (error instanceof ConversationStoreError && error.code === 'not_found') return null;
      throw error;
    }
  }

  private async appendUpdate(id: string, change: Readonly<Record<string, unknown>>): Promise<void> {
    return this.queue.run(checkId(id), async () => {
      const record = check(UpdateRecordSchema, { ...change, type: 'update', at: this.now() }, 'change');
      await this.log.append(id, [record], true);
    });
  }
}

function snapshotKey(id: string): string {
  return `${id}#snapshot`;
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function checkId(id: string): string {
  return check(ConversationIdSchema, id, 'conversation id');
}

function duplicate(messageId: string): ConversationStoreError {
  const message = `A message with id ${messageId} already exists in this conversation.`;
  return new ConversationStoreError('duplicate_message', message);
}
