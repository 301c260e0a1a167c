// The README's screenshot: a conversation in progress (earlier turns with their footers, a reply
// streaming) at 1280×800, frozen at a fixed token so every run draws the same transcript. Written to
// docs/ by `npm run docs:screenshots`, otherwise to a temp folder, so the capture is still exercised; with
// the trained demo model (TinyStories 260K) the app ships. Vitest + Chromium.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gateBridge, type BridgeGate } from './bridgeGate';
import { lastReply, messages, sendMessage, waitForReply } from './chatPage';
import { screenshotPath, useE2E, type E2ESession } from './e2eHarness';

const e2e = useE2E();

/** The streaming reply is frozen once this many of its tokens have reached the page. */
const FROZEN_AT_TOKEN = 48;

/** One finished turn through the services (set-up, not under test): send, then wait until stored. */
async function storedTurn(session: E2ESession, conversationId: string, content: string): Promise<void> {
  const start = await session.call('chat.send', { conversationId, content });
  await session.events.next('message', (e) => e.message.id === start.reply.id && e.message.status !== 'streaming', 0);
  await session.idle();
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('README screenshot', () => {
  it('captures a conversation mid-stream (the demo model)', async () => {
    const session = await e2e.start({
      model: 'demo',
      settings: { sampling: { seed: 6, maxTokens: 400 } },
    });
    // Earlier conversations for the sidebar (oldest first), then the open one with its first turn.
    for (const title of ['The little bird', 'Tom and Max at the park']) await session.call('conversations.create', { title });
    const { id } = await session.call('conversations.create', { title: 'Lily and the red box' });
    await storedTurn(session, id, 'Once upon a time, there was a little girl named Lily.');

    const routed: { gate?: BridgeGate } = {};
    const page = await session.openPage({
      beforeLoad: async (p) => {
        routed.gate = await gateBridge(p);
      },
    });
    const gate = routed.gate!;
    await messages(page).nth(1).waitFor();
    const earlier = await lastReply(page);
    expect(earlier?.reprocessed).toBe(0);

    // Fails fast (rather than waiting forever) if the reply ends before that token: pick another seed.
    const frozen = gate.holdAfter((event) => event.type === 'token', FROZEN_AT_TOKEN, (event) => event.type === 'done');
    await sendMessage(page, 'One day, Lily found a small red box in the garden.');
    await frozen;
    await page.getByTestId('reply-footer').last().getByText(`${FROZEN_AT_TOKEN} tokens`).waitFor();
    const live = await lastReply(page);
    expect(live?.status).toBe('streaming');
    expect(live?.text.length).toBeGreaterThan(0);
    await page.mouse.move(0, 0);
    await page.getByRole('textbox', { name: 'Message' }).blur();

    const target = screenshotPath('screenshot-chat.png', session.dir);
    await mkdir(join(target, '..'), { recursive: true });
    await page.screenshot({ path: target });
    expect(pngSize(await readFile(target))).toEqual({ width: 1280, height: 800 });

    gate.release();
    const done = await waitForReply(page, earlier!.id);
    expect(done.status).toBe('complete');
    expect(done.tokens).toBeGreaterThan(FROZEN_AT_TOKEN);
  });
});
