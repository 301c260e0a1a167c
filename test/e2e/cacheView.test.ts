// The cache visualizer in a real browser against the real engine (tiny fixture, S=4, W=32): after a reply
// longer than the window the panel shows exactly the engine's 36 slots (tokens, positions, RoPE
// positions, messages), the write head at the next position's slot and the horizon at the first visible
// token; it follows a regenerate (an exact rewind), shows a new window at once after a settings change
// mid-conversation, with the send preview, and stays on the cache through a turn that starts a new
// stream; a streamed token does not re-render the message list; and the docs screenshot, panel open
// mid-stream (docs/screenshot-cache.png under `npm run docs:screenshots`). Vitest + Chromium.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { BRIDGE_PATH, type CacheViewWithText } from '../../common/contract';
import { wordCut } from '../../renderer/components/cache/wordCut';
import { gateBridge, type BridgeGate } from './bridgeGate';
import { chatTurn, composer, lastReply, sendMessage, waitForReply } from './chatPage';
import { screenshotPath, useE2E, type E2ESession } from './e2eHarness';

const e2e = useE2E();

const S = 4;
const W = 32;
/** Seed 4 makes the fixture answer this prompt with 1,000+ tokens; capped, every reply has maxTokens. */
const PROMPT = 'Tell me a long story.';
// No pin budget: these tests check a cache of exactly S + W slots (pinnedMemory.e2e.test.ts covers pins).
const settings = (maxTokens: number, window = W) => ({ cache: { sink: S, window, pinBudget: 0 }, sampling: { seed: 4, maxTokens } }) as const;

/** Rows on a page of the slot table (CacheSlotTable's TABLE_PAGE). */
const TABLE_PAGE = 64;


/** Counts renders of the watched components (renderer/components/cache/renderProbe). */
async function countRenders(page: Page): Promise<void> {
  await page.addInitScript(() => {
    (globalThis as unknown as { __ouroRenderCounts: Record<string, number> }).__ouroRenderCounts = {};
  });
}

/**
 * Counts renders and, while `pace.ms` > 0, paces token events to one every `pace.ms` on their way to the
 * page, so a reply streams over many animation frames (the fixture is fast enough to fit one into a few).
 */
async function countRendersPaced(page: Page, pace: { ms: number }): Promise<void> {
  await countRenders(page);
  await page.routeWebSocket(
    (url) => url.pathname === BRIDGE_PATH,
    (ws) => {
      const server = ws.connectToServer();
      let chain = Promise.resolve();
      server.onMessage((message) => {
        const ms = typeof message === 'string' && message.includes('"type":"token"') ? pace.ms : 0;
        chain = chain.then(() => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : undefined)).then(() => ws.send(message));
      });
    },
  );
}

function renderCounts(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => ({ ...(globalThis as unknown as { __ouroRenderCounts: Record<string, number> }).__ouroRenderCounts }));
}

function resetRenderCounts(page: Page): Promise<void> {
  return page.evaluate(() => {
    (globalThis as unknown as { __ouroRenderCounts: Record<string, number> }).__ouroRenderCounts = {};
  });
}

/** The panel is open from the start in the harness's 1280 px window; waits for it. */
async function openPanel(page: Page): Promise<void> {
  await page.getByTestId('cache-panel').waitFor();
}

/** The open conversation's id (from the services' message events). */
function conversationOf(session: E2ESession): string {
  return session.events.since(0, 'message').at(-1)!.conversationId;
}

/** Waits until the panel shows the engine's cache as of `nextPos` tokens. */
async function waitForPanelAt(page: Page, nextPos: number): Promise<void> {
  await page.locator(`[data-testid="cache-panel"][data-status="ready"][data-next-pos="${nextPos}"]`).waitFor();
}

/** The first token from `firstVisible` on that spells a message: where the horizon must be. */
function horizonOf(view: CacheViewWithText): { messageId: string; char: number } {
  const owners = view.owners!;
  for (let p = view.firstVisible; p < view.nextPos; p++) {
    const slot = view.slots.find((s) => s.pos === p)!;
    const m = owners.message[slot.slot];
    if (m >= 0) return { messageId: owners.ids![m], char: owners.char[slot.slot] };
  }
  throw new Error('no visible token belongs to a message');
}

/** The slot table's first page lists exactly `view`'s slots (the table is opened if it is not). */
async function expectTableShows(page: Page, view: CacheViewWithText): Promise<void> {
  const panel = page.getByTestId('cache-panel');
  if ((await panel.getByTestId('cache-table').count()) === 0) await panel.getByRole('button', { name: 'Show slots as a table' }).click();
  const rows = await panel
    .getByTestId('cache-table')
    .locator('tbody tr')
    .evaluateAll((els) => els.map((el) => ({ ...(el as unknown as { dataset: Record<string, string> }).dataset })));
  const owners = view.owners!;
  expect(rows).toEqual(
    view.slots.slice(0, TABLE_PAGE).map((s) => ({
      slot: String(s.slot),
      kind: s.kind,
      pos: String(s.pos),
      ropePos: String(s.ropePos),
      tokenId: String(s.tokenId),
      text: view.texts[s.slot],
      messageId: owners.message[s.slot] >= 0 ? owners.ids![owners.message[s.slot]] : '',
      char: String(owners.message[s.slot] >= 0 ? owners.char[s.slot] : -1),
      visible: String(s.visible),
      head: String(s.slot === view.head),
    })),
  );
}

/** The one horizon marker sits in the engine's horizon message, with the text before it dimmed. */
async function expectHorizonAt(page: Page, view: CacheViewWithText): Promise<void> {
  const horizon = horizonOf(view);
  const cut = page.locator(`[data-testid="message"][data-message-id="${horizon.messageId}"]`);
  await cut.getByTestId('horizon-marker').waitFor();
  expect(await page.getByTestId('horizon-marker').count()).toBe(1);
  await expect.poll(() => cut.getByTestId('out-of-view-text').getAttribute('data-chars')).toBe(String(horizon.char));
}

/** A session on the tiny fixture whose page has the panel open and one reply to PROMPT. */
async function firstReply(start: Parameters<typeof e2e.start>[0], open?: Parameters<E2ESession['openPage']>[0]) {
  const session = await e2e.start(start);
  const page = await session.openPage(open);
  await composer(page).waitFor();
  await openPanel(page);
  const reply = await chatTurn(page, PROMPT, session);
  return { session, page, reply, conversationId: conversationOf(session) };
}

describe('cache panel', () => {
  it('shows exactly the engine’s S + W slots, the write head and the horizon after a reply past the window', async () => {
    const { session, page, reply, conversationId } = await firstReply({ model: 'tiny', settings: settings(60) });
    expect(reply.status).toBe('complete');
    const view = (await session.call('cache.view', { conversationId }))!;
    expect(view.capacity).toBe(S + W);
    expect(view.nextPos).toBeGreaterThan(S + W + 20);
    await waitForPanelAt(page, view.nextPos);

    const panel = page.getByTestId('cache-panel');
    expect(await panel.getAttribute('data-capacity')).toBe(String(S + W));
    // The write head is the slot of the next position: S + (nextPos - S) mod W.
    expect(view.head).toBe(S + ((view.nextPos - S) % W));
    expect(await panel.getAttribute('data-head')).toBe(String(view.head));
    expect(await panel.getAttribute('data-first-visible')).toBe(String(view.firstVisible));
    expect(await panel.getByTestId('cache-counters').locator('[data-counter="seen"]').textContent()).toBe(view.nextPos.toLocaleString('en-US'));
    expect(await panel.getByTestId('cache-counters').locator('[data-counter="fill"]').textContent()).toBe(`${W} / ${W}`);
    const canvas = panel.getByTestId('cache-canvas');
    expect(await canvas.evaluate((el) => [(el as unknown as { width: number }).width > 0, (el as unknown as { height: number }).height > 0])).toEqual([true, true]);

    // The accessible slot table lists what the canvas paints: every slot, equal to the engine's view.
    await expectTableShows(page, view);
    const owners = view.owners!;
    expect(view.slots.filter((s) => s.kind === 'sink')).toHaveLength(S);
    expect(new Set(owners.message.map((m) => (m >= 0 ? owners.ids![m] : '')))).toContain(reply.id);

    // The horizon sits at the first visible token: the marker in its message, the text before it dimmed.
    const horizon = horizonOf(view);
    expect(horizon.messageId).toBe(reply.id);
    const marker = page.getByTestId('horizon-marker');
    expect(await marker.count()).toBe(1);
    const cut = page.locator(`[data-testid="message"][data-message-id="${horizon.messageId}"]`);
    expect(await cut.getByTestId('horizon-marker').count()).toBe(1);
    expect(await cut.getByTestId('out-of-view-text').getAttribute('data-chars')).toBe(String(horizon.char));
    // Drawn between words: where the horizon splits a word, the line goes before it and names the part out of view.
    const content = session.events.since(0, 'message').findLast((e) => e.message.id === reply.id)!.message.content;
    const split = wordCut(content, horizon.char);
    expect(await marker.getAttribute('data-in-word')).toBe(split ? 'true' : null);
    if (split) expect(await marker.getAttribute('aria-label')).toBe(`The model can no longer see above this line, nor “${split.hidden}” of “${split.word}”`);
    expect(await page.locator('[data-testid="message"][data-role="user"]').getAttribute('class')).toContain('horizon-hidden');
    // The fixture's 4 sinks hold `<|im_start|>▁system↵…`: the system prompt is only partly pinned.
    expect(await page.getByTestId('system-prompt').getAttribute('data-pinned')).toBe(String(owners.pinnedChars[0] > 0 ? 'part' : 'none'));

    // Keyboard: the canvas takes focus and announces the slot the arrows move to.
    await canvas.focus();
    await page.keyboard.press('Home');
    await expect.poll(() => page.getByTestId('cache-announcer').textContent()).toMatch(/^Slot 1 of 36, sink: .*position 0/);
    await page.keyboard.press('End');
    await expect.poll(() => page.getByTestId('cache-announcer').textContent()).toMatch(/^Slot 36 of 36, ring/);
    await page.keyboard.press('Enter');
    expect(await panel.getByTestId('slot-inspector').getAttribute('data-slot')).toBe('35');
  });

  it('follows a regenerate exactly, and shows a new window at once after a settings change mid-conversation', async () => {
    const { session, page, reply: first, conversationId } = await firstReply({ model: 'tiny', settings: settings(60) });

    // Regenerate: the engine rewinds the reply exactly (from its undo journal) and writes a new one.
    await page.getByRole('button', { name: 'Regenerate' }).click();
    const second = await waitForReply(page, first.id);
    await session.idle();
    expect(second.status).toBe('complete');
    let view = (await session.call('cache.view', { conversationId }))!;
    await waitForPanelAt(page, view.nextPos);
    await expectTableShows(page, view);
    await expectHorizonAt(page, view);

    // The app-wide window shrinks: with no reply in between, the panel, the horizon and the preview show it.
    await session.call('settings.update', { patch: { cache: { window: 24 } } });
    const panel = page.locator(`[data-testid="cache-panel"][data-status="ready"][data-capacity="${S + 24}"]`);
    await panel.waitFor();
    view = (await session.call('cache.view', { conversationId }))!;
    expect(view.capacity).toBe(S + 24);
    await waitForPanelAt(page, view.nextPos);
    await expectTableShows(page, view);
    await expectHorizonAt(page, view);
    expect(await panel.getByTestId('cache-counters').locator('[data-counter="fill"]').textContent()).toBe('24 / 24');
    const draft = 'One more question about the little dog and the sea.';
    await composer(page).fill(draft);
    const preview = page.getByTestId('send-preview');
    await preview.waitFor();
    expect(Number(await preview.getAttribute('data-pushed-out'))).toBe((await session.call('chat.preview', { conversationId, draft })).pushedOut);
  });

  it('stays on the engine’s cache through a turn on a new stream (new settings), never blank', async () => {
    // Sizes left to the engine (`auto`), as by default: the renderer cannot know a new stream's geometry itself.
    const routed: { gate?: BridgeGate } = {};
    const gated = async (p: Page) => {
      routed.gate = await gateBridge(p);
    };
    const { session, page, reply: first, conversationId } = await firstReply({ model: 'tiny', settings: { sampling: { seed: 4, maxTokens: 40 } } }, { beforeLoad: gated });
    const gate = routed.gate!;
    const before = (await session.call('cache.view', { conversationId }))!;
    await waitForPanelAt(page, before.nextPos);

    // Another positions mode starts a new stream of the same geometry; hold the page mid-reply after it.
    await session.call('settings.update', { patch: { cache: { positions: 'original' } } });
    const frozen = gate.holdAfter((event) => event.type === 'token', 10, (event) => event.type === 'done');
    await sendMessage(page, 'Go on.');
    await frozen;
    const panel = page.getByTestId('cache-panel');
    expect(await panel.getAttribute('data-status')).toBe('ready');
    expect(await panel.getAttribute('data-capacity')).toBe(String(before.capacity));
    expect(Number(await panel.getAttribute('data-next-pos'))).toBeGreaterThan(before.nextPos);
    expect(await panel.locator('.cache-status').count()).toBe(0);
    // The canvas caption names the ring the engine has.
    expect(await panel.getByTestId('cache-canvas').getAttribute('aria-label')).toContain(`a ring of ${before.window}`);

    gate.release();
    const reply = await waitForReply(page, first.id);
    await session.idle();
    expect(reply.status).toBe('complete');
    const view = (await session.call('cache.view', { conversationId }))!;
    expect(view.positions).toBe('original');
    await waitForPanelAt(page, view.nextPos);
    await expectTableShows(page, view);
  });

  it('streams a reply of 100+ tokens without re-rendering the message list per token, and previews a send', async () => {
    const session = await e2e.start({ model: 'tiny', settings: settings(300) });
    const pace = { ms: 0 };
    const page = await session.openPage({ beforeLoad: (p) => countRendersPaced(p, pace) });
    await composer(page).waitFor();
    await openPanel(page);
    const first = await chatTurn(page, PROMPT, session);
    expect(first.tokens).toBe(300);

    await resetRenderCounts(page);
    pace.ms = 10;
    const second = await chatTurn(page, 'Go on.', session);
    expect(second.tokens).toBeGreaterThanOrEqual(100);
    pace.ms = 0;
    const counts = await renderCounts(page);
    // The live text renders once per frame while the paced tokens arrive (how many frames that is depends
    // on the machine, so it is not asserted). The list renders when the reply starts and ends, when the
    // horizon crosses into another message (twice here: into the question, then into the reply) and when
    // the virtualiser re-measures the growing row (a new line): a bounded number of times, never per
    // token. Rows are memoised: only those whose placement changed render.
    expect(counts.LiveText ?? 0).toBeGreaterThan(0);
    expect(counts.MessageList ?? 0).toBeGreaterThan(0);
    expect(counts.MessageList).toBeLessThanOrEqual(24);
    expect(counts.MessageItem ?? 0).toBeLessThanOrEqual(12);

    // The composer previews what a draft would push out of view (the window is full: every token it adds).
    await composer(page).fill('One more question about the little dog and the sea.');
    const preview = page.getByTestId('send-preview');
    await preview.waitFor();
    const pushed = Number(await preview.getAttribute('data-pushed-out'));
    const expected = await session.call('chat.preview', { conversationId: conversationOf(session), draft: 'One more question about the little dog and the sea.' });
    expect(pushed).toBe(expected.pushedOut);
    expect(pushed).toBeGreaterThan(10);
  });

  // docs/screenshot-cache.png with `npm run docs:screenshots`, else a scratch file; the trained demo model.
  it('captures the panel mid-stream at 1280×800', async () => {
    const session = await e2e.start({ model: 'demo', settings: { ...settings(120, 60), sampling: { seed: 6, maxTokens: 120 } } });
    const { id } = await session.call('conversations.create', { title: 'Lily and the red box' });
    const start = await session.call('chat.send', { conversationId: id, content: 'Once upon a time, there was a little girl named Lily.' });
    await session.events.next('message', (e) => e.message.id === start.reply.id && e.message.status !== 'streaming', 0);
    await session.idle();

    const routed: { gate?: BridgeGate } = {};
    const page = await session.openPage({
      beforeLoad: async (p) => {
        routed.gate = await gateBridge(p);
      },
    });
    const gate = routed.gate!;
    await openPanel(page);
    await page.locator('[data-testid="cache-panel"][data-status="ready"]').waitFor();
    const earlier = await lastReply(page);
    const frozen = gate.holdAfter((event) => event.type === 'token', 40, (event) => event.type === 'done');
    await sendMessage(page, 'One day, Lily found a small red box in the garden.');
    await frozen;
    await page.getByTestId('reply-footer').last().getByText('40 tokens').waitFor();
    await page.mouse.move(0, 0);
    await composer(page).blur();
    // Let the last frame paint the canvas and counters.
    await page.evaluate(() => new Promise((resolve) => (globalThis as unknown as { requestAnimationFrame(cb: () => void): void }).requestAnimationFrame(() => resolve(null))));

    const target = screenshotPath('screenshot-cache.png', session.dir);
    await mkdir(join(target, '..'), { recursive: true });
    await page.screenshot({ path: target });
    const png = await readFile(target);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) }).toEqual({ width: 1280, height: 800 });

    gate.release();
    const done = await waitForReply(page, earlier!.id);
    expect(done.status).toBe('complete');
  });
});
