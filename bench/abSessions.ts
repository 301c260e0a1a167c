// In-process A/B of session variants on one forward pass: the engine's default session against others
// (memory patterns on, the attention as exported), alternating in blocks of 4 runs over 10 rounds (or more), order
// rotated every round; per variant the median wall and process CPU time and their ratios to the default's.
// A pass is `n` tokens over a past of `past` slots (n = 1: a decode step; 256: a prefill chunk). With one
// intra-op thread the CPU time is the work done (no spinning partner), steadier than wall time on a shared
// machine. Benchmark process only (bench/README sections 10, 21).
// `npx tsx bench/abSessions.ts [fp32|int8|q4] [n@past,...] [variant,...] [threads] [rounds]`
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
  'no contrib fusion': { tuning: { contribFusions: [] } },
  'skip norm only': { tuning: { contribFusions: ['skipNorm'] } },
  'rotary only': { tuning: { contribFusions: ['rotary'] } },
  // On a software adapter (lavapipe) WebGPU's wall time is dispatches and CPU kernels, not a GPU's speed.
  webgpu: { provider: 'webgpu' },
  'webgpu no contrib fusion': { provider: 'webgpu', tuning: { contribFusions: [] } },
};

const format = (process.argv[2] ?? 'fp32') as WeightFormat;
const passes = (process.argv[3] ?? '1@1024,1@2052,256@0,256@256').split(',').map((p) => p.split('@').map(Number) as [number, number]);
const names = ['default', ...(process.argv[4]?.split(',') ?? ['mem pattern on'])];
const threads = Number(process.argv[5] ?? 2);
const rounds = Number(process.argv[6] ?? 10);
const path = join(ensureBenchFixture(format), 'onnx', 'model.onnx');
const sessions: DecoderSession[] = [];
for (const name of names) sessions.push(await openSession(path, { intraOpThreads: threads, ...VARIANTS[name] }));

/** A pass of `n` tokens after `past` held slots (all attended), with the fetches the runner makes. */
function pass(session: DecoderSession, n: number, past: number): () => Promise<unknown> {
  const { feeds, fetches } = decodeStepAt(session, past, n);
  return () => session.run(feeds, fetches);
}

for (const [n, past] of passes) {
  const runs = sessions.map((s) => pass(s, n, past));
  const times: number[][] = runs.map(() => []);
  const cpu: number[][] = runs.map(() => []);
  for (const run of runs) for (let i = 0; i < 2; i++) await run();
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < runs.length; j++) {
      const i = (j + round) % runs.length;
      for (let k = 0; k < 4; k++) {
        const c = process.cpuUsage();
        const t = performance.now();
        await runs[i]();
        times[i].push(performance.now() - t);
        const d = process.cpuUsage(c);
        cpu[i].push((d.user + d.system) / 1000);
      }
    }
  }
  const [base, baseCpu] = [median(times[0]), median(cpu[0])];
  const cells = names.map((name, i) => {
    const [wall, work] = [median(times[i]), median(cpu[i])];
    return `${name} ${wall.toFixed(1)} ms (${(wall / base).toFixed(3)}), CPU ${work.toFixed(1)} ms (${(work / baseCpu).toFixed(3)})`;
  });
  console.log(`${format} ${n} token(s) over ${past}, ${threads} thread(s): ${cells.join(' | ')}`);
}
for (const s of sessions) await s.release();
