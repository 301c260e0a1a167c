// Issue 14 item 3: onnxruntime session options and the engine's load-time choices as levers on Ouro's decode
// speed and memory (the same child as the llama.cpp comparison, Ouro only): spinning, the CPU arena,
// prepacking, the device allocator for initializers; the warm-up at load, MatMulNBits accuracy level; the
// split attention (group 3). Variants alternate in fresh processes, rotating the order every round. Benchmark process.
import { fileURLToPath } from 'node:url';
import type { SessionTuning } from '../../main/engine/onnxSession';
import { HOST_V8_FLAGS } from '../../main/host/hostHeapLimits';
import type { WeightFormat } from '../../test/fixtures/fixtureQuant';
import { param, type BenchContext, type SectionResult } from '../lib/benchContext';
import { ensureBenchFixture } from '../lib/benchFixture';
import { runScript } from '../lib/childProcess';
import { fmt, mdTable, mean, median, quantile, round } from '../lib/stats';

const CHILD = fileURLToPath(new URL('./llamaCppChild.ts', import.meta.url));
/**
 * A variant: session-option overrides, the warm-up at load on or off, and the weight formats it applies
 * to. Group 1: onnxruntime session options; group 2: the engine's load-time levers (issue 14 item 3).
 */
interface Variant {
  readonly name: string;
  readonly group: 0 | 1 | 2 | 3;
  readonly tuning: SessionTuning;
  readonly warmUp?: boolean;
  /** False: the attention as exported (model/splitAttention's baseline). */
  readonly split?: boolean;
  readonly formats?: readonly WeightFormat[];
}
const VARIANTS: readonly Variant[] = [
  { name: 'as shipped', group: 0, tuning: {} },
  { name: 'no spinning', group: 1, tuning: { config: { 'session.intra_op.allow_spinning': '0' } } },
  { name: 'no CPU arena', group: 1, tuning: { memArena: false } },
  { name: 'no prepacking', group: 1, tuning: { config: { 'session.disable_prepacking': '1' } } },
  { name: 'device allocator for initializers', group: 1, tuning: { config: { 'session.use_device_allocator_for_initializers': '1' } } },
  { name: 'no warm-up at load', group: 2, tuning: {}, warmUp: false },
  { name: 'MatMulNBits accuracy_level 0 (exact fp32 activations; as shipped: 4)', group: 2, tuning: { matMulNBitsAccuracy: 0 }, formats: ['q4'] },
  { name: 'attention as exported (Concat of the cache per step)', group: 3, tuning: {}, split: false },
];

interface LeverRun {
  readonly variant: string;
  readonly format: WeightFormat;
  readonly round: number;
  readonly loadMs: number;
  readonly firstStepsMs: number[];
  readonly depth0StepsMs: number[];
  readonly atDepth: Array<{ depth: number; stepsMs: number[] }>;
  readonly maxRssMiB: number;
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const rounds = param(ctx, 'levers.rounds', 2, 1);
  const steps = param(ctx, 'levers.steps', 32, 16);
  const group = param(ctx, 'levers.group', 0, 0);
  // 2048: decode at depth 512, then at 2048 (the context grown), in the same child.
  const deepest = param(ctx, 'levers.depth', 512, 512);
  const depths = deepest > 512 ? [512, deepest] : [deepest];
  const formats: WeightFormat[] = ctx.quick ? ['fp32', 'q4'] : ['fp32', 'int8', 'q4'];
  const variantsFor = (format: WeightFormat) => VARIANTS.filter((v) => (group === 0 || v.group === 0 || v.group === group) && (v.formats ?? [format]).includes(format));
  const runs: LeverRun[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const format of formats) {
      const dir = ensureBenchFixture(format);
      const variants = variantsFor(format);
      const order = variants.map((_, i) => variants[(i + r) % variants.length]);
      for (const v of order) {
        const args = ['--engine', 'ouro', '--model', dir, '--threads', String(ctx.threads), '--steps', String(steps), '--depths', depths.join(','), '--tuning', JSON.stringify(v.tuning), '--warm-up', v.warmUp === false ? '0' : '1', '--split-attention', v.split === false ? '0' : '1'];
        const [out] = await runScript(CHILD, args, { nodeFlags: HOST_V8_FLAGS });
        runs.push({ ...(out as unknown as LeverRun), variant: v.name, format, round: r });
      }
    }
  }
  const rows: string[][] = [];
  const data: Record<string, unknown>[] = [];
  for (const format of formats) {
    const base = runs.filter((x) => x.format === format && x.variant === VARIANTS[0].name);
    for (const v of variantsFor(format)) {
      const xs = runs.filter((x) => x.format === format && x.variant === v.name);
      const tok = (ms: readonly number[]) => 1000 / mean(ms);
      const d0 = median(xs.map((x) => tok(x.depth0StepsMs)));
      const perDepth = depths.map((_, i) => ({
        depth: depths[i],
        tokPerSec: median(xs.map((x) => tok(x.atDepth[i].stepsMs))),
        overShipped: median(xs.map((x) => tok(x.atDepth[i].stepsMs) / tok(base.find((b) => b.round === x.round)!.atDepth[i].stepsMs))),
        p95OverP50: median(xs.map((x) => quantile(x.atDepth[i].stepsMs, 0.95) / median(x.atDepth[i].stepsMs))),
      }));
      const warm = median(xs.map((x) => mean(x.depth0StepsMs) / mean(x.firstStepsMs)));
      const rss = median(xs.map((x) => x.maxRssMiB));
      const load = median(xs.map((x) => x.loadMs));
      rows.push([format, v.name, fmt(d0, 1), ...perDepth.flatMap((d) => [fmt(d.tokPerSec, 1), fmt(d.overShipped, 2), fmt(d.p95OverP50, 2)]), fmt(warm, 2), fmt(rss, 0), fmt(load, 0)]);
      data.push({
        format,
        variant: v.name,
        tuning: v.tuning,
        warmUp: v.warmUp !== false,
        split: v.split !== false,
        depth0TokPerSec: round(d0, 2),
        atDepth: perDepth.map((d) => ({ depth: d.depth, tokPerSec: round(d.tokPerSec, 2), overShipped: round(d.overShipped, 3), p95OverP50: round(d.p95OverP50, 3) })),
        firstStepsSpeedOverSteady: round(warm, 3),
        peakRssMiB: round(rss, 0),
        loadMs: round(load, 0),
      });
    }
  }
  const depthHeads = depths.flatMap((d) => [`tok/s depth ${d}`, `depth ${d} ÷ as shipped`, `p95 ÷ p50 step at ${d}`]);
  return {
    title: 'Session options and load-time levers (Ouro, fixture)',
    markdown: `${mdTable(['weights', 'session options', 'decode tok/s depth 0', ...depthHeads, 'first steps speed ÷ steady', 'peak RSS MiB', 'load ms'], rows)}\n\nMedian over ${rounds} round(s) of fresh processes; ${steps} greedy steps per measurement, S=4, W=2048, ${ctx.threads} threads.`,
    data: { rounds, steps, depths, runs: data },
  };
}
