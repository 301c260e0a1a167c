// The decode tail of variants in alternating fresh processes: each round runs bench/stepTrace.ts (the
// llama.cpp child's order: 32 steps after load, 32 more at depth 0, 32 after a 512-token prompt and 32 at
// depth 2048) once per variant, the first variant rotating, under the engine host's V8 flags plus the
// variant's. Per variant and phase: each run's p95 ÷ p50, and the pooled p50 / p95 over every step of
// every run; per run the peak RSS (VmHWM) and the CPU ms that threads other than the main one and
// onnxruntime's pool thread took inside the 128 decode steps (stepTrace's STEP_THREADS), the slow steps by
// what coincided (stepTrace's attribution), and the steps' wall ms outside session.run (what a variant moves onto the main thread shows there). bench/README section 20.
// `npx tsx bench/tailAB.ts [fp32|int8|q4] --rounds N --variant 'name=--v8-flag --other' [--variant ...]`;
// a variant's words that start with `@` go to stepTrace instead (`@--unpacked`). Benchmark process only.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { HOST_V8_FLAGS } from '../main/host/hostHeapLimits';
import { runScript } from './lib/childProcess';
import { median, quantile } from './lib/stats';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '4' }, variant: { type: 'string', multiple: true, default: [] } },
});
const format = positionals[0] ?? 'q4';
const variants = values.variant.map((spec) => {
  const [name, words = ''] = spec.split(/=(.*)/s);
  const all = words.split(' ').filter((w) => w !== '');
  return { name, v8: all.filter((w) => !w.startsWith('@')), args: all.filter((w) => w.startsWith('@')).map((w) => w.slice(1)) };
});
if (variants.length < 2) throw new Error('give at least two --variant name=flags');

interface Run {
  readonly phases: Record<string, number[]>;
  readonly outside: number[];
  readonly rss: number;
  readonly othersMs: number;
  readonly stepsWithOthers: number;
  readonly slowSteps: Record<string, number> | null;
}
const runs = new Map<string, Run[]>(variants.map((v) => [v.name, []]));
const load: number[] = [loadavg()[0]];
for (let r = 0; r < Number(values.rounds); r++) {
  for (let i = 0; i < variants.length; i++) {
    const v = variants[(i + r) % variants.length];
    const out = await runScript('bench/stepTrace.ts', [format, ...v.args], { nodeFlags: [...HOST_V8_FLAGS, ...v.v8], env: { STEP_THREADS: '1' } });
    const phases: Record<string, number[]> = {};
    const outside: number[] = [];
    let rss = NaN;
    let othersMs = NaN;
    let stepsWithOthers = NaN;
    let slowSteps: Record<string, number> | null = null;
    for (const o of out) {
      if (typeof o.phase === 'string') {
        phases[o.phase] = o.ms as number[];
        outside.push(...(o.outsideRunMs as number[]));
      }
      if (typeof o.maxRssMiB === 'number') rss = o.maxRssMiB;
      if (typeof o.threadsMs === 'object' && o.threadsMs !== null) {
        othersMs = (o.threadsMs as { others: number }).others;
        stepsWithOthers = o.stepsWithOthersOver1Ms as number;
        slowSteps = o.slowSteps as Record<string, number>;
      }
    }
    runs.get(v.name)!.push({ phases, outside, rss, othersMs, stepsWithOthers, slowSteps });
    load.push(loadavg()[0]);
  }
}

const r2 = (x: number) => +x.toFixed(2);
const summary = variants.map(({ name, v8, args }) => {
  const list = runs.get(name)!;
  const phases = Object.keys(list[0].phases);
  const byPhase = Object.fromEntries(
    phases.map((phase) => {
      const each = list.map((run) => run.phases[phase]);
      const pooled = each.flat();
      return [
        phase,
        {
          ratios: each.map((ms) => r2(quantile(ms, 0.95) / median(ms))),
          p50s: each.map((ms) => r2(median(ms))),
          pooledP50: r2(median(pooled)),
          pooledP95: r2(quantile(pooled, 0.95)),
          pooledRatio: r2(quantile(pooled, 0.95) / median(pooled)),
        },
      ];
    }),
  );
  return {
    name,
    v8,
    args,
    rssMiB: list.map((run) => run.rss),
    othersMs: list.map((run) => run.othersMs),
    stepsWithOthersOver1Ms: list.map((run) => run.stepsWithOthers),
    // Per run: the steps over 1.15× their phase's median, by what coincided (stepTrace STEP_THREADS).
    slowSteps: list.map((run) => run.slowSteps),
    // Per run: the sum and the largest of the 128 steps' wall ms outside session.run.
    outsideRunMs: list.map((run) => [r2(run.outside.reduce((a, b) => a + b, 0)), r2(Math.max(...run.outside))]),
    byPhase,
  };
});
console.log(JSON.stringify({ format, rounds: Number(values.rounds), loadAverage: load.map((l) => r2(l)), summary }, null, 1));
