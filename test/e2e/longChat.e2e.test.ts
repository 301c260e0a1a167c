// Conversations that outlast the model's window, in a real browser against the real services and engine
// host (tiny fixture): 30 turns past a 32-token window keep answering with 0 re-processed tokens, and
// after an engine host restart and a page reload the conversation and its cache come back. Vitest + Chromium.
import { describe, expect, it } from 'vitest';
import { chatTurn, messages, saveSettings } from './chatPage';
import { useE2E } from './e2eHarness';

const e2e = useE2E();

describe('long conversations', () => {
  it('keeps answering for 30 turns past a 32-token window with 0 re-processed tokens', async () => {
    const session = await e2e.start({ model: 'tiny' });
    const page = await session.openPage();
    await saveSettings(page, { 'Sink tokens': '4', 'Window tokens': '32', 'Max tokens': '8' });
    expect((await session.call('settings.get', {})).cache).toMatchObject({ sink: 4, window: 32 });

    const reprocessed: (number | null)[] = [];
    for (let i = 0; i < 30; i++) {
      const reply = await chatTurn(page, `turn ${i}: tell me more`, session);
      expect(reply.status, `turn ${i}`).toBe('complete');
      reprocessed.push(reply.reprocessed);
    }
    expect(reprocessed).toEqual(new Array(30).fill(0));
    const done = session.events.since(0, 'done');
    expect(done).toHaveLength(30);
    // Far past the window: hundreds of tokens have left the model's view, and none was fed twice.
    expect(done.at(-1)!.stats.tokensEvicted).toBeGreaterThan(200);
    expect(done.every((e) => e.stats.reprocessedTokens === 0)).toBe(true);
    expect(session.events.since(0, 'notice')).toEqual([]);
  });

  it('comes back after an engine host restart and a reload: same transcript, cache restored, nothing re-processed', async () => {
    const session = await e2e.start({ model: 'tiny', settings: { cache: { sink: 4, window: 32 }, sampling: { maxTokens: 8 } } });
    const page = await session.openPage();
    for (const text of ['first of all', 'then something else', 'and a third thing']) {
      expect((await chatTurn(page, text, session)).status).toBe('complete');
    }
    // What the page shows of each message (not its text: the cache view may mark the horizon inside it).
    const shown = () =>
      messages(page).evaluateAll((els) =>
        els.map((el) => [el.getAttribute('data-message-id'), el.getAttribute('data-status'), el.querySelector('[data-testid="reply-footer"]')?.textContent ?? null]),
      );
    const before = await shown();
    expect(before).toHaveLength(6);
    const conversationId = session.events.since(0, 'message').at(-1)!.conversationId;
    const stored = (await session.call('conversations.open', { conversationId })).conversation.messages;
    expect(session.events.since(0, 'done').at(-1)!.stats.tokensEvicted).toBeGreaterThan(0);

    await session.app.restartHost();
    const from = session.events.events.length;
    await page.reload();
    await messages(page).nth(5).waitFor();
    expect(await shown()).toEqual(before);
    expect((await session.call('conversations.open', { conversationId })).conversation.messages).toEqual(stored);

    const next = await chatTurn(page, 'still there?', session);
    expect(next.status).toBe('complete');
    expect(next.reprocessed).toBe(0);
    // The new host took up the saved cache: only the new turn was fed, not the three before it.
    const done = session.events.since(from, 'done');
    expect(done).toHaveLength(1);
    expect(done[0].stats.prefillTokens).toBeLessThan(40);
    expect(session.events.since(from, 'notice')).toEqual([]);
    expect(await page.getByTestId('notice').count()).toBe(0);
  });
});
