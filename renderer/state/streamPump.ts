// Coalesces token events into one store update per animation frame, so a streamed token re-renders only
// the live reply's text, never the message list. Also holds events that beat their StreamStart. Renderer.
import type { StreamOutcome } from './messageList';

/** Schedules one callback per frame (requestAnimationFrame in the page, a fake in tests). */
export interface FrameScheduler {
  request(callback: () => void): unknown;
  cancel(handle: unknown): void;
}

/** Where the pump delivers: the store's streaming slice. */
export interface StreamSink {
  /** Seq of the stream the UI shows now, or null. */
  currentSeq(): number | null;
  /** Appends coalesced text (`tokens` token events' worth) to the live stream when its seq matches. */
  appendStreamText(seq: number, text: string, tokens: number): void;
  finishStream(seq: number, outcome: StreamOutcome): void;
}

/** The token path between the event stream and the store. */
export interface StreamPump {
  connect(sink: StreamSink): void;
  token(seq: number, text: string): void;
  end(seq: number, outcome: StreamOutcome): void;
  /** The stream `seq` just became current: deliver whatever arrived for it before its StreamStart. */
  started(seq: number): void;
  /** Delivers buffered text now (before a stream ends; tests). */
  flush(): void;
}

interface Early {
  text: string;
  tokens: number;
  end?: StreamOutcome;
}

/** Streams whose early events are kept; a seq nobody claims is dropped after this many newer ones. */
const EARLY_LIMIT = 16;
/** Ended seqs remembered so a late done/token for them is ignored. */
const ENDED_LIMIT = 64;

/** requestAnimationFrame where there is a page, else a 16 ms timer. */
export function animationFrameScheduler(): FrameScheduler {
  if (typeof requestAnimationFrame === 'function') {
    return { request: (cb) => requestAnimationFrame(() => cb()), cancel: (h) => cancelAnimationFrame(h as number) };
  }
  return { request: (cb) => setTimeout(cb, 16), cancel: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
}

/** Creates a pump; `connect` it to the store before events flow. */
export function createStreamPump(scheduler: FrameScheduler): StreamPump {
  let sink: StreamSink | null = null;
  let buffer: { seq: number; text: string; tokens: number } | null = null;
  let handle: unknown = null;
  const early = new Map<number, Early>();
  const ended: number[] = [];

  const schedule = (): void => {
    if (handle === null) handle = scheduler.request(onFrame);
  };
  const onFrame = (): void => {
    handle = null;
    deliver();
  };
  const deliver = (): void => {
    if (handle !== null) {
      scheduler.cancel(handle);
      handle = null;
    }
    const b = buffer;
    buffer = null;
    if (b && sink && (b.text.length > 0 || b.tokens > 0)) sink.appendStreamText(b.seq, b.text, b.tokens);
  };
  const buffered = (seq: number, text: string, tokens: number): void => {
    if (buffer && buffer.seq !== seq) deliver();
    if (!buffer) buffer = { seq, text: '', tokens: 0 };
    buffer.text += text;
    buffer.tokens += tokens;
    schedule();
  };
  const stash = (seq: number): Early => {
    let entry = early.get(seq);
    if (!entry) {
      entry = { text: '', tokens: 0 };
      early.set(seq, entry);
      if (early.size > EARLY_LIMIT) early.delete(early.keys().next().value as number);
    }
    return entry;
  };
  const finish = (seq: number, outcome: StreamOutcome): void => {
    deliver();
    ended.push(seq);
    if (ended.length > ENDED_LIMIT) ended.shift();
    sink?.finishStream(seq, outcome);
  };

  return {
    connect(next) {
      sink = next;
    },
    token(seq, text) {
      if (ended.includes(seq)) return;
      if (sink?.currentSeq() === seq) buffered(seq, text, 1);
      else {
        const entry = stash(seq);
        entry.text += text;
        entry.tokens++;
      }
    },
    end(seq, outcome) {
      if (ended.includes(seq)) return;
      if (sink?.currentSeq() === seq) finish(seq, outcome);
      else stash(seq).end ??= outcome;
    },
    started(seq) {
      const entry = early.get(seq);
      if (!entry) return;
      early.delete(seq);
      if (entry.text.length > 0 || entry.tokens > 0) buffered(seq, entry.text, entry.tokens);
      if (entry.end) finish(seq, entry.end);
    },
    flush: deliver,
  };
}
