// The conversation files on disk: cached replay of each file and append-only writes that repair a torn tail.
// Runs in the main process (storage); plain Node, no electron. Callers serialise calls per id.

import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAll, writeFileAtomic } from './atomicFile';
import { ConversationStoreError } from './conversationStoreError';
import { applyRecord, conversationFromHeader, encodeRecord, replayConversation } from './conversationReplay';
import type { ReplayResult } from './conversationReplay';
import { ConversationIdSchema } from '../../common/conversationSchema';
import type { BodyRecord, Conversation, ConversationSummary, HeaderRecord } from '../../common/conversationSchema';
import type { StorageWarningListener } from './storageWarning';

/** A replayed file plus what this process last saw of it (to notice changes made by anyone else). */
export interface LogState extends ReplayResult {
  /** Owned by the log; mutated in place by appends. Clone before handing it out. */
  readonly conversation: Conversation;
  readonly fileSize: number;
  readonly mtimeMs: number;
}

/**
 * Reads and appends conversation files. Not safe for concurrent calls on one id: the store runs
 * every call for an id through its queue.
 */
export class ConversationLog {
  private readonly states = new Map<string, LogState>();

  constructor(
    readonly dir: string,
    private readonly onWarning?: StorageWarningListener,
  ) {}

  pathOf(id: string): string {
    return join(this.dir, `${id}.jsonl`);
  }

  /** Writes a new file holding only the header (atomically, so a crash never leaves half a header). */
  async create(header: Readonly<HeaderRecord>): Promise<Conversation> {
    const path = this.pathOf(header.id);
    if (await exists(path)) {
      throw new ConversationStoreError('exists', `A conversation with id ${header.id} already exists.`, { file: path });
    }
    await writeFileAtomic(path, encodeRecord(header));
    this.states.delete(header.id);
    return conversationFromHeader(header, header.id);
  }

  /** The file's current state, replayed again only if the file changed since this log last saw it. */
  async read(id: string): Promise<LogState> {
    const path = this.pathOf(id);
    const cached = this.states.get(id);
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.states.delete(id);
        throw notFoundError(id, path);
      }
      throw error;
    }
    if (cached && cached.fileSize === info.size && cached.mtimeMs === info.mtimeMs) return cached;
    const bytes = await readFile(path);
    const state: LogState = { ...replayConversation(bytes, id), fileSize: bytes.length, mtimeMs: info.mtimeMs };
    this.states.set(id, state);
    return state;
  }

  /**
   * Appends records after the last valid one: a torn tail left by a crash is cut off first (and
   * reported), a final record missing its newline gets one. `sync` fsyncs the data before returning.
   */
  async append(id: string, records: readonly BodyRecord[], sync: boolean): Promise<void> {
    const state = await this.read(id);
    const path = this.pathOf(id);
    if (state.damage) throw damagedError(path, state);
    const data = Buffer.from((state.needsNewline ? '\n' : '') + records.map(encodeRecord).join(''), 'utf8');
    const handle = await open(path, 'r+');
    try {
      if (state.fileSize > state.validBytes) {
        await handle.truncate(state.validBytes);
        const dropped = state.fileSize - state.validBytes;
        this.onWarning?.({
          kind: 'conversation-tail-dropped',
          file: path,
          droppedBytes: dropped,
          message:
            `The last ${dropped} bytes of ${path} were an incomplete record ` +
            '(the app stopped while writing) and were removed.',
        });
      }
      await writeAll(handle, data, state.validBytes);
      if (sync) await handle.datasync();
      const info = await handle.stat();
      for (const record of records) applyRecord(state.conversation, record);
      const validBytes = state.validBytes + data.length;
      const next = { validBytes, needsNewline: false, fileSize: info.size, mtimeMs: info.mtimeMs };
      this.states.set(id, { conversation: state.conversation, ...next });
    } catch (error) {
      // The file may now end in a partial record: replay it from disk next time, which repairs it.
      this.states.delete(id);
      throw error;
    } finally {
      await handle.close();
    }
  }

  forget(id: string): void {
    this.states.delete(id);
  }

  /** Ids of the conversation files in the folder (none if the folder does not exist yet). */
  async listIds(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((n) => n.endsWith('.jsonl'))
      .map((n) => n.slice(0, -'.jsonl'.length))
      .filter((id) => ConversationIdSchema.safeParse(id).success);
  }
}

/** The list row of a file: for a damaged one, its readable part, the file's time and the problem. */
export function summarize(path: string, state: Readonly<LogState>): ConversationSummary {
  const c = state.conversation;
  const last = c.messages.findLast((m) => m.content.trim() !== '');
  const flat = last ? last.content.replace(/\s+/g, ' ').trim() : '';
  const summary: ConversationSummary = {
    id: c.id,
    title: c.title,
    createdAt: c.createdAt,
    updatedAt: state.damage ? Math.max(c.updatedAt, Math.floor(state.mtimeMs)) : c.updatedAt,
    messageCount: c.messages.length,
    preview: flat.length > 120 ? `${flat.slice(0, 119)}…` : flat,
  };
  return state.damage ? { ...summary, problem: damagedError(path, state).message } : summary;
}

/** The error for a conversation whose file is missing. */
export function notFoundError(id: string, path: string): ConversationStoreError {
  const message = `Conversation ${id} does not exist (no file ${path}).`;
  return new ConversationStoreError('not_found', message, { file: path });
}

/** The error for a file damaged before its last line, carrying what could be read. */
export function damagedError(path: string, state: Readonly<ReplayResult>): ConversationStoreError {
  const line = state.damage?.line ?? 1;
  return new ConversationStoreError(
    'damaged',
    `Conversation file ${path} is damaged at line ${line} (${state.damage?.reason ?? 'unreadable'}). ` +
      'Only the messages before that line can be shown, and the file is left untouched so nothing more is lost; ' +
      'export what is readable, or repair the line by hand.',
    { file: path, line, partial: structuredClone(state.conversation) },
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
