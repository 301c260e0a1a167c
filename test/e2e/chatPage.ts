// Page helpers for the chat UI in browser end-to-end tests: send through the composer, wait for a reply
// to end, read a reply's status, text and footer, change settings through the dialog. Runs under Vitest.
import type { Locator, Page } from 'playwright-core';
import type { PageWindow } from './pageTypes';

/** A rendered assistant reply as the page shows it. */
export interface ReplyState {
  readonly id: string;
  /** `data-status`: streaming, complete, stopped, interrupted or error. */
  readonly status: string;
  /** The bubble's text as rendered (markdown applied). */
  readonly text: string;
  /** The footer's token count, null while there is none. */
  readonly tokens: number | null;
  /** The footer's "re-processed tokens", null while streaming or without stats. */
  readonly reprocessed: number | null;
}

/** Every message the transcript renders now (it is virtualised: those near the view), oldest first. */
export function messages(page: Page): Locator {
  return page.getByTestId('message');
}

/** The composer's textbox. */
export function composer(page: Page): Locator {
  return page.getByRole('textbox', { name: 'Message' });
}

/** The last assistant reply rendered, or null. Reads the DOM in one step, so the fields agree. */
export function lastReply(page: Page): Promise<ReplyState | null> {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageWindow;
    const all = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
    const reply = all.item(all.length - 1);
    if (!reply) return null;
    const footer = reply.querySelector('[data-testid="reply-footer"]');
    const tokens = footer?.querySelector('[data-stat="tokens"]')?.textContent ?? null;
    const reprocessed = footer?.querySelector('[data-stat="reprocessed"]')?.dataset.value ?? null;
    return {
      id: reply.dataset.messageId ?? '',
      status: reply.dataset.status ?? '',
      text: reply.querySelector('.message-bubble')?.textContent ?? '',
      tokens: tokens === null ? null : Number(tokens.replace(/[^\d]/g, '')),
      reprocessed: reprocessed === null ? null : Number(reprocessed),
    };
  });
}

/** Types `text` into the composer and presses Enter. */
export async function sendMessage(page: Page, text: string): Promise<void> {
  const box = composer(page);
  await box.fill(text);
  await box.press('Enter');
}

/** Waits until the last reply is another message than `previousId` and has stopped streaming. */
export async function waitForReply(page: Page, previousId: string | null, timeoutMs = 20_000): Promise<ReplyState> {
  await page.waitForFunction(
    (previous) => {
      const { document } = globalThis as unknown as PageWindow;
      const all = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
      const reply = all.item(all.length - 1);
      return reply !== null && reply.dataset.messageId !== previous && reply.dataset.status !== 'streaming';
    },
    previousId,
    { timeout: timeoutMs },
  );
  const reply = await lastReply(page);
  if (!reply) throw new Error('the reply vanished');
  return reply;
}

/** Waits until the last reply streams with some text showing. */
export async function waitForStreamingText(page: Page): Promise<ReplyState> {
  await page.waitForFunction(() => {
    const { document } = globalThis as unknown as PageWindow;
    const all = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
    const reply = all.item(all.length - 1);
    return reply?.dataset.status === 'streaming' && (reply.querySelector('.message-bubble')?.textContent ?? '').length > 0;
  });
  const reply = await lastReply(page);
  if (!reply) throw new Error('the reply vanished');
  return reply;
}

/**
 * One turn through the UI: send `text`, wait for the reply to end, then for `app.idle()` (an
 * E2ESession): the page shows a reply as ended on the engine's `done`, a moment before main has stored
 * it and takes the next turn (until then a send is refused as busy).
 */
export async function chatTurn(page: Page, text: string, app: { idle(): Promise<void> }): Promise<ReplyState> {
  const before = await lastReply(page);
  await sendMessage(page, text);
  const reply = await waitForReply(page, before?.id ?? null);
  await app.idle();
  return reply;
}

/**
 * Fills settings fields by their labels ("Max tokens", "Sink tokens", …) in the Settings dialog and
 * saves: the app defaults from the sidebar, or this conversation's overrides from the chat header.
 */
export async function saveSettings(page: Page, fields: Readonly<Record<string, string>>, scope: 'app' | 'conversation' = 'app'): Promise<void> {
  const opener = scope === 'app' ? page.getByRole('button', { name: 'Settings', exact: true }) : page.getByRole('button', { name: 'Tune this conversation' });
  await opener.click();
  const dialog = page.getByRole('dialog', { name: 'Settings' });
  for (const [label, value] of Object.entries(fields)) await dialog.getByLabel(label, { exact: true }).fill(value);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'hidden' });
}

/** The text the page put on the clipboard (the context grants clipboard access). */
export function clipboardText(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as PageWindow).navigator.clipboard.readText());
}
