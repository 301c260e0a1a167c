// What onnxruntime's first run at a new input shape costs, apart from the runner: one session as the engine
// opens it, decode steps (n = 1) at a warmed 128-slot past, then at each past length in turn: its first run
// against the median of the next 5, in wall ms and process CPU ms (all threads). `npx tsx bench/shapeCost.ts
// [fp32|int8|q4] [past,past,...] [tuning JSON]`; spinning off in the tuning makes CPU ms the work done.
// Benchmark process only (bench/README section 20).
import { join } from 'node:path';
import { openSession, type SessionTuning } from '../main/engine/onnxSession';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { decodeStepAt } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';
import { median } from './lib/stats';
import { peakRssMiB } from './lib/procStatus';

const format = (process.argv[2] ?? 'fp32') as WeightFormat;
const pasts = (process.argv[3] ?? '640,768,1024,2052').split(',').map(Number);
const tuning = JSON.parse(process.argv[4] ?? '{}') as SessionTuning;
const session = await openSession(join(ensureBenchFixture(format), 'onnx', 'model.onnx'), { intraOpThreads: 2, tuning });

async function timed(run: () => Promise<unknown>): Promise<{ wall: number; cpu: number; sys: number }> {
  const c = process.cpuUsage();
  const t = performance.now();
  await run();
  const wall = performance.now() - t;
  const d = process.cpuUsage(c);
  return { wall, cpu: (d.user + d.system) / 1000, sys: d.system / 1000 };
}

const warm = decodeStepAt(session, 128);
for (let i = 0; i < 6; i++) await session.run(warm.feeds, warm.fetches);
const rows = [];
for (const past of pasts) {
  const { feeds, fetches } = decodeStepAt(session, past);
  const run = () => session.run(feeds, fetches);
  const first = await timed(run);
  const second = await timed(run);
  const next = [];
  for (let i = 0; i < 5; i++) next.push(await timed(run));
  const wall = median(next.map((x) => x.wall));
  const cpu = median(next.map((x) => x.cpu));
  // Control: back to the warmed shape, whose first run after a switch pays no new-shape cost.
  const back = await timed(() => session.run(warm.feeds, warm.fetches));
  const again = [];
  for (let i = 0; i < 5; i++) again.push(await timed(() => session.run(warm.feeds, warm.fetches)));
  const backExtra = back.cpu - median(again.map((x) => x.cpu));
  rows.push({ past, firstWall: +first.wall.toFixed(1), nextWall: +wall.toFixed(1), extraCpu: +(first.cpu - cpu).toFixed(1), secondExtraCpu: +(second.cpu - cpu).toFixed(1), extraSys: +(first.sys - median(next.map((x) => x.sys))).toFixed(1), switchBackExtraCpu: +backExtra.toFixed(1) });
}
console.log(JSON.stringify({ format, tuning, rows, rssMiB: Math.round(peakRssMiB()) }));
await session.release();
