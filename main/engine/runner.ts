// Runner: drives the decoder session over the sink-ring cache — chunked prefill, decode steps, logits of
// the last position. Runs in the engine host thread (session.run blocks it).
import type { CacheDelta } from '../../common/cacheView';
import type { KvArray } from './cache/kvStorage';
import type { SinkRingCache } from './cache/sinkRingCache';
import { halvesToFloats } from './half';
import { CompactPast, type CompactStep } from './compactPast';
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
  /**
   * Fetch the session's fast outputs (only the new K/V rows and the last logits) when it has them;
   * default true. False fetches whole presents and logits, the path for graphs without them.
   */
  readonly fastOutputs?: boolean;
  /**
   * While at most half the cache's slots are held, feed the model a mirror of the held prefix instead of
   * every slot (compactPast); default true. Effective with the fast outputs only: the new rows then come
   * alone, whatever past length was fed.
   */
  readonly compactPast?: boolean;
}

/**
 * Feeds token ids through the model, one forward pass per chunk, and keeps the logits of the last
 * position. Owns its feed buffers; borrows the session and the cache (their owner releases them).
 */
export class Runner {
  readonly vocabSize: number;
  private readonly inputIds: BigInt64Array;
  private readonly lastLogits: Float32Array;
  private readonly newRowsOnly: boolean;
  private readonly fetches: readonly string[];
  /** Output names read per step: the logits (whole or last row) and per layer the keys and values (whole presents or new rows). */
  private readonly logitsOut: string;
  private readonly keysOut: readonly string[];
  private readonly valuesOut: readonly string[];
  /** Reused per step so a decode step allocates no arrays of its own beyond what the binding returns. */
  private readonly keyRows: KvArray[];
  private readonly valueRows: KvArray[];
  private readonly feeds: Record<string, TensorData> = {};
  private readonly pastDims: readonly number[];
  private readonly compact: CompactPast | null;
  /** Whether the feeds hold a compacted past (restored to the full buffers before a full step). */
  private pastIsCompact = false;

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
    const fast = options.fastOutputs === false ? null : session.fastOutputs;
    const rows = (name: string) => fast?.newRows.get(name);
    this.newRowsOnly = fast !== null && [...io.presentKeys, ...io.presentValues].every((name) => rows(name) !== undefined);
    if (fast && this.newRowsOnly) {
      this.logitsOut = fast.lastLogits;
      this.keysOut = io.presentKeys.map((name) => rows(name)!);
      this.valuesOut = io.presentValues.map((name) => rows(name)!);
    } else {
      this.logitsOut = io.logits;
      this.keysOut = io.presentKeys;
      this.valuesOut = io.presentValues;
    }
    this.fetches = [this.logitsOut, ...this.keysOut, ...this.valuesOut];
    this.keyRows = new Array<KvArray>(this.keysOut.length);
    this.valueRows = new Array<KvArray>(this.valuesOut.length);
    if (cache.kvDtype !== io.kvDtype) throw new Error(`the cache holds ${cache.kvDtype} rows but the model's KV cache is ${io.kvDtype}`);
    const { kvHeads, headDim } = cache.geometry;
    this.pastDims = [1, kvHeads, cache.capacity, headDim];
    // The past buffers never move: their feed entries are built once.
    for (let l = 0; l < io.pastKeys.length; l++) {
      this.feeds[io.pastKeys[l]] = { type: io.kvDtype, data: cache.keys[l], dims: this.pastDims };
      this.feeds[io.pastValues[l]] = { type: io.kvDtype, data: cache.values[l], dims: this.pastDims };
    }
    for (const extra of io.extraInputs) this.feeds[extra.name] = extra.value;
    this.compact = this.fetchesNewRowsOnly && options.compactPast !== false ? new CompactPast(cache, options.chunkSize) : null;
  }

  /** Whether steps fetch only the new rows and the last logits (the session's fast outputs). */
  get fetchesNewRowsOnly(): boolean {
    return this.newRowsOnly;
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

  /**
   * Pins original positions [start, end) of the stream, whose token ids are `ids` (DESIGN §3 "Pinned
   * memory"): copies their rows when the ring still holds them, else feeds them again in chunks. Returns
   * the tokens fed again (0 for a copy), or null when cancelled (the span is then not pinned).
   * @throws PinError (nothing pinned) when the span cannot be pinned.
   */
  async pin(start: number, end: number, ids: ArrayLike<number>, cancel?: CancelFlag): Promise<number | null> {
    if (ids.length !== end - start) throw new RangeError(`pinning positions ${start}..${end - 1} needs ${end - start} token ids, got ${ids.length}`);
    if (this.cache.pin(start, end) === 'copied') return 0;
    try {
      for (let done = 0; done < ids.length; ) {
        await yieldToEventLoop();
        if (cancel?.cancelled) {
          this.cache.unpin(start);
          return null;
        }
        const chunk = Array.prototype.slice.call(ids, done, done + Math.min(ids.length - done, this.options.chunkSize)) as number[];
        await this.forward(chunk, true);
        done += chunk.length;
      }
    } catch (err) {
      this.cache.unpin(start);
      throw err;
    }
    return ids.length;
  }

  private async forward(chunk: readonly number[]): Promise<CacheDelta>;
  private async forward(chunk: readonly number[], pinStep: true): Promise<void>;
  private async forward(chunk: readonly number[], pinStep = false): Promise<CacheDelta | void> {
    const n = chunk.length;
    const step = pinStep ? this.cache.beginPinStep(n) : this.cache.beginStep(n);
    const inputIds = this.inputIds.subarray(0, n);
    for (let i = 0; i < n; i++) inputIds[i] = BigInt(chunk[i]);

    const feeds = this.feeds;
    // A pin step attends to pin slots, which lie past any compact prefix.
    const compact = pinStep ? null : (this.compact?.prepare(n, step.attentionMask) ?? null);
    this.setPast(compact);
    const mask = compact?.mask ?? step.attentionMask;
    feeds[this.io.inputIds] = { type: 'int64', data: inputIds, dims: [1, n] };
    feeds[this.io.attentionMask] = { type: 'int64', data: mask, dims: [1, mask.length] };
    feeds[this.io.positionIds] = { type: 'int64', data: step.positionIds, dims: [1, n] };

    const out = await this.session.run(feeds, this.fetches);
    const logits = out[this.logitsOut];
    // The last row, whether the graph returned every position or only the last (logits_to_keep, fast
    // outputs); fp16 logits are widened for that row alone.
    const from = logits.data.length - this.vocabSize;
    if (logits.type === 'float16') halvesToFloats(logits.data as Uint16Array, from, this.lastLogits, 0, this.vocabSize);
    else this.lastLogits.set((logits.data as Float32Array).subarray(from));
    for (let l = 0; l < this.keysOut.length; l++) {
      // commitStep checks that these are of the cache's dtype.
      this.keyRows[l] = out[this.keysOut[l]].data as KvArray;
      this.valueRows[l] = out[this.valuesOut[l]].data as KvArray;
    }
    if (pinStep) return this.cache.commitPinStep(chunk, this.keyRows, this.valueRows);
    return this.cache.commitStep(chunk, this.keyRows, this.valueRows);
  }

  /** Points the past inputs at the compacted prefix, or back at the cache's buffers. */
  private setPast(compact: CompactStep | null): void {
    if (compact === null && !this.pastIsCompact) return;
    const { io } = this;
    const { kvHeads, headDim } = this.cache.geometry;
    const dims = compact ? [1, kvHeads, compact.length, headDim] : this.pastDims;
    for (let l = 0; l < io.pastKeys.length; l++) {
      this.feeds[io.pastKeys[l]] = { type: io.kvDtype, data: compact ? compact.keys[l] : this.cache.keys[l], dims };
      this.feeds[io.pastValues[l]] = { type: io.kvDtype, data: compact ? compact.values[l] : this.cache.values[l], dims };
    }
    this.pastIsCompact = compact !== null;
  }
}
