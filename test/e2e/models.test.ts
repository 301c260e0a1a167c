// The model manager in a real browser against the real services, engine host and a mock Hub serving the
// tiny fixture: first run → Models → Download → the progress bar moves → the model is installed → Load
// → a chat reply streams; and a gated model's inline error → add a token → trust the mirror with it
// (over https, with the warning shown) → try again. Vitest + Chromium.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mockHubTransport } from '../models/mockHub';
import { ACCEPTED_TOKEN, GRAPH, startModelsHub, type ModelsHub } from '../services/modelsCatalogKit';
import { composer, sendMessage, waitForReply } from './chatPage';
import { useE2E, type E2ESession } from './e2eHarness';
import type { PageWindow } from './pageTypes';

const e2e = useE2E();
let m: ModelsHub;

beforeAll(async () => {
  m = await startModelsHub();
});

afterAll(async () => {
  await m?.close();
});

function startApp(): Promise<E2ESession> {
  return e2e.start({
    // The mock Hub is the user's mirror, set in the settings as the Models page would.
    settings: { sampling: { maxTokens: 12 }, hubBaseUrl: m.hub.baseUrl },
    app: {
      catalog: m.catalog,
      services: { downloads: { transport: mockHubTransport(), retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 }, progressIntervalMs: 100, reserveBytes: 0 } },
    },
  });
}

/**
 * Samples the card's progress bar (aria-valuenow) once per frame, in the page, until the bar has been
 * seen and is gone again (the download installed) or 20 s pass. Start it before the download.
 */
function sampleProgress(page: Page, catalogId: string): Promise<(number | null)[]> {
  return page.evaluate(
    (id) =>
      new Promise<(number | null)[]>((resolve, reject) => {
        const values: (number | null)[] = [];
        const since = performance.now();
        const { document, requestAnimationFrame } = globalThis as unknown as PageWindow;
        const sample = (): void => {
          const bar = document.querySelectorAll(`[data-catalog-id="${id}"] [role="progressbar"]`).item(0);
          if (bar) {
            const now = bar.getAttribute('aria-valuenow');
            values.push(now === null ? null : Number(now));
          } else if (values.length > 0) {
            resolve(values);
            return;
          }
          if (performance.now() - since > 20_000) reject(new Error(`the download did not finish within 20 s (saw ${values.length} samples)`));
          else requestAnimationFrame(sample);
        };
        requestAnimationFrame(sample);
      }),
    catalogId,
  );
}

describe('models page', () => {
  it('downloads from the catalog with a moving progress bar, then loads the model and chats', async () => {
    // The graph trickles in (8 KB every 120 ms, ~3 s), so the bar has time to move.
    m.hub.fault({ file: GRAPH }, { kind: 'slow', chunkBytes: 8192, delayMs: 120 });
    const session = await startApp();
    const page = await session.openPage();

    await page.getByTestId('first-run').waitFor();
    await page.getByRole('button', { name: 'Browse models' }).click();
    const card = page.getByRole('article', { name: 'Tiny Chat' });
    await card.getByText('4 sink + 60 window tokens').waitFor();

    const sampled = sampleProgress(page, 'tiny-chat');
    await card.getByRole('button', { name: 'Download', exact: true }).click();
    await card.getByRole('button', { name: 'Cancel download' }).waitFor();
    const values = (await sampled).filter((v): v is number => v !== null);
    const distinct = values.filter((v, i) => i === 0 || v !== values[i - 1]);
    expect(distinct.length, `aria-valuenow samples: ${distinct.join(', ')}`).toBeGreaterThanOrEqual(2);
    expect(distinct).toEqual([...distinct].sort((a, b) => a - b));
    expect(distinct[0]).toBeLessThan(100);

    await card.getByText('Installed', { exact: true }).waitFor();
    const row = page.getByTestId('model-row').filter({ hasText: 'Tiny Chat (fp32)' });
    await row.getByText(/parameters · llama · 2 layers/).waitFor();
    await row.getByRole('button', { name: 'Load' }).click();
    await row.getByRole('button', { name: 'Loaded' }).waitFor();

    await page.getByRole('button', { name: 'Back to chat' }).click();
    await composer(page).waitFor();
    await expect.poll(() => page.getByRole('combobox', { name: 'Model' }).inputValue()).toBe('downloaded-tiny-chat-fp32');
    const from = session.events.events.length;
    await sendMessage(page, 'hello');
    const reply = await waitForReply(page, null);
    expect(reply.status).toBe('complete');
    const tokens = session.events.since(from, 'token');
    expect(tokens.length).toBeGreaterThan(0);
    expect(reply.text.length).toBeGreaterThan(0);
  });

  it('explains a gated model inline; after adding a token and trusting the mirror with it, trying again installs it', async () => {
    const session = await startApp();
    const page = await session.openPage();
    await page.getByRole('button', { name: 'Browse models' }).click();
    const card = page.getByRole('article', { name: 'Tiny Gated' });
    await card.getByRole('button', { name: 'Download', exact: true }).click();

    const failure = card.getByRole('alert');
    await failure.getByText(/gated: open its page on Hugging Face, sign in and accept the licence/).waitFor();
    await card.getByRole('link', { name: 'Open model page' }).waitFor();
    await card.getByRole('button', { name: 'Add token' }).click();
    const token = page.getByRole('textbox', { name: 'Hugging Face token' });
    const focused = () => page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id);
    await expect.poll(focused).toBe('hf-token-input');
    await token.fill(ACCEPTED_TOKEN);
    await page.getByRole('button', { name: 'Save token' }).click();
    await page.getByRole('button', { name: 'Remove token' }).waitFor();
    // The page only ever learns that a token is saved.
    expect(await page.content()).not.toContain(ACCEPTED_TOKEN);

    // The Hub said "gated" before any byte came, so nothing is on disk to resume: the card starts over.
    // This Hub is a mirror the user has not trusted with the token yet: it is not sent, and the card says so.
    await card.getByRole('button', { name: 'Try again' }).click();
    await card.getByText(/token is saved but was not sent: this mirror is not trusted with it/).waitFor();
    expect(m.hub.requests.every((r) => r.authorization === null)).toBe(true);
    const trust = page.getByRole('checkbox', { name: 'Send my Hugging Face token to this mirror' });
    expect(await trust.isChecked()).toBe(false);
    await page.getByRole('note').getByText(/can use your token to act as you on Hugging Face/).waitFor();
    // Checked once main has saved it (the box shows the setting, not a guess).
    await trust.click();
    await expect.poll(() => trust.isChecked()).toBe(true);
    expect((await session.call('settings.get', {})).hfTokenMirror).toBe(m.hub.baseUrl);

    await card.getByRole('button', { name: 'Try again' }).click();
    await card.getByText('Installed', { exact: true }).waitFor();
    expect(m.hub.requests.some((r) => r.authorization === `Bearer ${ACCEPTED_TOKEN}`)).toBe(true);
    await page.getByTestId('model-row').filter({ hasText: 'Tiny Gated (fp32)' }).waitFor();
    expect((await session.call('models.list', {})).map((x) => x.id)).toEqual(['downloaded-tiny-gated-fp32']);
  });
});
