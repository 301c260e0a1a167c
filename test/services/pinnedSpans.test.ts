// Pinning spans of a message through the services (real stores, a worker-thread engine host, the tiny
// fixture): the pin records keep their characters in the conversation file, and the refusals that the
// services decide say why, with the characters: a span overlapping a pin of its message, the whole message
// over a pinned span, characters outside the message, unpinning a span that is not pinned, a conversation
// the model has not read since it was reopened. Vitest (Node).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixture } from '../fixtures/llamaFixture';
import { startServices, type ServicesHarness } from './servicesKit';

let h: ServicesHarness;

beforeAll(async () => {
  h = await startServices();
  await h.call('settings.update', { patch: { sampling: { maxTokens: 4 }, cache: { sink: 4, window: 64, pinBudget: 16 } } });
  const model = await h.call('models.import', { dir: (await ensureFixture('tiny')).dir });
  await h.call('models.load', { id: model.id });
});

afterAll(async () => {
  await h?.close();
});

describe('pinned spans through the services', () => {
  it('stores span pins with their characters and refuses overlapping or misplaced ones, saying why', async () => {
    const { id: conversationId } = await h.call('conversations.create', {});
    const fact = 'My code is 7412, remember it.';
    const start = await h.call('chat.send', { conversationId, content: fact });
    await h.log.next('message', (e) => e.message.id === start.reply.id && e.message.status !== 'streaming');
    await h.services.idle();
    const messageId = start.userMessage!.id;
    const code = { start: 11, end: 15 };

    const pinned = await h.call('chat.pin', { conversationId, messageId, pinned: true, chars: code });
    expect(pinned.pins).toEqual([{ messageId, chars: code }]);
    expect(pinned.reprocessedTokens).toBe(0);
    expect((await h.call('conversations.open', { conversationId })).conversation.pins).toEqual([{ messageId, chars: code }]);

    const overlap = await h.error('chat.pin', { conversationId, messageId, pinned: true, chars: { start: 3, end: 12 } });
    expect(overlap).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/overlaps text of this message that is pinned already \(characters 11–15\)/) });
    const whole = await h.error('chat.pin', { conversationId, messageId, pinned: true });
    expect(whole.message).toMatch(/Part of this message is pinned already \(characters 11–15\)/);
    expect((await h.error('chat.pin', { conversationId, messageId, pinned: true, chars: { start: 20, end: 99 } })).message).toMatch(/not in this 29-character message/);
    expect((await h.error('chat.pin', { conversationId, messageId, pinned: false, chars: { start: 0, end: 2 } })).code).toBe('not-found');

    // A second span of the same message, then unpinning the first by its characters keeps the second.
    const second = await h.call('chat.pin', { conversationId, messageId, pinned: true, chars: { start: 17, end: 25 } });
    expect(second.pins).toEqual([
      { messageId, chars: code },
      { messageId, chars: { start: 17, end: 25 } },
    ]);
    expect((await h.call('cache.view', { conversationId }))!.pins).toHaveLength(2);
    const after = await h.call('chat.pin', { conversationId, messageId, pinned: false, chars: code });
    expect(after.pins).toEqual([{ messageId, chars: { start: 17, end: 25 } }]);
    expect((await h.call('cache.view', { conversationId }))!.pins).toHaveLength(1);

    // Unpinning the message without characters drops every pin of it.
    expect((await h.call('chat.pin', { conversationId, messageId, pinned: false })).pins).toEqual([]);
    expect((await h.call('cache.view', { conversationId }))!.pins).toEqual([]);
    expect((await h.call('conversations.open', { conversationId })).conversation.pins).toBeUndefined();
  });

  it('refuses a pin while the model has not read the conversation since it was reopened, saying when it can', async () => {
    const { id: conversationId } = await h.call('conversations.create', {});
    const start = await h.call('chat.send', { conversationId, content: 'Remember 7412.' });
    await h.log.next('message', (e) => e.message.id === start.reply.id && e.message.status !== 'streaming');
    await h.services.idle();
    // Another conversation takes the stream; this one's saved context is lost, so reopening it starts the stream empty.
    const { id: other } = await h.call('conversations.create', {});
    await h.call('conversations.open', { conversationId: other });
    await rm(join(h.dataDir, 'conversations', `${conversationId}.kv`));
    const refused = await h.error('chat.pin', { conversationId, messageId: start.userMessage!.id, pinned: true, chars: { start: 9, end: 13 } });
    expect(refused).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/has not read this conversation since it was reopened.*with your next message/) });
    expect((await h.call('conversations.open', { conversationId })).conversation.pins).toBeUndefined();
  });
});
