// The browser transport against real services: static files with the CSP header and no way out of the
// folder, the WebSocket contract (round trips, events, typed errors for bad frames on a socket that
// stays open), and its Host/Origin guards. Runs under Vitest (Node) with a real `ws` client.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { BridgeFrame } from '../../common/contract';
import { CONTENT_SECURITY_POLICY } from '../../main/services/contentSecurityPolicy';
import { startTestApp, type TestApp } from '../../main/web/serveApp';
import { ensureFixture } from '../fixtures/llamaFixture';

let root: string;
let app: TestApp;
let port: number;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ouro-web-'));
  const staticDir = join(root, 'renderer');
  await mkdir(join(staticDir, 'assets'), { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Ouro</title><script type="module" src="/assets/app.js"></script>');
  await writeFile(join(staticDir, 'assets', 'app.js'), 'console.log("ouro");');
  await writeFile(join(root, 'secret.txt'), 'TOP SECRET');
  await symlink(join(root, 'secret.txt'), join(staticDir, 'assets', 'leak.txt'));
  app = await startTestApp({ dataDir: join(root, 'data'), staticDir, services: { seed: () => 3 } });
  port = Number(new URL(app.url).port);
});

afterAll(async () => {
  await app?.close();
  await rm(root, { recursive: true, force: true });
});

/** Sends a raw request line, so paths reach the server exactly as written (no client normalisation). */
function rawGet(path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('end', () => resolve({ status: Number(text.split(' ')[1]), text }));
    socket.on('error', reject);
  });
}

/** A `ws` client that matches replies to requests by id and keeps every event. */
async function client(options: { origin?: string; path?: string } = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/ouro'}`, options.origin ? { origin: options.origin } : {});
  const frames: BridgeFrame[] = [];
  const waiters: { test: (f: BridgeFrame) => boolean; resolve: (f: BridgeFrame) => void }[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as BridgeFrame;
    frames.push(frame);
    for (const w of [...waiters]) {
      if (!w.test(frame)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(frame);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const next = (test: (f: BridgeFrame) => boolean) => {
    const found = frames.find(test);
    if (found) return Promise.resolve(found);
    return new Promise<BridgeFrame>((resolve) => waiters.push({ test, resolve }));
  };
  let id = 0;
  const request = (verb: string, args: unknown = {}) => {
    const n = ++id;
    ws.send(JSON.stringify({ id: n, verb, args }));
    return next((f) => 'id' in f && f.id === n) as Promise<Extract<BridgeFrame, { id: unknown }>>;
  };
  return { ws, frames, next, request };
}

describe('static files', () => {
  it('serves the renderer with the CSP and hardening headers', async () => {
    const res = await fetch(app.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|unsafe-inline|\*|https?:/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<title>Ouro</title>');
    const js = await fetch(new URL('assets/app.js', app.url));
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    const missing = await fetch(new URL('nope.js', app.url));
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect((await fetch(app.url, { method: 'POST' })).status).toBe(405);
  });

  it('refuses every way out of the folder', async () => {
    for (const path of ['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/%2e%2e%2f%2e%2e%2fsecret.txt', '/assets/leak.txt', '/%00', '/%E0%A4%A']) {
      const res = await rawGet(path);
      expect([400, 404], path).toContain(res.status);
      expect(res.text, path).not.toContain('TOP SECRET');
    }
  });

  it('answers only requests addressed to its loopback host (DNS rebinding)', async () => {
    expect((await rawGet('/', 'evil.example')).status).toBe(421);
  });
});

describe('WebSocket contract', () => {
  it('round-trips verbs and pushes events', async () => {
    const c = await client();
    const info = await c.request('app.info');
    expect(info).toMatchObject({ id: 1, ok: true, result: { dataDir: join(root, 'data') } });
    const created = await c.request('conversations.create', { title: 'Over the wire' });
    expect(created.ok).toBe(true);
    const listed = await c.next((f) => 'event' in f && f.event.type === 'conversations');
    expect(listed).toMatchObject({ event: { conversations: [{ title: 'Over the wire' }] } });
    c.ws.close();
  });

  it('answers bad frames with typed errors and keeps the socket open', async () => {
    const c = await client();
    c.ws.send('{ not json');
    expect(await c.next((f) => 'id' in f && f.id === null)).toEqual({ id: null, ok: false, error: { code: 'bad-request', message: 'the frame is not valid JSON' } });
    c.ws.send(JSON.stringify([1, 2]));
    c.ws.send(JSON.stringify({ verb: 'app.info' }));
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await expect.poll(() => c.frames.filter((f) => 'id' in f && f.id === null).length).toBe(4);
    const unknown = await c.request('app.selfDestruct');
    expect(unknown).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/unknown verb/) } });
    const traversal = await c.request('conversations.open', { conversationId: '../../etc/passwd' });
    expect(traversal).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    const missing = await c.request('conversations.open', { conversationId: 'nope' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    expect(await c.request('settings.get')).toMatchObject({ ok: true });
    c.ws.close();
  });

  it('streams a reply token by token over the socket', async () => {
    const c = await client();
    const result = async <T>(verb: string, args: unknown): Promise<T> => {
      const frame = await c.request(verb, args);
      if (!frame.ok) throw new Error(frame.error.message);
      return frame.result as T;
    };
    const model = await result<{ id: string }>('models.import', { dir: (await ensureFixture('tiny')).dir });
    await result('models.load', { id: model.id });
    const { id } = await result<{ id: string }>('conversations.create', {});
    await result('settings.update', { patch: { sampling: { maxTokens: 16 } } });
    const { seq, reply } = await result<{ seq: number; reply: { id: string } }>('chat.send', { conversationId: id, content: 'hello from a browser' });
    const stored = await c.next((f) => 'event' in f && f.event.type === 'message' && f.event.message.id === reply.id);
    const tokens = c.frames.filter((f) => 'event' in f && f.event.type === 'token' && f.event.seq === seq);
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    expect(c.frames.some((f) => 'event' in f && f.event.type === 'done' && f.event.seq === seq)).toBe(true);
    expect(stored).toMatchObject({ event: { message: { status: 'complete' } } });
    c.ws.close();
  });

  it('refuses other origins and other paths', async () => {
    await expect(client({ origin: 'http://evil.example' })).rejects.toThrow(/403/);
    await expect(client({ path: '/elsewhere' })).rejects.toThrow(/404/);
    const ok = await client({ origin: `http://127.0.0.1:${port}` });
    ok.ws.close();
  });
});
