// The app's local server: it follows the `server` settings, serves the app's loaded model to the official
// `openai` client, and shares the engine with the app's chats without either disturbing the other's cache:
// alternating turns give exactly the replies each gives alone. Runs the real services over a worker host.
import { createServer } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEvent, LocalServerStatus, Message } from '../../common/contract';
import { ensureFixture } from '../fixtures/llamaFixture';
import { startServices, type ServicesHarness } from './servicesKit';

let h: ServicesHarness;
let modelId: string;
let port: number;

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port: free } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return free;
}

beforeAll(async () => {
  const dir = (await ensureFixture('tiny')).dir;
  h = await startServices();
  modelId = (await h.call('models.import', { dir })).id;
  await h.call('models.load', { id: modelId });
  await h.call('settings.update', { patch: { sampling: { maxTokens: 8 }, cache: { sink: 4, window: 64 } } });
  port = await freePort();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function serverOn(on: boolean): Promise<LocalServerStatus> {
  await h.call('settings.update', { patch: { server: { enabled: on, port } } });
  return h.call('server.status', {});
}

/** A chat turn in the app: the stored reply. */
async function chatTurn(conversationId: string, content: string): Promise<Message> {
  const from = h.log.events.length;
  const start = await h.call('chat.send', { conversationId, content });
  const event = (await h.log.next('message', (e) => e.message.id === start.reply.id, from)) as Extract<AppEvent, { type: 'message' }>;
  return event.message;
}

describe('local server in the app', () => {
  it('is off by default, starts on loopback when enabled, and stops when disabled', async () => {
    expect((await h.call('settings.get', {})).server).toEqual({ enabled: false, host: '127.0.0.1', port: 8080, apiKey: null, streams: 4 });
    expect(await h.call('server.status', {})).toMatchObject({ state: 'off', url: null });
    const from = h.log.events.length;
    const status = await serverOn(true);
    expect(status).toMatchObject({ state: 'on', url: `http://127.0.0.1:${port}/v1` });
    expect(h.log.since(from, 'server').at(-1)?.status.state).toBe('on');
    const client = new OpenAI({ baseURL: status.url!, apiKey: 'unused', maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([modelId]);
    const reply = await client.chat.completions.create({ model: modelId, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    expect(reply.usage!.completion_tokens).toBe(3);
    expect(await h.call('server.status', {})).toMatchObject({ served: 1, streams: 1, active: 0 });
    expect((await serverOn(false)).state).toBe('off');
    await expect(client.models.list()).rejects.toThrow(/Connection error/);
  });

  it('reports a taken port in its status, not as a failed settings save', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      expect(await serverOn(true)).toMatchObject({ state: 'error', error: expect.stringContaining(`port ${port} is in use`) });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    await serverOn(false);
  });

  it('alternates with the app’s chat on one engine: both give exactly their replies alone', async () => {
    const serverTurns = async (client: OpenAI) => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hello from a script' }];
      const first = await client.chat.completions.create({ model: modelId, messages, max_tokens: 8, seed: 11 });
      messages.push({ role: 'assistant', content: first.choices[0].message.content }, { role: 'user', content: 'Go on' });
      const second = await client.chat.completions.create({ model: modelId, messages, max_tokens: 8, seed: 11 });
      return [first, second] as const;
    };

    // Alone: two chat turns, then two server turns on a fresh server.
    const alone = (await h.call('conversations.create', {})).id;
    const chat1 = await chatTurn(alone, 'Hello there');
    const chat2 = await chatTurn(alone, 'Tell me more');
    let status = await serverOn(true);
    const [api1, api2] = await serverTurns(new OpenAI({ baseURL: status.url!, apiKey: 'unused', maxRetries: 0 }));
    await serverOn(false);

    // Alternating: chat, server, chat, server on a new conversation and a restarted (empty) server.
    status = await serverOn(true);
    const client = new OpenAI({ baseURL: status.url!, apiKey: 'unused', maxRetries: 0 });
    const mixed = (await h.call('conversations.create', {})).id;
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hello from a script' }];
    const c1 = await chatTurn(mixed, 'Hello there');
    const a1 = await client.chat.completions.create({ model: modelId, messages, max_tokens: 8, seed: 11 });
    messages.push({ role: 'assistant', content: a1.choices[0].message.content }, { role: 'user', content: 'Go on' });
    const c2 = await chatTurn(mixed, 'Tell me more');
    const a2 = await client.chat.completions.create({ model: modelId, messages, max_tokens: 8, seed: 11 });

    expect([c1.content, c2.content]).toEqual([chat1.content, chat2.content]);
    expect([a1.choices[0].message.content, a2.choices[0].message.content]).toEqual([api1.choices[0].message.content, api2.choices[0].message.content]);
    // Neither fed the other's history again: each continued its own cache.
    expect(c2.stats!.reprocessedTokens).toBe(0);
    expect((a2.usage as unknown as { reprocessed_tokens: number }).reprocessed_tokens).toBe(0);
    expect(a2.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThan(0);
    await serverOn(false);
  });
});
