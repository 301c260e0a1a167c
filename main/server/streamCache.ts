// Which engine stream a chat request continues: a bounded LRU of the server's streams, each with the
// messages it has been fed. An API client resends the whole conversation every turn; matching it to the
// stream that already holds its beginning means only the new messages are fed. Runs in main.
import type { ChatMessage } from '../../common/chat';
import type { StreamId } from '../host/protocol';

/** One of the server's streams. `messages` is what its cache holds: the conversation through the last reply. */
export interface CachedStream {
  readonly id: StreamId;
  messages: readonly ChatMessage[];
  /** A turn runs on it: no other request may take it until it ends. */
  busy: boolean;
  lastUsed: number;
}

/**
 * How a request relates to the stream picked for it: `continue`s it (the stream's messages are a prefix
 * of the request's), `edit`s it (they share a beginning past the system prompt, then differ: the engine
 * rewinds exactly to where they part), or starts a `new` one.
 */
export type StreamMatch = { readonly kind: 'continue' | 'edit' | 'new'; readonly stream: CachedStream; readonly evicted: StreamId | null };

export class StreamCache {
  private readonly streams: CachedStream[] = [];
  private clock = 0;

  /**
   * @param capacity streams kept at most (each holds a whole cache: S + W slots of K/V).
   * @param held whether the engine still holds a stream (a model change or host restart drops them all).
   * @param newId a fresh stream id from the engine's owner.
   */
  constructor(
    private readonly capacity: number,
    private readonly held: (id: StreamId) => boolean,
    private readonly newId: () => StreamId,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`the server needs room for at least 1 cached stream, got ${capacity}`);
  }

  /**
   * Picks the stream for `messages` and marks it busy; `release` it when the turn ends. With `reuse`
   * false every request starts a new stream (the truncate-and-re-prefill baseline other servers are).
   */
  acquire(messages: readonly ChatMessage[], reuse = true): StreamMatch {
    this.prune();
    let best: { stream: CachedStream; common: number } | null = null;
    for (const stream of this.streams) {
      if (stream.busy || !reuse) continue;
      const common = commonMessages(stream.messages, messages);
      if (!best || common > best.common) best = { stream, common };
    }
    const leadingSystem = messages.findIndex((m) => m.role !== 'system');
    const pastSystem = leadingSystem < 0 ? messages.length : leadingSystem;
    if (best && best.common === best.stream.messages.length && best.common > 0) return this.take(best.stream, 'continue', null);
    // Sharing only the system prompt is another conversation (many clients send the same one): a new stream.
    if (best && best.common > pastSystem) return this.take(best.stream, 'edit', null);
    let evicted: StreamId | null = null;
    if (this.streams.length >= this.capacity) {
      const idle = this.streams.filter((s) => !s.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (idle) {
        this.streams.splice(this.streams.indexOf(idle), 1);
        evicted = idle.id;
      }
    }
    const stream: CachedStream = { id: this.newId(), messages: [], busy: false, lastUsed: 0 };
    this.streams.push(stream);
    return this.take(stream, 'new', evicted);
  }

  /** Ends a turn on `stream`: it now holds `messages` (null: the turn failed and the stream is dropped). */
  release(stream: CachedStream, messages: readonly ChatMessage[] | null): void {
    stream.busy = false;
    if (messages) stream.messages = messages;
    else this.drop(stream.id);
  }

  drop(id: StreamId): void {
    const at = this.streams.findIndex((s) => s.id === id);
    if (at >= 0) this.streams.splice(at, 1);
  }

  /** The streams kept now, most recently used last. */
  list(): readonly Readonly<CachedStream>[] {
    return [...this.streams].sort((a, b) => a.lastUsed - b.lastUsed);
  }

  /** Forgets streams the engine no longer holds (idle ones; a busy one's turn will fail on its own). */
  private prune(): void {
    for (const s of [...this.streams]) if (!s.busy && s.messages.length > 0 && !this.held(s.id)) this.drop(s.id);
  }

  private take(stream: CachedStream, kind: StreamMatch['kind'], evicted: StreamId | null): StreamMatch {
    stream.busy = true;
    stream.lastUsed = ++this.clock;
    return { kind, stream, evicted };
  }
}

/** How many leading messages `a` and `b` share (same role, same text). */
function commonMessages(a: readonly ChatMessage[], b: readonly ChatMessage[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n].role === b[n].role && a[n].content === b[n].content) n++;
  return n;
}
