// In-process A/B of session variants on one forward pass: the engine's default session against others
// (memory patterns on, the attention as exported), alternating in blocks of 4 runs over 10 rounds, order
// rotated every round; per variant the median and its ratio to the default's. A pass is `n` tokens over
// a past of `past` slots (n = 1: a decode step; 256: a prefill chunk). Benchmark process only (bench/README
// section 10). `npx tsx bench/abSessions.ts [fp32|int8|q4] [n@past,...] [variant,...]`
import { join } from 'node:path';
import { openSession, type DecoderSession, type SessionOptions } from '../main/engine/onnxSession';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { decodeStepAt } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';
import { median } from './lib/stats';

const VARIANTS: Readonly<Record<string, SessionOptions>> = {
  default: {},
  'mem pattern on': { tuning: { memPattern: true } },
  'attention as exported': { splitAttention: false },
  'no attention view outputs': { attentionOutputs: false },
};

const format = (process.argv[2] ?? 'fp32') as WeightFormat;
const passes = (process.argv[3] ?? '1@1024,1@2052,256@0,256@256').split(',').map((p) => p.split('@').map(Number) as [number, number]);
const names = ['default', ...(process.argv[4]?.split(',') ?? ['mem pattern on'])];
const path = join(ensureBenchFixture(format), 'onnx', 'model.onnx');
const sessions: DecoderSession[] = [];
for (const name of names) sessions.push(await openSession(path, { intraOpThreads: 2, ...VARIANTS[name] }));

/** A pass of `n` tokens after `past` held slots (all attended), with the fetches the runner makes. */
function pass(session: DecoderSession, n: number, past: number): () => Promise<unknown> {
  const { feeds, fetches } = decodeStepAt(session, past, n);
  return () => session.run(feeds, fetches);
}

for (const [n, past] of passes) {
  const runs = sessions.map((s) => pass(s, n, past));
  const times: number[][] = runs.map(() => []);
  for (const run of runs) for (let i = 0; i < 2; i++) await run();
  for (let round = 0; round < 10; round++) {
    for (let j = 0; j < runs.length; j++) {
      const i = (j + round) % runs.length;
      for (let k = 0; k < 4; k++) {
        const t = performance.now();
        await runs[i]();
        times[i].push(performance.now() - t);
      }
    }
  }
  const base = median(times[0]);
  const cells = names.map((name, i) => `${name} ${median(times[i]).toFixed(1)} ms (${(median(times[i]) / base).toFixed(3)})`);
  console.log(`${format} ${n} token(s) over ${past}: ${cells.join(' | ')}`);
}
for (const s of sessions) await s.release();
