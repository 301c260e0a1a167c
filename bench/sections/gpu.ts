// Issue 13: the cache and the provider. Host↔device bytes of one decode step at W=2048 on SmolLM2's KV
// shapes (counted from the feeds and fetches, fp32 and fp16 KV); decode ms/step ÷ a bare session.run loop
// on each provider this machine runs (WebGPU on lavapipe measures the path, not speed); fp16 vs fp32 KV
// memory and streaming perplexity on stories260K. Benchmark process only.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, type LoadedModel } from '../../main/engine/loadedModel';
import { PROVIDER_LABELS, type ProviderName } from '../../common/providers';
import { byteTokenIds } from '../../test/fixtures/fixturePrng';
import { ensureFixture, type FixtureSpec } from '../../test/fixtures/llamaFixture';
import { param, storiesDir, tinyStoriesText, WORK_DIR, type BenchContext, type SectionResult } from '../lib/benchContext';
import { decodeVsBare, makeRunner } from '../lib/benchEngine';
import { runScript } from '../lib/childProcess';
import { writeHalfKvCopy } from '../lib/halfKvModel';
import { fmt, mdTable, round } from '../lib/stats';
import { perplexityOf } from './perplexity';

const EVAL_CLI = fileURLToPath(new URL('../../main/cli/eval.ts', import.meta.url));

/**
 * SmolLM2-135M's KV shapes and vocabulary (30 layers, 3 KV heads of 64, 49,152 logits) on a narrow body
 * (hidden 64): the bytes a step moves depend on those alone, and the model costs 13 MB instead of 540.
 */
const SMOLLM2_KV: Readonly<FixtureSpec> = {
  layers: 30, hidden: 64, heads: 3, kvHeads: 3, headDim: 64, intermediate: 128,
  vocab: 49152, maxPositions: 8192, ropeTheta: 100000, tieEmbeddings: true, seed: 135,
};

/** Target of the device-resident cache: at most this plus one logits row per decode step. */
const DEVICE_TARGET_BYTES = 64 * 1024;

/**
 * Host tensor bytes of one decode step (Runner.lastStepBytes: the feeds and fetched outputs that are host
 * tensors) with the cache on the host (CPU provider, every slot fed) and, where WebGPU runs, on the device.
 */
async function transferBytes(ctx: BenchContext, window: number) {
  const rows = [];
  for (const kvDtype of ['float32', 'float16'] as const) {
    const { dir } = await ensureFixture(`bench-smollm2-kv-${kvDtype}`, { ...SMOLLM2_KV, kvDtype });
    for (const provider of ['cpu', 'webgpu'] as const) {
      const model = await loadModel(dir, { threads: ctx.threads, provider });
      try {
        if (model.session.provider !== provider) continue;
        const { runner, cache } = makeRunner(model, { sink: 4, window }, { compactPast: false });
        await runner.feed(byteTokenIds(8));
        await runner.feed([5]);
        const { fed, fetched } = runner.lastStepBytes;
        rows.push({ kvDtype, provider, place: runner.onDevice ? 'device' : 'host', capacity: cache.capacity, fed, fetched, total: fed + fetched, kvBytes: cache.kvBytes(), logitsRow: SMOLLM2_KV.vocab * 4 });
        runner.dispose();
      } finally {
        await model.release();
      }
    }
  }
  return rows;
}

async function providerOverhead(ctx: BenchContext, provider: ProviderName, steps: number) {
  const { dir } = await ensureFixture('bench-smollm2-kv-float32', { ...SMOLLM2_KV, kvDtype: 'float32' });
  const model: LoadedModel = await loadModel(dir, { threads: ctx.threads, provider });
  try {
    if (model.session.provider !== provider) return { provider, skipped: model.session.fallbackReason ?? 'fell back to cpu' };
    const stream = makeRunner(model, { sink: 4, window: 252 }, { compactPast: false });
    await stream.runner.feed(byteTokenIds(64));
    return { provider, ...(await decodeVsBare(model, stream, steps)) };
  } finally {
    await model.release();
  }
}

async function halfVsFull(ctx: BenchContext) {
  const stories = storiesDir();
  const text = tinyStoriesText();
  if (stories === null || text === null) return null;
  const half = writeHalfKvCopy(stories, join(WORK_DIR, 'stories260K-fp16kv'));
  const tokens = param(ctx, 'gpu.pplTokens', 6000, 1500);
  const runs = [];
  for (const window of [64, 252]) {
    for (const [kv, dir] of [['float32', stories], ['float16', half]] as const) {
      const lines = await runScript(EVAL_CLI, ['--model', dir, '--text', text, '--window', String(window), '--sink', '4', '--positions', 'cache', '--max-tokens', String(tokens), '--json']);
      const model = await loadModel(dir, { threads: 1 });
      const { cache } = makeRunner(model, { sink: 4, window });
      runs.push({ window, kv, ppl: perplexityOf(lines, tokens).ppl, kvBytes: cache.kvBytes() });
      await model.release();
    }
  }
  return { tokens, runs };
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  mkdirSync(WORK_DIR, { recursive: true });
  const window = param(ctx, 'gpu.window', 2048, 2048);
  const transfer = await transferBytes(ctx, window);
  const steps = param(ctx, 'gpu.steps', 40, 10);
  const overhead = [];
  for (const provider of ['cpu', 'webgpu', 'cuda'] as const) overhead.push(await providerOverhead(ctx, provider, steps));
  const quality = await halfVsFull(ctx);

  const transferTable = mdTable(
    ['KV', 'provider', 'cache', 'C', 'fed B/step', 'fetched B/step', 'total B/step', 'KV cache B'],
    transfer.map((r) => [r.kvDtype, PROVIDER_LABELS[r.provider], r.place, String(r.capacity), fmt(r.fed, 0), fmt(r.fetched, 0), fmt(r.total, 0), fmt(r.kvBytes, 0)]),
  );
  const overheadTable = mdTable(
    ['provider', 'Ouro ms/step (p50)', 'bare ms/step (p50)', 'Ouro ÷ bare'],
    overhead.map((o) => ('skipped' in o ? [PROVIDER_LABELS[o.provider], `skipped: ${o.skipped}`, '', ''] : [PROVIDER_LABELS[o.provider], fmt(o.oursMs, 2), fmt(o.bareMs, 2), fmt(o.ratio, 3)])),
  );
  const qualityTable = quality
    ? mdTable(
        ['W', 'KV', 'PPL', 'KV bytes', 'PPL ÷ fp32'],
        quality.runs.map((r) => {
          const full = quality.runs.find((x) => x.window === r.window && x.kv === 'float32')!;
          return [String(r.window), r.kv, fmt(r.ppl, 3), fmt(r.kvBytes, 0), fmt(r.ppl / full.ppl, 4)];
        }),
      )
    : '_../shared/models/stories260K or ../shared/data is not on this machine; skipped._';
  const ratios = quality ? quality.runs.filter((r) => r.kv === 'float16').map((r) => ({ window: r.window, ratio: r.ppl / quality.runs.find((x) => x.window === r.window && x.kv === 'float32')!.ppl })) : [];
  return {
    title: `GPU and KV dtype: bytes per decode step (SmolLM2 KV shapes, W=${window}), provider overhead, fp16 KV quality`,
    markdown:
      `Host↔device bytes of one decode step (the host tensors among its feeds and fetched outputs): the host-resident cache (CPU) feeds every slot; on WebGPU the cache stays on the device (DESIGN §3) and only ids, positions, the mask, slot indices, the sinks' cos/sin and the last logits cross:\n\n${transferTable}\n\n` +
      `Device-resident target: ≤ ${DEVICE_TARGET_BYTES} B plus one logits row (${SMOLLM2_KV.vocab * 4} B fp32).\n\n` +
      `Decode step ÷ a bare logits-only session.run loop on the same provider (SmolLM2 KV shapes, W=252; WebGPU here is lavapipe, a CPU: the path, not a speed):\n\n${overheadTable}\n\n` +
      `fp16 vs fp32 KV on stories260K (S=4, positions cache, ${quality?.tokens ?? 0} tokens; fp16 = the model with fp16 past/present, bench/lib/halfKvModel.ts):\n\n${qualityTable}`,
    data: { window, transfer, overhead, quality },
    targets: [
      ...transfer
        .filter((r) => r.place === 'device')
        .map((r) => ({ name: `host↔device B/step, device cache, ${r.kvDtype} KV, W=${window}`, value: r.total, target: `≤ ${DEVICE_TARGET_BYTES} + ${r.logitsRow}`, met: r.total <= DEVICE_TARGET_BYTES + r.logitsRow })),
      ...ratios.map((r) => ({ name: `PPL fp16 KV ÷ fp32 KV, W=${r.window}`, value: round(r.ratio, 4), target: '≤ 1.01', met: r.ratio <= 1.01 })),
    ],
  };
}
