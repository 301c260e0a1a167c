// Child process of the memory section: stories260K generating `--tokens` tokens through a ChatSession
// (`--level chat`) or through the runner, sampler and cache alone (`--level runner`), sampling RSS, V8 heap,
// KV and journal bytes every `--every` tokens (GC first); prints one JSON line.
import { parseArgs } from 'node:util';
import { ChatSession } from '../../main/engine/chatSession';
import { loadModel } from '../../main/engine/loadedModel';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import type { SinkRingCache } from '../../main/engine/cache/sinkRingCache';
import { Sampler } from '../../main/engine/sampling/sampler';
import { collectGarbage, generateTokens, makeRunner } from '../lib/benchEngine';
import { mib, round } from '../lib/stats';

const { values } = parseArgs({
  options: { model: { type: 'string' }, tokens: { type: 'string' }, every: { type: 'string' }, level: { type: 'string', default: 'chat' } },
});
const tokens = Number(values.tokens);
const every = Number(values.every);
const model = await loadModel(values.model!, { threads: 1 });
const sampling = { ...DEFAULT_SAMPLING, seed: 1 };

/** Generates `count` more tokens; returns how many the stream holds now. */
let advance: (count: number) => Promise<number>;
let cacheOf: () => SinkRingCache;
if (values.level === 'runner') {
  // The engine core alone: runner, cache (with the chat default journal) and sampler, one token at a time.
  const { cache, runner } = makeRunner(model, { sink: 4, window: Math.floor(model.config.maxPos / 2) - 4, chunk: 256, journal: 4096 });
  const sampler = new Sampler(sampling);
  const recent: number[] = [];
  let logits = (await runner.feed(model.tokenizer.encode('Once upon a time', { addSpecialTokens: true })))!;
  advance = async (count) => {
    for (let i = 0; i < count; i++) {
      const id = sampler.sample(logits, recent);
      recent.push(id);
      if (recent.length > 64) recent.shift();
      logits = (await runner.feed([id]))!;
    }
    return cache.nextPos;
  };
  cacheOf = () => cache;
} else {
  const session = new ChatSession(model, { sink: 4, positions: 'cache' });
  advance = async (count) => {
    await generateTokens(session, count, sampling, () => undefined, session.tokenCount === 0 ? 'Once upon a time' : ' and');
    return session.tokenCount;
  };
  cacheOf = () => session.kvCache!;
}

const samples = [];
let held = 0;
let last = performance.now();
while (held < tokens) {
  const before = held;
  held = await advance(every);
  const now = performance.now();
  const cache = cacheOf();
  collectGarbage();
  const m = process.memoryUsage();
  samples.push({
    tokens: held,
    rssMiB: mib(m.rss),
    heapMiB: mib(m.heapUsed),
    heapTotalMiB: mib(m.heapTotal),
    externalMiB: mib(m.external),
    kvMiB: mib(cache.kvBytes()),
    journalMiB: mib(cache.journalBytes()),
    tokPerSec: round(((held - before) / (now - last)) * 1000, 0),
  });
  last = performance.now();
}
const cache = cacheOf();
console.log(JSON.stringify({ sink: cache.sink, window: cache.window, journalTokens: cache.options.journalTokens, samples }));
await model.release();
process.exit(0);
