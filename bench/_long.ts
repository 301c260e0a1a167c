import { writeSync } from 'node:fs';
import { loadModel } from '../main/engine/loadedModel';
import { byteTokenIds } from '../test/fixtures/fixturePrng';
import { argmax, makeRunner } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';
const model = await loadModel(ensureBenchFixture('q4' as never), { threads: 2 });
const { runner } = makeRunner(model, { sink: 4, window: 2048, chunk: 256 });
let t = argmax((await runner.feed(byteTokenIds(512, 512)))!);
const ms: number[] = [];
const t0 = performance.now();
for (let i = 0; i < 1200; i++) {
  writeSync(1, `@@ step ${i}\n`);
  const s = performance.now();
  t = argmax((await runner.feed([t]))!);
  ms.push(performance.now() - s);
}
const sorted = [...ms].sort((a, b) => a - b);
console.log(JSON.stringify({ seconds: ((performance.now() - t0) / 1000).toFixed(1), p50: sorted[600].toFixed(2), p95: sorted[1140].toFixed(2), max: sorted.at(-1)!.toFixed(1), over2x: ms.filter((x) => x > 2 * sorted[600]).length }));
await model.release();
