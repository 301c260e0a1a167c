// Persists a reply while it streams: text batched into fsynced chunk records, then one final record.
// Runs in the main process (storage); plain Node, no electron.

import { ConversationStoreError } from './conversationStoreError';
import type { Message, MessageStats, MessageStatus } from '../../common/conversationSchema';

/** How a streamed message ended. `content` replaces the streamed text (e.g. with a stop string trimmed). */
export interface StreamEnd {
  readonly status: Exclude<MessageStatus, 'streaming'>;
  readonly stats?: MessageStats;
  readonly content?: string;
  readonly error?: string;
}

/**
 * What a writer needs from its store; every call goes through the conversation's write queue. The
 * store answers `false`/`null` when the message is gone (truncated or deleted) and writes nothing.
 */
export interface StreamSink {
  writeChunk(text: string): Promise<boolean>;
  writeFinal(end: Readonly<StreamEnd> & { readonly content: string }): Promise<Message | null>;
  reportFlushError(error: unknown): void;
  closed(): void;
}

/**
 * Writes one streaming message. `append` only buffers; the buffer is written as a chunk record and
 * fsynced about once per `flushIntervalMs` (so a crash loses at most that much text), and `end`
 * writes the whole message as its final record, fsynced. A failed chunk write is reported and not
 * retried: the final record still carries the full text.
 */
export class StreamWriter {
  private text = '';
  private pending = '';
  private timer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private state: 'open' | 'detached' | 'ended' = 'open';

  constructor(
    readonly conversationId: string,
    readonly messageId: string,
    private readonly sink: StreamSink,
    private readonly flushIntervalMs: number,
  ) {}

  /** Every text appended so far. */
  get content(): string {
    return this.text;
  }

  /** True once the message was removed under the writer (conversation truncated or deleted): appends are ignored. */
  get detached(): boolean {
    return this.state === 'detached';
  }

  /** Buffers `textDelta`; it reaches the disk within about one flush interval. */
  append(textDelta: string): void {
    if (this.state === 'ended') throw this.closedError();
    if (this.state === 'detached' || textDelta === '') return;
    this.text += textDelta;
    this.pending += textDelta;
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.flushIntervalMs);
      // A pending flush must not keep a CLI or test process alive; end() writes the text anyway.
      this.timer.unref?.();
    }
  }

  /** Writes the buffered text now (chunk record + fsync); resolves when it is on disk. */
  flush(): Promise<void> {
    this.clearTimer();
    if (this.pending === '' || this.state !== 'open') return this.flushing;
    const text = this.pending;
    this.pending = '';
    // The sink queues the write at once (in order with every other write of the conversation), so
    // a caller waiting on the conversation's queue also waits for this chunk.
    const written = this.sink.writeChunk(text).then(
      (live) => {
        if (!live) this.detach();
      },
      (error: unknown) => this.sink.reportFlushError(error),
    );
    this.flushing = Promise.all([this.flushing, written]).then(() => undefined);
    return this.flushing;
  }

  /**
   * Writes the final message record (fsynced) and closes the writer.
   * @returns the message as stored, or null if it was removed before it ended (nothing written).
   */
  async end(final: Readonly<StreamEnd>): Promise<Message | null> {
    if (this.state === 'ended') throw this.closedError();
    const wasDetached = this.state === 'detached';
    this.state = 'ended';
    this.clearTimer();
    this.pending = '';
    try {
      await this.flushing;
      if (wasDetached) return null;
      return await this.sink.writeFinal({ ...final, content: final.content ?? this.text });
    } finally {
      this.sink.closed();
    }
  }

  private detach(): void {
    if (this.state === 'open') this.state = 'detached';
    this.pending = '';
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private closedError(): ConversationStoreError {
    return new ConversationStoreError('writer_closed', `The reply ${this.messageId} was already ended.`);
  }
}
