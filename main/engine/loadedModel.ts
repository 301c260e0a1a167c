// Loading a model end to end (engine host thread): folder checks, session, IO introspection, tokenizer,
// chat template and the RoPE probe, into one object the chat sessions share.
import type { PositionsMode } from '../../common/cacheGeometry';
import { CacheConfigError } from './cache/cacheConfig';
import { isModelError } from './errors';
import type { SinkRingOptions } from './cache/cacheOptions';
import { SinkRingCache } from './cache/sinkRingCache';
import { folderTokenizer, inspectModelIO, loadModelFolder, type ModelConfig, type ModelFolder, type ModelIO } from './modelFolder';
import { openSession, type DecoderSession, type SessionTuning } from './onnxSession';
import type { ProviderChoice } from '../../common/providers';
import type { Q4Compute } from '../../common/settingsSchema';
import { probeRope } from './ropeProbe';
import { Runner, type RunnerOptions } from './runner';
import { DEFAULT_SAMPLING, Sampler } from './sampling/sampler';
import { ChatTemplate } from './text/chatTemplate';
import type { TextTokenizer } from './text/tokenizer';

export interface LoadOptions {
  readonly variant?: string;
  readonly provider?: ProviderChoice;
  readonly threads?: number;
  /** Default true; false opens the graph exactly as exported (benchmarks' bare loops). See onnxSession. */
  readonly fastOutputs?: boolean;
  /** Default true; false leaves out the attention view's outputs (benchmarks' closed-view baseline). */
  readonly attentionOutputs?: boolean;
  /** Default true; false keeps the attention as exported (benchmarks' baseline). See onnxSession. */
  readonly splitAttention?: boolean;
  /** Session-option overrides (benchmarks); see onnxSession. */
  readonly tuning?: SessionTuning;
  /** How 4-bit weights multiply on CPU (default int8); see onnxSession. */
  readonly q4Compute?: Q4Compute;
  /** The device-cache path on a host provider too (tests of that path on any machine); see onnxSession. */
  readonly deviceCacheOnHost?: boolean;
  /** Default true: run a new conversation's first steps and decode shapes once before the model is ready ({@link warmUp}). */
  readonly warmUp?: boolean;
}

/** A model ready to run. Owns its session: call `release()` when done. */
export interface LoadedModel {
  readonly folder: ModelFolder;
  readonly config: ModelConfig;
  readonly io: ModelIO;
  readonly session: DecoderSession;
  readonly tokenizer: TextTokenizer;
  /** Null when tokenizer_config.json has no chat_template (raw prompts still work). */
  readonly template: ChatTemplate | null;
  readonly eosTokenIds: ReadonlySet<number>;
  /** Whether cached keys can be re-rotated (DESIGN §3 probe); `cache` positions need it. */
  readonly ropeProbe: { readonly ok: boolean; readonly maxError: number; readonly reason?: string };
  /** Things the user should know: probe failure, provider fallback, missing optional files. */
  readonly warnings: readonly string[];
  readonly loadMs: number;
  /** The positions mode actually used for a requested one (`original` when the probe failed). */
  positionsFor(requested: PositionsMode): PositionsMode;
  release(): Promise<void>;
}

export async function loadModel(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const started = performance.now();
  const folder = await loadModelFolder(dir, { variant: options.variant });
  const tokenizer = folderTokenizer(folder);
  const template = ChatTemplate.tryFromTokenizerConfig(folder.tokenizerConfig);
  const { config } = folder;
  // On WebGPU the graph then writes the cache itself, so it can stay in GPU memory (DESIGN §3).
  const deviceCache = config.rope ? { layers: config.numLayers, kvHeads: config.numKvHeads, headDim: config.headDim, rotaryDim: config.rope.rotaryDim } : undefined;
  const open = (tuning = options.tuning) =>
    openSession(folder.onnxPath, {
      provider: options.provider,
      intraOpThreads: options.threads,
      fastOutputs: options.fastOutputs,
      attentionOutputs: options.attentionOutputs,
      splitAttention: options.splitAttention,
      tuning,
      q4Compute: options.q4Compute,
      deviceCache,
      deviceCacheOnHost: options.deviceCacheOnHost,
    });
  // IO, probe and warm-up on an opened session, which is released when they throw.
  const ready = async (session: DecoderSession, notes: readonly string[]): Promise<LoadedModel> => {
    try {
      const io = inspectModelIO(folder, session);
      const probe = await probeRope(session, io, folder.config);
      const warnings = [...folder.warnings, ...notes];
      if (session.fallbackReason) warnings.push(session.fallbackReason);
      if (!probe.ok) {
        warnings.push(`positions mode 'cache' is unavailable for this model (${probe.reason}); using 'original'`);
      }
      const eosTokenIds = new Set(folder.generation.eosTokenIds);
      const model: LoadedModel = {
        folder,
        config: folder.config,
        io,
        session,
        tokenizer,
        template,
        eosTokenIds,
        ropeProbe: probe.ok ? { ok: true, maxError: probe.maxError } : { ok: false, maxError: probe.maxError, reason: probe.reason },
        warnings,
        loadMs: 0,
        positionsFor: (requested) => (probe.ok ? requested : 'original'),
        release: () => session.release(),
      };
      if (options.warmUp !== false) await warmUp(model);
      return { ...model, loadMs: performance.now() - started };
    } catch (err) {
      await session.release();
      throw err;
    }
  };
  const session = await open();
  const fused = session.contribFusions;
  try {
    return await ready(session, []);
  } catch (err) {
    // A graph the contrib-op fusion matched but onnxruntime cannot run fused (an export it was not tested
    // on) runs as exported instead: the user loses a few percent of speed, not the model.
    if (!isModelError(err, 'run-failed') || fused === null || fused.rotaries + fused.skipNorms === 0) throw err;
    const note = `the graph with its contrib ops fused failed at its first runs (${err.message}); it runs as exported`;
    return ready(await open({ ...options.tuning, contribFusions: [] }), [note]);
  }
}

/** A stream's cache settings; the model supplies the K/V geometry, the RoPE and (by default) the rebase bound. */
export type StreamOptions = Omit<SinkRingOptions, 'maxPos' | 'positions'> & {
  readonly positions: PositionsMode;
  /** Override of the model's rebase bound (tests force rebases with a small one). */
  readonly maxPos?: number;
};

/**
 * A sink-ring cache shaped for `model` and a runner feeding it in chunks of `maxChunk` (default W): the
 * positions mode is the one the model can run (`original` when its RoPE probe failed). The caller owns both.
 */
export function openStream(
  model: LoadedModel,
  options: StreamOptions,
  runnerOptions: Omit<RunnerOptions, 'chunkSize'> = {},
): { cache: SinkRingCache; runner: Runner } {
  const { config } = model;
  const cache = new SinkRingCache({ layers: config.numLayers, kvHeads: config.numKvHeads, headDim: config.headDim }, config.rope, {
    ...options,
    positions: model.positionsFor(options.positions),
    maxPos: options.maxPos ?? config.maxPos,
    kvDtype: model.io.kvDtype,
  });
  const runner = new Runner(model.session, model.io, cache, config.vocabSize, { ...runnerOptions, chunkSize: cache.maxChunk });
  return { cache, runner };
}


/** The ring a stream gets when the settings leave its window out: min(2048, ⌊maxPos/2⌋ − S) slots. */
export function defaultWindow(maxPos: number, sink: number): number {
  return Math.min(2048, Math.floor(maxPos / 2) - sink);
}

/** The sink a chat stream gets at least (its 'auto' sink without a system prompt, a raw prompt's). */
export const MIN_AUTO_SINK = 4;

/**
 * Tokens of the warm-up's prompt pass: long enough that its rows are copied as blocks (over 1,024
 * elements a head: kvStorage copyKv), as a real prompt's are. The decode steps' copies alone left that
 * path without type feedback, so the first prompt after them threw away the compiled copy code (V8 deopts
 * at a path it never saw run) and recompiled it in the next decode steps (bench/README section 20).
 */
const WARM_PROMPT = 24;

/**
 * Runs, through a throwaway stream of the default geometry (S = 4, the default window), a conversation's
 * first passes (one token over an empty past, with the sampler over its logits, {@link warmSamplers}; then
 * from an empty cache again a short prompt, {@link WARM_PROMPT}, and a decode step over a compacted past of
 * 128 slots: the runner's own code too), then one step at each other past length its decode steps can feed
 * (Runner.warmDecodeShapes: the mirror's lengths and all C slots). onnxruntime's first run at a shape
 * costs 10–25 ms more CPU than the next ones, and the runner's first pass runs unoptimized JavaScript;
 * without this the first tokens after a load paid both, and later the first decode step after each prompt
 * that reached a new mirror length.
 * The stream's buffers are allocated but barely touched (26 rows), so they add little to RSS.
 */
async function warmUp(model: LoadedModel): Promise<void> {
  let runner: Runner;
  let cache: SinkRingCache;
  try {
    const window = defaultWindow(model.config.maxPos, MIN_AUTO_SINK);
    ({ runner, cache } = openStream(model, { sink: MIN_AUTO_SINK, window, maxChunk: WARM_PROMPT, journalTokens: 0, positions: model.positionsFor('cache') }));
  } catch (e) {
    // Models with too few positions for a stream (tiny test models) start fast anyway.
    if (e instanceof CacheConfigError) return;
    throw e;
  }
  try {
    const first = await runner.feed([model.eosTokenIds.values().next().value ?? 0]);
    if (first !== null) {
      warmSamplers(first);
      // A prompt goes into an empty cache, as a conversation's first does (and some exports take no other).
      cache.reset();
      await runner.feed(new Array<number>(WARM_PROMPT).fill(0));
      await runner.feed([0]);
    }
    await runner.warmDecodeShapes();
  } finally {
    // A cache kept on the GPU holds device memory until freed.
    runner.dispose();
  }
}

/** Sampler calls at load, per sampling path (the argmax, the default draw): see {@link warmSamplers}. */
const SAMPLER_WARM_CALLS = 4;

/**
 * Runs the sampler's two paths over a real logits row a few times: its loops over the vocabulary (49,152
 * ids on SmolLM2) otherwise ran unoptimized in the first tokens after a load, and were compiled there: the
 * first greedy pick 2–4 ms, the first default draw 7–9 ms and the second 2–3 ms, against 0.1–0.3 ms once
 * compiled (bench/README section 20). A throwaway sampler: V8's feedback belongs to the code, not the instance.
 */
function warmSamplers(logits: Float32Array): void {
  const recent = [0, 1, 2, 1];
  for (const params of [{ ...DEFAULT_SAMPLING, greedy: true }, DEFAULT_SAMPLING]) {
    const sampler = new Sampler(params);
    for (let i = 0; i < SAMPLER_WARM_CALLS; i++) sampler.sample(logits, recent);
  }
}
