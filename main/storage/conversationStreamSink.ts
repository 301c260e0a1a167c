// Connects a StreamWriter to its conversation file: every write goes through the conversation's queue.
// Runs in the main process (storage); plain Node, no electron.

import type { ConversationLog } from './conversationLog';
import { MessageRecordSchema } from '../../common/conversationSchema';
import type { Message } from '../../common/conversationSchema';
import { ConversationStoreError, checkInput } from './conversationStoreError';
import type { KeyedQueue } from './keyedQueue';
import type { StorageWarningListener } from './storageWarning';
import type { StreamSink } from './streamWriter';

export interface StreamSinkDeps {
  readonly id: string;
  /** The `streaming` record that began the message; the final record repeats its fields. */
  readonly start: Readonly<Message>;
  readonly log: ConversationLog;
  readonly queue: KeyedQueue;
  readonly now: () => number;
  readonly onWarning?: StorageWarningListener;
  readonly onClosed: () => void;
}

/**
 * The store side of a stream writer. Inside the queue it checks that the message is still there
 * and streaming: a truncate or delete that removed it means nothing more is written.
 */
export function createStreamSink(deps: StreamSinkDeps): StreamSink {
  const { id, start, log, queue, now } = deps;
  const live = async (): Promise<boolean> => {
    try {
      const state = await log.read(id);
      return state.conversation.messages.some((m) => m.id === start.id && m.status === 'streaming');
    } catch (error) {
      if (error instanceof ConversationStoreError && error.code === 'not_found') return false;
      throw error;
    }
  };
  return {
    writeChunk: (text) =>
      queue.run(id, async () => {
        if (!(await live())) return false;
        await log.append(id, [{ type: 'chunk', messageId: start.id, text, at: now() }], true);
        return true;
      }),
    writeFinal: (end) =>
      queue.run(id, async () => {
        if (!(await live())) return null;
        const fields = { ...start, ...end, type: 'message', updatedAt: now() };
        const record = checkInput(MessageRecordSchema, fields, 'message');
        await log.append(id, [record], true);
        const { type: _type, updatedAt: _updatedAt, ...message } = record;
        return message;
      }),
    reportFlushError: (error) =>
      deps.onWarning?.({
        kind: 'stream-flush-failed',
        file: log.pathOf(id),
        message:
          `Part of a reply could not be saved yet (${error instanceof Error ? error.message : String(error)}); ` +
          'it will be saved when the reply ends.',
      }),
    closed: deps.onClosed,
  };
}
