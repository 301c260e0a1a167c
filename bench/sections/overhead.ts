// Item 2: our decode step against a bare session.run loop with identical feeds (same past buffers, mask,
// positions), round-robin in small blocks so drift hits every variant alike. Also splits our step into
// session.run and the rest, and counts GC pauses per variant. (The attention view's cost: attentionCost.)
import { PerformanceObserver } from 'node:perf_hooks';
import { loadModel } from '../../main/engine/loadedModel';
import { param, type BenchContext, type SectionResult } from '../lib/benchContext';
import { ensureBenchFixture } from '../lib/benchFixture';
import { argmax, BareLoop, makeRunner, timedSession } from '../lib/benchEngine';
import { cacheMicro } from '../lib/cacheMicro';
import { fmt, mdTable, mean, median, round, summarize } from '../lib/stats';
import { byteTokenIds } from '../../test/fixtures/fixturePrng';

type Variant =
  | 'bare (logits)'
  | 'bare (logits + all presents)'
  | 'bare (fast outputs)'
  | 'Ouro runner'
  | 'Ouro runner, whole presents (before)';

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const rounds = param(ctx, 'overhead.rounds', 30, 8);
  const blockSteps = param(ctx, 'overhead.block', 10, 8);
  const windows = ctx.quick ? [2048] : [1024, 2048];
  const model = await loadModel(ensureBenchFixture(), { threads: ctx.threads });
  const gcMs: Record<string, number> = {};
  let current = '';
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs[current] = (gcMs[current] ?? 0) + e.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });

  const results = [];
  for (const window of windows) {
    const spec = { sink: 4, window, chunk: 256, journal: 0 };
    const timed = timedSession(model.session);
    const fast = makeRunner(model, spec, { session: timed.session });
    const before = makeRunner(model, spec, { fastOutputs: false });
    // Fill every ring past wrap-around so every step is the steady state.
    const history = byteTokenIds(spec.sink + window + 64);
    for (const r of [fast, before]) await r.runner.feed(history);
    const bare = new BareLoop(model, fast.cache);
    const fetch = bare.fetchSets();
    let nextFast = 5;
    let nextBefore = 5;
    const variants: Record<Variant, () => Promise<number>> = {
      'bare (logits)': () => bare.step(fetch.logits),
      'bare (logits + all presents)': () => bare.step(fetch.all),
      'bare (fast outputs)': () => bare.step(fetch.fast ?? fetch.logits),
      'Ouro runner': async () => {
        const t = performance.now();
        nextFast = argmax((await fast.runner.feed([nextFast]))!);
        return performance.now() - t;
      },
      'Ouro runner, whole presents (before)': async () => {
        const t = performance.now();
        nextBefore = argmax((await before.runner.feed([nextBefore]))!);
        return performance.now() - t;
      },
    };
    const names = Object.keys(variants) as Variant[];
    const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    let fastRunMs = 0;
    let fastSteps = 0;
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no variant always follows the same one.
      for (let k = 0; k < names.length; k++) {
        const name = names[(r + k) % names.length];
        current = `${window}:${name}`;
        timed.reset();
        for (let i = 0; i < blockSteps; i++) {
          const ms = await variants[name]();
          if (r > 0) times[name].push(ms);
        }
        if (name === 'Ouro runner' && r > 0) {
          fastRunMs += timed.runMs();
          fastSteps += blockSteps;
        }
        current = '';
      }
    }
    const bareMs = median(times['bare (logits)']);
    const rows = names.map((name) => {
      const s = summarize(times[name]);
      return {
        variant: name,
        ...s,
        tokPerSec: round(1000 / s.mean, 2),
        ratioToBare: round(bareMs / s.p50, 3),
        ratioToBareMean: round(mean(times['bare (logits)']) / s.mean, 3),
        gcMsPerStep: round((gcMs[`${window}:${name}`] ?? 0) / (rounds * blockSteps), 3),
      };
    });
    const ours = rows.find((r) => r.variant === 'Ouro runner')!;
    results.push({
      window,
      capacity: fast.cache.capacity,
      fastOutputs: fast.runner.fetchesNewRowsOnly,
      rows,
      breakdown: { runMsPerStep: round(fastRunMs / fastSteps), totalMsPerStep: round(ours.mean), restMsPerStep: round(ours.mean - fastRunMs / fastSteps) },
    });
  }
  gcObserver.disconnect();
  await model.release();
  const micro = cacheMicro(2048);
  const microTable = mdTable(
    ['beginStep µs', 'commitStep µs', 'commitStep + journal µs', 'argmax µs', 'rebase step ms', 'same rotations with per-row cos/sin ms'],
    [[fmt(micro.beginStepUs), fmt(micro.commitStepUs), fmt(micro.commitStepJournalUs), fmt(micro.argmaxUs), fmt(micro.rebaseStepMs, 1), fmt(micro.rebasePerRowTrigMs, 1)]],
  );

  const md = results
    .map((res) => {
      const table = mdTable(
        ['variant', 'p50 ms', 'p95 ms', 'mean ms', 'tok/s (mean)', 'bare p50 ÷ p50', 'GC ms/step'],
        res.rows.map((r) => [r.variant, fmt(r.p50, 2), fmt(r.p95, 2), fmt(r.mean, 2), fmt(r.tokPerSec, 1), fmt(r.ratioToBare, 3), fmt(r.gcMsPerStep, 2)]),
      );
      const b = res.breakdown;
      return `**W=${res.window} (C=${res.capacity} slots fed every step)**\n\n${table}\n\nOuro step: ${fmt(b.runMsPerStep, 2)} ms in session.run + ${fmt(b.restMsPerStep, 2)} ms of cache bookkeeping, row copies and argmax (mean per step).`;
    })
    .join('\n\n');
  return {
    title: 'Overhead: Ouro decode step vs a bare session.run loop (fixture, S=4)',
    markdown: `${md}\n\nThe cache's own work per decode step without the model (SmolLM2 shapes, S=4, W=2048; the rebase happens once per ~maxPos/2 tokens):\n\n${microTable}`,
    data: { windows: results, cacheMicro: micro },
    targets: results.flatMap((res) => {
      const row = (name: Variant) => res.rows.find((r) => r.variant === name)!;
      const ours = row('Ouro runner');
      return [{ name: `Ouro tok/s ÷ bare tok/s (p50), W=${res.window}`, value: ours.ratioToBare, target: '≥ 0.95', met: ours.ratioToBare >= 0.95 }];
    }),
  };
}
