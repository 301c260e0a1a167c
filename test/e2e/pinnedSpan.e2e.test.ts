// Pinning a selected span of a message in a real browser against the real services and engine host (tiny
// fixture, S=4, W=32, a 16-token pin budget): select "7412" in a user message, "Pin selection"; the send
// preview stops counting its tokens as pushed out; over-budget and overlapping selections are refused with
// the reason; replies overflow the window and the span's tokens stay in pin slots, in view, highlighted in
// the transcript above the horizon; the pin survives a reload and a cache rebuild, and a click on the
// highlight unpins it. Vitest + Chromium.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chatTurn, composer } from './chatPage';
import { useE2E, type E2ESession } from './e2eHarness';

const e2e = useE2E();

const S = 4;
const W = 32;
const BUDGET = 16;
const FACT = 'My code is 7412, remember it.';
const CODE = { start: FACT.indexOf('7412'), end: FACT.indexOf('7412') + 4 };
const LONG = '#%&'.repeat(12);

type HighlightPage = { CSS: { highlights: { get(name: string): Iterable<{ toString(): string; getBoundingClientRect(): { x: number; y: number; width: number; height: number } }> | undefined } } };
type PlainPart = { firstChild: { length: number }; getAttribute(name: string): string | null };
type SelectionPage = {
  document: { querySelector(s: string): { querySelectorAll(s: string): ArrayLike<PlainPart> } | null };
  getSelection(): { setBaseAndExtent(a: unknown, ao: number, f: unknown, fo: number): void } | null;
};

/** Selects characters [from, to) of the plain text of message `id` (rendered in parts where the horizon or the sinks cut it), as a drag would. */
async function select(page: Page, id: string, from: number, to: number): Promise<void> {
  await page.evaluate(
    ({ id, from, to }) => {
      const w = globalThis as unknown as SelectionPage;
      const parts = Array.from(w.document.querySelector(`[data-message-id="${id}"]`)!.querySelectorAll('.message-plain'));
      const at = (c: number, end: boolean): [unknown, number] => {
        for (const p of parts) {
          const base = Number(p.getAttribute('data-src-base'));
          const length = p.firstChild.length;
          // A start lies in [base, base + length), an end in (base, base + length].
          if (end ? c > base && c <= base + length : c >= base && c < base + length) return [p.firstChild, c - base];
        }
        throw new Error(`character ${c} is not rendered`);
      };
      w.getSelection()!.setBaseAndExtent(...at(from, false), ...at(to, true));
    },
    { id, from, to },
  );
  // The app reads the selection on 'selectionchange', which fires after this returns: a shortcut pressed
  // before it would act on the previous selection.
  await page.locator(`[data-testid="pin-selection"][data-span="${id}:${from}:${to}"]`).waitFor();
}

/** The texts the pin highlight draws, in order. */
function highlighted(page: Page): Promise<string[]> {
  return page.evaluate(() => [...((globalThis as unknown as HighlightPage).CSS.highlights.get('ouro-pin') ?? [])].map((r) => r.toString()));
}

async function pinnedSlots(session: E2ESession, conversationId: string, messageId: string) {
  const view = (await session.call('cache.view', { conversationId }))!;
  const held = view.slots.filter((s) => s.kind === 'pin' && s.pos >= 0);
  return { view, held, owned: held.filter((s) => view.owners!.ids![view.owners!.message[s.slot]] === messageId) };
}

describe('pinned spans', () => {
  it('pins a selected span, keeps it in view past the window, across a reload and a rebuild, and unpins it from its highlight', async () => {
    const session = await e2e.start({ model: 'tiny', settings: { cache: { sink: S, window: W, pinBudget: BUDGET }, sampling: { seed: 4, maxTokens: 4 } } });
    const page = await session.openPage();
    await composer(page).waitFor();
    await page.getByTestId('cache-panel').waitFor();

    expect((await chatTurn(page, FACT, session)).status).toBe('complete');
    const conversationId = session.events.since(0, 'message').at(-1)!.conversationId;
    const fact = page.locator('[data-testid="message"][data-role="user"]').first();
    const factId = (await fact.getAttribute('data-message-id'))!;
    const draft = 'x'.repeat(120);
    const before = await session.call('chat.preview', { conversationId, draft });

    // Select "7412" and pin it from the floating action: its characters are stored, drawn, and its tokens held.
    await select(page, factId, CODE.start, CODE.end);
    const action = page.getByTestId('pin-selection');
    expect(await action.getAttribute('title')).toMatch(/cuts a word piece \(token\) pins the whole token/);
    await action.click();
    await page.locator(`[data-message-id="${factId}"][data-pinned-spans="${CODE.start}:${CODE.end}"]`).waitFor();
    expect((await session.call('conversations.open', { conversationId })).conversation.pins).toEqual([{ messageId: factId, chars: CODE }]);
    await expect.poll(() => highlighted(page)).toEqual(['7412']);
    const { view: pinnedView } = await pinnedSlots(session, conversationId, factId);
    expect(pinnedView.pins).toHaveLength(1);
    const [span] = pinnedView.pins;
    const spanTokens = span.end - span.start;
    expect(spanTokens).toBeGreaterThan(0);
    expect(spanTokens).toBeLessThanOrEqual(4);

    // The send preview: a draft that pushes the whole window out no longer counts the pinned tokens.
    const after = await session.call('chat.preview', { conversationId, draft });
    expect(before.pushedOut - after.pushedOut).toBe(spanTokens);

    // Refusals say why: a span over the free budget, and one overlapping the pinned span.
    expect((await chatTurn(page, LONG, session)).status).toBe('complete');
    const long = page.locator('[data-testid="message"][data-role="user"]').nth(1);
    await select(page, (await long.getAttribute('data-message-id'))!, 0, LONG.length);
    await page.getByTestId('pin-selection').click();
    await expect.poll(() => page.getByTestId('notice').last().textContent()).toMatch(/Could not pin the selection: .*free of the 16-token pin budget/);
    await select(page, factId, 3, CODE.end);
    await page.keyboard.press('Control+Shift+P');
    await expect.poll(() => page.getByTestId('notice').last().textContent()).toMatch(/overlaps text of this message that is pinned already \(characters 11–15\)/);
    expect((await session.call('conversations.open', { conversationId })).conversation.pins).toEqual([{ messageId: factId, chars: CODE }]);

    // Overflow: the span's tokens stay in the pin slots, in view; the message sits above the horizon, the span highlighted.
    await session.call('settings.update', { patch: { sampling: { maxTokens: 60 } } });
    expect((await chatTurn(page, 'Tell me a long story.', session)).status).toBe('complete');
    const overflown = await pinnedSlots(session, conversationId, factId);
    expect(overflown.view.firstVisible).toBeGreaterThan(span.end);
    expect(overflown.view.pins).toEqual(pinnedView.pins);
    expect(overflown.held.map((s) => s.pos)).toEqual(Array.from({ length: spanTokens }, (_, k) => span.start + k));
    expect(overflown.held.every((s) => s.visible)).toBe(true);
    expect(overflown.owned).toHaveLength(spanTokens);
    await page.locator(`[data-testid="cache-panel"][data-status="ready"][data-next-pos="${overflown.view.nextPos}"]`).waitFor();
    const marker = page.getByTestId('horizon-marker');
    await marker.waitFor();
    expect((await fact.boundingBox())!.y).toBeLessThan((await marker.boundingBox())!.y);
    expect(await fact.getAttribute('class')).toMatch(/horizon-hidden/);
    await expect.poll(() => highlighted(page)).toEqual(['7412']);

    // A reload shows the span again; a cache rebuild (new window) pins it again from the stored characters.
    await page.reload();
    await page.locator(`[data-message-id="${factId}"][data-pinned-spans="${CODE.start}:${CODE.end}"]`).waitFor();
    await expect.poll(() => highlighted(page)).toEqual(['7412']);
    await session.call('settings.update', { patch: { cache: { window: W + 8 } } });
    const rebuilt = await pinnedSlots(session, conversationId, factId);
    expect(rebuilt.view.pins).toHaveLength(1);
    expect(rebuilt.owned).toHaveLength(spanTokens);
    expect(rebuilt.owned.every((s) => s.visible)).toBe(true);

    // A click on the highlight offers Unpin: the slots empty and the record goes.
    await page.reload();
    await expect.poll(() => highlighted(page)).toEqual(['7412']);
    await fact.scrollIntoViewIfNeeded();
    // The transcript may still settle after the reload (rows measured, scrolled under the pointer): click until the offer shows.
    await expect
      .poll(async () => {
        const box = await page.evaluate(() => {
          const [range] = [...(globalThis as unknown as HighlightPage).CSS.highlights.get('ouro-pin')!];
          const r = range.getBoundingClientRect();
          return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
        });
        await page.mouse.click(box.x, box.y);
        return page.getByTestId('unpin-span').isVisible();
      })
      .toBe(true);
    await page.getByTestId('unpin-span').click();
    await page.locator(`[data-message-id="${factId}"]:not([data-pinned-spans])`).waitFor();
    expect(await highlighted(page)).toEqual([]);
    expect((await session.call('cache.view', { conversationId }))!.pins).toEqual([]);
    expect((await session.call('conversations.open', { conversationId })).conversation.pins).toBeUndefined();
  });
});
