// What goes wrong, in a real browser against the real services and engine host: the first-run screen,
// broken model folders shown with the engine's own error while the app stays usable, and malformed
// frames and verbs on the page's bridge socket answered with typed errors. Vitest + Chromium.
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFixture } from '../fixtures/llamaFixture';
import { chatTurn, composer } from './chatPage';
import { useE2E } from './e2eHarness';
import type { PageWindow } from './pageTypes';

const e2e = useE2E();

describe('first run', () => {
  it('shows the first-run screen, a broken folder’s own error, stays usable, and chats once a good folder is open', async () => {
    const session = await e2e.start({ settings: { sampling: { maxTokens: 8 } } });
    const tiny = (await ensureFixture('tiny')).dir;
    const noTokenizer = join(session.dir, 'no-tokenizer');
    await cp(tiny, noTokenizer, { recursive: true });
    await rm(join(noTokenizer, 'tokenizer.json'));
    const noConfig = join(session.dir, 'no-config');
    await mkdir(noConfig);

    const page = await session.openPage();
    const firstRun = page.getByTestId('first-run');
    await firstRun.getByRole('heading', { name: 'Welcome to Ouro' }).waitFor();
    const folder = page.getByRole('textbox', { name: 'Model folder' });
    const open = page.getByRole('button', { name: 'Open model folder…' });
    const error = page.getByTestId('import-error');

    const expectations: [string, string][] = [
      [noTokenizer, 'model folder lacks tokenizer.json'],
      [noConfig, 'model folder lacks config.json'],
      [join(session.dir, 'nowhere'), `model folder ${join(session.dir, 'nowhere')} does not exist`],
    ];
    for (const [dir, message] of expectations) {
      await folder.fill(dir);
      await open.click();
      await error.waitFor();
      expect(await error.textContent()).toContain(message);
      expect(await folder.getAttribute('aria-invalid')).toBe('true');
      // Still the first-run screen, with the field ready for another try.
      expect(await firstRun.isVisible()).toBe(true);
      expect(await folder.inputValue()).toBe(dir);
      expect(await folder.isEditable()).toBe(true);
    }
    expect(await session.call('models.list', {})).toEqual([]);

    await folder.fill(tiny);
    expect(await error.count()).toBe(0);
    await open.click();
    await firstRun.waitFor({ state: 'detached' });
    expect(await composer(page).isEnabled()).toBe(true);
    const picker = page.getByRole('combobox', { name: 'Model' });
    expect(await picker.locator('option:checked').textContent()).toBe('tiny');
    expect((await session.call('models.current', {}))?.dir).toBe(tiny);
    expect((await chatTurn(page, 'Hello!', session)).status).toBe('complete');
  });
});

describe('malformed input from the page', () => {
  it('answers garbage frames, unknown verbs and bad arguments with typed bad-request errors, and the UI keeps working', async () => {
    const session = await e2e.start({ model: 'tiny', settings: { sampling: { maxTokens: 8 } } });
    const page = await session.openPage();
    await composer(page).waitFor();
    const frames = [
      'not json',
      '[1, 2]',
      JSON.stringify({ verb: 'app.info' }),
      JSON.stringify({ id: 'x'.repeat(129), verb: 'app.info' }),
      JSON.stringify({ id: 1, verb: 'no.such.verb', args: {} }),
      JSON.stringify({ id: 2, verb: 42 }),
      JSON.stringify({ id: 3, verb: 'chat.send', args: { conversationId: '../../etc/passwd', content: 'hi' } }),
      JSON.stringify({ id: 4, verb: 'chat.send', args: { conversationId: 'abc', content: '' } }),
      JSON.stringify({ id: 5, verb: 'settings.update', args: { patch: { sampling: { temperature: -1 } } } }),
      JSON.stringify({ id: 6, verb: 'conversations.list', args: { extra: true } }),
      JSON.stringify({ id: 7, verb: 'app.info', args: 'not an object' }),
    ];
    // From inside the page: the same origin, socket, path and key the app uses, but nothing the app would send.
    const replies = await page.evaluate(
      async ({ frames, key }) => {
        const { WebSocket, location } = globalThis as unknown as PageWindow;
        const ws = new WebSocket(`ws://${location.host}/ouro`);
        const got: { id: unknown; ok: unknown; error?: { code: string; message: string } }[] = [];
        const all = new Promise<void>((resolve) => {
          ws.onmessage = (message) => {
            const frame = JSON.parse(String(message.data)) as { id: unknown; ok: unknown; event?: unknown };
            if ('event' in frame) return;
            got.push(frame as (typeof got)[number]);
            if (got.length === frames.length + 1) resolve();
          };
        });
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = reject;
        });
        ws.send(JSON.stringify({ key }));
        for (const frame of frames) ws.send(frame);
        ws.send(new Uint8Array([1, 2, 3]));
        await all;
        ws.close();
        return got;
      },
      { frames, key: session.app.key },
    );

    expect(replies).toHaveLength(frames.length + 1);
    for (const reply of replies) expect(reply).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    const byId = new Map(replies.map((r) => [r.id, r.error!.message]));
    expect(byId.get(1)).toBe('unknown verb "no.such.verb"');
    expect(byId.get(2)).toBe('unknown verb 42');
    expect(byId.get(3)).toMatch(/^chat\.send: conversationId: a conversation id is 1-64 letters/);
    expect(byId.get(4)).toBe('chat.send: content: a message is not empty');
    expect(byId.get(5)).toBe('settings.update: patch.sampling.temperature: temperature must be >= 0');
    expect(byId.get(6)).toMatch(/^conversations\.list: /);
    expect(byId.get(7)).toMatch(/^app\.info: /);
    const unreadable = replies.filter((r) => r.id === null).map((r) => r.error!.message).sort();
    expect(unreadable).toEqual(
      [
        'the frame is not valid JSON',
        'a frame is an object { id, verb, args }',
        'a frame needs an id: a number or a string of at most 128 characters',
        'a frame needs an id: a number or a string of at most 128 characters',
        'frames are JSON text, not binary',
      ].sort(),
    );
    // Nothing was changed by the bad calls, and the app goes on as before.
    expect((await session.call('settings.get', {})).sampling.temperature).toBe(0.7);
    expect((await chatTurn(page, 'Still working?', session)).status).toBe('complete');
  });
});
