// Pinned memory in a real browser against the real services and engine host (tiny fixture, S=4, W=32,
// a 16-token pin budget): "Pin to memory" on a message while the ring holds it, then replies that push it
// out of the window: the message stays above the horizon line, marked and not dimmed, its tokens sit in
// pin slots the panel shows as pinned (in view), the pin is stored with the conversation, and unpinning
// frees the slots. Vitest + Chromium.
import { describe, expect, it } from 'vitest';
import { chatTurn, composer } from './chatPage';
import { useE2E } from './e2eHarness';

const e2e = useE2E();

const S = 4;
const W = 32;
const BUDGET = 16;

describe('pinned memory', () => {
  it('keeps a pinned message in the model’s view after it leaves the window, shown above the horizon and in the pin slots', async () => {
    const session = await e2e.start({ model: 'tiny', settings: { cache: { sink: S, window: W, pinBudget: BUDGET }, sampling: { seed: 4, maxTokens: 4 } } });
    const page = await session.openPage();
    await composer(page).waitFor();
    // The cache panel starts open on a wide window.
    await page.getByTestId('cache-panel').waitFor();

    expect((await chatTurn(page, 'code 7412', session)).status).toBe('complete');
    const conversationId = session.events.since(0, 'message').at(-1)!.conversationId;
    const fact = page.locator('[data-testid="message"][data-role="user"]').first();
    const factId = (await fact.getAttribute('data-message-id'))!;

    // Pin while the ring still holds it: its rows are copied, nothing is fed again.
    await fact.getByRole('button', { name: 'Pin to memory' }).click();
    await page.locator(`[data-testid="message"][data-message-id="${factId}"][data-pinned="true"]`).waitFor();
    expect(await fact.getByRole('button', { name: 'Unpin from memory' }).getAttribute('aria-pressed')).toBe('true');
    expect((await session.call('conversations.open', { conversationId })).conversation.pins).toEqual([{ messageId: factId }]);

    // Overflow: long replies push the pinned message out of the window.
    await session.call('settings.update', { patch: { sampling: { maxTokens: 60 } } });
    expect((await chatTurn(page, 'Tell me a long story.', session)).status).toBe('complete');
    const view = (await session.call('cache.view', { conversationId }))!;
    expect(view.pins).toHaveLength(1);
    const [span] = view.pins;
    // The pin slots are the pinned tokens, not the budget.
    expect(view.capacity).toBe(S + W + span.end - span.start);
    expect(view.firstVisible).toBeGreaterThan(span.end);
    const pinSlots = view.slots.filter((s) => s.kind === 'pin' && s.pos >= 0);
    expect(pinSlots.map((s) => s.pos)).toEqual(Array.from({ length: span.end - span.start }, (_, k) => span.start + k));
    expect(pinSlots.every((s) => s.visible)).toBe(true);
    expect(pinSlots.some((s) => view.owners!.ids![view.owners!.message[s.slot]] === factId)).toBe(true);

    // The transcript: the horizon line is below the pinned message, which is marked and not dimmed.
    await page.locator(`[data-testid="cache-panel"][data-status="ready"][data-next-pos="${view.nextPos}"]`).waitFor();
    const marker = page.getByTestId('horizon-marker');
    await marker.waitFor();
    const pinnedMessage = page.locator(`[data-testid="message"][data-message-id="${factId}"]`);
    expect((await pinnedMessage.boundingBox())!.y).toBeLessThan((await marker.boundingBox())!.y);
    expect(await pinnedMessage.getAttribute('class')).toMatch(/horizon-hidden.*message-pinned/);
    expect(await pinnedMessage.getByTestId('out-of-view-text').count()).toBe(0);
    expect(await pinnedMessage.getByText('Pinned').count()).toBe(1);

    // The panel: the pin slots hold the message's tokens, in view, and the counter says how many.
    const panel = page.getByTestId('cache-panel');
    expect(await panel.getByTestId('cache-counters').locator('[data-counter="pinned"]').textContent()).toBe(`${pinSlots.length} / ${BUDGET}`);
    await panel.getByRole('button', { name: 'Show slots as a table' }).click();
    const rows = await panel
      .getByTestId('cache-table')
      .locator('tbody tr[data-kind="pin"]')
      .evaluateAll((els) => els.map((el) => ({ ...(el as unknown as { dataset: Record<string, string> }).dataset })));
    const held = rows.filter((r) => r.pos !== '-1');
    expect(held.map((r) => Number(r.pos)).sort((a, b) => a - b)).toEqual(pinSlots.map((s) => s.pos));
    expect(held.every((r) => r.visible === 'true')).toBe(true);
    expect(held.some((r) => r.messageId === factId)).toBe(true);

    // Unpin: the slots empty, the message is no longer marked and is dimmed above the horizon again.
    await pinnedMessage.getByRole('button', { name: 'Unpin from memory' }).click();
    await page.locator(`[data-testid="message"][data-message-id="${factId}"]:not([data-pinned])`).waitFor();
    await expect.poll(() => panel.getByTestId('cache-counters').locator('[data-counter="pinned"]').textContent()).toBe(`0 / ${BUDGET}`);
    expect((await session.call('cache.view', { conversationId }))!.pins).toEqual([]);
    expect((await session.call('conversations.open', { conversationId })).conversation.pins).toBeUndefined();
  });
});
