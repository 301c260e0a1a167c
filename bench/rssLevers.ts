// Peak-RSS levers at depth 2048 (issue 14, task rss): bench/rssProbe.ts once per variant per round, the
// variants alternating in fresh processes (order rotated every round); medians (min–max) per variant of
// the peak RSS, RSS after the prompt and after 32 decode steps, the prefill time and the decode p50.
// `npx tsx bench/rssLevers.ts [fp32,int8,q4] [rounds] [variant,...]` (bench/README section 10).
import { fileURLToPath } from 'node:url';
import { runScript } from './lib/childProcess';
import { median } from './lib/stats';

/** Variant name → rssProbe arguments (the engine's defaults where left out). */
const VARIANTS: Readonly<Record<string, readonly string[]>> = {
  shipped: [],
  'whole chunks (no shrink)': ['--full-past', '100000'],
  'shrink past 512': ['--full-past', '512'],
  'chunk 128': ['--chunk', '128'],
  'chunk 64': ['--chunk', '64'],
  'mem pattern on': ['--pattern', '1'],
  'no CPU arena': ['--arena', '0'],
  'no attention view outputs': ['--attn', '0'],
  'attention as exported (no split)': ['--split', '0'],
  'no compact past': ['--compact', '0'],
};

const formats = (process.argv[2] ?? 'fp32,q4').split(',');
const rounds = Number(process.argv[3] ?? 2);
const names = process.argv[4]?.split(',') ?? ['shipped', 'whole chunks (no shrink)', 'mem pattern on'];
for (const name of names) if (!(name in VARIANTS)) throw new Error(`unknown variant ${name}; one of ${Object.keys(VARIANTS).join(', ')}`);
const probe = fileURLToPath(new URL('./rssProbe.ts', import.meta.url));

interface Probe {
  chunks: Array<{ depth: number; rss: number; ms: number }>;
  prefillMs: number;
  decodeP50Ms: number;
  afterDecodeRss: number;
  peak: number;
}

/** The first 512 tokens' prefill: the chunks up to depth 512 (whole chunks there in every variant but chunk 64/128). */
const first512 = (p: Probe) => p.chunks.filter((c) => c.depth <= 512).reduce((sum, c) => sum + c.ms, 0);

const cell = (xs: number[], digits = 0) => {
  const f = (x: number) => x.toFixed(digits);
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
};

for (const format of formats) {
  const runs = new Map<string, Probe[]>(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const [out] = await runScript(probe, ['--format', format, ...VARIANTS[name]]);
      runs.get(name)!.push(out as unknown as Probe);
      process.stderr.write(`${format} round ${round + 1} ${name}: peak ${(out as unknown as Probe).peak} MiB\n`);
    }
  }
  console.log(`\n${format}, ${rounds} round(s):\n`);
  console.log('| variant | peak RSS MiB | RSS after the 2,048-token prompt | after 32 decode steps | prefill 512 ms | prefill 2,048 ms | decode p50 ms at 2,048 |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, ps] of runs) {
    console.log(
      `| ${name} | ${cell(ps.map((p) => p.peak))} | ${cell(ps.map((p) => p.chunks.at(-1)!.rss))} | ${cell(ps.map((p) => p.afterDecodeRss))} | ${cell(ps.map(first512))} | ${cell(ps.map((p) => p.prefillMs))} | ${cell(ps.map((p) => p.decodeP50Ms), 1)} |`,
    );
  }
}
