// Peak-RSS levers at depth 2048 (issue 14, task rss): bench/rssProbe.ts once per variant per round, the
// variants alternating in fresh processes (order rotated every round); medians (min–max) per variant of
// the peak RSS, RSS after the prompt and after 32 decode steps, the prefill time and the decode p50.
// `npx tsx bench/rssLevers.ts [fp32,int8,q4] [rounds] [variant,...]` (bench/README section 10).
import { fileURLToPath } from 'node:url';
import { HOST_V8_FLAGS, NODE_PARITY_FLAGS } from '../main/host/hostHeapLimits';
import { runScript } from './lib/childProcess';
import { median } from './lib/stats';

/**
 * Variant name → rssProbe arguments (the engine's defaults where left out), or the probe's process changed:
 * its environment (glibc malloc's tunables) or its node flags (as the engine host runs where left out).
 */
interface Variant {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly nodeFlags?: readonly string[];
}
const VARIANTS: Readonly<Record<string, Variant>> = {
  shipped: { args: [] },
  'whole chunks (no shrink)': { args: ['--full-past', '100000'] },
  'shrink past 512': { args: ['--full-past', '512'] },
  'shrink past 256': { args: ['--full-past', '256'] },
  'shrink past 384': { args: ['--full-past', '384'] },
  'chunk 128': { args: ['--chunk', '128'] },
  'chunk 64': { args: ['--chunk', '64'] },
  'mem pattern on': { args: ['--pattern', '1'] },
  'no CPU arena': { args: ['--arena', '0'] },
  'no attention view outputs': { args: ['--attn', '0'] },
  'attention as exported (no split)': { args: ['--split', '0'] },
  'no compact past': { args: ['--compact', '0'] },
  // Node 20 without ArrayBuffer.prototype.transfer: the dropped mirror waits for the GC.
  'mirror freed by the GC': { nodeFlags: HOST_V8_FLAGS.filter((f) => !NODE_PARITY_FLAGS.includes(f)) },
  'MALLOC_ARENA_MAX=2': { env: { MALLOC_ARENA_MAX: '2' } },
  'MALLOC_MMAP_THRESHOLD_=128K': { env: { MALLOC_MMAP_THRESHOLD_: '131072' } },
  'MALLOC_TRIM_THRESHOLD_=128K': { env: { MALLOC_TRIM_THRESHOLD_: '131072' } },
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
  peakPhase: string;
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
      const v = VARIANTS[name];
      const [out] = await runScript(probe, ['--format', format, ...(v.args ?? [])], { nodeFlags: v.nodeFlags ?? HOST_V8_FLAGS, env: v.env });
      runs.get(name)!.push(out as unknown as Probe);
      process.stderr.write(`${format} round ${round + 1} ${name}: peak ${(out as unknown as Probe).peak} MiB\n`);
    }
  }
  console.log(`\n${format}, ${rounds} round(s):\n`);
  console.log('| variant | peak RSS MiB | peak reached during | RSS after the 2,048-token prompt | after 32 decode steps | prefill 512 ms | prefill 2,048 ms | decode p50 ms at 2,048 |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, ps] of runs) {
    console.log(
      `| ${name} | ${cell(ps.map((p) => p.peak))} | ${ps.map((p) => p.peakPhase).join(' / ')} | ${cell(ps.map((p) => p.chunks.at(-1)!.rss))} | ${cell(ps.map((p) => p.afterDecodeRss))} | ${cell(ps.map(first512))} | ${cell(ps.map((p) => p.prefillMs))} | ${cell(ps.map((p) => p.decodeP50Ms), 1)} |`,
    );
  }
}
