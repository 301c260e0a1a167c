// Runner: drives the decoder session over the sink-ring cache — chunked prefill, decode steps, logits of
// the last position. Runs in the engine host thread (session.run blocks it).
import type { CacheDelta } from './cache/cacheView';
import type { SinkRingCache } from './cache/sinkRingCache';
import type { ModelIO } from './modelFolder';
import type { DecoderSession, TensorData } from './onnxSession';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A cancellation flag the runner checks before every forward pass (once per token while decoding). */
export interface CancelFlag {
  readonly cancelled: boolean;
}

export interface FeedHooks {
  readonly cancel?: CancelFlag;
  /** Called after each forward pass with the tokens fed so far in this call and the call's total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Called with the cache delta of each forward pass. */
  readonly onDelta?: (delta: CacheDelta) => void;
}

export interface RunnerOptions {
  /** Largest number of tokens in one forward pass; prompts are split into chunks of at most this. */
  readonly chunkSize: number;
}

/**
 * Feeds token ids through the model, one forward pass per chunk, and keeps the logits of the last
 * position. Owns its feed buffers; borrows the session and the cache (their owner releases them).
 */
export class Runner {
  readonly vocabSize: number;
  private readonly inputIds: BigInt64Array;
  private readonly lastLogits: Float32Array;
  private readonly fetches: readonly string[];
  private readonly pastDims: readonly number[];

  constructor(
    private readonly session: DecoderSession,
    private readonly io: ModelIO,
    private readonly cache: SinkRingCache,
    vocabSize: number,
    private readonly options: RunnerOptions,
  ) {
    if (!Number.isInteger(options.chunkSize) || options.chunkSize < 1) {
      throw new Error(`chunk size must be a positive integer, got ${options.chunkSize}`);
    }
    this.vocabSize = vocabSize;
    this.inputIds = new BigInt64Array(options.chunkSize);
    this.lastLogits = new Float32Array(vocabSize);
    this.fetches = [io.logits, ...io.presentKeys, ...io.presentValues];
    const { kvHeads, headDim } = cache.geometry;
    this.pastDims = [1, kvHeads, cache.capacity, headDim];
  }

  /**
   * Feeds `ids` at the cache's next positions and returns the logits after the last one (a view
   * into a buffer reused by the next call), or null when cancelled before all were fed. Tokens fed
   * before a cancel stay in the cache.
   */
  async feed(ids: ArrayLike<number>, hooks: FeedHooks = {}): Promise<Float32Array | null> {
    const total = ids.length;
    if (total === 0) throw new Error('feed needs at least one token');
    let done = 0;
    while (done < total) {
      // session.run blocks this thread; yielding lets a cancel request (or any message) get through.
      await yieldToEventLoop();
      if (hooks.cancel?.cancelled) return null;
      const n = Math.min(total - done, this.options.chunkSize, this.cache.ringWriteLimit());
      const chunk = Array.prototype.slice.call(ids, done, done + n) as number[];
      const delta = await this.forward(chunk);
      done += n;
      hooks.onDelta?.(delta);
      hooks.onProgress?.(done, total);
    }
    return this.lastLogits;
  }

  private async forward(chunk: readonly number[]): Promise<CacheDelta> {
    const n = chunk.length;
    const step = this.cache.beginStep(n);
    const inputIds = this.inputIds.subarray(0, n);
    for (let i = 0; i < n; i++) inputIds[i] = BigInt(chunk[i]);

    const feeds: Record<string, TensorData> = {
      [this.io.inputIds]: { type: 'int64', data: inputIds, dims: [1, n] },
      [this.io.attentionMask]: { type: 'int64', data: step.attentionMask, dims: [1, step.attentionMask.length] },
      [this.io.positionIds]: { type: 'int64', data: step.positionIds, dims: [1, n] },
    };
    for (let l = 0; l < this.io.pastKeys.length; l++) {
      feeds[this.io.pastKeys[l]] = { type: 'float32', data: this.cache.keys[l], dims: this.pastDims };
      feeds[this.io.pastValues[l]] = { type: 'float32', data: this.cache.values[l], dims: this.pastDims };
    }
    for (const extra of this.io.extraInputs) feeds[extra.name] = extra.value;

    const out = await this.session.run(feeds, this.fetches);
    const logits = out[this.io.logits].data as Float32Array;
    // The last row, whether the graph returned every position or only the last (logits_to_keep).
    this.lastLogits.set(logits.subarray(logits.length - this.vocabSize));
    const keys = this.io.presentKeys.map((name) => out[name].data as Float32Array);
    const values = this.io.presentValues.map((name) => out[name].data as Float32Array);
    return this.cache.commitStep(chunk, keys, values);
  }
}
