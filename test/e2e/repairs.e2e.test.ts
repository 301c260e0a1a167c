// Damaged files as the user meets them, in a real browser against the real services: the repairs made
// at start (settings.json and models.json set aside) wait for the page and say what was lost and where
// the damaged files went; a damaged conversation shows its readable messages, read-only. Vitest + Chromium.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composer, messages } from './chatPage';
import { useE2E } from './e2eHarness';

const e2e = useE2E();

async function damageEverything(dataDir: string): Promise<void> {
  await writeFile(join(dataDir, 'settings.json'), '{"systemPrompt": "Answer in French.", "hfToken": "hf_x", "sampling": {"top');
  await writeFile(join(dataDir, 'models.json'), '{"version":1,"models":[{"id":"a","name":"a","dir":"/models/alpha","addedAt":1}');
  await mkdir(join(dataDir, 'conversations'));
  const lines = [
    { type: 'header', version: 1, id: 'broken', title: 'Half a chat', createdAt: 1 },
    { type: 'message', id: 'u1', role: 'user', content: 'What is a ring buffer?', createdAt: 2, status: 'complete' },
    { type: 'message', id: 'a1', role: 'assistant', content: 'A queue that wraps around.', createdAt: 3, status: 'complete', parentId: 'u1' },
  ].map((r) => JSON.stringify(r));
  lines.push('{"type":"message",#', JSON.stringify({ type: 'message', id: 'u3', role: 'user', content: 'unreadable', createdAt: 5, status: 'complete' }));
  await writeFile(join(dataDir, 'conversations', 'broken.jsonl'), `${lines.join('\n')}\n`);
}

describe('damaged files at start', () => {
  it('shows each repair until dismissed, and the damaged conversation read-only', async () => {
    const session = await e2e.start({ model: 'tiny', prepare: damageEverything });
    const page = await session.openPage();

    const repairs = page.getByTestId('repair');
    await repairs.first().waitFor();
    expect(await repairs.count()).toBe(2);
    const settings = repairs.filter({ hasText: 'settings file' });
    expect(await settings.getByTestId('repair-lost').locator('li').allTextContents()).toEqual([
      'the system prompt',
      'the sampling settings (temperature, top-k, top-p, min-p, repetition penalty, max tokens, seed)',
      'the Hugging Face token',
    ]);
    expect(await settings.getByTestId('repair-kept-as').textContent()).toMatch(/settings\.json\.corrupt-/);
    const models = repairs.filter({ hasText: 'imported models' });
    expect(await models.getByTestId('repair-lost').textContent()).toBe('the imported model folder /models/alpha');

    // The newest conversation opens first: the damaged one, read-only, with what could be read.
    await page.getByTestId('read-only').waitFor();
    expect(await page.getByTestId('read-only').textContent()).toContain('damaged at line 4');
    expect(await messages(page).allTextContents()).toEqual([expect.stringContaining('What is a ring buffer?'), expect.stringContaining('A queue that wraps around.')]);
    expect(await composer(page).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);

    await settings.getByRole('button', { name: 'Dismiss' }).click();
    await settings.waitFor({ state: 'detached' });
    expect(await repairs.count()).toBe(1);
    // A page opened later still sees the repair nobody dismissed.
    const later = await session.openPage();
    await later.getByTestId('repair').waitFor();
    expect(await later.getByTestId('repair').count()).toBe(1);
  });
});
