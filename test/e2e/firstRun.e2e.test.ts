// A new user's first minutes in a real browser: the demo model loaded on first start gives a working chat,
// it can be hidden (never deleted), and "+ New conversation" gets a title from its first message.
// Vitest + Chromium against the real services and engine host.
import { describe, expect, it } from 'vitest';
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

    // Greedy, it continues the story as llama2.c's run.c does.
    const reply = await chatTurn(page, 'Once upon a time', session);
    expect(reply.status).toBe('complete');
    expect(reply.text).toMatch(/^, there was a little girl named Lily\./);

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
    await chatTurn(page, 'Tom and his dog', session);
    const titles = await page.locator('.conversation-title').allTextContents();
    expect(titles).toEqual(['Tom and his dog', 'Lily wanted to']);
    const stored = await session.call('conversations.list', {});
    expect(stored.map((c) => c.title)).toEqual(['Tom and his dog', 'Lily wanted to']);
  });
});
