// Engine plumbing the benchmark sections share: caches and runners on a loaded model, a bare session.run
// loop with the runner's exact feeds, greedy sampling, token streams. Benchmark process only.
import type { PositionsMode } from '../../common/cacheGeometry';
import type { SinkRingCache } from '../../main/engine/cache/sinkRingCache';
import type { ChatSession } from '../../main/engine/chatSession';
import { openStream, type LoadedModel } from '../../main/engine/loadedModel';
import type { DecoderSession, FastOutputs, TensorData } from '../../main/engine/onnxSession';
import type { Runner } from '../../main/engine/runner';
import { Sampler, validateSamplingParams, type SamplingParams } from '../../main/engine/sampling/sampler';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import { stepFeeds } from '../../test/fixtures/fixtureFeeds';
import { median, round } from './stats';

export interface CacheSpec {
  readonly sink: number;
  readonly window: number;
  readonly chunk?: number;
  readonly journal?: number;
  readonly positions?: PositionsMode;
}

/**
 * A cache and a runner over it; `fastOutputs: false` is the pre-rewrite path (whole presents fetched),
 * `compactPast: false` feeds every chunk all S + W slots (what a bare loop feeds), `session` swaps in a
 * wrapped session (timing).
 */
export function makeRunner(
  model: LoadedModel,
  spec: CacheSpec,
  opts: { fastOutputs?: boolean; packedRows?: boolean; compactPast?: boolean; fullChunkPast?: number; session?: DecoderSession } = {},
): { cache: SinkRingCache; runner: Runner } {
  return openStream(
    opts.session ? { ...model, session: opts.session } : model,
    {
      sink: spec.sink,
      window: spec.window,
      positions: spec.positions ?? 'cache',
      journalTokens: spec.journal ?? 0,
      maxChunk: spec.chunk ?? 256,
    },
    { fastOutputs: opts.fastOutputs, packedRows: opts.packedRows, compactPast: opts.compactPast, fullChunkPast: opts.fullChunkPast },
  );
}

export const GREEDY: SamplingParams = validateSamplingParams({ ...DEFAULT_SAMPLING, greedy: true, temperature: 0, repetitionPenalty: 1, repetitionWindow: 0 });

const greedy = new Sampler(GREEDY);
const none: number[] = [];

/** The greedy token (ties to the lowest id), by the app's sampler (the load's warm-up runs its paths: loadedModel warmSamplers). */
export function argmax(logits: Float32Array): number {
  return greedy.sample(logits, none);
}

/** Cancels a `process.memoryUsage` sample's GC noise where `--expose-gc` allows it. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Generates `count` tokens through a ChatSession (the app's decode path), starting new raw turns when
 * the model ends one early, and reports every token with its position and arrival time. The first token
 * of each turn (prefill included) is flagged so latency statistics can leave it out.
 */
export async function generateTokens(
  session: ChatSession,
  count: number,
  sampling: SamplingParams,
  onToken: (pos: number, at: number, firstOfTurn: boolean) => void,
  prompt = 'Once upon a time',
): Promise<void> {
  let produced = 0;
  let text = prompt;
  while (produced < count) {
    let first = true;
    const result = await session.generate(
      { kind: 'raw', text },
      { sampling: { ...sampling, seed: sampling.seed + produced }, maxTokens: count - produced },
      {
        onToken: (t) => {
          if (t.id < 0) return;
          onToken(t.pos, performance.now(), first);
          first = false;
          produced++;
        },
      },
    );
    if (result.reason === 'eos') produced++; // the EOS token was sampled (and timed by no event): count it as produced
    text = ' and';
  }
}

/**
 * session.run with exactly the feeds the runner gives a one-token decode step on `cache` (same past
 * buffers, mask, positions, constant inputs) and no cache management: the floor our decode step sits on.
 */
export class BareLoop {
  private readonly feeds: Record<string, TensorData> = {};
  private readonly mask: BigInt64Array;
  private readonly position = new BigInt64Array(1);

  constructor(
    private readonly model: LoadedModel,
    private readonly cache: SinkRingCache,
  ) {
    const { io } = model;
    const C = cache.capacity;
    this.mask = new BigInt64Array(C + 1);
    const dims = [1, cache.geometry.kvHeads, C, cache.geometry.headDim];
    for (let l = 0; l < io.pastKeys.length; l++) {
      this.feeds[io.pastKeys[l]] = { type: io.kvDtype, data: cache.keys[l], dims };
      this.feeds[io.pastValues[l]] = { type: io.kvDtype, data: cache.values[l], dims };
    }
    for (const extra of io.extraInputs) this.feeds[extra.name] = extra.value;
    this.feeds[io.inputIds] = { type: 'int64', data: BigInt64Array.of(5n), dims: [1, 1] };
    this.feeds[io.attentionMask] = { type: 'int64', data: this.mask, dims: [1, C + 1] };
    this.feeds[io.positionIds] = { type: 'int64', data: this.position, dims: [1, 1] };
  }

  /** The mask and position the cache's next decode step will feed (DESIGN §3 formula). */
  private refresh(): void {
    const { cache } = this;
    const P = cache.nextPos;
    for (let j = 0; j < cache.capacity; j++) {
      const p = cache.slotPos[j];
      this.mask[j] = p >= 0 && (p < cache.sink || P - p < cache.window) ? 1n : 0n;
    }
    this.mask[cache.capacity] = 1n;
    this.position[0] = BigInt(P - cache.offset);
  }

  /** One run fetching `fetches` (default: the whole `logits`); returns its milliseconds. */
  async step(fetches: readonly string[] = [this.model.io.logits]): Promise<number> {
    this.refresh();
    const t = performance.now();
    await this.model.session.run(this.feeds, fetches);
    return performance.now() - t;
  }

  /** Fetch lists: logits only, the old engine's (logits + every present), the fast outputs as the runner fetches them. */
  fetchSets(): { logits: string[]; all: string[]; fast: string[] | null } {
    const { io, session } = this.model;
    const fast = session.fastOutputs;
    return {
      logits: [io.logits],
      all: [io.logits, ...io.presentKeys, ...io.presentValues],
      fast: fast ? fastFetches(fast, [...io.presentKeys, ...io.presentValues]) : null,
    };
  }
}

/** `session` with its `run` replaced (to time or count what a step does). */
export function withRun(session: DecoderSession, run: DecoderSession['run']): DecoderSession {
  return {
    inputs: session.inputs,
    outputs: session.outputs,
    provider: session.provider,
    fallbackReason: session.fallbackReason,
    providerNote: session.providerNote,
    fastOutputs: session.fastOutputs,
    fastOutputsNote: session.fastOutputsNote,
    deviceCache: session.deviceCache,
    deviceCacheNote: session.deviceCacheNote,
    matMulNBitsAccuracy: session.matMulNBitsAccuracy,
    contribFusions: session.contribFusions,
    run,
    runOnDevice: (feeds, fetches, deviceFetches) => session.runOnDevice(feeds, fetches, deviceFetches),
    download: (tensor) => session.download(tensor),
    release: () => session.release(),
  };
}

/** A session whose `run` adds its wall time to `runMs` (to split a step into run and everything else). */
export function timedSession(session: DecoderSession): { session: DecoderSession; runMs: () => number; reset: () => void } {
  let total = 0;
  const timed = withRun(session, async (feeds, fetches) => {
    const t = performance.now();
    const out = await session.run(feeds, fetches);
    total += performance.now() - t;
    return out;
  });
  return { session: timed, runMs: () => total, reset: () => (total = 0) };
}

/**
 * Median ms of `steps` greedy decode steps of `stream` and of a bare logits-only session.run with the same
 * feeds, interleaved step by step so drift hits both alike, and their ratio.
 */
export async function decodeVsBare(
  model: LoadedModel,
  stream: { cache: SinkRingCache; runner: Runner },
  steps: number,
): Promise<{ oursMs: number; bareMs: number; ratio: number }> {
  const bare = new BareLoop(model, stream.cache);
  const logitsOnly = bare.fetchSets().logits;
  const ours: number[] = [];
  const base: number[] = [];
  let next = 5;
  for (let i = 0; i < steps; i++) {
    base.push(await bare.step(logitsOnly));
    const t = performance.now();
    next = argmax((await stream.runner.feed([next]))!);
    ours.push(performance.now() - t);
  }
  return { oursMs: round(median(ours), 2), bareMs: round(median(base), 2), ratio: round(median(ours) / median(base), 3) };
}

/**
 * Feeds and fetches of one forward pass of `n` tokens (default a decode step, n = 1) after `past` filled slots
 * of made-up K/V (fp32 past), as the engine fetches them (last logits and the new rows): for per-step A/Bs
 * and profiles at a given depth.
 */
export function decodeStepAt(session: DecoderSession, past: number, n = 1): { feeds: Record<string, TensorData>; fetches: string[] } {
  const feeds = stepFeeds(session, past, n);
  return { feeds, fetches: fastFetches(session.fastOutputs!, [...session.fastOutputs!.newRows.keys()]) };
}

/** The last logits and the new rows of `presents` as the runner fetches them: packed in one output when the graph has it. */
function fastFetches(fast: FastOutputs, presents: readonly string[]): string[] {
  return [fast.lastLogits, ...(fast.packedRows ? [fast.packedRows.name] : presents.map((name) => fast.newRows.get(name)!))];
}
