// CPU vs WebGPU (DESIGN §3 "Storage, dtype and place": semantics unchanged on every provider): the same
// greedy tokens over 600+ tokens with ring overflow, rebases, a rewind inside and one beyond the undo
// journal, and a snapshot/restore, for fp32 and fp16 KV caches; caches within a stated tolerance. On
// WebGPU the cache lives on the device (the graph writes its rows): a decode step moves only ids,
// positions, mask, slot indices, cos/sin and one logits row, and an exact rewind uses device journal rows.
// The same device-cache path also runs on the CPU provider, so it is checked without any adapter. Pins
// (one fed again after eviction, one copied in the ring) are re-rotated in the graph with the sinks.
// WebGPU runs on a CPU-only machine through Mesa lavapipe (.ci/run installs it); without an adapter the
// WebGPU suites skip, naming the reason.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHalf } from '../../main/engine/half';
import { ChatSession } from '../../main/engine/chatSession';
import type { CacheSettings, GenerateOptions } from '../../main/engine/chatTypes';
import { loadModel, openStream, type LoadedModel, type LoadOptions } from '../../main/engine/loadedModel';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import { ensureFixture, TINY, type FixtureSpec } from '../fixtures/llamaFixture';

// Dawn needs a runtime dir for its Vulkan loader; any writable one does.
process.env.XDG_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'ouro-xdg-'));

/** Max |CPU − WebGPU| over every cached K/V element: float reassociation on the GPU, plus fp16 rounding flips. */
const KV_TOL: Readonly<Record<'float32' | 'float16', number>> = { float32: 1e-3, float16: 1e-2 };

/** Max |device − host path| of a logit on one provider (sinks rotated in float32 on the device, double on the host). */
const LOGITS_TOL = 1e-3;

/** 256 positions: 600+ tokens rebase twice (S + W = 68 stays under maxPos / 2). */
const SHORT: Readonly<FixtureSpec> = { ...TINY, maxPositions: 256 };
const CACHE: CacheSettings = { sink: 4, window: 64, positions: 'cache', journalTokens: 32, pinBudget: 16 };
const GREEDY = (maxTokens: number): GenerateOptions => ({ sampling: { ...DEFAULT_SAMPLING, greedy: true, repetitionPenalty: 1 }, maxTokens });

/** The model with no EOS, so every turn runs to its token budget on any provider. */
function withoutEos(model: LoadedModel): LoadedModel {
  return { ...model, eosTokenIds: new Set<number>() };
}

interface Trace {
  readonly ids: number[][];
  readonly kv: Float32Array[];
  readonly rebases: number;
}

/**
 * Turns, a pin of evicted text (fed again) and one of text in the ring (copied), a rewind within the
 * journal, one beyond it, a snapshot and a restore; the ids after each stage.
 */
async function script(model: LoadedModel): Promise<Trace> {
  const ids: number[][] = [];
  let session = new ChatSession(withoutEos(model), CACHE);
  await session.generate({ kind: 'raw', text: 'Once upon a time' }, GREEDY(300));
  ids.push([...session.tokenIds()]);
  const evicted = (await session.pin(['Once upon a time'], 0, null))!;
  expect(evicted.reprocessedTokens).toBe(evicted.end - evicted.start);
  await session.generate({ kind: 'raw', text: ' and then' }, GREEDY(30));
  const inRing = (await session.pin([' and then'], 0, null))!;
  expect(inRing.reprocessedTokens).toBe(0);
  expect(session.kvCache!.pinned).toEqual([
    { start: evicted.start, end: evicted.end },
    { start: inRing.start, end: inRing.end },
  ]);
  await session.generate({ kind: 'raw', text: ' again' }, GREEDY(100));
  // Within the journal (32 tokens): an exact undo.
  await session.rewind(session.tokenCount - 20);
  expect(session.kvCache!.rewindable).toBeGreaterThan(0);
  await session.generate({ kind: 'raw', text: ' so' }, GREEDY(60));
  ids.push([...session.tokenIds()]);
  // Beyond it: re-prefill of the sinks and the window.
  await session.rewind(session.tokenCount - 50);
  await session.generate({ kind: 'raw', text: ' but' }, GREEDY(60));
  ids.push([...session.tokenIds()]);
  // The pins are before the cuts: both stay.
  expect(session.kvCache!.pinned).toHaveLength(2);
  session = ChatSession.fromSnapshot(withoutEos(model), await session.snapshot());
  await session.generate({ kind: 'raw', text: ' The end' }, GREEDY(120));
  ids.push([...session.tokenIds()]);
  // The snapshot's cache: on WebGPU the cache lives on the device, and a snapshot downloads it.
  const { cache } = await session.snapshot();
  const widen = (a: Float32Array | Uint16Array) => (a instanceof Float32Array ? a.slice() : Float32Array.from(a, fromHalf));
  return { ids, kv: [...cache.keys, ...cache.values].map(widen), rebases: cache.offset };
}

/**
 * WebGPU, and the same device-cache path on the CPU provider (its "device" tensors then live in host
 * memory), so the path is checked on machines without any WebGPU adapter too.
 */
const ON_WEBGPU: LoadOptions = { threads: 1, provider: 'webgpu' };
const DEVICE_PATH_ON_CPU: LoadOptions = { threads: 1, deviceCacheOnHost: true };
const HALF_KV = { ...SHORT, kvDtype: 'float16' } as FixtureSpec;

describe.each([
  ['WebGPU, fp32 KV', 'webgpu-short', SHORT, ON_WEBGPU],
  ['WebGPU, fp16 KV', 'webgpu-short-half-kv', HALF_KV, ON_WEBGPU],
  ['the device-cache path on the CPU, fp32 KV', 'webgpu-short', SHORT, DEVICE_PATH_ON_CPU],
  ['the device-cache path on the CPU, fp16 KV', 'webgpu-short-half-kv', HALF_KV, DEVICE_PATH_ON_CPU],
])('CPU vs %s', (_label, name, spec, gpuOptions) => {
  let cpu: LoadedModel;
  let gpu: LoadedModel | null = null;
  let skipReason = '';

  beforeAll(async () => {
    const { dir } = await ensureFixture(name, spec);
    cpu = await loadModel(dir, { threads: 1 });
    const opened = await loadModel(dir, gpuOptions);
    if (opened.session.provider === (gpuOptions.provider ?? 'cpu')) gpu = opened;
    else {
      skipReason = `no WebGPU adapter: ${opened.session.fallbackReason}`;
      await opened.release();
    }
  });
  afterAll(async () => {
    await cpu?.release();
    await gpu?.release();
  });

  // lavapipe runs every kernel on the CPU: ~700 steps take tens of seconds there.
  it('gives the same greedy tokens through overflow, rebases, rewinds and a snapshot', { timeout: 240_000 }, async (ctx) => {
    if (gpu === null) return ctx.skip(skipReason);
    const a = await script(cpu);
    const b = await script(gpu);
    expect(a.ids[a.ids.length - 1].length).toBeGreaterThanOrEqual(600);
    expect(a.rebases).toBeGreaterThan(0);
    for (let stage = 0; stage < a.ids.length; stage++) expect(b.ids[stage], `stage ${stage}`).toEqual(a.ids[stage]);
    expect(b.rebases).toBe(a.rebases);
    let worst = 0;
    a.kv.forEach((rows, i) => {
      for (let e = 0; e < rows.length; e++) worst = Math.max(worst, Math.abs(rows[e] - b.kv[i][e]));
    });
    expect(worst).toBeLessThan(KV_TOL[cpu.io.kvDtype]);
  });

  // DESIGN §3 "Storage, dtype and place": per decode step only ids, mask, positions, slot indices, the
  // sinks' cos/sin and the last logits cross between host and device; the cache stays on the device.
  it('moves O(vocab + S + C mask) bytes per decode step on the device path, the whole cache on the host path; rewinds exactly', { timeout: 60_000 }, async (ctx) => {
    if (gpu === null) return ctx.skip(skipReason);
    expect(gpu.session.deviceCache, gpu.session.deviceCacheNote ?? '').not.toBeNull();
    // The device path runs the rotary fusion too (model/contribFusion): q and k of every layer.
    expect(gpu.session.contribFusions).toEqual({ skipNorms: 0, rotaries: 2 * spec.layers });
    const options = { sink: 4, window: 64, positions: 'cache' as const, journalTokens: 8, pinBudget: 8 };
    const device = openStream(gpu, options);
    const host = openStream(gpu, options, { deviceCache: false });
    expect(device.runner.onDevice).toBe(true);
    expect(host.runner.onDevice).toBe(false);
    const prompt = [5, 9, 2, 7, 11, 3, 8, 1];
    const a = await device.runner.feed(prompt);
    const b = await host.runner.feed(prompt);
    let worst = 0;
    for (let i = 0; i < a!.length; i++) worst = Math.max(worst, Math.abs(a![i] - b![i]));
    expect(worst).toBeLessThan(LOGITS_TOL);
    // A pin in the ring: copied on the host copy, uploaded once, then rotated by the graph with the sinks.
    expect(await device.runner.pin(5, 8, prompt.slice(5, 8))).toBe(0);
    expect(await host.runner.pin(5, 8, prompt.slice(5, 8))).toBe(0);
    await device.runner.feed([4]);
    const pinnedA = await device.runner.feed([6]);
    await host.runner.feed([4]);
    const pinnedB = await host.runner.feed([6]);
    worst = 0;
    for (let i = 0; i < pinnedA!.length; i++) worst = Math.max(worst, Math.abs(pinnedA![i] - pinnedB![i]));
    expect(worst).toBeLessThan(LOGITS_TOL);
    const { kvHeads, headDim } = device.cache.geometry;
    const C = device.cache.capacity;
    expect(C).toBe(4 + 64 + 3);
    // ids + positions + mask (C + 1) as int64, slot indices [1, H, 1, 3] int64, cos and sin [1, 1, S, D] and [1, 1, 3, D] float32.
    const fed = 8 + 8 + 8 * (C + 1) + 8 * kvHeads * 3 + 2 * 4 * (options.sink + 3) * headDim;
    const logitsRow = gpu.config.vocabSize * (gpu.io.kvDtype === 'float16' ? 2 : 4);
    expect(device.runner.lastStepBytes).toEqual({ fed, fetched: logitsRow });
    // The host path feeds the whole cache every step.
    expect(host.runner.lastStepBytes.fed).toBeGreaterThan(device.cache.kvBytes());

    // Past the ring's end, an exact rewind restores the overwritten rows from the device's journal rows.
    const more = Array.from({ length: 70 }, (_, i) => (i * 7) % 50);
    await device.runner.feed(more);
    await host.runner.feed(more);
    await device.runner.sync();
    expect(device.cache.rewind(6)).toBe(true);
    expect(host.cache.rewind(6)).toBe(true);
    expect(Array.from(device.cache.slotPos)).toEqual(Array.from(host.cache.slotPos));
    const rows = (c: typeof device.cache) => [...c.keys, ...c.values].map((x) => (x instanceof Float32Array ? x : Float32Array.from(x, fromHalf)));
    const [d, h] = [rows(device.cache), rows(host.cache)];
    let kvWorst = 0;
    d.forEach((x, l) => x.forEach((v, e) => (kvWorst = Math.max(kvWorst, Math.abs(v - h[l][e])))));
    expect(kvWorst).toBeLessThan(KV_TOL[gpu.io.kvDtype]);
    // A new conversation on the stream empties it, pin slots dropped, with the rows still on the device.
    await device.runner.feed([1]);
    expect(device.cache.pinnedTokens).toBe(3);
    device.cache.reset();
    expect(device.cache.capacity).toBe(4 + 64);
    expect(await device.runner.feed(prompt)).not.toBeNull();
    device.runner.dispose();
  });
});
