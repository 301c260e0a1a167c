// The first decode step after a prompt, with and without the load's decode-shape warm-up, in one process:
// two loads of the same model, A warmed as shipped (every past length a decode step can feed), B as before
// this change (only a new conversation's first two steps). For each prompt length in turn, both streams
// (S=4, W=2048, chunks of 256) are reset, fed the prompt and decoded 4 steps, order alternating per prompt;
// each prompt reaches a mirror length (or all C slots) that B has not run yet. Prints per prompt the first
// step's ms and its excess over the median of steps 3-4, per variant.
// `npx tsx bench/firstStepAB.ts [fp32|int8|q4] [prompt,prompt,...]`. Benchmark process only (bench/README 20).
import { loadModel, type LoadedModel } from '../main/engine/loadedModel';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { byteTokenIds } from '../test/fixtures/fixturePrng';
import { argmax, makeRunner } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';
import { median } from './lib/stats';

const format = (process.argv[2] ?? 'q4') as WeightFormat;
const prompts = (process.argv[3] ?? '512,640,768,896,1100').split(',').map(Number);
const dir = ensureBenchFixture(format);

async function variant(shapes: boolean): Promise<{ model: LoadedModel; stream: ReturnType<typeof makeRunner> }> {
  const model = await loadModel(dir, { threads: 2, warmUp: shapes });
  const stream = makeRunner(model, { sink: 4, window: 2048, chunk: 256 });
  // B: the warm-up before this change, a new conversation's first two steps.
  if (!shapes) {
    await stream.runner.feed([0]);
    await stream.runner.feed([0]);
  }
  return { model, stream };
}

const variants = { A: await variant(true), B: await variant(false) };
const rows: Array<Record<string, number | string>> = [];
for (const [i, prompt] of prompts.entries()) {
  const row: Record<string, number | string> = { prompt };
  for (const name of i % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
    const { cache, runner } = variants[name].stream;
    cache.reset();
    let t = argmax((await runner.feed(byteTokenIds(prompt, prompt)))!);
    const ms: number[] = [];
    for (let s = 0; s < 4; s++) {
      const start = performance.now();
      t = argmax((await runner.feed([t]))!);
      ms.push(performance.now() - start);
    }
    row[`${name} step1`] = +ms[0].toFixed(1);
    row[`${name} excess`] = +(ms[0] - median(ms.slice(2))).toFixed(1);
  }
  rows.push(row);
  console.log(JSON.stringify({ format, ...row }));
}
const excess = (name: string) => median(rows.map((r) => r[`${name} excess`] as number));
console.log(JSON.stringify({ format, medianExcessA: +excess('A').toFixed(1), medianExcessB: +excess('B').toFixed(1) }));
for (const v of Object.values(variants)) await v.model.release();
