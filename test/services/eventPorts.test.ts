// The Electron event path, run under Node with worker_threads ports: with a port attached, token and
// cache events go from the host straight to the port, main gets only coarse `partial` text (enough to
// persist the reply) and forwards no host events itself; a quiet turn (the local server's) never reaches
// the port. Runs under Vitest (Node).
import { MessageChannel } from 'node:worker_threads';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import type { HostEvent, HostOutbound } from '../../main/host/protocol';
import { ensureFixture } from '../fixtures/llamaFixture';
import { startServices, type ServicesHarness } from './servicesKit';

let h: ServicesHarness;

beforeAll(async () => {
  h = await startServices({ forwardHostEvents: false });
  const model = await h.call('models.import', { dir: (await ensureFixture('tiny')).dir });
  await h.call('models.load', { id: model.id });
  await h.call('settings.update', { patch: { sampling: { maxTokens: 40 } } });
});

afterAll(async () => {
  await h?.close();
});

it('sends tokens to the attached port only, and partial text to main, which persists it', async () => {
  const { port1, port2 } = new MessageChannel();
  const atPort: HostEvent[] = [];
  const atMain: HostEvent[] = [];
  h.services.host.onEvent((e) => atMain.push(e));
  h.services.host.attachEventPort(port2);
  const c = await h.call('conversations.create', {});
  const start = await h.call('chat.send', { conversationId: c.id, content: 'hello over a port' });
  const portDone = new Promise<void>((resolve) =>
    port1.on('message', (m: HostOutbound) => {
      if (m.kind !== 'event') return;
      atPort.push(m.event);
      if (m.event.type === 'done' && m.event.seq === start.seq) resolve();
    }),
  );
  const { message } = await h.log.next('message', (e) => e.message.id === start.reply.id);
  await portDone;

  const tokens = atPort.filter((e) => e.type === 'token' && e.seq === start.seq);
  expect(tokens.length).toBeGreaterThanOrEqual(3);
  expect(atPort.some((e) => e.type === 'cacheView')).toBe(true);
  expect(atMain.filter((e) => e.type === 'token' || e.type === 'cacheView')).toEqual([]);
  const partial = atMain.filter((e): e is Extract<HostEvent, { type: 'partial' }> => e.type === 'partial' && e.seq === start.seq);
  expect(partial.length).toBeGreaterThan(0);
  expect(partial.map((e) => e.text).join('')).toBe(message.content);
  expect(tokens.map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe(message.content);
  // main forwards nothing of the host's (the window has the port): only its own events.
  expect(h.log.events.filter((e) => e.type === 'token' || e.type === 'done')).toEqual([]);
  expect(message.status).toBe('complete');

  // A closed port (a reloaded window) is dropped: the tokens come back to main.
  port1.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const next = await h.call('chat.send', { conversationId: c.id, content: 'and without it' });
  await h.log.next('message', (e) => e.message.id === next.reply.id);
  expect(atMain.some((e) => e.type === 'token' && e.seq === next.seq)).toBe(true);
});

it('keeps a quiet turn (the local server’s) off the window’s port: every token to main, no cache view ops', async () => {
  const { port1, port2 } = new MessageChannel();
  const atPort: HostEvent[] = [];
  port1.on('message', (m: HostOutbound) => m.kind === 'event' && atPort.push(m.event));
  h.services.host.attachEventPort(port2);
  const atMain: HostEvent[] = [];
  h.services.host.onEvent((e) => atMain.push(e));
  const engine = h.services.engine;
  const turn = engine.generate({
    stream: engine.newStream('api'),
    prompt: { kind: 'chat', messages: [{ role: 'user', content: 'from a script' }] },
    options: { sampling: { ...DEFAULT_SAMPLING, seed: 1 }, maxTokens: 12 },
    cache: { sink: 4, positions: 'cache' },
    quiet: true,
  });
  const result = await turn.result;
  await new Promise((resolve) => setTimeout(resolve, 100));
  // Nothing at all reached the window: neither the turn's events nor a cache view op of its stream.
  expect(atPort).toEqual([]);
  expect(atMain.some((e) => e.type === 'cacheView')).toBe(false);
  const mine = atMain.filter((e) => e.type !== 'cacheView' && e.seq === turn.seq);
  expect(mine.some((e) => e.type === 'partial')).toBe(false);
  expect(mine.map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe(result.text);
  expect(mine.at(-1)?.type).toBe('done');
  port1.close();
});
