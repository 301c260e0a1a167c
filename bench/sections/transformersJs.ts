// Item 3: transformers.js generate() against Ouro on the same local ONNX folder, offline: decode tok/s at
// 512/1K/2K tokens of context (one fresh process per measurement, runners alternating), and what
// transformers.js does past the model's max_position_embeddings (stories260K, trained on 512).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../main/engine/loadedModel';
import { streamingNll } from '../../main/engine/streamingEval';
import { readFile } from 'node:fs/promises';
import { param, storiesDir, tinyStoriesText, WORK_DIR, type BenchContext, type SectionResult } from '../lib/benchContext';
import { ensureBenchFixture } from '../lib/benchFixture';
import { runScript } from '../lib/childProcess';
import { fmt, mdTable, median, round } from '../lib/stats';

const CHILD = fileURLToPath(new URL('./runnerChild.ts', import.meta.url));

interface Measurement {
  readonly runner: string;
  readonly ctx: number;
  readonly ttftMs: number;
  readonly stepsMs: number[];
}

function bucketPpl(nll: readonly number[], bucket: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < nll.length; i += bucket) {
    const part = nll.slice(i, i + bucket);
    out.push(round(Math.exp(part.reduce((a, b) => a + b, 0) / part.length), 2));
  }
  return out;
}

async function pastMax(ctx: BenchContext): Promise<{ markdown: string; data: unknown }> {
  const dir = storiesDir();
  const textFile = tinyStoriesText();
  if (dir === null || textFile === null) return { markdown: '_stories260K or the TinyStories text is absent; past-max check skipped._', data: null };
  const length = param(ctx, 'tjs.pastMaxTokens', 2048, 1024);
  const model = await loadModel(dir, { threads: 1 });
  const ids = model.tokenizer.encode(await readFile(textFile, 'utf8'), { addSpecialTokens: true }).slice(0, length);
  const ours: number[] = [];
  for await (const { nll } of streamingNll(model, ids, { sink: 4, window: 252, positions: 'cache' })) ours.push(nll);
  await model.release();
  mkdirSync(WORK_DIR, { recursive: true });
  const idsFile = join(WORK_DIR, 'pastmax-ids.json');
  writeFileSync(idsFile, JSON.stringify(ids));
  const [tjs] = await runScript(CHILD, ['--mode', 'pastmax', '--model', dir, '--gen', String(length), '--ids', idsFile, '--threads', '1']);
  const stepMs = tjs.stepMs as number[];
  const nll = tjs.nll as number[];
  const perBucket = (xs: readonly number[], b: number) => Array.from({ length: Math.ceil(xs.length / b) }, (_, i) => round(median(xs.slice(i * b, (i + 1) * b)), 2));
  const tjsPpl = bucketPpl(nll, 512);
  const oursPpl = bucketPpl(ours, 512);
  const cols = tjsPpl.map((_, i) => `${i * 512}–${(i + 1) * 512}`);
  const table = mdTable(
    ['', ...cols],
    [
      ['transformers.js, dense (one forward pass), PPL', ...tjsPpl.map((x) => fmt(x, 2))],
      ['Ouro S=4 W=252 cache mode, PPL', ...oursPpl.map((x) => fmt(x, 2))],
      ['transformers.js generate(), median ms/step', ...perBucket(stepMs, 512).map((x) => fmt(x, 2))],
    ],
  );
  const behaviour = tjs.error
    ? `transformers.js stopped with an error: ${String(tjs.error)}`
    : `transformers.js generated all ${String(tjs.generated)} tokens past the 512 trained positions without an error${(tjs.warnings as string[]).length > 0 ? ` (warnings: ${(tjs.warnings as string[]).join('; ')})` : ' or a warning'}; its KV cache and per-step time keep growing.`;
  return { markdown: `**Past max_position_embeddings (stories260K, 512 positions)**: ${behaviour}\n\n${table}`, data: { length, tjs: { ...tjs, nll: undefined }, tjsPpl, oursPpl } };
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const contexts = ctx.quick ? [512, 1024] : [512, 1024, 2048];
  const gen = param(ctx, 'tjs.gen', 32, 12);
  const rounds = param(ctx, 'tjs.rounds', 2, 1);
  const fixture = ensureBenchFixture();
  const common = ['--model', fixture, '--gen', String(gen), '--threads', String(ctx.threads)];
  const measurements: Measurement[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const c of contexts) {
      const jobs = [
        ['--runner', 'tjs', '--ctx', String(c)],
        ['--runner', 'ours', '--ctx', String(c), '--window', '2048'],
        ...(c < 2048 ? [['--runner', 'ours', '--ctx', String(c), '--window', String(c)]] : []),
      ];
      if (r % 2 === 1) jobs.reverse();
      for (const job of jobs) {
        const [m] = await runScript(CHILD, [...job, ...common]);
        measurements.push(m as unknown as Measurement);
      }
    }
  }
  const runners = [...new Set(measurements.map((m) => m.runner.replace(/W=\d+$/, (w) => (w === 'W=2048' ? w : 'W=ctx'))))];
  const key = (m: Measurement) => m.runner.replace(/W=\d+$/, (w) => (w === 'W=2048' ? w : 'W=ctx'));
  const cell = (runner: string, c: number) => {
    const ms = measurements.filter((m) => key(m) === runner && m.ctx === c);
    if (ms.length === 0 && runner === 'Ouro W=ctx' && c === 2048) return cell('Ouro W=2048', c);
    if (ms.length === 0) return null;
    const step = median(ms.flatMap((m) => m.stepsMs));
    return { stepMs: round(step, 2), tokPerSec: round(1000 / step, 2), ttftMs: round(median(ms.map((m) => m.ttftMs)), 0) };
  };
  const rows = runners.map((runner) => [runner, ...contexts.flatMap((c) => {
    const x = cell(runner, c);
    return [fmt(x?.tokPerSec, 1), fmt(x?.ttftMs, 0)];
  })]);
  const header = ['runner', ...contexts.flatMap((c) => [`${c} ctx: decode tok/s`, `TTFT ms`])];
  const speedups = contexts.map((c) => {
    const tjs = cell('transformers.js', c);
    const ours = cell('Ouro W=2048', c);
    return { ctx: c, oursW2048OverTjs: tjs && ours ? round(ours.tokPerSec / tjs.tokPerSec, 2) : null };
  });
  const past = await pastMax(ctx);
  return {
    title: 'Against transformers.js generate() on the same local folder (fixture), offline',
    markdown: `${mdTable(header, rows)}\n\nEach cell: median over ${gen - 1} decode steps × ${rounds} fresh process(es), greedy; prompt = ctx tokens fed in one call. Ouro W=2048 is the app default: up to 1,024 held tokens it attends only a mirror of the held prefix, in steps of 128 slots (compactPast), beyond that all S+W = 2052 slots, whatever the context. Ouro W=ctx is a window just as wide as the context.\n\n${past.markdown}`,
    data: { contexts, gen, rounds, measurements, speedups, pastMax: past.data },
    targets: [],
  };
}
