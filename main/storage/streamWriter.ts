// Persists a reply while it streams: text batched into chunk records (fsynced about once a second), then
// one final record.
// Runs in the main process (storage); plain Node, no electron.

import { ConversationStoreError } from './conversationStoreError';
import type { Message, MessageStats, MessageStatus } from '../../common/conversationSchema';

/** How a streamed message ended. `content` replaces the streamed text (e.g. with a stop string trimmed). */
export interface StreamEnd {
  readonly status: Exclude<MessageStatus, 'streaming'>;
  readonly stats?: MessageStats;
  readonly content?: string;
  readonly error?: string;
  readonly endReason?: Message['endReason'];
}

/**
 * What a writer needs from its store; every call goes through the conversation's write queue. The
 * store answers `false`/`null` when the message is gone (truncated or deleted) and writes nothing.
 */
export interface StreamSink {
  /** Appends `text` as a chunk record ('' appends nothing); `sync` fsyncs the file after it. */
  writeChunk(text: string, sync: boolean): Promise<boolean>;
  writeFinal(end: Readonly<StreamEnd> & { readonly content: string }): Promise<Message | null>;
  reportFlushError(error: unknown): void;
  closed(): void;
}

/**
 * How often a streaming reply reaches the disk. `writeMs` bounds what a crash of the app (kill -9, a
 * native abort) loses: written text is in the OS's cache and survives the process. `syncMs` bounds
 * what a crash of the machine (power loss) loses, without an fsync per write.
 */
export interface StreamTiming {
  readonly writeMs: number;
  readonly syncMs: number;
}

/** 50 ms: with the host's 50 ms text batches, a killed app loses at most ~100 ms of streamed text. */
export const DEFAULT_STREAM_TIMING: StreamTiming = Object.freeze({ writeMs: 50, syncMs: 1000 });

/**
 * Writes one streaming message. `append` only buffers; the buffer is written as a chunk record within
 * `writeMs`, and the file is fsynced within `syncMs` of the first write not yet synced; `end` writes the
 * whole message as its final record, fsynced. A failed chunk write is reported and not retried: the
 * final record still carries the full text.
 */
export class StreamWriter {
  private text = '';
  private pending = '';
  private writeTimer: ReturnType<typeof setTimeout> | null = null;
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  /** Text was written since the last fsync. */
  private unsynced = false;
  private flushing: Promise<void> = Promise.resolve();
  private state: 'open' | 'detached' | 'ended' = 'open';

  constructor(
    readonly conversationId: string,
    readonly messageId: string,
    private readonly sink: StreamSink,
    private readonly timing: StreamTiming = DEFAULT_STREAM_TIMING,
  ) {}

  /** Every text appended so far. */
  get content(): string {
    return this.text;
  }

  /** True once the message was removed under the writer (conversation truncated or deleted): appends are ignored. */
  get detached(): boolean {
    return this.state === 'detached';
  }

  /** Buffers `textDelta`; it is written within `writeMs` and fsynced within `syncMs` more. */
  append(textDelta: string): void {
    if (this.state === 'ended') throw this.closedError();
    if (this.state === 'detached' || textDelta === '') return;
    this.text += textDelta;
    this.pending += textDelta;
    this.writeTimer ??= unrefTimer(this.timing.writeMs, () => {
      this.writeTimer = null;
      void this.write(false);
    });
  }

  /** Writes the buffered text now and fsyncs it; resolves when it is on disk. */
  flush(): Promise<void> {
    return this.write(true);
  }

  private write(sync: boolean): Promise<void> {
    this.clearTimer('writeTimer');
    if (sync) this.clearTimer('syncTimer');
    if (this.state !== 'open' || (this.pending === '' && !(sync && this.unsynced))) return this.flushing;
    const text = this.pending;
    this.pending = '';
    this.unsynced = !sync;
    if (!sync) {
      this.syncTimer ??= unrefTimer(this.timing.syncMs, () => {
        this.syncTimer = null;
        void this.write(true);
      });
    }
    // The sink queues the write at once (in order with every other write of the conversation), so
    // a caller waiting on the conversation's queue also waits for this chunk.
    const written = this.sink.writeChunk(text, sync).then(
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
    this.clearTimer('writeTimer');
    this.clearTimer('syncTimer');
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
    this.clearTimer('writeTimer');
    this.clearTimer('syncTimer');
  }

  private clearTimer(which: 'writeTimer' | 'syncTimer'): void {
    const timer = this[which];
    if (timer !== null) clearTimeout(timer);
    this[which] = null;
  }

  private closedError(): ConversationStoreError {
    return new ConversationStoreError('writer_closed', `The reply ${this.messageId} was already ended.`);
  }
}

/** A timer that does not keep a CLI or test process alive: `end()` writes the text anyway. */
function unrefTimer(ms: number, run: () => void): ReturnType<typeof setTimeout> {
  const timer = setTimeout(run, ms);
  timer.unref?.();
  return timer;
}
