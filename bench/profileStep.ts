// Per-node profile of one decode step at a given past length: onnxruntime's own profiler (enableProfiling)
// over the graph as the engine opens it (fast outputs, attention view), grouped by op type and by what the
// node does with the cache. `npx tsx bench/profileStep.ts [fp32|int8|q4] [past] [steps]`. Benchmark process only.
import '../main/engine/ortTelemetryOff';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readWithFastOutputs } from '../main/engine/model/fastOutputs';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { ensureBenchFixture } from './lib/benchFixture';
import { WORK_DIR } from './lib/benchContext';

const format = (process.argv[2] ?? 'fp32') as WeightFormat;
const past = Number(process.argv[3] ?? 2052);
const steps = Number(process.argv[4] ?? 20);
// 'asis': the attention as exported (the baseline of the split, model/splitAttention).
const splitAttention = process.argv[5] !== 'asis';
const dir = ensureBenchFixture(format);
const modelPath = join(dir, 'onnx', 'model.onnx');
const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { num_hidden_layers: number; num_key_value_heads: number; hidden_size: number; num_attention_heads: number };
const kvHeads = config.num_key_value_heads;
const headDim = config.hidden_size / config.num_attention_heads;
const extended = await readWithFastOutputs(modelPath, { splitAttention });
if ('reason' in extended) throw new Error(extended.reason);
const prefix = join(WORK_DIR, `profile-${format}-${past}`);
const session = await ort.InferenceSession.create(extended.bytes, {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
  enableProfiling: true,
  profileFilePrefix: prefix,
  extra: { session: { model_external_initializers_file_folder_path: join(dir, 'onnx') } },
});
const feeds: Record<string, ort.Tensor> = {};
const kv = new Float32Array(kvHeads * past * headDim).map((_, i) => Math.sin(i) * 0.1);
for (const name of session.inputNames) {
  if (name.startsWith('past_key_values')) feeds[name] = new ort.Tensor('float32', kv, [1, kvHeads, past, headDim]);
}
feeds.input_ids = new ort.Tensor('int64', BigInt64Array.of(5n), [1, 1]);
feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(past + 1).fill(1n), [1, past + 1]);
feeds.position_ids = new ort.Tensor('int64', BigInt64Array.of(BigInt(past)), [1, 1]);
const { split } = extended.fast;
if (split) feeds[split.wholePresents] = new ort.Tensor('bool', Uint8Array.of(0), []);
for (const name of session.inputNames) if (!(name in feeds)) throw new Error(`no feed for ${name}`);
const fetches = [extended.fast.lastLogits, ...extended.fast.newRows.values()];
const wall: number[] = [];
for (let i = 0; i < steps; i++) {
  const t = performance.now();
  await session.run(feeds, fetches);
  wall.push(performance.now() - t);
}
session.endProfiling();
await session.release();
// onnxruntime-node's endProfiling returns nothing: the file is the prefix plus a timestamp.
const file = readdirSync(WORK_DIR).filter((f) => f.startsWith(basename(prefix)) && f.endsWith('.json')).map((f) => join(WORK_DIR, f))[0];
interface Event { cat: string; name: string; dur: number; args?: { op_name?: string } }
const events = JSON.parse(readFileSync(file, 'utf8')) as Event[];
rmSync(file);
const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.dur / 1000);
// Leave the first quarter of the runs out (arena growth, first-run setup).
const skip = Math.floor(steps / 4);
const kernel = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
const perRun = kernel.length / steps;
const kept = kernel.slice(Math.round(skip * perRun));
const byOp = new Map<string, number>();
for (const e of kept) {
  const op = e.args?.op_name ?? '?';
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur / 1000 / (steps - skip));
}
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const kernelTotal = [...byOp.values()].reduce((a, b) => a + b, 0);
const runMs = sorted(runs.slice(skip));
console.log(`${format} ${split ? 'split' : 'as exported'} past=${past} steps=${steps - skip}: model_run p50 ${runMs[Math.floor(runMs.length / 2)].toFixed(2)} ms, kernels ${kernelTotal.toFixed(2)} ms/step, wall p50 ${sorted(wall.slice(skip))[Math.floor((steps - skip) / 2)].toFixed(2)} ms`);
for (const [op, ms] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`  ${op.padEnd(22)} ${ms.toFixed(3)} ms/step  ${((100 * ms) / kernelTotal).toFixed(1)}%`);
