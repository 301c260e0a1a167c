// Issue 18: what the attention view costs a decode step (fixture with SmolLM2-135M's shapes, S=4, W=2048).
// Four runners take one step each in turn, in an order that rotates every step, so load that comes and
// goes hits every variant alike: the same model opened without the attention outputs (the baseline), the
// view closed, open as the app's panel takes it on "All layers" (the mean over layers fetched, laid out by
// slot and framed at most every ATTENTION_FRAME_MS), and every step as the CLI's `--attention` takes it
// (every layer's row). Two onnxruntime sessions in one process slow each other down (DESIGN §8: the one
// that just ran still has its pool's threads spinning), so a step that follows another session's is
// preceded by an untimed step of its own. Sessions of one graph opened later ran faster here (p50 3–5%
// apart over four sessions opened in turn, load ~5), so the baseline is two sessions, opened before and
// after the model's, taking its steps in turn: a trend with the opening order cancels out. Ratios by mean over every step with a bootstrap 95% interval
// over rounds; every step's time is kept, with whether it fetched, to find slow steps; GC per variant.
import { PerformanceObserver } from 'node:perf_hooks';
import { ATTENTION_FRAME_MS, attentionFrame } from '../../common/attentionView';
import { loadModel } from '../../main/engine/loadedModel';
import { param, type BenchContext, type SectionResult } from '../lib/benchContext';
import { ensureBenchFixture } from '../lib/benchFixture';
import { argmax, makeRunner } from '../lib/benchEngine';
import { fmt, mdTable, mean, median, ratioOfMeans, round, summarize } from '../lib/stats';
import { byteTokenIds } from '../../test/fixtures/fixturePrng';

const VARIANTS = ['graph without the attention outputs', 'view closed', 'view open (app: mean, per 50 ms frame)', 'every step, every layer (CLI)'] as const;
type Variant = (typeof VARIANTS)[number];
const [WITHOUT, CLOSED, OPEN, EVERY] = VARIANTS;
/** A step this many times its round's median (all variants) counts as slow. */
const SLOW = 1.5;

interface Ratio {
  readonly value: number;
  readonly low: number;
  readonly high: number;
  readonly roundMin: number;
  readonly roundMax: number;
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const rounds = param(ctx, 'attention.rounds', 40, 20);
  const steps = param(ctx, 'attention.steps', 16, 8);
  const window = param(ctx, 'attention.window', 2048, 2048);
  const spec = { sink: 4, window, chunk: 256, journal: 0 };
  const withoutBefore = await loadModel(ensureBenchFixture(), { threads: ctx.threads, attentionOutputs: false });
  const model = await loadModel(ensureBenchFixture(), { threads: ctx.threads });
  const withoutAfter = await loadModel(ensureBenchFixture(), { threads: ctx.threads, attentionOutputs: false });
  /** The baseline's two streams (opened before and after the model): its steps alternate between them. */
  const baselines = [makeRunner(withoutBefore, spec), makeRunner(withoutAfter, spec)];
  let baselineTurn = 0;
  const streams: Record<Variant, ReturnType<typeof makeRunner>> = {
    [WITHOUT]: baselines[0],
    [CLOSED]: makeRunner(model, spec),
    [OPEN]: makeRunner(model, spec),
    [EVERY]: makeRunner(model, spec),
  };
  const open = streams[OPEN].runner;
  open.attention = true;
  open.attentionEveryMs = ATTENTION_FRAME_MS;
  open.attentionLayers = false;
  streams[EVERY].runner.attention = true;
  // Fill every ring past wrap-around so every step is the steady state.
  const history = byteTokenIds(spec.sink + window + 64);
  for (const s of [...baselines, streams[CLOSED], streams[OPEN], streams[EVERY]]) await s.runner.feed(history);

  const gcMs: Record<string, number> = {};
  let current = '';
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs[current] = (gcMs[current] ?? 0) + e.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const next: Record<string, number> = Object.fromEntries(VARIANTS.map((v) => [v, 5]));
  /** What the engine host does per step: the step, and on a step that fetched attention its frame. */
  const step = async (v: Variant): Promise<{ ms: number; cpuMs: number; fetched: boolean }> => {
    const { runner, cache } = streams[v];
    const cpu = process.cpuUsage();
    const t = performance.now();
    next[v] = argmax((await runner.feed([next[v]]))!);
    const attention = runner.lastSlotAttention;
    if (attention) attentionFrame(attention, null, cache.sink, cache.slotPos);
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    return { ms, cpuMs: (used.user + used.system) / 1000, fetched: attention !== null };
  };
  // times[variant][round][step]; round 0 warms up and is dropped.
  let afterWithout = false;
  const times: Record<Variant, number[][]> = Object.fromEntries(VARIANTS.map((v) => [v, []])) as unknown as Record<Variant, number[][]>;
  const cpuTimes: Record<Variant, number[][]> = Object.fromEntries(VARIANTS.map((v) => [v, []])) as unknown as Record<Variant, number[][]>;
  const fetched: Record<Variant, boolean[][]> = Object.fromEntries(VARIANTS.map((v) => [v, []])) as unknown as Record<Variant, boolean[][]>;
  /** The baseline's steps by session: [opened before the model's, after it][round][step]. */
  const baselineTimes: number[][][] = [[], []];
  for (let r = 0; r <= rounds; r++) {
    for (const v of VARIANTS) [times[v][r], cpuTimes[v][r], fetched[v][r]] = [[], [], []];
    for (const b of baselineTimes) b[r] = [];
    for (let i = 0; i < steps; i++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const v = VARIANTS[(r * steps + i + k) % VARIANTS.length];
        // The rotation never takes two baseline steps in a row: the untimed step below is always the session's own.
        if (v === WITHOUT) {
          baselineTurn ^= 1;
          streams[WITHOUT] = baselines[baselineTurn];
        }
        if ((v === WITHOUT) !== afterWithout) await step(v);
        afterWithout = v === WITHOUT;
        current = v;
        const s = await step(v);
        current = '';
        times[v][r].push(s.ms);
        cpuTimes[v][r].push(s.cpuMs);
        fetched[v][r].push(s.fetched);
        if (v === WITHOUT) baselineTimes[baselineTurn][r].push(s.ms);
      }
    }
  }
  gcObserver.disconnect();
  for (const m of [withoutBefore, model, withoutAfter]) await m.release();
  for (const v of VARIANTS) [times[v], cpuTimes[v], fetched[v]] = [times[v].slice(1), cpuTimes[v].slice(1), fetched[v].slice(1)];
  const [before, after] = baselineTimes.map((b) => b.slice(1));

  const roundMedians = times[WITHOUT].map((_, r) => median(VARIANTS.flatMap((v) => times[v][r])));
  const rows = VARIANTS.map((v) => {
    const all = times[v].flat();
    const didFetch = fetched[v].flat();
    const slow = times[v].flatMap((xs, r) => xs.map((ms, i) => ({ ms, r, i, fetched: fetched[v][r][i] })).filter((s) => s.ms > SLOW * roundMedians[r]));
    return {
      variant: v,
      ...summarize(all),
      fetchedSteps: didFetch.filter(Boolean).length,
      fetchedMean: round(mean(all.filter((_, i) => didFetch[i])), 3),
      unfetchedMean: round(mean(all.filter((_, i) => !didFetch[i])), 3),
      slowSteps: slow.length,
      slowFetched: slow.filter((s) => s.fetched).length,
      cpuMean: round(mean(cpuTimes[v].flat()), 3),
      gcMsPerStep: round((gcMs[v] ?? 0) / (all.length + steps), 3),
    };
  });
  const rounded = (r: Ratio): Ratio => ({ value: round(r.value, 3), low: round(r.low, 3), high: round(r.high, 3), roundMin: round(r.roundMin, 3), roundMax: round(r.roundMax, 3) });
  const ratio = (of: Record<Variant, number[][]>, num: Variant, den: Variant): Ratio => rounded(ratioOfMeans(of[num], of[den]));
  // tok/s ratios: the baseline's ms over the variant's; by wall time and by the process's CPU time (all its
  // threads), which a loaded machine disturbs less: time spent waiting for a core is not counted.
  const costs = (of: Record<Variant, number[][]>) => ({ closed: ratio(of, WITHOUT, CLOSED), open: ratio(of, CLOSED, OPEN), every: ratio(of, CLOSED, EVERY) });
  const wall = costs(times);
  const cpu = costs(cpuTimes);
  // What the opening order alone makes of one graph: the baseline's second session ÷ its first, tok/s.
  const openingOrder = rounded(ratioOfMeans(before, after));
  const table = mdTable(
    ['variant', 'p50 ms', 'p95 ms', 'mean ms', 'CPU ms/step', 'steps that fetched', 'mean ms fetched / not', `steps > ${SLOW}× round median (fetched)`, 'GC ms/step'],
    rows.map((r) => [r.variant, fmt(r.p50, 2), fmt(r.p95, 2), fmt(r.mean, 2), fmt(r.cpuMean, 2), `${r.fetchedSteps} / ${r.n}`, `${fmt(r.fetchedMean, 2)} / ${fmt(r.unfetchedMean, 2)}`, `${r.slowSteps} (${r.slowFetched})`, fmt(r.gcMsPerStep, 2)]),
  );
  const verdict = (x: Ratio, target: number) =>
    x.low >= target ? 'met, the whole interval above it' : x.value >= target ? 'met by mean, the interval reaches below it' : x.high >= target ? 'missed by mean, the interval reaches above it' : 'missed, the whole interval below it';
  const line = (label: string, x: Ratio, target: number) =>
    `- ${label}: **${fmt(x.value, 3)}** (95% interval ${fmt(x.low, 3)}–${fmt(x.high, 3)}, per round ${fmt(x.roundMin, 3)}–${fmt(x.roundMax, 3)}); target ≥ ${target}: ${verdict(x, target)}`;
  const lines = (x: typeof wall) => [line('closed ÷ graph without the outputs', x.closed, 0.99), line('open (app) ÷ closed', x.open, 0.95), line('every step, every layer (CLI) ÷ closed', x.every, 0.95)];
  const markdown = [
    `W=${window} (C=${streams[CLOSED].cache.capacity} slots fed every step), ${rounds} rounds × ${steps} steps per variant, one step per variant in turn (rotating order); the graph without the outputs is two sessions, opened before and after the model's, taking its steps in turn.`,
    '',
    table,
    '',
    'tok/s ratios by mean over every step (wall time):',
    ...lines(wall),
    '',
    'The same by CPU time:',
    ...lines(cpu),
    '',
    `The opening order alone (one graph, the baseline's session opened after the model's ÷ the one opened before, tok/s by mean): ${fmt(openingOrder.value, 3)} (95% interval ${fmt(openingOrder.low, 3)}–${fmt(openingOrder.high, 3)}).`,
  ].join('\n');
  return {
    title: `The attention view's cost (issue 18; fixture with SmolLM2-135M's shapes, S=4, W=${window})`,
    markdown,
    data: { window, rounds, steps, rows, wall, cpu, openingOrder, times, cpuTimes, fetched, baselineTimes: { before, after } },
    targets: [
      { name: `attention view closed: tok/s ÷ graph without its outputs (mean), W=${window}`, value: wall.closed.value, target: '≥ 0.99', met: wall.closed.value >= 0.99 },
      { name: `attention view open: tok/s ÷ closed (mean), W=${window}`, value: wall.open.value, target: '≥ 0.95', met: wall.open.value >= 0.95 },
    ],
  };
}
