// Item 1: decode latency per token against position, p50/p95 per bucket, for S=4 and W=1024/2048 on the
// SmolLM2-shaped fixture, through ChatSession (the app's decode path). The two windows alternate in
// blocks of tokens, and a few bare session.run steps follow each block as a drift control.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChatSession } from '../../main/engine/chatSession';
import { loadModel } from '../../main/engine/loadedModel';
import { param, RESULTS_DIR, type BenchContext, type SectionResult } from '../lib/benchContext';
import { ensureBenchFixture } from '../lib/benchFixture';
import { BareLoop, collectGarbage, GREEDY, generateTokens } from '../lib/benchEngine';
import { fmt, mdTable, median, mib, round, summarize, type Summary } from '../lib/stats';
import { lineChart } from '../lib/svgChart';

interface Bucket extends Summary {
  readonly from: number;
  readonly to: number;
  /** Median bare session.run step (logits only, same feeds) measured between this bucket's blocks. */
  readonly bareP50: number;
  readonly rssMiB: number;
}

interface WindowRun {
  readonly window: number;
  readonly session: ChatSession;
  readonly latencies: number[][];
  readonly bare: number[][];
  readonly rss: number[];
  readonly spikes: { pos: number; ms: number }[];
  produced: number;
  bareLoop: BareLoop | null;
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const tokens = param(ctx, 'latency.tokens', 20000, 2000);
  const bucket = param(ctx, 'latency.bucket', 1000, 250);
  const block = param(ctx, 'latency.block', 50, 50);
  // Quick runs use a small window too, so some buckets lie past the fill phase.
  const windows = ctx.quick ? [256, 1024] : [1024, 2048];
  const model = await loadModel(ensureBenchFixture(), { threads: ctx.threads });
  const buckets = Math.ceil(tokens / bucket);
  const runs: WindowRun[] = windows.map((window) => ({
    window,
    session: new ChatSession(model, { sink: 4, window, positions: 'cache' }),
    latencies: Array.from({ length: buckets }, () => []),
    bare: Array.from({ length: buckets }, () => []),
    rss: new Array<number>(buckets).fill(NaN),
    spikes: [],
    produced: 0,
    bareLoop: null,
  }));

  while (runs.some((r) => r.produced < tokens)) {
    for (const r of runs) {
      if (r.produced >= tokens) continue;
      let last = -1;
      const want = Math.min(block, tokens - r.produced);
      await generateTokens(r.session, want, GREEDY, (pos, at, first) => {
        if (!first && last >= 0) {
          const ms = at - last;
          const b = Math.min(buckets - 1, Math.floor(pos / bucket));
          r.latencies[b].push(ms);
          if (ms > 3 * (median(r.latencies[b].slice(0, 64)) || ms)) r.spikes.push({ pos, ms: round(ms, 1) });
        }
        last = at;
      }, r.produced === 0 ? 'Once upon a time' : ' and');
      r.produced = r.session.tokenCount;
      const b = Math.min(buckets - 1, Math.floor(r.produced / bucket));
      r.bareLoop ??= new BareLoop(model, r.session.kvCache!);
      for (let i = 0; i < 3; i++) r.bare[b].push(await r.bareLoop.step());
      if (b !== Math.floor((r.produced - want) / bucket)) console.error(`latency W=${r.window}: ${r.produced}/${tokens} tokens`);
      if (Number.isNaN(r.rss[b])) {
        collectGarbage();
        r.rss[b] = process.memoryUsage().rss;
      }
    }
  }

  const data = runs.map((r) => {
    const rows: Bucket[] = r.latencies.map((xs, i) => ({
      from: i * bucket,
      to: Math.min(tokens, (i + 1) * bucket),
      ...summarize(xs),
      bareP50: round(median(r.bare[i])),
      rssMiB: mib(r.rss[i]),
    }));
    const first = rows[0];
    const lastRow = rows[rows.length - 1];
    // While the ring fills, steps attend only the held prefix (compactPast) and are faster; flatness is
    // judged from the first bucket in which every slot is held.
    const steady = rows.find((b) => b.from >= 4 + r.window) ?? lastRow;
    const cache = r.session.kvCache!;
    return {
      window: r.window,
      sink: 4,
      tokens: r.produced,
      buckets: rows,
      steadyFrom: steady.from,
      ratioP50: round(lastRow.p50 / steady.p50),
      ratioP95: round(lastRow.p95 / steady.p95),
      ratioP50VsBare: round(lastRow.p50 / lastRow.bareP50 / (steady.p50 / steady.bareP50)),
      ratioP50ToFirstBucket: round(lastRow.p50 / first.p50),
      decodeTokPerSec: round(1000 / median(r.latencies.flat()), 1),
      spikes: r.spikes.slice(0, 20),
      kvBytes: cache.kvBytes(),
      journalBytes: cache.journalBytes(),
      rebases: cache.offset > 0,
    };
  });
  await model.release();

  const svg = lineChart({
    title: 'Decode latency per token vs position (SmolLM2-135M-shaped fixture, fp32, CPU)',
    subtitle: `S=4; p50 solid, p95 dashed, bare session.run p50 in light colours; ${ctx.threads} threads; ${tokens} tokens${ctx.quick ? ' (quick run)' : ''}`,
    xLabel: 'position (tokens)',
    yLabel: 'ms per token',
    series: data.flatMap((d, i) => {
      const color = ['#1f77b4', '#d62728'][i];
      const mid = (b: Bucket) => (b.from + b.to) / 2;
      return [
        { name: `W=${d.window} p50`, color, points: d.buckets.map((b) => [mid(b), b.p50] as const) },
        { name: `W=${d.window} p95`, color, dashed: true, points: d.buckets.map((b) => [mid(b), b.p95] as const) },
        { name: `W=${d.window} bare p50`, color: ['#9bb8d3', '#e8a3a3'][i], points: d.buckets.map((b) => [mid(b), b.bareP50] as const) },
      ];
    }),
  });
  writeFileSync(join(RESULTS_DIR, 'decode-latency.svg'), svg);

  const header = ['position', ...data.flatMap((d) => [`W=${d.window} p50 ms`, `p95`, `bare p50`, `RSS MiB`])];
  const rows = data[0].buckets.map((b, i) => [
    `${b.from}–${b.to}`,
    ...data.flatMap((d) => [fmt(d.buckets[i].p50), fmt(d.buckets[i].p95), fmt(d.buckets[i].bareP50), fmt(d.buckets[i].rssMiB, 0)]),
  ]);
  const ratios = mdTable(
    ['W', 'last ÷ first full-ring bucket p50', 'p95', 'p50 ratio ÷ bare ratio (drift-corrected)', 'last ÷ first bucket p50', 'decode tok/s', 'max step ms', 'KV MiB', 'journal MiB'],
    data.map((d) => [
      `${d.window} (full from ${d.steadyFrom})`,
      fmt(d.ratioP50, 3),
      fmt(d.ratioP95, 3),
      fmt(d.ratioP50VsBare, 3),
      fmt(d.ratioP50ToFirstBucket, 3),
      fmt(d.decodeTokPerSec, 1),
      fmt(Math.max(...d.buckets.map((b) => b.max)), 0),
      fmt(mib(d.kvBytes), 1),
      fmt(mib(d.journalBytes), 1),
    ]),
  );
  return {
    title: `Decode latency vs position to ${tokens} tokens (fixture, S=4, W=${windows.join('/')}, ChatSession greedy)`,
    markdown: `${mdTable(header, rows)}\n\n${ratios}\n\nWhile the ring fills (the first S + W tokens), a step attends only the held prefix of the cache, so the first buckets are faster; from then on every step feeds all S + W slots. The bare column is session.run with the full-width feeds of that moment. Chart: bench/results/decode-latency.svg`,
    data,
    targets: data.map((d) => ({ name: `latency p50, last bucket ÷ first full-ring bucket, W=${d.window}`, value: d.ratioP50, target: '≤ 1.05', met: d.ratioP50 <= 1.05 })),
  };
}
