// Where the peak RSS of a prefill to depth goes (issue 14, task rss): one fresh process per variant loads the
// SmolLM2-shaped fixture, opens the stream as the llama.cpp child does (S=4, W=2048), prefills `--depth`
// tokens sampling RSS after every chunk, then decodes `--steps` greedy tokens. Prints one JSON line, with the
// trace: /proc/self/status (VmRSS, VmHWM, RssAnon, RssFile) at the end of each phase (load, open, each
// chunk, decode) and the phase in which the high-water mark was last raised; `--smaps 1` adds resident MiB
// per mapping, `--malloc 1` glibc's own count (through gdb) at each phase's end (bench/README section 10, group 6).
// `node --harmony-rab-gsab-transfer --import tsx bench/rssProbe.ts --format fp32 --chunk 256 --arena 1 --pattern 1`
// (the flag on Node 20 only: main/host/hostHeapLimits NODE_PARITY_FLAGS);
// bench/rssLevers.ts alternates variants of it in fresh processes (bench/README section 10).
import { parseArgs } from 'node:util';
import { loadModel } from '../main/engine/loadedModel';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { byteTokenIds } from '../test/fixtures/fixturePrng';
import { argmax, makeRunner } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';
import { mallocMiB, procMemory, smapsByName, type ProcMemory } from './lib/procStatus';
import { median } from './lib/stats';

const { values } = parseArgs({
  options: {
    format: { type: 'string', default: 'fp32' },
    threads: { type: 'string', default: '2' },
    chunk: { type: 'string', default: '256' },
    /** Runner.fullChunkPast: chunks shrink over pasts longer than this (default the engine's). */
    'full-past': { type: 'string' },
    arena: { type: 'string' },
    pattern: { type: 'string' },
    split: { type: 'string', default: '1' },
    attn: { type: 'string', default: '1' },
    warm: { type: 'string', default: '1' },
    fast: { type: 'string', default: '1' },
    compact: { type: 'string', default: '1' },
    journal: { type: 'string', default: '0' },
    depth: { type: 'string', default: '2048' },
    steps: { type: 'string', default: '32' },
    /** Also record resident MiB per mapping (bench/lib/procStatus smapsByName) at the end of each phase. */
    smaps: { type: 'string', default: '0' },
    /** Also glibc's own count (malloc_info through gdb, which must be installed) of the main arena at the end of each phase. */
    malloc: { type: 'string', default: '0' },
  },
});
const flag = (v: string | undefined) => (v === undefined ? undefined : v !== '0');
const mib = (bytes: number) => Math.round(bytes / 1048576);

const rss = () => procMemory().rss;
const peak = () => procMemory().hwm;

// The trace: `procMemory()` at the end of each phase, and the phase during which the high-water mark rose last
// (session.run leaves the event loop free, so a 2 ms timer samples inside prefill chunks and decode steps too).
const phases: Array<{ phase: string; smaps?: Record<string, number>; malloc?: ReturnType<typeof mallocMiB> } & ProcMemory> = [];
let phase = 'start';
let peakPhase = phase;
let lastHwm = 0;
const sample = () => {
  const s = procMemory();
  if (s.hwm > lastHwm) [lastHwm, peakPhase] = [s.hwm, phase];
  return s;
};
const mark = (next: string) => {
  phases.push({ phase, ...sample(), ...(values.smaps === '1' ? { smaps: smapsByName() } : {}), ...(values.malloc === '1' ? { malloc: mallocMiB() } : {}) });
  phase = next;
};
const sampler = setInterval(sample, 2);

const startRss = rss();
mark('load');
const dir = ensureBenchFixture(values.format as WeightFormat);
const model = await loadModel(dir, {
  threads: Number(values.threads),
  splitAttention: flag(values.split),
  attentionOutputs: flag(values.attn),
  warmUp: flag(values.warm),
  fastOutputs: flag(values.fast),
  tuning: { memArena: flag(values.arena), memPattern: flag(values.pattern) },
});
const loaded = { rss: rss(), peak: peak() };
mark('open');
const { cache, runner } = makeRunner(
  model,
  { sink: 4, window: 2048, chunk: Number(values.chunk), journal: Number(values.journal) },
  { compactPast: flag(values.compact), fullChunkPast: values['full-past'] === undefined ? undefined : Number(values['full-past']) },
);
const opened = rss();
mark('chunk 1');
const ids = byteTokenIds(Number(values.depth), 0);
const chunks: Array<{ depth: number; rss: number; peak: number; ms: number }> = [];
let t = performance.now();
const t0 = t;
const logits = await runner.feed(ids, {
  onProgress: (done) => {
    const now = performance.now();
    chunks.push({ depth: done, rss: rss(), peak: peak(), ms: Math.round(now - t) });
    mark(`chunk ${chunks.length + 1} from ${done}`);
    t = now;
  },
});
const prefillMs = performance.now() - t0;
let token = argmax(logits!);
const stepsMs: number[] = [];
phase = 'decode';
for (let i = 0; i < Number(values.steps); i++) {
  const s = performance.now();
  token = argmax((await runner.feed([token]))!);
  stepsMs.push(performance.now() - s);
}
mark('end');
clearInterval(sampler);
console.log(
  JSON.stringify({
    variant: values,
    startRss,
    loaded,
    opened,
    kvMiB: mib(cache.kvBytes()),
    journalMiB: mib(cache.journalBytes()),
    chunks,
    prefillMs: Math.round(prefillMs),
    decodeP50Ms: median(stepsMs),
    decodeMeanMs: stepsMs.reduce((a, b) => a + b, 0) / stepsMs.length,
    afterDecodeRss: rss(),
    peak: peak(),
    peakPhase,
    phases,
    lastToken: token,
  }),
);
process.exit(0);
