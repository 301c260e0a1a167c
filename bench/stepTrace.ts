// Every decode step's time, not only percentiles, in the order the llama.cpp child runs them (bench/README
// section 9): one token after load and 64 greedy steps, then a 512-token prompt and 32 steps, then the
// context grown to 2048 and 32 steps. Per step: wall ms, session.run ms and the past length fed (the
// mirror's or C); with STEP_LINES set, one line per step, so `node --trace-gc --trace-opt` lines fall between;
// with STEP_MARKS set, a line written synchronously before and after each step and each prompt (what
// bench/stepEvents.ts counts V8's events between); with STEP_THREADS set, each thread's CPU time inside the
// decode steps (/proc/self/task/*/schedstat, read outside the timed span): the main thread (which runs the
// session: onnxruntime-node's run computes on it), the busiest other (onnxruntime's pool thread) and the
// rest (V8's background compiles and GC, node's other workers), whose time inside a step on 2 cores is
// taken from onnxruntime's two threads; and the slow steps (over 1.15× their phase's median) by what
// coincided: this process's other threads on a CPU for 1 ms or more, else onnxruntime's two threads waiting
// 1 ms or more for a CPU (schedstat's run-queue time: another process had it), else neither.
// `npx tsx bench/stepTrace.ts [fp32|int8|q4] [tuning JSON] [--no-warm-up] [--unpacked] [--second-pass]`; one
// JSON line per step phase. --unpacked: the steps fetch an output per layer's new rows (the baseline of the
// packed output); --second-pass: the sequence runs twice and only the second is recorded (a warm process).
// Benchmark process only.
import { readdirSync, readFileSync, writeSync } from 'node:fs';
import { loadModel } from '../main/engine/loadedModel';
import type { SessionTuning } from '../main/engine/onnxSession';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { byteTokenIds } from '../test/fixtures/fixturePrng';
import { argmax, makeRunner, withRun } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';
import { median, quantile } from './lib/stats';
import { peakRssMiB } from './lib/procStatus';

/** A line on fd 1 now, between V8's own trace lines (which stepEvents runs unbuffered). */
const mark = process.env.STEP_MARKS ? (line: string) => writeSync(1, `@@ ${line}\n`) : () => {};

const format = (process.argv[2] ?? 'fp32') as WeightFormat;
const tuning = JSON.parse(process.argv[3]?.startsWith('{') ? process.argv[3] : '{}') as SessionTuning;
const warmUp = !process.argv.includes('--no-warm-up');
const packedRows = !process.argv.includes('--unpacked');
const secondPass = process.argv.includes('--second-pass');
/** False while --second-pass runs its first, unrecorded sequence. */
let recording = true;
const t0 = performance.now();
const model = await loadModel(ensureBenchFixture(format), { threads: 2, tuning, warmUp });
const loadMs = performance.now() - t0;
mark('loaded');

/** Per thread, CPU ns and run-queue ns (schedstat's first two fields), or null unless STEP_THREADS is set. */
const threadNs = process.env.STEP_THREADS
  ? (): Map<string, { cpu: number; wait: number }> => {
      const ns = new Map<string, { cpu: number; wait: number }>();
      for (const tid of readdirSync('/proc/self/task')) {
        try {
          const [cpu, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
          ns.set(tid, { cpu, wait });
        } catch {
          // the thread ended between the listing and the read
        }
      }
      return ns;
    }
  : null;
/** Per thread, CPU ns inside decode steps; per step, each thread's CPU and run-queue ns, its phase and wall ms. */
const stepThreadNs = new Map<string, number>();
const stepDeltas: Array<{ phase: string; ms: number; threads: Map<string, { cpu: number; wait: number }> }> = [];

interface Run {
  readonly past: number;
  readonly ms: number;
}
const runs: Run[] = [];
const pastName = model.io.pastKeys[0];
// Counting V8's events (STEP_MARKS), the runner gets the session itself, as the app's and the llama.cpp
// child's do: a wrapper's own objects would be what V8 optimizes.
const session = process.env.STEP_MARKS
  ? model.session
  : withRun(model.session, async (feeds, fetches) => {
      const t = performance.now();
      const out = await model.session.run(feeds, fetches);
      runs.push({ past: feeds[pastName].dims[2], ms: performance.now() - t });
      return out;
    });
const { cache, runner } = makeRunner({ ...model, session }, { sink: 4, window: 2048, chunk: 256 }, { packedRows });

async function steps(phase: string, token: number, count: number): Promise<number> {
  const rows: Array<{ ms: number; runMs: number; past: number }> = [];
  let t = token;
  for (let i = 0; i < count; i++) {
    mark(`step ${phase} ${i + 1} begin`);
    const before = threadNs?.();
    const s = performance.now();
    t = argmax((await runner.feed([t]))!);
    const ms = performance.now() - s;
    if (before !== undefined && recording) {
      const threads = new Map<string, { cpu: number; wait: number }>();
      for (const [tid, { cpu, wait }] of threadNs!()) {
        const was = before.get(tid) ?? { cpu: 0, wait: 0 };
        threads.set(tid, { cpu: cpu - was.cpu, wait: wait - was.wait });
        stepThreadNs.set(tid, (stepThreadNs.get(tid) ?? 0) + cpu - was.cpu);
      }
      stepDeltas.push({ phase, ms, threads });
    }
    const run = runs.at(-1) ?? { ms: NaN, past: NaN };
    rows.push({ ms: +ms.toFixed(2), runMs: +run.ms.toFixed(2), past: run.past });
    mark(`step ${phase} ${i + 1} end`);
    if (process.env.STEP_LINES) console.log(`step ${phase} ${i + 1} ${rows[i].ms} run ${rows[i].runMs} past ${run.past}`);
  }
  const ms = rows.map((r) => r.ms);
  const p50 = median(ms);
  if (recording) console.log(
    JSON.stringify({
      format,
      phase,
      p50: +p50.toFixed(2),
      p95: +quantile(ms, 0.95).toFixed(2),
      ratio: +(quantile(ms, 0.95) / p50).toFixed(3),
      slow: rows.map((r, i) => ({ step: i + 1, ...r })).filter((r) => r.ms > 1.15 * p50),
      ms,
      // Wall ms outside session.run (the step's JavaScript, and V8's work on the main thread).
      outsideRunMs: rows.map((r) => +(r.ms - r.runMs).toFixed(2)),
    }),
  );
  return t;
}

console.log(JSON.stringify({ format, loadMs: Math.round(loadMs), tuning, warmUp, packedRows, secondPass }));
/** The llama.cpp child's order: a token, 64 steps, then prompts to 512 and 2048 with 32 steps after each. */
async function sequence(): Promise<void> {
  mark('first token begin');
  const first = argmax((await runner.feed([7]))!);
  mark('first token end');
  const after = await steps('first 32 after load', first, 32);
  await steps('depth 0 (steps 33-64)', after, 32);
  cache.reset();
  for (const depth of [512, 2048]) {
    const ids = byteTokenIds(depth - cache.nextPos, depth);
    mark(`prompt ${depth} begin`);
    const s = performance.now();
    const token = argmax((await runner.feed(ids))!);
    mark(`prompt ${depth} end`);
    if (recording) console.log(JSON.stringify({ format, prefill: depth, ms: Math.round(performance.now() - s) }));
    await steps(`depth ${depth}`, token, 32);
  }
}
if (secondPass) {
  // The same sequence once unrecorded: the recorded one then runs on a process past V8's first compiles.
  recording = false;
  await sequence();
  cache.reset();
  recording = true;
}
await sequence();
console.log(JSON.stringify({ format, maxRssMiB: Math.round(peakRssMiB()) }));
if (threadNs !== null) {
  const main = String(process.pid);
  const pool = [...stepThreadNs].filter(([tid]) => tid !== main).sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  const ms = (ns: number) => +(ns / 1e6).toFixed(1);
  const steps = stepDeltas.map(({ phase, ms: wall, threads }) => {
    let others = 0;
    for (const [tid, { cpu }] of threads) if (tid !== main && tid !== pool) others += cpu;
    return { phase, wall: +wall.toFixed(1), others: ms(others), mainWait: ms(threads.get(main)?.wait ?? 0), poolWait: ms(threads.get(pool)?.wait ?? 0) };
  });
  const medians = new Map([...new Set(steps.map((st) => st.phase))].map((ph) => [ph, median(steps.filter((st) => st.phase === ph).map((st) => st.wall))]));
  const slow = steps.filter((st) => st.wall > 1.15 * medians.get(st.phase)!).map((st) => ({ ...st, ratio: +(st.wall / medians.get(st.phase)!).toFixed(2) }));
  const background = slow.filter((st) => st.others >= 1).length;
  const preempted = slow.filter((st) => st.others < 1 && Math.max(st.mainWait, st.poolWait) >= 1).length;
  const msOf = (tid: string) => +((stepThreadNs.get(tid) ?? 0) / 1e6).toFixed(1);
  console.log(
    JSON.stringify({
      format,
      threadsMs: { main: msOf(main), pool: msOf(pool), others: +steps.reduce((a, st) => a + st.others, 0).toFixed(1) },
      stepsWithOthersOver1Ms: steps.filter((st) => st.others > 1).length,
      steps: steps.length,
      slowSteps: { all: slow.length, withBackground: background, preempted, neither: slow.length - background - preempted },
      slow,
    }),
  );
}
await model.release();
