// The cache panel's Attention mode in a real browser against the real engine (tiny fixture, S=4, W=32):
// opening it makes the engine send a step's attention at most every ATTENTION_FRAME_MS (on "All layers" the
// mean alone); the canvas's tooltip, the sink/window counters,
// the most-attended slots and the sparkline show the engine's frames; the layer selector switches what
// the engine sends; leaving the mode stops it. Vitest + Chromium.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { formatShare, type AttentionFrame } from '../../common/attentionView';
import type { CacheViewEvent } from '../../common/cacheView';
import { chatTurn, composer } from './chatPage';
import { useE2E, type E2ESession } from './e2eHarness';

const e2e = useE2E();

const S = 4;
const W = 32;
const settings = { cache: { sink: S, window: W }, sampling: { seed: 4, maxTokens: 50 } } as const;

/** The attention frames of the write ops the services pushed from event index `from` on. */
function frames(session: E2ESession, from = 0): AttentionFrame[] {
  return session.events
    .since(from, 'cacheView')
    .map((e: CacheViewEvent) => (e.op.kind === 'write' ? e.op.attention : undefined))
    .filter((a): a is AttentionFrame => a !== undefined);
}

async function hoverSlot(page: Page, slot: number): Promise<string> {
  const canvas = page.getByTestId('cache-canvas');
  // Slot 0 is the first sink: the canvas's first cell, below the sinks' caption.
  const box = (await canvas.boundingBox())!;
  for (let y = 2; y < Math.min(box.height, 60); y += 2) {
    await page.mouse.move(box.x + 3, box.y + y);
    const tip = page.getByTestId('slot-tooltip');
    if ((await tip.count()) > 0 && (await tip.getAttribute('data-slot')) === String(slot)) return (await tip.getByTestId('slot-attention').textContent()) ?? '';
  }
  throw new Error(`no tooltip for slot ${slot}`);
}

describe('cache panel: Attention mode', () => {
  it('shows the engine’s attention per slot, the sinks’ share and its history, per layer, only while open', async () => {
    const session = await e2e.start({ model: 'tiny', settings });
    const page = await session.openPage();
    await composer(page).waitFor();
    // The panel is open from the start in the harness's 1280 px window.
    const panel = page.getByTestId('cache-panel');
    await panel.getByRole('radio', { name: 'Attention' }).click();
    await panel.getByTestId('attention-summary').waitFor();

    await chatTurn(page, 'Tell me a long story.', session);
    const all = frames(session);
    const writes = session.events.since(0, 'cacheView').filter((e) => e.op.kind === 'write').length;
    // A frame with the turn's first forward pass, then at most one per ATTENTION_FRAME_MS: never more than the steps.
    expect(all.length).toBeGreaterThan(0);
    expect(all.length).toBeLessThanOrEqual(writes);
    const last = all.at(-1)!;
    expect(last.layer).toBeNull();
    // "All layers" fetches the mean over layers alone: no per-layer rows, so no per-layer shares.
    expect(last.layerCount).toBe(0);
    expect(last.layerSinkShare).toEqual([]);
    // Nothing pinned: no pin slots (the default budget of W / 4 is a limit, not slots).
    expect(last.mass).toHaveLength(S + W);
    expect(last.mass.slice(S + W).every((m) => m === 0)).toBe(true);
    const sum = last.mass.reduce((a, m) => a + m, 0);
    expect(Math.abs(sum - 1)).toBeLessThan(1e-3);

    await expect.poll(() => panel.locator('[data-counter="attention-sinks"]').textContent()).toBe(formatShare(last.sinkShare));
    expect(await panel.locator('[data-counter="attention-window"]').textContent()).toBe(formatShare(1 - last.sinkShare));
    expect(await panel.locator('[data-counter="attention-top"]').textContent()).toContain(`slot ${last.top[0].slot} `);
    const points = ((await panel.getByTestId('attention-spark').getAttribute('points')) ?? '').trim().split(' ');
    expect(points).toHaveLength(all.length);
    expect(await hoverSlot(page, 0)).toBe(`${formatShare(last.mass[0])} (all layers)`);

    // Layer 2 of 2: the engine sends that layer's row from the next step on.
    await panel.getByTestId('attention-layer').selectOption({ value: '1' });
    await chatTurn(page, 'And then?', session);
    const second = frames(session).slice(all.length);
    expect(second.length).toBeGreaterThan(0);
    expect(second.at(-1)!.layer).toBe(1);
    expect(second.at(-1)!.layerSinkShare).toHaveLength(2);
    expect(second.at(-1)!.sinkShare).toBeCloseTo(second.at(-1)!.layerSinkShare[1], 12);
    expect(await hoverSlot(page, 0)).toBe(`${formatShare(second.at(-1)!.mass[0])} (layer 2)`);

    // Leaving the mode closes the view: the next reply's steps carry no attention.
    await panel.getByRole('radio', { name: 'Age', exact: true }).click();
    await expect.poll(() => panel.getByTestId('attention-summary').count()).toBe(0);
    const count = frames(session).length;
    await chatTurn(page, 'The end.', session);
    expect(frames(session)).toHaveLength(count);
  });
});
