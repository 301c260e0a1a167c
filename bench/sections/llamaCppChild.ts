// Child process of the llama.cpp comparison: loads ONE engine (Ouro on the ONNX fixture, or llama.cpp through
// node-llama-cpp on the GGUF of the same weights) and measures, in this order: time to the first token after
// load, the first decode steps, then prefill of 512 tokens and decode at depth 512, then the context grown
// to 2048 and decode there; last the peak RSS. Prints one JSON line. Benchmark process only.
import { parseArgs } from 'node:util';
import type { SessionTuning } from '../../main/engine/onnxSession';
import { byteTokenIds } from '../../test/fixtures/fixturePrng';
import { peakRssMiB } from '../lib/procStatus';

const { values } = parseArgs({
  options: {
    engine: { type: 'string' },
    model: { type: 'string' },
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '32' },
    depths: { type: 'string', default: '512,2048' },
    /** Ouro only: session-option overrides as JSON (SessionTuning), for the levers run. */
    tuning: { type: 'string', default: '{}' },
    /** Ouro only: 0 skips the warm-up at load (the levers run). */
    'warm-up': { type: 'string', default: '1' },
    /** Ouro only: 0 keeps the attention as exported instead of split (the levers run; model/splitAttention). */
    'split-attention': { type: 'string', default: '1' },
  },
});
const threads = Number(values.threads);
const steps = Number(values.steps);
const depths = values.depths!.split(',').filter((d) => d !== '').map(Number);
const FIRST_TOKEN = 7;

/** One engine as this child drives it: feed tokens and get the greedy next one, or restart the context. */
interface Engine {
  /** Feeds `ids` and returns the argmax of the last position's logits. */
  next(ids: readonly number[]): Promise<number>;
  /** Tokens held now. */
  depth(): number;
  clear(): Promise<void>;
}

async function ouro(): Promise<{ engine: Engine; loadMs: number }> {
  const { loadModel } = await import('../../main/engine/loadedModel');
  const { argmax, makeRunner } = await import('../lib/benchEngine');
  const t = performance.now();
  const model = await loadModel(values.model!, {
    threads,
    tuning: JSON.parse(values.tuning!) as SessionTuning,
    warmUp: values['warm-up'] !== '0',
    splitAttention: values['split-attention'] !== '0',
  });
  const loadMs = performance.now() - t;
  // As shipped: S=4, W=2048, prompts fed in chunks of 256.
  const { cache, runner } = makeRunner(model, { sink: 4, window: 2048, chunk: 256 });
  return {
    loadMs,
    engine: {
      next: async (ids) => argmax((await runner.feed(ids))!),
      depth: () => cache.nextPos,
      clear: async () => cache.reset(),
    },
  };
}

async function llamaCpp(): Promise<{ engine: Engine; loadMs: number }> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const t = performance.now();
  const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: values.model!, gpuLayers: 0 });
  // Flash attention and f16 KV (llama.cpp's defaults in LM Studio / Ollama builds); room for the deepest decode.
  const contextSize = Math.max(...depths, 0) + 4 * steps + 256;
  const context = await model.createContext({ contextSize, batchSize: 512, threads: { ideal: threads, min: threads }, flashAttention: true });
  const sequence = context.getSequence();
  const loadMs = performance.now() - t;
  return {
    loadMs,
    engine: {
      next: async (ids) => {
        // evaluate() yields the greedy next token once the given ones are in the context; stop there.
        for await (const token of sequence.evaluate(ids as never, { temperature: 0 })) return token as number;
        throw new Error('llama.cpp produced no token');
      },
      depth: () => sequence.nextTokenIndex,
      clear: () => sequence.clearHistory(),
    },
  };
}

/** Greedy decode of `count` tokens after `token`: the milliseconds of each step and the tokens. */
async function decode(engine: Engine, token: number, count: number): Promise<{ ms: number[]; tokens: number[]; last: number }> {
  const ms: number[] = [];
  const tokens: number[] = [];
  let t = token;
  for (let i = 0; i < count; i++) {
    const s = performance.now();
    t = await engine.next([t]);
    ms.push(performance.now() - s);
    tokens.push(t);
  }
  return { ms, tokens, last: t };
}

const kind = values.engine;
if (kind !== 'ouro' && kind !== 'llamacpp') throw new Error(`--engine must be ouro or llamacpp, got ${kind}`);
const { engine, loadMs } = await (kind === 'ouro' ? ouro() : llamaCpp());

const t = performance.now();
const first = await engine.next([FIRST_TOKEN]);
const ttftMs = performance.now() - t;
// The first steps after load, then as many again: warm-up shows as the first ones being slower.
const early = await decode(engine, first, 2 * steps);

const atDepth: Array<{ depth: number; prefillMs: number; tokens: number; stepsMs: number[] }> = [];
await engine.clear();
let last = 0;
for (const depth of depths) {
  const ids = byteTokenIds(depth - engine.depth(), depth);
  const s = performance.now();
  const token = await engine.next(ids);
  const prefillMs = performance.now() - s;
  const run = await decode(engine, token, steps);
  atDepth.push({ depth: engine.depth() - steps, prefillMs, tokens: ids.length, stepsMs: run.ms });
  last = run.last;
}

console.log(
  JSON.stringify({
    engine: kind,
    loadMs,
    ttftMs,
    tokens: [first, ...early.tokens],
    firstStepsMs: early.ms.slice(0, steps),
    depth0StepsMs: early.ms.slice(steps),
    atDepth,
    lastToken: last,
    maxRssMiB: peakRssMiB(),
  }),
);
process.exit(0);
