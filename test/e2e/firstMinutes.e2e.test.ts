// A new user's first minutes in a real browser: the demo model loaded on first start gives a working chat,
// it can be hidden (never deleted), "+ New conversation" gets a title from its first message, and an
// 800×600 window keeps a usable chat beside the cache panel. Vitest + Chromium against the real services
// and engine host.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { PROVIDER_LABELS } from '../../common/providers';
import { chatTurn, composer } from './chatPage';
import { useE2E } from './e2eHarness';

const e2e = useE2E();

describe('first run with the demo model', () => {
  it('opens on a working chat with the demo model, which can be hidden and shown but not deleted', async () => {
    const session = await e2e.start({ model: 'demo', settings: { sampling: { temperature: 0, repetitionPenalty: 1, maxTokens: 24 } } });
    expect(session.model).toMatchObject({ name: 'Demo · TinyStories 260K', source: 'demo' });
    const page = await session.openPage();
    await composer(page).waitFor();
    expect(await page.getByTestId('first-run').count()).toBe(0);
    const picker = page.getByRole('combobox', { name: 'Model' });
    expect(await picker.locator('option:checked').textContent()).toBe('Demo · TinyStories 260K');
    // The first screen shows the cache: the panel is open where the window fits it beside the chat.
    await page.getByTestId('cache-panel').waitFor();
    expect(await page.getByRole('button', { name: 'Cache panel' }).getAttribute('aria-pressed')).toBe('true');

    // Greedy, it continues the story as llama2.c's run.c does.
    const reply = await chatTurn(page, 'Once upon a time', session);
    expect(reply.status).toBe('complete');
    expect(reply.text).toMatch(/^, there was a little girl named Lily\./);
    // How it ended is stored with it (an empty reply says why from this).
    expect(session.events.since(0, 'message').at(-1)?.message).toMatchObject({ id: reply.id, status: 'complete', endReason: 'max' });

    await page.getByRole('button', { name: 'Models', exact: true }).click();
    const row = page.locator(`[data-testid="model-row"][data-model-id="${session.model!.id}"]`);
    await row.getByText("Writes short children's stories; download a chat model for conversations.").waitFor();
    expect(await row.getByRole('button', { name: 'Delete model' }).count()).toBe(0);
    await row.getByRole('button', { name: 'Hide' }).click();
    await row.getByText('Comes with Ouro · hidden').waitFor();
    const listed = await session.call('models.list', {});
    expect(listed.find((m) => m.source === 'demo')).toMatchObject({ hidden: true });
    await expect(session.call('models.remove', { id: session.model!.id })).rejects.toThrow(/never deleted; hide it instead/);
    await row.getByRole('button', { name: 'Show in model menu' }).click();
    await row.getByText('Comes with Ouro', { exact: true }).waitFor();
  });

  it('a conversation started with "+ New conversation" is titled after its first message', async () => {
    const session = await e2e.start({ model: 'demo', settings: { sampling: { maxTokens: 8 } } });
    const page = await session.openPage();
    await chatTurn(page, 'Lily wanted to', session);
    await page.getByRole('button', { name: 'New conversation' }).click();
    // The new conversation is open once the first one's transcript has left the page.
    await page.locator('[data-message-id]').first().waitFor({ state: 'detached' });
    await chatTurn(page, 'Tom and his dog', session);
    // The new title arrives with the conversation list's next event.
    await expect.poll(() => page.locator('.conversation-title').allTextContents()).toEqual(['Tom and his dog', 'Lily wanted to']);
    const stored = await session.call('conversations.list', {});
    expect(stored.map((c) => c.title)).toEqual(['Tom and his dog', 'Lily wanted to']);
  });
});

/** Whether a click at the middle of `target` lands on it (nothing drawn over it). */
async function hittable(page: Page, target: Locator): Promise<boolean> {
  const box = await target.boundingBox();
  if (!box) return false;
  return target.evaluate((el, [x, y]) => {
    const hit = el.ownerDocument.elementFromPoint(x, y);
    return hit !== null && (hit === el || el.contains(hit));
  }, [box.x + box.width / 2, box.y + box.height / 2] as const);
}

describe('a small window', () => {
  it('at 800×600 the open cache panel leaves a usable chat, and sidebar and panel both toggle', async () => {
    const session = await e2e.start({ model: 'demo', settings: { sampling: { maxTokens: 8 } } });
    const page = await session.openPage({ beforeLoad: (p) => p.setViewportSize({ width: 800, height: 600 }) });
    await chatTurn(page, 'Once upon a time', session);
    // Too narrow for the panel beside sidebar and chat, so it starts closed.
    const panelToggle = page.getByRole('button', { name: 'Cache panel' });
    const panel = page.getByTestId('cache-panel');
    expect(await panelToggle.getAttribute('aria-pressed')).toBe('false');
    expect(await panel.count()).toBe(0);
    await panelToggle.click();
    await panel.waitFor();

    const chat = (await page.locator('main.main').boundingBox())!;
    expect(chat.width).toBeGreaterThanOrEqual(450);
    const title = (await page.locator('.chat-title').boundingBox())!;
    expect(title.width).toBeGreaterThanOrEqual(60);
    expect(title.x + title.width).toBeLessThanOrEqual(chat.x + chat.width);
    for (const control of [panelToggle, page.getByRole('textbox', { name: 'Message' }), page.getByRole('combobox', { name: 'Model' })]) {
      expect(await hittable(page, control)).toBe(true);
    }
    // The sidebar folded away for the panel comes back over the chat, and goes again.
    const sidebar = page.getByRole('complementary', { name: 'Sidebar' });
    expect(await sidebar.isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Sidebar' }).click();
    await sidebar.getByRole('button', { name: 'New conversation' }).waitFor();
    expect(await hittable(page, sidebar.getByRole('button', { name: 'New conversation' }))).toBe(true);
    await sidebar.getByRole('button', { name: 'Hide sidebar' }).click();
    await sidebar.waitFor({ state: 'hidden' });
    // Closing the panel gives the sidebar its column back.
    await panelToggle.click();
    await panel.waitFor({ state: 'detached' });
    await sidebar.waitFor();
    expect(await page.getByRole('button', { name: 'Sidebar' }).isVisible()).toBe(false);
  });
});

describe('keyboard shortcuts', () => {
  it('new chat, search, settings and the cache panel by key, all listed in the help sheet', async () => {
    const session = await e2e.start({ model: 'demo', settings: { sampling: { maxTokens: 8 } } });
    const page = await session.openPage();
    await chatTurn(page, 'Once upon a time', session);

    await page.keyboard.press('Control+/');
    const sheet = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await sheet.waitFor();
    const rows = await sheet.getByTestId('shortcut-list').locator('.shortcut-row').allTextContents();
    for (const row of ['Ctrl+NNew conversation', 'Ctrl+KSearch conversations', 'Ctrl+,Settings', 'EscStop the reply being written', 'Ctrl+/Keyboard shortcuts']) {
      expect(rows).toContain(row);
    }
    await page.keyboard.press('Escape');
    await sheet.waitFor({ state: 'hidden' });

    await page.keyboard.press('Control+k');
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null } | null } }).document.activeElement?.getAttribute('aria-label'))).toBe('Search conversations');
    // The panel, open from the start in a wide window, goes and comes back by key.
    await page.getByTestId('cache-panel').waitFor();
    await page.keyboard.press('Control+Shift+K');
    await page.getByTestId('cache-panel').waitFor({ state: 'detached' });
    await page.keyboard.press('Control+Shift+K');
    await page.getByTestId('cache-panel').waitFor();
    await page.keyboard.press('Control+n');
    await expect.poll(() => page.locator('.chat-title').textContent()).toBe('New conversation');
    expect(await page.getByTestId('message').count()).toBe(0);
    await page.keyboard.press('Control+,');
    await page.getByRole('dialog', { name: 'Settings' }).waitFor();
  });
});

describe('settings', () => {
  it("show what 'auto' came to: the engine's sink and window for the open conversation, the provider of the loaded model", async () => {
    const session = await e2e.start({ model: 'demo', settings: { sampling: { maxTokens: 8 } } });
    const page = await session.openPage();
    await chatTurn(page, 'Once upon a time', session);
    const conversationId = session.events.since(0, 'message').at(-1)!.conversationId;
    const view = (await session.call('cache.view', { conversationId }))!;
    await page.locator('[data-testid="cache-panel"][data-status="ready"]').waitFor();
    await page.keyboard.press('Control+,');
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    const note = (label: string) => dialog.locator('.field').filter({ has: page.getByLabel(label, { exact: true }) }).getByTestId('resolved-auto');
    expect(await note('Sink tokens').textContent()).toBe(`Now: auto (${view.sink})`);
    expect(await note('Window tokens').textContent()).toBe(`Now: auto (${view.window.toLocaleString('en-US')})`);
    const { provider } = (await session.call('models.current', {}))!;
    expect(await dialog.getByLabel('Provider').locator('option[value="auto"]').textContent()).toBe(`Auto (${PROVIDER_LABELS[provider]})`);
    // The conversation's own tab says the same for its blank (app default) fields.
    await dialog.getByRole('tab', { name: 'This conversation' }).click();
    expect(await note('Window tokens').textContent()).toBe(`Now: auto (${view.window.toLocaleString('en-US')})`);
  });
});

describe('the cache panel', () => {
  it('fits its slot table into the 320 px panel', async () => {
    const session = await e2e.start({ model: 'demo', settings: { sampling: { maxTokens: 24 } } });
    const page = await session.openPage();
    await chatTurn(page, 'Once upon a time', session);
    const panel = page.getByTestId('cache-panel');
    await panel.getByRole('button', { name: 'Show slots as a table' }).click();
    await panel.getByTestId('cache-table').waitFor();
    const [inner, outer] = await panel.evaluate((el) => [el.scrollWidth, el.clientWidth]);
    expect(inner).toBeLessThanOrEqual(outer);
    const table = (await panel.getByTestId('cache-table').boundingBox())!;
    const box = (await panel.boundingBox())!;
    expect(table.x + table.width).toBeLessThanOrEqual(box.x + box.width);
  });
});

describe('the system prompt row', () => {
  it('opened with a long prompt in a small window, scrolls inside itself instead of covering the transcript', async () => {
    const systemPrompt = Array.from({ length: 60 }, (_, i) => `Rule ${i}: always answer kindly and briefly.`).join(' ');
    const session = await e2e.start({ model: 'tiny', settings: { systemPrompt, sampling: { maxTokens: 8 } } });
    const page = await session.openPage();
    await page.setViewportSize({ width: 800, height: 600 });
    await chatTurn(page, 'hello', session);
    await page.getByTestId('system-prompt').getByRole('button', { name: /System prompt/ }).click();
    await page.getByTestId('system-prompt').getByText('Rule 59', { exact: false }).waitFor({ state: 'attached' });
    // "Pinned" explains itself on hover.
    expect(await page.getByTestId('system-prompt').locator('.pinned-badge').first().getAttribute('title')).toMatch(/^Pinned: held in the attention-sink slots/);
    const row = (await page.getByTestId('system-prompt').boundingBox())!;
    const transcript = (await page.getByTestId('message-list').boundingBox())!;
    expect(row.y + row.height).toBeLessThanOrEqual(transcript.y + 1);
    expect(transcript.height).toBeGreaterThanOrEqual(150);
    expect(await hittable(page, page.getByTestId('message').first())).toBe(true);
    expect(await hittable(page, page.getByRole('textbox', { name: 'Message' }))).toBe(true);
  });
});

/**
 * WCAG contrast of each element's computed text colour against what is painted behind it: its own and its
 * ancestors' backgrounds composited down to the first opaque one (translucent hover and active rows too).
 */
function contrasts(page: Page, selectors: readonly string[]): Promise<Record<string, number>> {
  return page.evaluate((list) => {
    interface El {
      readonly parentElement: El | null;
    }
    const win = globalThis as unknown as {
      document: { querySelector(selector: string): El | null };
      getComputedStyle(el: El): { readonly color: string; readonly backgroundColor: string };
    };
    const rgba = (css: string): number[] => {
      const [r, g, b, a = 1] = (css.match(/[\d.]+/g) ?? []).map(Number);
      return [r, g, b, a];
    };
    const luminance = ([r, g, b]: number[]): number => {
      const [R, G, B] = [r, g, b].map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
      return 0.2126 * R + 0.7152 * G + 0.0722 * B;
    };
    const out: Record<string, number> = {};
    for (const selector of list) {
      const el = win.document.querySelector(selector);
      if (!el) throw new Error(`nothing matches ${selector}`);
      const layers: number[][] = [];
      for (let at: El | null = el; at; at = at.parentElement) {
        const layer = rgba(win.getComputedStyle(at).backgroundColor);
        if (layer[3] > 0) layers.push(layer);
        if (layer[3] === 1) break;
      }
      let behind = [255, 255, 255];
      for (const [r, g, b, a] of layers.reverse()) behind = [r, g, b].map((v, i) => a * v + (1 - a) * behind[i]);
      const [fg, bg] = [luminance(rgba(win.getComputedStyle(el).color)), luminance(behind)];
      out[selector] = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    }
    return out;
  }, selectors);
}

describe('contrast', () => {
  it('secondary text (reply stats, composer hint, timestamps) meets WCAG AA 4.5:1 in light and dark', async () => {
    const session = await e2e.start({ model: 'demo', settings: { sampling: { maxTokens: 8 } } });
    const page = await session.openPage();
    await chatTurn(page, 'Once upon a time', session);
    const secondary = ['[data-testid="reply-footer"] [data-stat="tokens"]', '.composer-hint', '.conversation-item.is-active .conversation-sub'];
    for (const theme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: theme });
      const ratios = await contrasts(page, secondary);
      for (const selector of secondary) expect(ratios[selector], `${selector} (${theme})`).toBeGreaterThanOrEqual(4.5);
    }
  });
});

describe('notices', () => {
  it('never cover the Send button or a catalog Download button', async () => {
    const session = await e2e.start({ model: 'demo' });
    const page = await session.openPage({ beforeLoad: (p) => p.setViewportSize({ width: 800, height: 600 }) });
    await page.getByRole('textbox', { name: 'Message' }).fill('Once upon a time');
    // Each damaged model list is set aside and reported as a repair: three toasts at once.
    for (let i = 0; i < 3; i++) {
      await writeFile(join(session.dataDir, 'models.json'), `damaged ${i}`);
      await session.call('models.list', {});
    }
    await expect.poll(() => page.getByTestId('repair').count()).toBe(3);
    expect(await hittable(page, page.getByRole('button', { name: 'Send' }))).toBe(true);

    await page.getByRole('button', { name: 'Models', exact: true }).click();
    const downloads = page.getByRole('button', { name: /^Download/ });
    await downloads.first().waitFor();
    for (const button of await downloads.all()) {
      await button.scrollIntoViewIfNeeded();
      expect(await hittable(page, button), await button.getAttribute('aria-describedby') ?? 'Download').toBe(true);
    }
    expect(await page.getByTestId('repair').count()).toBe(3);
  });
});
