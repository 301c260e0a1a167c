// The same 512-token prefill (chunks of 256, S=4, W=2048, as the llamacpp child feeds it) three times in one
// process after load, each from an empty cache: wall, process CPU, system CPU and minor page faults of each.
// The first prefills at a new shape pay onnxruntime's arena growth (bench/README section 10b).
// `npx tsx bench/prefillRuns.ts [fp32|int8|q4] [threads] [SessionTuning JSON]`. Benchmark process only.
import { loadModel } from '../main/engine/loadedModel';
import type { SessionTuning } from '../main/engine/onnxSession';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { byteTokenIds } from '../test/fixtures/fixturePrng';
import { argmax, makeRunner } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';

const format = (process.argv[2] ?? 'q4') as WeightFormat;
const threads = Number(process.argv[3] ?? 2);
const tuning = JSON.parse(process.argv[4] ?? '{}') as SessionTuning;
const model = await loadModel(ensureBenchFixture(format), { threads, tuning, warmUp: true });
const { cache, runner } = makeRunner(model, { sink: 4, window: 2048, chunk: 256 });
// As the llamacpp child: the first token after load comes before the prefill.
argmax((await runner.feed([7]))!);
const rows: string[] = [];
for (let i = 0; i < 3; i++) {
  await cache.reset();
  const ids = byteTokenIds(512, 512 * (i + 1));
  const before = process.resourceUsage();
  const t = performance.now();
  argmax((await runner.feed(ids))!);
  const wall = performance.now() - t;
  const after = process.resourceUsage();
  const sys = (after.systemCPUTime - before.systemCPUTime) / 1000;
  const cpu = (after.userCPUTime - before.userCPUTime) / 1000 + sys;
  rows.push(`prefill ${i + 1}: ${wall.toFixed(0)} ms wall, ${cpu.toFixed(0)} ms CPU (system ${sys.toFixed(0)}), ${after.minorPageFault - before.minorPageFault} page faults`);
}
await model.release();
console.log(`${format}, ${threads} thread(s), tuning ${JSON.stringify(tuning)}\n  ${rows.join('\n  ')}`);
