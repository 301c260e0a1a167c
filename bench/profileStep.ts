// Per-node profile of a decode step at a given past length: onnxruntime's own profiler over the graph as the
// engine opens it (fast outputs, attention view, split attention; `asis` keeps the attention as exported),
// grouped by op type. `npx tsx bench/profileStep.ts [fp32|int8|q4] [past] [steps] [split|asis]`.
// Benchmark process only; the numbers are the profiler's (its own per-node cost included): shares, not speeds.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { openSession } from '../main/engine/onnxSession';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { WORK_DIR } from './lib/benchContext';
import { decodeStepAt } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';
import { median } from './lib/stats';

const format = (process.argv[2] ?? 'fp32') as WeightFormat;
const past = Number(process.argv[3] ?? 2052);
const steps = Number(process.argv[4] ?? 20);
const splitAttention = process.argv[5] !== 'asis';
const dir = ensureBenchFixture(format);
const prefix = join(WORK_DIR, `profile-${format}-${past}-${process.pid}`);
const session = await openSession(join(dir, 'onnx', 'model.onnx'), { splitAttention, tuning: { profileFilePrefix: prefix } });
const { feeds, fetches } = decodeStepAt(session, past);
for (let i = 0; i < steps; i++) await session.run(feeds, fetches);
await session.release();
const file = join(WORK_DIR, readdirSync(WORK_DIR).find((f) => f.startsWith(basename(prefix)))!);
const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
rmSync(file);
// The first quarter of the runs left out (arena growth, first-run setup).
const skip = Math.floor(steps / 4);
const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.dur / 1000);
const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
const kept = kernels.slice(Math.round((skip * kernels.length) / steps));
const byOp = new Map<string, number>();
for (const e of kept) byOp.set(e.args?.op_name ?? '?', (byOp.get(e.args?.op_name ?? '?') ?? 0) + e.dur / 1000 / (steps - skip));
const total = [...byOp.values()].reduce((a, b) => a + b, 0);
console.log(`${format} ${splitAttention ? 'split' : 'as exported'} past=${past}: model_run median ${median(runs.slice(skip)).toFixed(2)} ms, kernels ${total.toFixed(2)} ms/step`);
for (const [op, ms] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${op.padEnd(16)} ${ms.toFixed(2).padStart(8)} ms/step ${((100 * ms) / total).toFixed(1).padStart(5)}%`);
