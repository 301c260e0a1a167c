// The attention view through the engine host: the `attention` verb opens it (also for the sessions a
// later generate makes) and closes it; while open, every write op carries the step's frame, whose mass
// is 0 on every slot the step's query could not see and sums to 1; a bad layer is refused; a model whose
// attention is a fused op says why. Real worker host, fixture model, S=4, W=16. Vitest (Node).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttentionFrame } from '../../common/attentionView';
import type { CacheViewEvent } from '../../common/cacheView';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import type { EngineHostClient } from '../../main/host/engineHostClient';
import { startWorkerHost } from '../../main/host/workerTransport';
import { CacheMirror } from '../../renderer/state/cacheMirror';
import { sharedModel } from '../engine/model/modelTestKit';
import { ensureFixture } from '../fixtures/llamaFixture';

const S = 4;
const STREAM = 'chat-1';
const W = 16;
let host: EngineHostClient;
const ops: CacheViewEvent[] = [];
const mirror = new CacheMirror();
/** Per frame: whether each slot was visible to the step's query (from the mirror before the write). */
const checks: { frame: AttentionFrame; visible: boolean[] }[] = [];

beforeAll(async () => {
  host = startWorkerHost();
  host.onEvent((e) => {
    if (e.type !== 'cacheView') return;
    ops.push(e);
    if (e.op.kind === 'write' && e.op.attention && e.op.rows.length === 1) {
      // Before the write: what the step's query saw (the held slots in view), plus the slot it writes.
      const visible = Array.from({ length: mirror.capacity }, (_, j) => mirror.pos[j] >= 0 && mirror.visible(j));
      visible[e.op.rows[0].slot] = true;
      checks.push({ frame: e.op.attention, visible });
    }
    mirror.apply(e.viewSeq, e.stream, e.op);
  });
  await host.request('load', { dir: (await ensureFixture('tiny')).dir, threads: 1 });
});

afterAll(async () => {
  await host?.close();
});

/** The prompt alone overflows the window, so every decode step has slots out of view. */
const generate = (seed: number, maxTokens = 40) =>
  host.request('generate', {
    stream: STREAM,
    prompt: { kind: 'raw', text: 'Once upon a time there was a little cat who liked the sun.' },
    options: { sampling: { ...DEFAULT_SAMPLING, seed }, maxTokens },
    cache: { sink: S, window: W, positions: 'cache' },
  });

const frames = (from: number) => ops.slice(from).flatMap((e) => (e.op.kind === 'write' && e.op.attention ? [e.op.attention] : []));

describe('attention view through the engine host', () => {
  it('while open, each step’s frame covers the slots its query saw, and nothing else', async () => {
    expect(await host.request('attention', { stream: STREAM, open: true })).toEqual({ layers: 2, unavailable: null });
    const from = ops.length;
    await generate(3);
    const all = frames(from);
    expect(all.length).toBeGreaterThan(5);
    expect(checks.length).toBeGreaterThan(5);
    expect(mirror.nextPos).toBeGreaterThan(S + W);
    for (const { frame, visible } of checks) {
      expect(frame.mass).toHaveLength(mirror.capacity);
      frame.mass.forEach((m, j) => {
        if (!visible[j]) expect(m, `slot ${j}`).toBe(0);
      });
      expect(Math.abs(frame.mass.reduce((a, m) => a + m, 0) - 1)).toBeLessThan(1e-3);
    }
    expect(mirror.attention).toEqual(all.at(-1));
    expect(mirror.sinkShares).toEqual(all.map((f) => f.sinkShare));
  });

  it('shows one layer when asked, refuses a layer the model lacks, and stops when closed', async () => {
    await host.request('attention', { stream: STREAM, open: true, layer: 1 });
    let from = ops.length;
    await generate(4, 8);
    expect(frames(from).every((f) => f.layer === 1 && f.sinkShare === f.layerSinkShare[1])).toBe(true);
    await expect(host.request('attention', { stream: STREAM, open: true, layer: 2 })).rejects.toMatchObject({ code: 'bad-request', message: 'layer 2 is outside 0..1' });
    await host.request('attention', { stream: STREAM, open: false });
    from = ops.length;
    await generate(5, 8);
    expect(ops.length).toBeGreaterThan(from);
    expect(frames(from)).toEqual([]);
  });

  it('with everyMs, fetches a step’s attention at most that often: the steps in between carry no frame', async () => {
    // An interval longer than the test: only the first step after opening fetches.
    await host.request('attention', { stream: STREAM, open: true, everyMs: 1e9 });
    let from = ops.length;
    await generate(6, 8);
    const writes = ops.slice(from).filter((e) => e.op.kind === 'write');
    expect(writes.length).toBeGreaterThan(5);
    expect(frames(from)).toHaveLength(1);
    expect(writes[0].op.kind === 'write' && writes[0].op.attention).toBeTruthy();
    // Reopened without an interval: every step again; without the per-layer rows, frames show the mean alone.
    await host.request('attention', { stream: STREAM, open: true, perLayer: false });
    from = ops.length;
    await generate(7, 8);
    const lean = frames(from);
    expect(lean).toHaveLength(ops.slice(from).filter((e) => e.op.kind === 'write').length);
    for (const f of lean) expect(f).toMatchObject({ layer: null, layerCount: 0, layerSinkShare: [] });
    // A decode step's frame (one row written): the mean over layers of rows that each sum to 1.
    const decoded = ops.slice(from).flatMap((e) => (e.op.kind === 'write' && e.op.rows.length === 1 && e.op.attention ? [e.op.attention] : []));
    expect(decoded.length).toBeGreaterThan(3);
    for (const f of decoded) expect(Math.abs(f.mass.reduce((a, m) => a + m, 0) - 1)).toBeLessThan(1e-3);
    await host.request('attention', { stream: STREAM, open: false });
  });

  it.skipIf(sharedModel('tiny-random-llama-genai-fp16') === null)('a model whose attention is a fused op says why it has no view', async () => {
    await host.request('load', { dir: sharedModel('tiny-random-llama-genai-fp16')!, threads: 1 });
    const answer = await host.request('attention', { stream: STREAM, open: true });
    expect(answer.unavailable).toMatch(/fused com\.microsoft\.MultiHeadAttention/);
    // Generating still works: the view just has nothing to show.
    const from = ops.length;
    await host.request('generate', { stream: STREAM, prompt: { kind: 'raw', text: 'hi' }, options: { sampling: { ...DEFAULT_SAMPLING, seed: 1 }, maxTokens: 4 }, cache: { sink: S, window: W, positions: 'cache' } });
    expect(frames(from)).toEqual([]);
  });
});
