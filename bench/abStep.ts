// In-process A/B of one decode step at given past lengths: the graph as the engine opens it (split attention)
// against the attention as exported, two sessions alternating in blocks of 4 steps, 12 rounds, order rotated
// every round; medians and p95 per variant. `npx tsx bench/abStep.ts [fp32|int8|q4] [past,past,...]`.
// Benchmark process only (bench/README section 19).
import { join } from 'node:path';
import { openSession, type DecoderSession } from '../main/engine/onnxSession';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { decodeStepAt } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';
import { median, quantile } from './lib/stats';

const format = (process.argv[2] ?? 'fp32') as WeightFormat;
const pasts = (process.argv[3] ?? '128,640,2052').split(',').map(Number);
const path = join(ensureBenchFixture(format), 'onnx', 'model.onnx');
const sessions = [await openSession(path, { intraOpThreads: 2 }), await openSession(path, { intraOpThreads: 2, splitAttention: false })];

function step(session: DecoderSession, past: number): () => Promise<unknown> {
  const { feeds, fetches } = decodeStepAt(session, past);
  return () => session.run(feeds, fetches);
}

for (const past of pasts) {
  const runs = sessions.map((s) => step(s, past));
  const times: number[][] = [[], []];
  for (const run of runs) for (let i = 0; i < 3; i++) await run();
  for (let round = 0; round < 12; round++) {
    for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
      for (let k = 0; k < 4; k++) {
        const t = performance.now();
        await runs[i]();
        times[i].push(performance.now() - t);
      }
    }
  }
  const [split, exported] = times;
  const row = (xs: number[]) => `p50 ${median(xs).toFixed(1)} ms, p95 ${quantile(xs, 0.95).toFixed(1)} ms`;
  console.log(`${format} past ${past}: split ${row(split)} | as exported ${row(exported)} | split ÷ as exported (p50) ${(median(split) / median(exported)).toFixed(3)}`);
}
for (const s of sessions) await s.release();
