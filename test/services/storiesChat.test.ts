// The app's chat on stories260K, whose template trims messages and joins them with a space, at window 60:
// every turn after the first feeds only its own line (the footer's re-processed count stays 0), through a
// host restart from the saved context, a regenerate and an edit. Skipped where ../shared is absent.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEvent, StreamStart } from '../../common/contract';
import { startWorkerHost } from '../../main/host/workerTransport';
import { startServices, type ServicesHarness } from './servicesKit';

const stories = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const hasStories = existsSync(`${stories}/config.json`);

type MessageEvent = Extract<AppEvent, { type: 'message' }>;
type DoneEvent = Extract<AppEvent, { type: 'done' }>;

describe.skipIf(!hasStories)('chat on stories260K at window 60 (skipped: ../shared/models/stories260K absent)', () => {
  let h: ServicesHarness;
  let conversationId: string;

  /** Starts a turn with `begin` and waits for its stored reply and its done event. */
  async function answered(begin: () => Promise<StreamStart>) {
    const from = h.log.events.length;
    const start = await begin();
    const { message } = (await h.log.next('message', (e) => e.message.id === start.reply.id, from)) as MessageEvent;
    const done = h.log.events.slice(from).find((e): e is DoneEvent => e.type === 'done' && e.seq === start.seq)!;
    return { message, stats: done.stats };
  }

  const send = (content: string) => answered(() => h.call('chat.send', { conversationId, content }));

  beforeAll(async () => {
    h = await startServices();
    const model = await h.call('models.import', { dir: stories });
    await h.call('models.load', { id: model.id });
    await h.call('settings.update', { patch: { cache: { sink: 4, window: 60 }, sampling: { maxTokens: 40, temperature: 0 }, systemPrompt: '' } });
    conversationId = (await h.call('conversations.create', { title: 'Lily' })).id;
  });

  afterAll(async () => {
    await h?.close();
  });

  it('feeds each new line only, turn after turn, with nothing re-processed', async () => {
    const lines = ['Lily had a red ball.', 'She gave it to Tom.', 'They played all day.', 'Then it rained.', 'Tom went home.'];
    for (const line of lines) {
      const { message, stats } = await send(line);
      expect(message.stats!.reprocessedTokens).toBe(0);
      expect(stats.reprocessedTokens).toBe(0);
      // A line of a few words, the joining space and at most the last reply's unfed token — never the reply.
      expect(stats.prefillTokens).toBeLessThan(20);
    }
  });

  it('continues from the saved context after a host restart, and regenerates and edits without re-processing', async () => {
    await h.services.idle();
    await h.services.replaceHost(startWorkerHost());
    const opened = await h.call('conversations.open', { conversationId });
    expect(opened.notice).toBeUndefined();
    const next = await send('The sun came out.');
    expect(next.message.stats!.reprocessedTokens).toBe(0);
    expect(next.stats.prefillTokens).toBeLessThan(20);

    const again = await answered(() => h.call('chat.regenerate', { conversationId }));
    expect(again.message.content).toBe(next.message.content);
    expect(again.message.stats!.reprocessedTokens).toBe(0);

    const messages = (await h.call('conversations.open', { conversationId })).conversation.messages;
    const lastUser = messages.at(-2)!;
    const edited = await answered(() => h.call('chat.edit', { conversationId, messageId: lastUser.id, content: 'The moon came out.' }));
    expect(edited.message.stats!.reprocessedTokens).toBe(0);
    expect(edited.stats.prefillTokens).toBeLessThan(20);
  });
});
