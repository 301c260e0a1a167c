// What the closed attention view adds to a decode step, node by node (bench/README section 18): onnxruntime's
// own profiler over the fixture with SmolLM2-135M's shapes, opened without the attention outputs and with
// them (closed: the runner's fetches), in one process, steps alternating, at a past of `past` slots. Per
// node, the median of its kernel time over the steps (a descheduled step does not count), summed: the
// added nodes by op type against the whole step's. The profiler adds its own cost to every node (a step
// runs ~1.7× slower under it), most of it to the small ones: the added nodes' share here is an upper bound.
// `npx tsx bench/attentionProfile.ts [threads] [past] [steps]`. Benchmark process only.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { openSession } from '../main/engine/onnxSession';
import { WORK_DIR } from './lib/benchContext';
import { decodeStepAt } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';
import { median } from './lib/stats';

const threads = Number(process.argv[2] ?? 2);
const past = Number(process.argv[3] ?? 2052);
const steps = Number(process.argv[4] ?? 40);
const variants = [
  { label: 'without the attention outputs', attentionOutputs: false },
  { label: 'attention view closed', attentionOutputs: true },
];
const path = join(ensureBenchFixture(), 'onnx', 'model.onnx');
const sessions = await Promise.all(
  variants.map((v, i) => openSession(path, { intraOpThreads: threads, attentionOutputs: v.attentionOutputs, tuning: { profileFilePrefix: join(WORK_DIR, `attention-profile-${process.pid}-${i}`) } })),
);
const runs = sessions.map((s) => {
  const { feeds, fetches } = decodeStepAt(s, past);
  return () => s.run(feeds, fetches);
});
for (let i = 0; i < steps; i++) for (const run of runs) await run();
for (const s of sessions) await s.release();

console.log(`closed decode steps at a past of ${past} slots, ${threads} thread(s), ${steps} steps each (the first quarter left out)`);
variants.forEach((v, i) => {
  const prefix = `attention-profile-${process.pid}-${i}`;
  const file = join(WORK_DIR, readdirSync(WORK_DIR).find((f) => f.startsWith(basename(prefix)))!);
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; ts: number; args?: { op_name?: string } }[];
  rmSync(file);
  const kept = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').slice(Math.floor(steps / 4));
  const perNode = new Map<string, { op: string; us: number[] }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < kept[0].ts) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    const node = perNode.get(name) ?? { op: e.args?.op_name ?? '?', us: [] };
    node.us.push(e.dur);
    perNode.set(name, node);
  }
  let total = 0;
  const added = new Map<string, { us: number; nodes: number }>();
  for (const [name, { op, us }] of perNode) {
    const us50 = median(us);
    total += us50;
    if (!name.startsWith('ouro_attn')) continue;
    const a = added.get(op) ?? { us: 0, nodes: 0 };
    added.set(op, { us: a.us + us50, nodes: a.nodes + 1 });
  }
  const addedUs = [...added.values()].reduce((a, x) => a + x.us, 0);
  console.log(`${v.label}: model_run p50 ${median(kept.map((e) => e.dur / 1000)).toFixed(2)} ms; kernel time ${(total / 1000).toFixed(2)} ms over ${perNode.size} nodes; added nodes ${addedUs.toFixed(0)} µs (${((100 * addedUs) / total).toFixed(2)}%)`);
  for (const [op, a] of [...added].sort((x, y) => y[1].us - x[1].us)) console.log(`  ${op.padEnd(8)} ${String(a.nodes).padStart(3)} node(s) ${a.us.toFixed(0).padStart(6)} µs (${(a.us / a.nodes).toFixed(1)} µs each)`);
});
