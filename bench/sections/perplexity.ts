// Item 8: streaming perplexity with the `eval` command on stories260K over TinyStories text — the
// sliding-window-with-recomputation oracle, S=0 (window only), S=4 `cache`, S=4 `original` — for several
// windows, per 1K-token bucket (our analogue of StreamingLLM's Table 2). Quality, not timing: runs 2 at a time.
import { fileURLToPath } from 'node:url';
import { param, storiesDir, tinyStoriesText, type BenchContext, type SectionResult } from '../lib/benchContext';
import { runScript } from '../lib/childProcess';
import { fmt, mdTable, round } from '../lib/stats';

const EVAL_CLI = fileURLToPath(new URL('../../main/cli/eval.ts', import.meta.url));

interface Config {
  readonly window: number;
  readonly mode: 'recompute' | 'S=0' | 'S=4 cache' | 'S=4 original';
}

function cliArgs(c: Config, model: string, text: string, tokens: number): string[] {
  const base = ['--model', model, '--text', text, '--window', String(c.window), '--max-tokens', String(tokens), '--json'];
  switch (c.mode) {
    case 'recompute':
      return [...base, '--sink', '0', '--recompute'];
    case 'S=0':
      return [...base, '--sink', '0'];
    case 'S=4 cache':
      return [...base, '--sink', '4', '--positions', 'cache'];
    case 'S=4 original':
      return [...base, '--sink', '4', '--positions', 'original'];
  }
}

/** Perplexity over the `nll` lines of an `eval --json` run, overall and per bucket of `bucket` positions. */
export function perplexityOf(lines: readonly Record<string, unknown>[], bucket: number): { tokens: number; ppl: number; buckets: number[] } {
  const sums: number[] = [];
  const counts: number[] = [];
  let total = 0;
  let count = 0;
  for (const line of lines) {
    if (line.type !== 'nll') continue;
    const b = Math.floor(((line.pos as number) - 1) / bucket);
    sums[b] = (sums[b] ?? 0) + (line.nll as number);
    counts[b] = (counts[b] ?? 0) + 1;
    total += line.nll as number;
    count++;
  }
  return { tokens: count, ppl: round(Math.exp(total / count), 3), buckets: sums.map((s, i) => round(Math.exp(s / counts[i]), 3)) };
}

async function pool<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]);
      }
    }),
  );
  return out;
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const model = storiesDir();
  const text = tinyStoriesText();
  if (model === null || text === null) {
    return { title: 'Streaming perplexity (skipped)', markdown: '_../shared/models/stories260K or ../shared/data is not on this machine; skipped._', data: null };
  }
  const tokens = param(ctx, 'perplexity.tokens', 8000, 2000);
  const bucket = param(ctx, 'perplexity.bucket', 1000, 500);
  const windows = [64, 128, 252];
  const modes: Config['mode'][] = ['recompute', 'S=0', 'S=4 cache', 'S=4 original'];
  const configs = windows.flatMap((window) => modes.map((mode) => ({ window, mode })));
  const runs = await pool(configs, 2, async (c) => {
    return { ...c, ...perplexityOf(await runScript(EVAL_CLI, cliArgs(c, model, text, tokens)), bucket) };
  });

  const nb = Math.max(...runs.map((r) => r.buckets.length));
  const header = ['W', 'mode', 'PPL (all)', ...Array.from({ length: nb }, (_, i) => `${(i * bucket) / 1000}K–${((i + 1) * bucket) / 1000}K`)];
  const rows = runs.map((r) => [String(r.window), r.mode, fmt(r.ppl, 2), ...Array.from({ length: nb }, (_, i) => fmt(r.buckets[i], 2))]);
  const byWindow = windows.map((w) => {
    const get = (mode: Config['mode']) => runs.find((r) => r.window === w && r.mode === mode)!;
    return { window: w, cacheVsRecompute: round(get('S=4 cache').ppl / get('recompute').ppl, 3) };
  });
  return {
    title: `Streaming perplexity on stories260K, first ${tokens} tokens of tinystories-valid-head.txt`,
    markdown: `${mdTable(header, rows)}\n\nEach row is one \`npm run eval -- --model stories260K --text tinystories-valid-head.txt --window W --max-tokens ${tokens} ...\` run (recompute: \`--recompute\`, S=0: \`--sink 0\`, S=4: \`--sink 4 --positions cache|original\`). The model was trained on 512 positions.`,
    data: { tokens, bucket, runs, byWindow },
    targets: byWindow.map((b) => ({ name: `PPL S=4 cache ÷ recompute oracle, W=${b.window}`, value: b.cacheVsRecompute, target: 'close to 1 (no target set)', met: b.cacheVsRecompute <= 1.1 })),
  };
}
