// What the load's warm-up costs: a model loaded without it, then, on a stream of the default geometry
// (S=4, W=2048), the warm-up before issue 14's tail work (a new conversation's first two steps) and what
// this work added (one step at each other past length a decode step can feed: Runner.warmDecodeShapes),
// each timed. `npx tsx bench/warmCost.ts [fp32|int8|q4]`. Benchmark process only (bench/README section 20).
import { loadModel } from '../main/engine/loadedModel';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { makeRunner } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';

const format = (process.argv[2] ?? 'q4') as WeightFormat;
const t0 = performance.now();
const model = await loadModel(ensureBenchFixture(format), { threads: 2, warmUp: false });
const loadMs = performance.now() - t0;
const { runner } = makeRunner(model, { sink: 4, window: 2048, chunk: 1 });
const t1 = performance.now();
await runner.feed([0]);
await runner.feed([0]);
const twoStepsMs = performance.now() - t1;
const t2 = performance.now();
const runs = await runner.warmDecodeShapes();
const shapesMs = performance.now() - t2;
console.log(JSON.stringify({ format, loadMs: Math.round(loadMs), twoStepsMs: Math.round(twoStepsMs), shapes: runs, shapesMs: Math.round(shapesMs) }));
await model.release();
