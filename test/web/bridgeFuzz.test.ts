// Bridge fuzz: 1,000 seeded random and malformed frames (garbage bytes, binary, truncated JSON, wrong
// shapes and ids, unknown verbs, real verbs with random or hostile arguments, deep nesting) on a socket
// that presented the key, against the real services: each frame gets exactly one reply, every error is
// typed, nothing crashes, and the server still serves. Sockets without the key are all refused.
// Runs under Vitest (Node) with a real `ws` client; bounded by the test timeout, not timed.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Xoshiro128 } from '../../main/engine/sampling/xoshiro128';
import { startTestApp, type TestApp } from '../../main/web/serveApp';
import { verbs, type ApiErrorCode, type BridgeFrame } from '../../common/contract';

const FRAMES = 1_000;
const ERROR_CODES: ReadonlySet<ApiErrorCode> = new Set(['bad-request', 'forbidden', 'not-found', 'busy', 'no-model', 'model-invalid', 'storage', 'internal']);
// Verbs that would reach the network (the catalog's real Hub) are left out; every other verb is fair game.
const NETWORK_VERBS: ReadonlySet<string> = new Set(['downloads.start', 'downloads.resume']);
const VERBS = Object.keys(verbs).filter((v) => !NETWORK_VERBS.has(v));

let root: string;
let app: TestApp;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ouro-fuzz-'));
  const staticDir = join(root, 'renderer');
  await mkdir(staticDir);
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Ouro</title>');
  app = await startTestApp({ dataDir: join(root, 'data'), staticDir });
});

afterAll(async () => {
  await app?.close();
  await rm(root, { recursive: true, force: true });
});

/** Seeded generator of hostile input. */
class Fuzz {
  private readonly rng: Xoshiro128;
  constructor(seed: number) {
    this.rng = new Xoshiro128(seed);
  }
  int(n: number): number {
    return this.rng.nextUint32() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
  string(): string {
    return this.pick([
      () => '',
      () => 'x'.repeat(this.int(300)),
      () => '../'.repeat(1 + this.int(8)) + 'etc/passwd',
      () => '\u0000\uFFFF\uD800',
      () => '<script>alert(1)</script>',
      () => '__proto__',
      () => 'c'.repeat(100_000),
      () => this.bytes(1 + this.int(40)).toString('latin1'),
    ])();
  }
  json(depth = 0): unknown {
    const leaf = [() => null, () => this.int(2) === 1, () => this.int(1e9) - 5e8, () => 1e308 * (this.int(2) ? 1 : -1), () => this.string()];
    if (depth > 3) return this.pick(leaf)();
    return this.pick([
      ...leaf,
      () => Array.from({ length: this.int(4) }, () => this.json(depth + 1)),
      () => Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.pick(['id', 'conversationId', 'patch', 'content', 'query', 'dir', 'title', '__proto__', 'constructor', this.string()]), this.json(depth + 1)])),
    ])();
  }
  /** Arguments shaped like some verb's (so frames get past validation into the handlers), values hostile. */
  plausibleArgs(): unknown {
    const id = () => this.pick(['abc123', 'c'.repeat(64), this.bytes(6).toString('hex'), 'tiny', 'nope-1']);
    return this.pick([
      () => ({}),
      () => ({ conversationId: id() }),
      () => ({ id: id() }),
      () => ({ query: this.string().slice(0, 200) }),
      () => ({ title: this.string().slice(0, 100) }),
      () => ({ conversationId: id(), content: this.string() }),
      () => ({ conversationId: id(), title: this.string().slice(0, 100) }),
      () => ({ dir: this.pick(['/', '/nonexistent', '../..', this.string()]) }),
      () => ({ patch: { sampling: { temperature: this.int(7) - 1, maxTokens: this.int(5) } } }),
      () => ({ patch: { systemPrompt: this.string() } }),
      () => ({ catalogId: id() }),
    ])();
  }
  /** A request whose arguments pass its verb's schema where one of a few tries does: it reaches the handler. */
  validRequest(): { id: number; verb: string; args: unknown } {
    const verb = this.pick(VERBS);
    const schema = verbs[verb as keyof typeof verbs].args;
    let args = this.plausibleArgs();
    for (let i = 0; i < 8 && !schema.safeParse(args).success; i++) args = this.plausibleArgs();
    return { id: this.int(1_000_000), verb, args };
  }
  /** One frame: text or binary, readable or not. */
  frame(): { data: string | Buffer; binary: boolean } {
    const text = (data: string) => ({ data, binary: false });
    const request = () => ({ id: this.int(1_000_000), verb: this.pick(VERBS), args: this.json() });
    return this.pick([
      () => text(this.bytes(1 + this.int(64)).toString('latin1')),
      () => ({ data: this.bytes(1 + this.int(64)), binary: true }),
      () => text(JSON.stringify(request()).slice(0, 1 + this.int(30))),
      () => text(JSON.stringify(this.json())),
      () => text(JSON.stringify({ id: this.pick([{}, [], true, 'x'.repeat(129), null]), verb: this.pick(VERBS) })),
      () => text(JSON.stringify({ id: this.int(1000), verb: this.string(), args: {} })),
      () => text(JSON.stringify(request())),
      () => text(JSON.stringify(request())),
      () => text(JSON.stringify({ id: this.int(1000), verb: this.pick(VERBS), args: { conversationId: this.string(), id: this.string(), content: this.string(), patch: this.json() } })),
      () => text(JSON.stringify(this.validRequest())),
      () => text(JSON.stringify(this.validRequest())),
      () => text(JSON.stringify(this.validRequest())),
      () => text(JSON.stringify({ key: app.key })),
      () => text(`{"id":1,"verb":"app.info","args":${'['.repeat(5000)}${']'.repeat(5000)}}`),
    ])();
  }
}

async function connect(): Promise<{ ws: WebSocket; frames: BridgeFrame[]; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${new URL(app.url).port}/ouro`);
  const frames: BridgeFrame[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as BridgeFrame));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

describe('bridge fuzz', () => {
  it(`answers ${FRAMES} random and malformed frames with one typed reply each and keeps serving`, async () => {
    const fuzz = new Fuzz(12);
    const c = await connect();
    c.ws.send(JSON.stringify({ key: app.key }));
    const sent = Array.from({ length: FRAMES }, () => fuzz.frame());
    for (const frame of sent) c.ws.send(frame.data, { binary: frame.binary });
    const replies = () => c.frames.filter((f): f is Extract<BridgeFrame, { id: unknown }> => 'id' in f);
    await expect.poll(() => replies().length, { timeout: 30_000 }).toBe(FRAMES);

    const all = replies();
    const untyped = all.filter((r) => !r.ok && !(ERROR_CODES.has(r.error.code) && typeof r.error.message === 'string' && r.error.message.length > 0));
    expect(untyped).toEqual([]);
    // `internal` would mean a handler threw on input the contract should have refused.
    expect(all.filter((r) => !r.ok && r.error.code === 'internal')).toEqual([]);
    const counts = all.reduce<Record<string, number>>((n, r) => {
      const k = r.ok ? 'ok' : r.error.code;
      n[k] = (n[k] ?? 0) + 1;
      return n;
    }, {});
    // Mostly refused as bad requests, some reach a handler (not-found, or a harmless success).
    expect(counts['bad-request']).toBeGreaterThan(FRAMES / 2);
    expect(Object.keys(counts)).toEqual(expect.arrayContaining(['ok', 'not-found']));

    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.send(JSON.stringify({ id: 'after', verb: 'app.info', args: {} }));
    await expect.poll(() => c.frames.find((f) => 'id' in f && f.id === 'after')).toMatchObject({ ok: true });
    c.ws.close();
    const fresh = await connect();
    fresh.ws.send(JSON.stringify({ key: app.key }));
    fresh.ws.send(JSON.stringify({ id: 1, verb: 'conversations.list', args: {} }));
    await expect.poll(() => fresh.frames.find((f) => 'id' in f && f.id === 1)).toMatchObject({ ok: true });
    fresh.ws.close();
  });

  it('refuses every socket whose first frame is not the key', async () => {
    const fuzz = new Fuzz(34);
    const codes = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const c = await connect();
        const frame = fuzz.frame();
        // The one generated frame that carries the key would be let in: give it a wrong one instead.
        c.ws.send(frame.data === JSON.stringify({ key: app.key }) ? JSON.stringify({ key: 'wrong' }) : frame.data, { binary: frame.binary });
        const code = await c.closed;
        return { code, frames: c.frames.map((f) => ('id' in f && !f.ok ? f.error.code : 'other')) };
      }),
    );
    expect(codes.every((c) => c.code === 4401 && c.frames.join() === 'forbidden')).toBe(true);
  });
});
