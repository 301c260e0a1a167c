// The chat loop in a real browser against the real services and engine host (tiny fixture model): tokens
// stream in progressively, stop by button and by Esc keeps the partial text, regenerate and
// edit-and-resend replace what they should, markdown renders with a code copy button. Vitest + Chromium.
import { describe, expect, it } from 'vitest';
import type { AppEvent, Message } from '../../common/contract';
import { ConversationStore } from '../../main/storage/conversationStore';
import { chatTurn, clipboardText, composer, lastReply, messages, sendMessage, waitForReply, waitForStreamingText } from './chatPage';
import { useE2E, type E2ESession } from './e2eHarness';
import { ensureFixture } from '../fixtures/llamaFixture';
import type { PageWindow } from './pageTypes';

const e2e = useE2E();

/**
 * The tiny fixture whose replies never end by themselves (TINY_ENDLESS: its end tokens score below at
 * least 168 others at every step, so top-k 10 never draws one): a reply streams until it is stopped or
 * reaches maxTokens, however fast the model outruns the page.
 */
const ENDLESS = async (): Promise<{ dir: string }> => ({ dir: (await ensureFixture('tiny-endless')).dir });
const LONG_REPLY = { sampling: { seed: 21, topK: 10, maxTokens: 100_000 } } as const;
const LONG_PROMPT = 'Tell me a long story.';
/** The same, capped: exactly 1,000 tokens. The tiny model outruns the page's frames, so it takes that many. */
const REPLY_OF_1000 = { sampling: { ...LONG_REPLY.sampling, maxTokens: 1000 } } as const;

/** The stored version of message `id` once it stopped streaming (from the services' events). */
async function storedMessage(session: E2ESession, id: string): Promise<Message> {
  const event = await session.events.next('message', (e) => e.message.id === id && e.message.status !== 'streaming', 0);
  return event.message;
}

function doneEvents(session: E2ESession): Extract<AppEvent, { type: 'done' }>[] {
  return session.events.since(0, 'done');
}

describe('streaming', () => {
  it('shows the reply token by token, not all at once', async () => {
    const session = await e2e.start({ model: await ENDLESS(), settings: REPLY_OF_1000 });
    const page = await session.openPage();
    await composer(page).waitFor();
    // Sampled in the page once per frame, from before the send until the reply stops streaming.
    const sampling = page.evaluate(
      () =>
        new Promise<{ lengths: number[]; tokens: number[] }>((resolve, reject) => {
          const { document, requestAnimationFrame } = globalThis as unknown as PageWindow;
          const lengths: number[] = [];
          const tokens: number[] = [];
          const since = performance.now();
          const sample = (): void => {
            const all = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
            const reply = all.item(all.length - 1);
            if (reply?.dataset.status === 'streaming') {
              lengths.push(reply.querySelector('.message-bubble')?.textContent?.length ?? 0);
              const count = reply.querySelector('[data-stat="tokens"]')?.textContent ?? '0';
              tokens.push(Number(count.replace(/[^\d]/g, '')));
            } else if (lengths.length > 0) {
              resolve({ lengths, tokens });
              return;
            }
            if (performance.now() - since > 30_000) reject(new Error('the reply did not stream and end within 30 s'));
            else requestAnimationFrame(sample);
          };
          requestAnimationFrame(sample);
        }),
    );
    await sendMessage(page, LONG_PROMPT);
    const { lengths, tokens } = await sampling;
    const reply = await waitForReply(page, null);
    expect(reply.status).toBe('complete');
    const stored = await storedMessage(session, reply.id);
    const final = stored.stats!.tokens;
    expect(final).toBe(1000);
    expect(doneEvents(session).map((e) => e.reason)).toEqual(['max']);

    const grownLengths = new Set(lengths.filter((n) => n > 0));
    expect(grownLengths.size).toBeGreaterThanOrEqual(3);
    // The live token counter only ever grows, through several values, up to the final count (a busy page
    // may draw the last token's count before the reply's end arrives).
    const counts = tokens.filter((n) => n > 0);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(new Set(counts).size).toBeGreaterThanOrEqual(3);
    expect(Math.max(...counts)).toBeLessThanOrEqual(final);
    expect(reply.tokens).toBe(final);
  });
});

describe('stop', () => {
  it('stops mid-stream with the Stop button and with Esc, keeping the partial text', async () => {
    const session = await e2e.start({ model: await ENDLESS(), settings: LONG_REPLY });
    const page = await session.openPage();
    await sendMessage(page, LONG_PROMPT);
    const live = await waitForStreamingText(page);
    await page.getByRole('button', { name: 'Stop' }).click();
    const byButton = await waitForReply(page, null);
    expect(byButton).toMatchObject({ id: live.id, status: 'stopped' });
    expect(byButton.text.length).toBeGreaterThanOrEqual(live.text.length);
    await page.getByText('Stopped. You stopped this reply before it finished').waitFor();
    const first = await storedMessage(session, live.id);
    expect(first.status).toBe('stopped');
    expect(first.content.length).toBeGreaterThan(0);
    // Short of the 100,000 it would have written (how far short depends on the machine's load: the tiny
    // model outruns the click by ten thousand tokens on a busy machine).
    expect(first.stats!.tokens).toBeLessThan(LONG_REPLY.sampling.maxTokens);
    // What the page holds is exactly the stored partial text.
    const reply = messages(page).and(page.locator(`[data-message-id="${live.id}"]`));
    await reply.getByRole('button', { name: 'Copy', exact: true }).click();
    expect(await clipboardText(page)).toBe(first.content);

    // Regenerate replays the same seed, so this reply starts as the stopped one did; Esc stops it.
    await session.idle();
    await page.getByRole('button', { name: 'Regenerate' }).click();
    const again = await waitForStreamingText(page);
    expect(again.id).not.toBe(live.id);
    await page.keyboard.press('Escape');
    const byEsc = await waitForReply(page, null);
    expect(byEsc).toMatchObject({ id: again.id, status: 'stopped' });
    const second = await storedMessage(session, again.id);
    expect(second.status).toBe('stopped');
    expect(second.content.length).toBeGreaterThan(0);
    // Rewound exactly through the undo journal (1,024 tokens), the same seed replays the same text. A first
    // reply longer than that (a busy machine outruns the click by thousands of tokens) is re-prefilled
    // instead, counted: then the logits may differ in their last bits and the samples drift apart.
    // A reply stopped inside a character ends with it as U+FFFD (the detokenizer's flush), where the longer
    // one holds the whole character: the prefix is compared without it.
    const [shorter, longer] = [first.content, second.content].sort((a, b) => a.length - b.length);
    if (second.stats!.reprocessedTokens === 0) expect(longer.startsWith(shorter.replace(/\uFFFD$/, ''))).toBe(true);
    expect(doneEvents(session).map((e) => e.reason)).toEqual(['cancelled', 'cancelled']);

    // The stopped reply survives a reload as it was.
    await page.reload();
    await page.getByText('Stopped. You stopped this reply before it finished').waitFor();
    expect(await lastReply(page)).toMatchObject({ id: again.id, status: 'stopped' });
    expect(await messages(page).count()).toBe(2);
  });
});

describe('regenerate and edit', () => {
  it('regenerate replaces the reply, re-processing nothing', async () => {
    const session = await e2e.start({ model: 'tiny', settings: { sampling: { maxTokens: 16 } } });
    const page = await session.openPage();
    const first = await chatTurn(page, 'Tell me about the sea.', session);
    expect(first.status).toBe('complete');
    await page.getByRole('button', { name: 'Regenerate' }).click();
    const second = await waitForReply(page, first.id);
    expect(second.status).toBe('complete');
    expect(second.reprocessed).toBe(0);
    expect(await messages(page).count()).toBe(2);
    expect(await page.locator(`[data-message-id="${first.id}"]`).count()).toBe(0);
    // The session's seeds are 1, 2, …: the new reply is another sample, not the old one again.
    const [a, b] = [await storedMessage(session, first.id), await storedMessage(session, second.id)];
    expect(b.content).not.toBe(a.content);
    const conversationId = session.events.since(0, 'message').at(-1)!.conversationId;
    const { conversation } = await session.call('conversations.open', { conversationId });
    expect(conversation.messages.map((m) => m.id)).toEqual([conversation.messages[0].id, second.id]);
  });

  it('regenerate keeps the earlier reply: ‹ 1/2 › shows either, the cache follows, and the file keeps both', async () => {
    const session = await e2e.start({ model: 'tiny', settings: { sampling: { maxTokens: 16 } } });
    const page = await session.openPage();
    const first = await chatTurn(page, 'Tell me about the sea.', session);
    const conversationId = session.events.since(0, 'message').at(-1)!.conversationId;
    await page.getByRole('button', { name: 'Regenerate' }).click();
    const second = await waitForReply(page, first.id);
    await session.idle();
    const switcher = page.getByTestId('version-switch');
    expect(await switcher.getByLabel('Version 2 of 2').textContent()).toBe('2/2');
    const [a, b] = [await storedMessage(session, first.id), await storedMessage(session, second.id)];
    expect(b.content).not.toBe(a.content);
    /** Which messages' tokens the engine's cache holds now, by the app's ids. */
    const heldMessages = async () => {
      const view = (await session.call('cache.view', { conversationId }))!;
      const owners = view.owners!;
      return { view, ids: new Set(owners.message.filter((m) => m >= 0).map((m) => owners.ids![m])) };
    };
    expect((await heldMessages()).ids.has(second.id)).toBe(true);

    // Back to the first version: it is shown in its place, and the cache holds it, not the second.
    await switcher.getByRole('button', { name: 'Previous version' }).click();
    await page.locator(`[data-message-id="${first.id}"]`).waitFor();
    expect(await page.locator(`[data-message-id="${second.id}"]`).count()).toBe(0);
    expect(await switcher.getByLabel('Version 1 of 2').textContent()).toBe('1/2');
    expect(await lastReply(page)).toMatchObject({ id: first.id, text: a.content });
    const held = await heldMessages();
    expect(held.ids.has(first.id)).toBe(true);
    expect(held.ids.has(second.id)).toBe(false);
    // The panel shows that cache, and the notice counts the tokens fed again to follow the thread.
    await page.locator(`[data-testid="cache-panel"][data-status="ready"][data-next-pos="${held.view.nextPos}"]`).waitFor();
    await page.getByText(/The model read this conversation again to follow the version shown \([\d,]+ tokens re-processed\)/).waitFor();

    // Stored: a fresh load shows the first version with both kept.
    const { conversation } = await session.call('conversations.open', { conversationId });
    expect(conversation.messages.map((m) => m.id)).toEqual([conversation.messages[0].id, first.id]);
    expect(conversation.replyVersions?.[conversation.messages[0].id]?.map((m) => m.id)).toEqual([first.id, second.id]);
    await page.reload();
    await page.getByTestId('version-switch').getByLabel('Version 1 of 2').waitFor();

    // The next turn continues from the version shown: only its own tokens are fed.
    const next = await chatTurn(page, 'And the sky?', session);
    expect(next.reprocessed).toBe(0);
    expect(await page.getByTestId('version-switch').count()).toBe(0);
  });

  it('edit and resend replaces the message and everything after it with a new reply', async () => {
    const session = await e2e.start({ model: 'tiny', settings: { sampling: { maxTokens: 12 } } });
    const page = await session.openPage();
    const r1 = await chatTurn(page, 'What is a tiny model?', session);
    const r2 = await chatTurn(page, 'And a big one?', session);
    expect(await messages(page).count()).toBe(4);

    const firstUser = messages(page).and(page.locator('[data-role="user"]')).first();
    await firstUser.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('textbox', { name: 'Edit text' }).fill('What is a small model?');
    await page.getByRole('button', { name: 'Apply edit' }).click();
    const r3 = await waitForReply(page, r2.id);
    expect(r3.status).toBe('complete');
    expect(r3.reprocessed).toBe(0);

    const shown = await messages(page).evaluateAll((els) => els.map((el) => [el.getAttribute('data-role'), el.getAttribute('data-message-id')]));
    expect(shown.map(([role]) => role)).toEqual(['user', 'assistant']);
    expect(shown[1][1]).toBe(r3.id);
    expect(await messages(page).first().textContent()).toContain('What is a small model?');
    const transcript = page.getByTestId('message-list');
    for (const gone of ['What is a tiny model?', 'And a big one?']) expect(await transcript.getByText(gone).count()).toBe(0);
    for (const id of [r1.id, r2.id]) expect(await page.locator(`[data-message-id="${id}"]`).count()).toBe(0);
  });
});

describe('export', () => {
  it('exports the open conversation as Markdown and as JSON through a download', async () => {
    const session = await e2e.start({ model: 'tiny', settings: { sampling: { maxTokens: 8 } } });
    const page = await session.openPage();
    const reply = await chatTurn(page, 'Export me, please.', session);
    const saved = async (item: string) => {
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Export conversation' }).click();
      await page.getByRole('menuitem', { name: item }).click();
      const file = await download;
      const stream = await file.createReadStream();
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return { name: file.suggestedFilename(), text: Buffer.concat(chunks).toString('utf8') };
    };
    const markdown = await saved('Markdown (.md)');
    expect(markdown.name).toMatch(/\.md$/);
    expect(markdown.text).toContain('Export me, please.');
    const json = await saved('JSON (.json)');
    expect(json.name).toMatch(/\.json$/);
    const exported = JSON.parse(json.text) as { messages: { id: string; content: string }[] };
    expect(exported.messages.map((m) => m.id)).toContain(reply.id);
    expect(exported.messages[0].content).toBe('Export me, please.');
  });
});

describe('markdown', () => {
  it('renders a stored reply as markdown: highlighted code with Copy code, tables, no raw HTML', async () => {
    const session = await e2e.start({ model: 'tiny' });
    // The random model cannot be made to write markdown, so the reply is stored before the page opens.
    const store = new ConversationStore(session.dataDir);
    const { id } = await store.create({ title: 'Markdown' });
    await store.appendMessage(id, { role: 'user', content: 'Show me **some** code' });
    const code = 'const answer: number = 42;\nconsole.log(answer);';
    const content = ['Here is **bold** text and a table:', '', '| a | b |', '|---|---|', '| 1 | 2 |', '', '```ts', code, '```', '', '<img src="x" onerror="window.pwned = 1">'].join('\n');
    await store.appendMessage(id, { role: 'assistant', content, stats: { tokens: 12, tokPerSec: 30, ttftMs: 40, reprocessedTokens: 0 } });
    await store.close();

    const page = await session.openPage();
    const copyCode = page.getByRole('button', { name: 'Copy code' });
    await copyCode.waitFor();
    const reply = messages(page).and(page.locator('[data-role="assistant"]'));
    expect(await reply.locator('strong').textContent()).toBe('bold');
    expect(await reply.getByRole('cell', { name: '2' }).count()).toBe(1);
    expect(await reply.locator('pre code.language-ts').textContent()).toBe(`${code}\n`);
    expect(await reply.locator('pre code [class^="hljs-"]').count()).toBeGreaterThan(2);
    expect(await reply.locator('img').count()).toBe(0);
    expect(await page.evaluate(() => 'pwned' in globalThis)).toBe(false);
    // A user message is shown as typed, not as markdown.
    expect(await messages(page).first().textContent()).toContain('Show me **some** code');
    expect(await reply.getByTestId('reply-footer').locator('[data-stat="reprocessed"]').getAttribute('data-value')).toBe('0');

    await copyCode.click();
    expect((await clipboardText(page)).trim()).toBe(code);
    await reply.getByRole('button', { name: 'Copy', exact: true }).click();
    expect(await clipboardText(page)).toBe(content);
  });
});
