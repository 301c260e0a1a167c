// Runner: drives the decoder session over the sink-ring cache — chunked prefill, decode steps, logits of
// the last position. Runs in the engine host thread (session.run blocks it).
import type { CacheDelta } from '../../common/cacheView';
import type { KvArray } from './cache/kvStorage';
import type { SinkRingCache } from './cache/sinkRingCache';
import { halvesToFloats } from './half';
import { CompactPast, type CompactStep } from './compactPast';
import { DeviceSteps } from './deviceSteps';
import type { ModelIO } from './modelFolder';
import type { DecoderSession, DeviceTensor, TensorData } from './onnxSession';

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
  /**
   * Keep the cache in device memory when the session has the device-cache rewrite (WebGPU); default
   * true. False feeds the host cache every step, as on CPU.
   */
  readonly deviceCache?: boolean;
}

/** Bytes of one forward pass's host tensors: fed (host → device on a GPU provider) and fetched (back). */
export interface StepBytes {
  readonly fed: number;
  readonly fetched: number;
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
  private readonly device: DeviceSteps | null;
  private stepBytes: StepBytes = { fed: 0, fetched: 0 };

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
    const graph = options.deviceCache === false ? null : session.deviceCache;
    this.device = graph ? new DeviceSteps(session, io, cache, graph, options.chunkSize) : null;
    this.compact = this.device === null && this.fetchesNewRowsOnly && options.compactPast !== false ? new CompactPast(cache, options.chunkSize) : null;
  }

  /** Whether the cache lives in device memory between steps (DESIGN §3 "Storage, dtype and place"). */
  get onDevice(): boolean {
    return this.device !== null;
  }

  /** Host tensor bytes of the latest forward pass: everything that crossed between host and device on a GPU provider. */
  get lastStepBytes(): StepBytes {
    return this.stepBytes;
  }

  /**
   * Makes the cache's host buffers current (one download when the cache lives on the device): call it
   * before reading or editing them outside a step (rewind, skipTo, snapshot).
   */
  async sync(): Promise<void> {
    await this.device?.sync();
  }

  /** Frees the device memory this runner holds (the cache's host copy stays as it is). */
  dispose(): void {
    this.device?.dispose();
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

  private async forward(chunk: readonly number[]): Promise<CacheDelta> {
    const n = chunk.length;
    const device = this.device;
    // A rebase rotates every cached key on the host (rare: once per maxPos - C tokens).
    if (device && this.cache.rebaseDue(n)) await device.sync();
    const step = this.cache.beginStep(n);
    const inputIds = this.inputIds.subarray(0, n);
    for (let i = 0; i < n; i++) inputIds[i] = BigInt(chunk[i]);

    const feeds = this.feeds;
    const compact = this.compact?.prepare(n, step.attentionMask) ?? null;
    if (device === null) this.setPast(compact);
    const mask = compact?.mask ?? step.attentionMask;
    feeds[this.io.inputIds] = { type: 'int64', data: inputIds, dims: [1, n] };
    feeds[this.io.attentionMask] = { type: 'int64', data: mask, dims: [1, mask.length] };
    feeds[this.io.positionIds] = { type: 'int64', data: step.positionIds, dims: [1, n] };

    if (device) {
      const deviceFeeds = device.feedsFor(feeds, n);
      const { host, device: out } = await this.session.runOnDevice(deviceFeeds, [this.logitsOut], device.deviceFetches);
      this.stepBytes = { fed: hostBytes(Object.values(deviceFeeds)), fetched: hostBytes(Object.values(host)) };
      this.keepLastLogits(host[this.logitsOut]);
      return device.commit(chunk, out);
    }
    const out = await this.session.run(feeds, this.fetches);
    this.stepBytes = { fed: hostBytes(Object.values(feeds)), fetched: hostBytes(Object.values(out)) };
    this.keepLastLogits(out[this.logitsOut]);
    for (let l = 0; l < this.keysOut.length; l++) {
      // commitStep checks that these are of the cache's dtype.
      this.keyRows[l] = out[this.keysOut[l]].data as KvArray;
      this.valueRows[l] = out[this.valuesOut[l]].data as KvArray;
    }
    return this.cache.commitStep(chunk, this.keyRows, this.valueRows);
  }

  private keepLastLogits(logits: TensorData): void {
    // The last row, whether the graph returned every position or only the last (logits_to_keep, fast
    // outputs); fp16 logits are widened for that row alone.
    const from = logits.data.length - this.vocabSize;
    if (logits.type === 'float16') halvesToFloats(logits.data as Uint16Array, from, this.lastLogits, 0, this.vocabSize);
    else this.lastLogits.set((logits.data as Float32Array).subarray(from));
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

/** Bytes of the host tensors among `tensors` (device tensors stay where they are). */
function hostBytes(tensors: Iterable<TensorData | DeviceTensor>): number {
  let n = 0;
  for (const t of tensors) if ('data' in t) n += t.data.byteLength;
  return n;
}
