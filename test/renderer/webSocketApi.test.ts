// The WebSocket transport: the key goes first on every connection, requests queue until open, answers
// match by id, errors reject as ApiError, events reach subscribers, a drop rejects in-flight calls and
// reconnects with backoff, a refused key stops for good; the page hands the key from its address over.
// Runs under Vitest in Node.
import { describe, expect, it } from 'vitest';
import { BRIDGE_KEY_STORAGE, bridgeSocketUrl, takeBridgeKey, toApiError, withApiErrors } from '../../renderer/bridge';
import { createWebSocketApi, type WebSocketLike } from '../../renderer/webSocketApi';

class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: unknown[] = [];
  onopen: ((event: Event) => void) | null = null;
  onclose: ((event: Pick<CloseEvent, 'code'>) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.drop();
  }
  open() {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent);
  }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: { ms: number; run: () => void }[] = [];
  const api = createWebSocketApi({
    url: 'ws://x/ouro',
    key: 'k3y',
    createSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    initialDelayMs: 100,
    maxDelayMs: 400,
    setTimer: (run, ms) => timers.push({ ms, run }),
    clearTimer: () => {},
  });
  return { api, sockets, timers };
}

describe('WebSocket transport', () => {
  it('queues requests made before open and answers them by id', async () => {
    const { api, sockets } = harness();
    const first = api.invoke('models.list', {});
    const second = api.invoke('conversations.search', { query: 'x' });
    expect(sockets[0].sent).toEqual([]);
    sockets[0].open();
    expect(sockets[0].sent).toEqual([
      { key: 'k3y' },
      { id: 1, verb: 'models.list', args: {} },
      { id: 2, verb: 'conversations.search', args: { query: 'x' } },
    ]);
    sockets[0].receive({ id: 2, ok: true, result: [] });
    sockets[0].receive({ id: 1, ok: false, error: { code: 'storage', message: 'disk full' } });
    await expect(second).resolves.toEqual([]);
    await expect(first).rejects.toEqual({ code: 'storage', message: 'disk full' });
    expect(api.state).toBe('open');
  });

  it('delivers event frames to subscribers until they unsubscribe', () => {
    const { api, sockets } = harness();
    const seen: string[] = [];
    const unsubscribe = api.subscribe((event) => seen.push(event.type));
    sockets[0].open();
    sockets[0].receive({ event: { type: 'notice', level: 'info', text: 'hi' } });
    sockets[0].receive({ event: { nope: 1 } });
    unsubscribe();
    sockets[0].receive({ event: { type: 'command', command: 'openSettings' } });
    expect(seen).toEqual(['notice']);
  });

  it('rejects in-flight calls on a drop, keeps unsent ones, and reconnects with doubling delays', async () => {
    const { api, sockets, timers } = harness();
    const states: string[] = [];
    api.onState((s) => states.push(s));
    sockets[0].open();
    const inFlight = api.invoke('chat.stop', { conversationId: 'c1' });
    sockets[0].drop();
    await expect(inFlight).rejects.toMatchObject({ code: 'internal' });
    const queued = api.invoke('models.current', {});
    expect(timers.map((t) => t.ms)).toEqual([100]);
    timers[0].run();
    sockets[1].drop();
    timers[1].run();
    sockets[2].drop();
    timers[2].run();
    sockets[3].drop();
    timers[3].run();
    expect(timers.map((t) => t.ms)).toEqual([100, 200, 400, 400]);
    sockets[4].open();
    expect(sockets[4].sent).toEqual([{ key: 'k3y' }, { id: 2, verb: 'models.current', args: {} }]);
    sockets[4].receive({ id: 2, ok: true, result: null });
    await expect(queued).resolves.toBeNull();
    expect(states).toEqual(['open', 'reconnecting', 'open']);
    sockets[4].open();
    expect(timers).toHaveLength(4);
  });

  it('stops for good when the server refuses the key, rejecting every call with forbidden', async () => {
    const { api, sockets, timers } = harness();
    const states: string[] = [];
    api.onState((s) => states.push(s));
    const queued = api.invoke('models.list', {});
    sockets[0].open();
    const later = api.invoke('app.info', {});
    sockets[0].drop(4401);
    await expect(queued).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/npm run web/) });
    await expect(later).rejects.toMatchObject({ code: 'forbidden' });
    await expect(api.invoke('models.current', {})).rejects.toMatchObject({ code: 'forbidden' });
    expect(states).toEqual(['open', 'unauthorized']);
    expect([timers.length, sockets.length]).toEqual([0, 1]);
  });

  it('stops for good on close', async () => {
    const { api, sockets, timers } = harness();
    const pending = api.invoke('models.list', {});
    api.close();
    await expect(pending).rejects.toMatchObject({ code: 'internal' });
    expect(timers).toHaveLength(0);
    expect(sockets).toHaveLength(1);
  });
});

describe('bridge', () => {
  function page(hash: string, stored: string | null = null) {
    const storage = new Map<string, string>(stored === null ? [] : [[BRIDGE_KEY_STORAGE, stored]]);
    const addresses: string[] = [];
    return {
      storage,
      addresses,
      win: {
        location: { hash, pathname: '/', search: '' },
        history: { state: null, replaceState: (_s: unknown, _t: string, url?: string | URL | null) => void addresses.push(String(url)) },
        sessionStorage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v) },
      },
    };
  }

  it('takes the key out of the address into this tab, and finds it there after a reload', () => {
    const first = page('#key=abc_DEF-123');
    expect(takeBridgeKey(first.win)).toBe('abc_DEF-123');
    expect(first.addresses).toEqual(['/']);
    expect(first.storage.get(BRIDGE_KEY_STORAGE)).toBe('abc_DEF-123');
    const reloaded = page('', 'abc_DEF-123');
    expect(takeBridgeKey(reloaded.win)).toBe('abc_DEF-123');
    expect(reloaded.addresses).toEqual([]);
    // A new address wins over a kept key (a new launch, a new key).
    expect(takeBridgeKey(page('#key=new', 'old').win)).toBe('new');
    expect(takeBridgeKey(page('').win)).toBeNull();
  });

  it('builds the socket URL from the page location', () => {
    expect(bridgeSocketUrl({ protocol: 'http:', host: '127.0.0.1:5173' })).toBe('ws://127.0.0.1:5173/ouro');
    expect(bridgeSocketUrl({ protocol: 'https:', host: 'ouro.test' })).toBe('wss://ouro.test/ouro');
  });

  it('turns whatever a call throws into an ApiError', async () => {
    expect(toApiError({ code: 'model-invalid', message: 'model folder lacks tokenizer.json', detail: 'missing-file' })).toEqual({
      code: 'model-invalid',
      message: 'model folder lacks tokenizer.json',
      detail: 'missing-file',
    });
    expect(toApiError(new Error("Error invoking remote method 'models.load': Error: no such folder"))).toEqual({
      code: 'internal',
      message: 'no such folder',
    });
    const wrapped = withApiErrors({
      invoke: () => {
        throw new TypeError('boom');
      },
      subscribe: () => () => {},
    });
    await expect(wrapped.invoke('app.info', {})).rejects.toEqual({ code: 'internal', message: 'boom' });
  });
});
