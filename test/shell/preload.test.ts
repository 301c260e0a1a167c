// The preload's behaviour with Electron's two objects replaced by fakes: `window.ouro` exposes exactly
// invoke + subscribe + pickFolder, rejects with the ApiError itself, and fans events from both ports out to listeners
// (replacing a port of the same role, ignoring what is not an app event). Runs under Vitest (Node).
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppEvent, OuroApi } from '../../common/contract';

const fake = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  portsListener: null as null | ((event: { ports: unknown[] }, message: unknown) => void),
  invoke: vi.fn(),
}));

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, value: unknown) => fake.exposed.set(key, value) },
  ipcRenderer: {
    on: (channel: string, listener: (event: { ports: unknown[] }, message: unknown) => void) => {
      if (channel === 'ouro:ports') fake.portsListener = listener;
    },
    invoke: fake.invoke,
  },
}));

let api: OuroApi;

/** A DOM-like port (onmessage) over a worker_threads port, as the renderer sees it. */
function domPort(port: MessagePort) {
  const wrapper = {
    onmessage: null as null | ((e: { data: unknown }) => void),
    close: () => port.close(),
  };
  port.on('message', (data) => wrapper.onmessage?.({ data }));
  return wrapper;
}

function nextEvents(count: number, received: AppEvent[]): Promise<void> {
  return vi.waitFor(() => expect(received.length).toBeGreaterThanOrEqual(count), { timeout: 2000 });
}

beforeAll(async () => {
  await import('../../preload/index');
  api = fake.exposed.get('ouro') as OuroApi;
});

describe('preload', () => {
  it('exposes only invoke, subscribe and the folder dialog', () => {
    expect([...fake.exposed.keys()]).toEqual(['ouro']);
    expect(Object.keys(api).sort()).toEqual(['invoke', 'pickFolder', 'subscribe']);
  });

  it('asks main for the native folder dialog and passes on a chosen path only', async () => {
    fake.invoke.mockResolvedValueOnce('/home/ada/models/smol');
    await expect(api.pickFolder!('Open model folder')).resolves.toBe('/home/ada/models/smol');
    expect(fake.invoke).toHaveBeenLastCalledWith('ouro:pickFolder', 'Open model folder');
    fake.invoke.mockResolvedValueOnce(null);
    await expect(api.pickFolder!('Open model folder')).resolves.toBeNull();
    fake.invoke.mockResolvedValueOnce({ path: '/x' });
    await expect(api.pickFolder!('Open model folder')).resolves.toBeNull();
  });

  it('resolves results and rejects with the ApiError object', async () => {
    fake.invoke.mockResolvedValueOnce({ ok: true, result: { version: '1' } });
    await expect(api.invoke('app.info', {})).resolves.toEqual({ version: '1' });
    expect(fake.invoke).toHaveBeenLastCalledWith('ouro:invoke', 'app.info', {});
    fake.invoke.mockResolvedValueOnce({ ok: false, error: { code: 'busy', message: 'wait' } });
    await expect(api.invoke('chat.send', { conversationId: 'a', content: 'x' })).rejects.toEqual({ code: 'busy', message: 'wait' });
  });

  it('fans both ports out to listeners and replaces a port of the same role', async () => {
    const received: AppEvent[] = [];
    const unsubscribe = api.subscribe((e) => received.push(e));
    const host = new MessageChannel();
    const main = new MessageChannel();
    fake.portsListener!({ ports: [domPort(host.port2), domPort(main.port2)] }, { roles: ['host', 'main'] });
    host.port1.postMessage({ kind: 'event', event: { type: 'token', seq: 1, id: 5, text: 'hi', pos: 0, slot: 0 } });
    host.port1.postMessage({ kind: 'event', event: { type: 'partial', seq: 1, text: 'hi' } });
    host.port1.postMessage({ kind: 'reply', seq: 1, ok: true, result: null });
    main.port1.postMessage({ kind: 'event', event: { type: 'notice', level: 'info', text: 'hello' } });
    await nextEvents(2, received);
    expect(received.map((e) => e.type).sort()).toEqual(['notice', 'token']);

    // The engine restarted: a new host port replaces the old one.
    const host2 = new MessageChannel();
    fake.portsListener!({ ports: [domPort(host2.port2)] }, { roles: ['host'] });
    host2.port1.postMessage({ kind: 'event', event: { type: 'done', seq: 2, reason: 'eos', stats: {} } });
    await nextEvents(3, received);
    expect(received[2].type).toBe('done');

    unsubscribe();
    main.port1.postMessage({ kind: 'event', event: { type: 'notice', level: 'info', text: 'unheard' } });
    await new Promise((r) => setTimeout(r, 20));
    expect(received).toHaveLength(3);
    for (const c of [host, main, host2]) c.port1.close();
  });
});
