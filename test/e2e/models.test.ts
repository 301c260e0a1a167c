// The model manager in a real browser against the real services, engine host and a mock Hub serving the
// tiny fixture: first run → Models → Download → the progress bar moves → the model is installed → Load
// → a chat reply streams; and a gated model's inline error → add a token → try again. Vitest + Chromium.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    settings: { sampling: { maxTokens: 12 } },
    app: {
      hubBaseUrl: m.hub.baseUrl,
      catalog: m.catalog,
      services: { downloads: { retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 }, progressIntervalMs: 100, reserveBytes: 0 } },
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

  it('explains a gated model inline; after adding a token, trying again installs it', async () => {
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
    await card.getByRole('button', { name: 'Try again' }).click();
    await card.getByText('Installed', { exact: true }).waitFor();
    await page.getByTestId('model-row').filter({ hasText: 'Tiny Gated (fp32)' }).waitFor();
    expect((await session.call('models.list', {})).map((x) => x.id)).toEqual(['downloaded-tiny-gated-fp32']);
  });
});
