// Where the peak RSS of a prefill to depth goes (issue 14, task rss): one fresh process per variant loads the
// SmolLM2-shaped fixture, opens the stream as the llama.cpp child does (S=4, W=2048), prefills `--depth`
// tokens sampling RSS after every chunk, then decodes `--steps` greedy tokens. Prints one JSON line.
// `npx tsx bench/rssProbe.ts --format fp32 --chunk 256 --arena 1 --pattern 1 --split 1 --compact 1`;
// bench/rssLevers.ts alternates variants of it in fresh processes (bench/README section 10).
import { parseArgs } from 'node:util';
import { loadModel } from '../main/engine/loadedModel';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { byteTokenIds } from '../test/fixtures/fixturePrng';
import { argmax, makeRunner } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';
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
  },
});
const flag = (v: string | undefined) => (v === undefined ? undefined : v !== '0');
const mib = (bytes: number) => Math.round(bytes / 1048576);
const rss = () => mib(process.memoryUsage.rss());
const peak = () => Math.round(process.resourceUsage().maxRSS / 1024);

const startRss = rss();
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
const { cache, runner } = makeRunner(
  model,
  { sink: 4, window: 2048, chunk: Number(values.chunk), journal: Number(values.journal) },
  { compactPast: flag(values.compact), fullChunkPast: values['full-past'] === undefined ? undefined : Number(values['full-past']) },
);
const opened = rss();
const ids = byteTokenIds(Number(values.depth), 0);
const chunks: Array<{ depth: number; rss: number; peak: number; ms: number }> = [];
let t = performance.now();
const t0 = t;
const logits = await runner.feed(ids, {
  onProgress: (done) => {
    const now = performance.now();
    chunks.push({ depth: done, rss: rss(), peak: peak(), ms: Math.round(now - t) });
    t = now;
  },
});
const prefillMs = performance.now() - t0;
let token = argmax(logits!);
const stepsMs: number[] = [];
for (let i = 0; i < Number(values.steps); i++) {
  const s = performance.now();
  token = argmax((await runner.feed([token]))!);
  stepsMs.push(performance.now() - s);
}
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
    lastToken: token,
  }),
);
process.exit(0);
