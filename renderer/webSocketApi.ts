// The WebSocket transport of the OuroApi, used when the page runs outside Electron (browser tests against
// the Node bridge server). Speaks `{id, verb, args}` → `{id, ok, result|error}` plus `{event}` pushes.
// Runs in the renderer.
import type { ApiError, AppEvent, OuroApi, Verb, VerbArgs, VerbResult } from '../common/contract';
import { isApiError } from '../common/contract';

/** The part of the DOM WebSocket this transport uses (tests pass a fake). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  onopen: ((event: Event) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
}

/** `connecting` before the first open, `open`, then `reconnecting` after every drop until it opens again. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

export interface WebSocketApiOptions {
  readonly url: string;
  readonly createSocket?: (url: string) => WebSocketLike;
  /** First reconnect delay; doubles per failed attempt up to `maxDelayMs`. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly setTimer?: (callback: () => void, ms: number) => unknown;
  readonly clearTimer?: (handle: unknown) => void;
}

/** An OuroApi over one self-healing socket. */
export interface WebSocketApi extends OuroApi {
  readonly state: ConnectionState;
  /** Listens to connection changes; returns the unsubscribe function. */
  onState(listener: (state: ConnectionState) => void): () => void;
  /** Closes for good: pending requests reject and no reconnect follows. */
  close(): void;
}

interface Pending {
  readonly frame: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: ApiError) => void;
  sent: boolean;
}

const OPEN = 1;

const lost: ApiError = {
  code: 'internal',
  message: 'The connection to Ouro was lost before it answered. It reconnects by itself; try again in a moment.',
};

/**
 * Connects at once and keeps reconnecting with exponential backoff. Requests made while the socket is
 * not open are queued and sent on open; requests already sent when it drops reject (a verb such as
 * `chat.send` is not safe to repeat blindly).
 */
export function createWebSocketApi(options: WebSocketApiOptions): WebSocketApi {
  const createSocket = options.createSocket ?? ((url: string) => new WebSocket(url) as WebSocketLike);
  const initialDelay = options.initialDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5_000;
  const setTimer = options.setTimer ?? ((cb: () => void, ms: number) => window.setTimeout(cb, ms));
  const clearTimer = options.clearTimer ?? ((handle: unknown) => window.clearTimeout(handle as number));

  const pending = new Map<number, Pending>();
  const eventListeners = new Set<(event: AppEvent) => void>();
  const stateListeners = new Set<(state: ConnectionState) => void>();
  let state: ConnectionState = 'connecting';
  let socket: WebSocketLike | null = null;
  let nextId = 1;
  let attempt = 0;
  let timer: unknown = null;
  let closed = false;

  const setState = (next: ConnectionState): void => {
    if (next === state) return;
    state = next;
    for (const listener of stateListeners) listener(next);
  };

  const flush = (): void => {
    if (!socket || socket.readyState !== OPEN) return;
    for (const request of pending.values()) {
      if (request.sent) continue;
      request.sent = true;
      socket.send(request.frame);
    }
  };

  const onFrame = (data: unknown): void => {
    if (typeof data !== 'string') return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    const f = frame as { id?: unknown; ok?: unknown; result?: unknown; error?: unknown; event?: unknown };
    if (typeof f.event === 'object' && f.event !== null && typeof (f.event as { type?: unknown }).type === 'string') {
      for (const listener of eventListeners) listener(f.event as AppEvent);
      return;
    }
    if (typeof f.id !== 'number') return;
    const request = pending.get(f.id);
    if (!request) return;
    pending.delete(f.id);
    if (f.ok === true) request.resolve(f.result ?? null);
    else request.reject(isApiError(f.error) ? f.error : { code: 'internal', message: 'Ouro answered with a malformed error.' });
  };

  const scheduleReconnect = (): void => {
    if (closed || timer !== null) return;
    const delay = Math.min(maxDelay, initialDelay * 2 ** attempt);
    attempt++;
    timer = setTimer(() => {
      timer = null;
      connect();
    }, delay);
  };

  const connect = (): void => {
    if (closed) return;
    let ws: WebSocketLike;
    try {
      ws = createSocket(options.url);
    } catch {
      setState('reconnecting');
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      attempt = 0;
      setState('open');
      flush();
    };
    ws.onmessage = (event) => {
      if (socket === ws) onFrame(event.data);
    };
    ws.onerror = () => {
      // A close event always follows an error; reconnecting happens there.
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      for (const [id, request] of pending) {
        if (!request.sent) continue;
        pending.delete(id);
        request.reject(lost);
      }
      if (closed) return;
      setState('reconnecting');
      scheduleReconnect();
    };
  };

  connect();

  return {
    get state() {
      return state;
    },
    invoke<V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>> {
      if (closed) return Promise.reject({ code: 'internal', message: 'The connection to Ouro is closed.' } satisfies ApiError);
      const id = nextId++;
      return new Promise<VerbResult<V>>((resolve, reject) => {
        pending.set(id, {
          frame: JSON.stringify({ id, verb, args }),
          resolve: resolve as (value: unknown) => void,
          reject,
          sent: false,
        });
        flush();
      });
    },
    subscribe(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onState(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    close() {
      closed = true;
      if (timer !== null) clearTimer(timer);
      timer = null;
      const ws = socket;
      socket = null;
      ws?.close();
      for (const request of pending.values()) request.reject({ code: 'internal', message: 'The connection to Ouro is closed.' });
      pending.clear();
    },
  };
}
