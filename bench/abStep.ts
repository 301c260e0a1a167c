// Wall-clock A/B of one decode step at a past length: the graph as the engine opens it (split attention)
// against the attention as exported, sessions alternating in one process, medians and p95 per variant.
// `npx tsx bench/abStep.ts [fp32|int8|q4] [past] [rounds]`. Benchmark process only.
import '../main/engine/ortTelemetryOff';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readWithFastOutputs } from '../main/engine/model/fastOutputs';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { ensureBenchFixture } from './lib/benchFixture';

const format = (process.argv[2] ?? 'fp32') as WeightFormat;
const past = Number(process.argv[3] ?? 2052);
const rounds = Number(process.argv[4] ?? 10);
const dir = ensureBenchFixture(format);
const modelPath = join(dir, 'onnx', 'model.onnx');
const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { num_key_value_heads: number; hidden_size: number; num_attention_heads: number };
const kvHeads = config.num_key_value_heads;
const headDim = config.hidden_size / config.num_attention_heads;
const kv = new Float32Array(kvHeads * past * headDim).map((_, i) => Math.sin(i) * 0.1);

async function variant(splitAttention: boolean) {
  const extended = await readWithFastOutputs(modelPath, { splitAttention });
  if ('reason' in extended) throw new Error(extended.reason);
  const session = await ort.InferenceSession.create(extended.bytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    extra: { session: { model_external_initializers_file_folder_path: join(dir, 'onnx') } },
  });
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) if (name.startsWith('past_key_values')) feeds[name] = new ort.Tensor('float32', kv, [1, kvHeads, past, headDim]);
  feeds.input_ids = new ort.Tensor('int64', BigInt64Array.of(5n), [1, 1]);
  feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(past + 1).fill(1n), [1, past + 1]);
  feeds.position_ids = new ort.Tensor('int64', BigInt64Array.of(BigInt(past)), [1, 1]);
  const { split } = extended.fast;
  if (split) feeds[split.wholePresents] = new ort.Tensor('bool', Uint8Array.of(0), []);
  const fetches = [extended.fast.lastLogits, ...extended.fast.newRows.values()];
  return { name: splitAttention ? 'split' : 'as exported', session, run: () => session.run(feeds, fetches), times: [] as number[] };
}

const variants = [await variant(true), await variant(false)];
for (const v of variants) for (let i = 0; i < 3; i++) await v.run();
for (let r = 0; r < rounds; r++) {
  for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await v.run();
      v.times.push(performance.now() - t);
    }
  }
}
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const [a, b] = variants;
for (const v of variants) console.log(`${format} past=${past} ${v.name.padEnd(12)} p50 ${q(v.times, 0.5).toFixed(2)} ms  p95 ${q(v.times, 0.95).toFixed(2)} ms`);
console.log(`split ÷ as exported (p50): ${(q(a.times, 0.5) / q(b.times, 0.5)).toFixed(3)}`);
for (const v of variants) await v.session.release();
