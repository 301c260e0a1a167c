// This machine's own decode-step tail: the p95 ÷ p50 of a step with no engine in it, for the ≤ 1.15 target
// (issue 14) to be read against. A step is what a decode step is to the CPU at its coarsest: a pass over a
// weights-sized buffer, split between two threads that meet at its end, the second spinning between steps
// as onnxruntime's pool thread does (allow_spinning), or done by one thread alone. Nothing allocates and
// the loop is optimized before the timed steps, so what is left is the machine: other processes, the
// hypervisor, interrupts. The buffer is sized for a two-thread step of `--ms` (default 10, a 4-bit step at
// depth 0 here). Rounds alternate one and two threads (`--threads 2`: two only, as the llama.cpp section
// runs it).
// `npx tsx bench/stepFloor.ts [--ms 10] [--steps 300] [--rounds 3] [--threads 1|2]`; prints one JSON line per
// round (with its steps' ms) and a summary. Benchmark process only (bench/README section 20).
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { median, quantile } from './lib/stats';

const { values } = parseArgs({
  options: {
    ms: { type: 'string', default: '10' },
    steps: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string' },
  },
});
const targetMs = Number(values.ms);
const stepCount = Number(values.steps);
const rounds = Number(values.rounds);
const threadCounts = values.threads === undefined ? ([2, 1] as const) : values.threads === '1' ? ([1] as const) : ([2] as const);

// Control words: [0] the step the worker is to run (it spins until it changes; -1 ends it), [1] the last
// step it finished.
const control = new Int32Array(new SharedArrayBuffer(8));
let data: Float32Array<ArrayBufferLike> = new Float32Array(0);
let sink = 0;

function sum(a: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i];
  return s;
}

const WORKER = `
const { workerData } = require('node:worker_threads');
const control = new Int32Array(workerData.control);
const a = new Float32Array(workerData.data);
let seen = 0;
let sink = 0;
for (;;) {
  let step;
  while ((step = Atomics.load(control, 0)) === seen) {}
  if (step < 0) break;
  seen = step;
  let s = 0;
  for (let i = a.length >> 1; i < a.length; i++) s += a[i];
  sink += s;
  Atomics.store(control, 1, step);
}
`;

/** One step: the first half here and the second on the worker (two threads), or the whole buffer here. */
function step(n: number, threads: 1 | 2): number {
  const t = performance.now();
  if (threads === 1) {
    sink += sum(data, 0, data.length);
  } else {
    Atomics.store(control, 0, n);
    sink += sum(data, 0, data.length >> 1);
    while (Atomics.load(control, 1) !== n) {
      // spin, as onnxruntime's calling thread waits for its pool at the end of a parallel section
    }
  }
  return performance.now() - t;
}

// Size the buffer for a two-thread step of targetMs: time one thread over 16 MB, then scale.
data = new Float32Array(new SharedArrayBuffer(16 << 20)).fill(1);
for (let i = 0; i < 20; i++) step(0, 1);
const msPer16 = median(Array.from({ length: 10 }, () => step(0, 1)));
const bytes = Math.max(1 << 20, Math.round(((2 * targetMs) / msPer16) * (16 << 20)) & ~4095);
data = new Float32Array(new SharedArrayBuffer(bytes)).fill(1);

/** A worker for the two-thread rounds only: between them it would spin on the second core. */
async function startWorker(): Promise<Worker> {
  Atomics.store(control, 0, 0);
  Atomics.store(control, 1, 0);
  const worker = new Worker(WORKER, { eval: true, workerData: { control: control.buffer, data: data.buffer } });
  await new Promise((resolve) => worker.once('online', resolve));
  return worker;
}

interface Round {
  readonly threads: 1 | 2;
  readonly p50: number;
  readonly ratio: number;
  readonly over115: number;
  readonly max: number;
}
const results: Round[] = [];
for (let r = 0; r < rounds; r++) {
  for (const threads of threadCounts) {
    const worker = threads === 2 ? await startWorker() : null;
    let n = 0;
    for (let i = 0; i < 50; i++) step(++n, threads);
    const ms = Array.from({ length: stepCount }, () => step(++n, threads));
    if (worker !== null) {
      Atomics.store(control, 0, -1);
      await worker.terminate();
    }
    const p50 = median(ms);
    const round: Round = {
      threads,
      p50: +p50.toFixed(2),
      ratio: +(quantile(ms, 0.95) / p50).toFixed(3),
      over115: +(ms.filter((x) => x > 1.15 * p50).length / ms.length).toFixed(3),
      max: +(Math.max(...ms) / p50).toFixed(2),
    };
    results.push(round);
    console.log(JSON.stringify({ round: r + 1, mib: +(bytes / 1048576).toFixed(1), ...round, ms: ms.map((x) => +x.toFixed(2)) }));
  }
}
if (Number.isNaN(sink)) console.log('unreachable: the sums feed this so no loop is optimized away');

for (const threads of threadCounts) {
  const mine = results.filter((x) => x.threads === threads);
  console.log(
    JSON.stringify({
      threads,
      p50Ms: mine.map((x) => x.p50),
      p95OverP50: mine.map((x) => x.ratio),
      shareOver115: mine.map((x) => x.over115),
      maxOverP50: mine.map((x) => x.max),
    }),
  );
}
