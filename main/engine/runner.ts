// Runner: drives the decoder session over the sink-ring cache — chunked prefill, decode steps, logits of
// the last position. Runs in the engine host thread (session.run blocks it).
import type { SlotAttention } from '../../common/attentionView';
import type { CacheDelta } from '../../common/cacheView';
import { allocKv, detachNow, type KvArray, type RowsAt } from './cache/kvStorage';
import type { SinkRingCache } from './cache/sinkRingCache';
import { halvesToFloats } from './half';
import { CompactPast, mirrorLengths, type CompactStep } from './compactPast';
import { DeviceSteps } from './deviceSteps';
import type { ModelIO } from './modelFolder';
import { isModelError } from './errors';
import type { AttentionOutputs } from './model/attentionOutputs';
import type { DecoderSession, DeviceTensor, TensorData } from './onnxSession';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Past lengths each session has run a one-token step at (any runner over it): see Runner.warmDecodeShapes. */
const decodePasts = new WeakMap<DecoderSession, Set<number>>();

function decodePastsRun(session: DecoderSession): Set<number> {
  let run = decodePasts.get(session);
  if (run === undefined) decodePasts.set(session, (run = new Set()));
  return run;
}

/**
 * Sessions whose graph takes one token at a time over a non-empty past: onnxruntime-genai's exports with a
 * mask-reformat subgraph expand a [tokens, tokens] causal mask that only fits an empty past, so a prompt's
 * second chunk, or a conversation's second message, failed. Found by the first such pass that fails (see
 * Runner.feed); from then on chunks over a past are single tokens, a slower prefill that works.
 */
const oneTokenOverPast = new WeakSet<DecoderSession>();

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
   * Chunks are whole over a past of up to this many slots; over a longer past they shrink so their
   * attention scores (tokens × (past + tokens) per head) stay those of a whole chunk over this past
   * ({@link chunkFor}). Default {@link FULL_CHUNK_PAST}.
   */
  readonly fullChunkPast?: number;
  /**
   * Fetch the session's fast outputs (only the new K/V rows and the last logits) when it has them;
   * default true. False fetches whole presents and logits, the path for graphs without them.
   */
  readonly fastOutputs?: boolean;
  /**
   * With the fast outputs, fetch every layer's new rows as the session's one packed output when it has it
   * (model/fastOutputs `packedRows`); default true. False: benchmarks' baseline, an output per layer.
   */
  readonly packedRows?: boolean;
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
 * A forward pass's attention (the last query row, mean over heads) in the cache's layout before the step:
 * per layer `C + n` values, index j < C for slot j as the step found it, C + i for the step's token i.
 */
export interface StepAttention {
  readonly n: number;
  /** [L, C + n] row-major. */
  readonly layers: Float32Array;
  /** [C + n]: the mean over layers. */
  readonly mean: Float32Array;
}

/**
 * 512: a prompt's first two 256-token chunks stay whole (a 512-token prompt is fed as before); past that a
 * chunk's scores stay those of 256 tokens over 512 slots. onnxruntime's CPU arena keeps the largest chunk's
 * attention working memory (several heads × n × (past + n) float buffers per layer) for the session's life:
 * on SmolLM2-135M at W=2048, whole 256-token chunks up to 2,052 slots peaked 50–65 MiB above this, 1,024
 * 20–28 MiB above it, for ~5% less time on a 2,048-token prompt (bench README §10).
 */
export const FULL_CHUNK_PAST = 512;

/**
 * How many of at most `max` tokens one forward pass takes over `past` slots: all `max` while `past` is at
 * most `fullPast`, else the most whose scores, n × (past + n), fit in those of `max` tokens over `fullPast`.
 */
export function chunkFor(past: number, max: number, fullPast: number): number {
  if (past <= fullPast) return max;
  const scores = max * (fullPast + max);
  let n = Math.floor((Math.sqrt(past * past + 4 * scores) - past) / 2);
  while (n > 1 && n * (past + n) > scores) n--;
  return Math.max(1, n);
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
  /**
   * The packed new-rows output (model/fastOutputs `packedRows`) and, per layer, the row block of its keys
   * and of its values in it; null when steps fetch an output per layer.
   */
  private readonly packed: { readonly name: string; readonly keyBlocks: readonly number[]; readonly valueBlocks: readonly number[] } | null;
  /** Where each layer's rows start in the packed output, for steps of {@link packedN} tokens. */
  private readonly packedAt: { keys: number[]; values: number[] } | null;
  private packedN = 0;
  /** Reused per step so a decode step allocates no arrays of its own beyond what the binding returns. */
  private readonly keyRows: KvArray[];
  private readonly valueRows: KvArray[];
  private readonly feeds: Record<string, TensorData> = {};
  /** The cache's buffers the past feeds point at, and their dims: rebuilt when a pin or unpin changes C. */
  private pastKeys: readonly KvArray[] | null = null;
  private pastDims: readonly number[] = [];
  private readonly compact: CompactPast | null;
  /** The compacted past the feeds hold (restored to the full buffers before a full step), or null. */
  private pastFed: CompactStep | null = null;
  /** The session's attention outputs (null when it has none) and whether steps fetch them. */
  private readonly attentionOut: AttentionOutputs | null;
  /** A step's fetches with the attention outputs: [per-layer rows too, the mean over layers only]. */
  private readonly attentionFetches: readonly [readonly string[], readonly string[]];
  /** What a device-cache step brings to the host: the logits, and the attention outputs while the view is open. */
  private readonly deviceHostFetches: readonly string[];
  private readonly deviceAttentionFetches: readonly [readonly string[], readonly string[]];
  private attentionOn = false;
  /** When the last step that fetched attention ran (performance.now()). */
  private attentionAt = -Infinity;
  private stepAttention: StepAttention | null = null;
  private slotAttention: SlotAttention | null = null;
  private attentionBuffers: { n: number; layers: Float32Array; mean: Float32Array; slotLayers: Float32Array[]; slotMean: Float32Array } | null = null;
  private readonly device: DeviceSteps | null;
  /** The latest forward pass's feeds and host outputs, summed only when asked ({@link lastStepBytes}). */
  private lastFed: Readonly<Record<string, TensorData | DeviceTensor>> = {};
  private lastFetched: Readonly<Record<string, TensorData>> = {};
  /** Bytes of the latest pass's fetched outputs freed after their copy ({@link releaseFetched}). */
  private lastReleased = 0;

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
    const packed = fast !== null && this.newRowsOnly && options.packedRows !== false ? fast.packedRows : null;
    if (packed !== null) {
      const block = (name: string) => packed.presents.indexOf(name);
      this.packed = { name: packed.name, keyBlocks: io.presentKeys.map(block), valueBlocks: io.presentValues.map(block) };
      this.packedAt = { keys: new Array<number>(io.presentKeys.length).fill(0), values: new Array<number>(io.presentValues.length).fill(0) };
      this.fetches = [this.logitsOut, packed.name];
    } else {
      this.packed = null;
      this.packedAt = null;
      this.fetches = [this.logitsOut, ...this.keysOut, ...this.valuesOut];
    }
    this.attentionOut = fast !== null && this.newRowsOnly ? fast.attention : null;
    const withAttention = (base: readonly string[]): readonly [readonly string[], readonly string[]] =>
      this.attentionOut ? [[...base, this.attentionOut.layers, this.attentionOut.mean], [...base, this.attentionOut.mean]] : [base, base];
    this.attentionFetches = withAttention(this.fetches);
    this.deviceHostFetches = [this.logitsOut];
    this.deviceAttentionFetches = withAttention(this.deviceHostFetches);
    this.keyRows = new Array<KvArray>(this.keysOut.length);
    this.valueRows = new Array<KvArray>(this.valuesOut.length);
    if (cache.kvDtype !== io.kvDtype) throw new Error(`the cache holds ${cache.kvDtype} rows but the model's KV cache is ${io.kvDtype}`);
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
    return { fed: hostBytes(this.lastFed), fetched: hostBytes(this.lastFetched) + this.lastReleased };
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

  /**
   * Runs one throwaway one-token step at each past length this stream's decode steps can feed (the
   * mirror's lengths, then all C slots) that the session has not run a one-token step at yet, longest
   * first; returns how many ran. onnxruntime's first run at a new input shape costs 10–25 ms of CPU more
   * than the next ones (not its memory patterns nor its arena: with either off the cost stays; bench/README
   * section 20), so without this the first decode step after a prompt and the steps where the mirror grows
   * were a reply's slow ones. Reads and writes nothing of the cache. Host-cache steps only.
   */
  async warmDecodeShapes(): Promise<number> {
    if (this.device !== null) return 0;
    const { cache, io } = this;
    const run = decodePastsRun(this.session);
    const mirror = this.compact ? mirrorLengths(cache.sink + cache.window).reverse() : [];
    const lengths = [cache.capacity, ...mirror].filter((t) => !run.has(t));
    if (lengths.length === 0) return 0;
    const { kvHeads, headDim } = cache.geometry;
    // One zero past shared by every layer's inputs: the outputs are thrown away.
    const zeros = allocKv(io.kvDtype, kvHeads * Math.max(...lengths) * headDim);
    const feeds: Record<string, TensorData> = {};
    for (const extra of io.extraInputs) feeds[extra.name] = extra.value;
    feeds[io.inputIds] = { type: 'int64', data: new BigInt64Array(1), dims: [1, 1] };
    feeds[io.positionIds] = { type: 'int64', data: new BigInt64Array(1), dims: [1, 1] };
    for (const t of lengths) {
      const past = { type: io.kvDtype, data: zeros.subarray(0, kvHeads * t * headDim), dims: [1, kvHeads, t, headDim] };
      for (let l = 0; l < io.pastKeys.length; l++) feeds[io.pastKeys[l]] = feeds[io.pastValues[l]] = past;
      // Only the step's own token is attended to.
      const mask = new BigInt64Array(t + 1);
      mask[t] = 1n;
      feeds[io.attentionMask] = { type: 'int64', data: mask, dims: [1, t + 1] };
      await this.session.run(feeds, this.fetches);
      run.add(t);
    }
    return lengths.length;
  }

  /** Whether steps fetch only the new rows and the last logits (the session's fast outputs). */
  get fetchesNewRowsOnly(): boolean {
    return this.newRowsOnly;
  }

  /** Why steps cannot report attention (no fast outputs, fused attention ops), or null when they can. */
  get attentionUnavailable(): string | null {
    if (this.attentionOut !== null) return null;
    if (!this.newRowsOnly) return 'the graph was opened without the load-time rewrite';
    return this.session.fastOutputs?.attentionNote ?? 'the graph has no attention outputs';
  }

  /**
   * Whether each forward pass also fetches the attention outputs (the attention view is open). Closed, the
   * step fetches nothing more and the graph skips the reduction (an If on the session's added input).
   */
  get attention(): boolean {
    return this.attentionOn;
  }

  set attention(on: boolean) {
    if (on && this.attentionOut === null) throw new Error(`this model cannot report attention: ${this.attentionUnavailable}`);
    this.attentionOn = on;
    if (!on) {
      this.stepAttention = null;
      this.slotAttention = null;
      this.attentionBuffers = null;
    }
  }

  /**
   * While {@link attention} is on, a step fetches it only when this many ms have passed since the last
   * step that did (0: every step); the steps in between keep none (`lastStepAttention` null).
   */
  attentionEveryMs = 0;

  /**
   * Whether a step that fetches attention also fetches each layer's row ([L, T]), not only their mean
   * ([T]): a view of the mean alone skips L times the data (then `lastSlotAttention.layers` is empty).
   */
  attentionLayers = true;

  /** The last forward pass's attention in the pre-step layout, while {@link attention} is on (buffers the next pass reuses). */
  get lastStepAttention(): StepAttention | null {
    return this.stepAttention;
  }

  /** The last forward pass's attention by slot after the step, while {@link attention} is on (buffers the next pass reuses). */
  get lastSlotAttention(): SlotAttention | null {
    return this.slotAttention;
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
      const past = this.fedPast();
      const n = Math.min(total - done, this.chunkLimit(past), this.cache.ringWriteLimit());
      const chunk = Array.prototype.slice.call(ids, done, done + n) as number[];
      let delta: CacheDelta;
      try {
        // After a feed's last chunk come decode steps (a reply): its mirror leaves room for their rows.
        delta = await this.forward(chunk, false, done + n === total);
      } catch (err) {
        if (this.refusedOverPast(err, n, past > 0)) continue;
        throw err;
      }
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
    // A pin edits the host copy (rows copied, the pin slots added); the next device step uploads it.
    await this.sync();
    if (this.cache.pin(start, end) === 'copied') return 0;
    try {
      for (let done = 0; done < ids.length; ) {
        await yieldToEventLoop();
        if (cancel?.cancelled) {
          this.cache.unpin(start);
          return null;
        }
        const chunk = Array.prototype.slice.call(ids, done, done + Math.min(ids.length - done, this.chunkLimit(this.cache.capacity))) as number[];
        try {
          await this.forward(chunk, true, false);
        } catch (err) {
          // A pin step is fed every slot.
          if (this.refusedOverPast(err, chunk.length, true)) continue;
          throw err;
        }
        done += chunk.length;
      }
    } catch (err) {
      this.cache.unpin(start);
      throw err;
    }
    return ids.length;
  }

  /**
   * The most tokens the next forward pass takes over a past of `past` slots ({@link chunkFor}; the past is
   * the compacted prefix, {@link fedPast}, or every slot, as a pin step's is).
   */
  private chunkLimit(past: number): number {
    if (past > 0 && oneTokenOverPast.has(this.session)) return 1;
    return chunkFor(past, this.options.chunkSize, this.options.fullChunkPast ?? FULL_CHUNK_PAST);
  }

  /**
   * Whether a failed pass of `n` tokens is one to feed again a token at a time: the session's first
   * multi-token pass over a non-empty past that onnxruntime failed ({@link oneTokenOverPast}, marked here). A
   * failed pass changed nothing the next beginStep / beginPinStep does not redo.
   */
  private refusedOverPast(err: unknown, n: number, overPast: boolean): boolean {
    if (n === 1 || !overPast || !isModelError(err, 'run-failed') || oneTokenOverPast.has(this.session)) return false;
    oneTokenOverPast.add(this.session);
    return true;
  }

  /** The past length the next (non-pin) pass is fed: the compacted prefix's, or every slot. */
  private fedPast(): number {
    return this.compact?.fedLength() ?? this.cache.capacity;
  }

  private async forward(chunk: readonly number[], pinStep: false, last: boolean): Promise<CacheDelta>;
  private async forward(chunk: readonly number[], pinStep: true, last: boolean): Promise<void>;
  private async forward(chunk: readonly number[], pinStep: boolean, last: boolean): Promise<CacheDelta | void> {
    const n = chunk.length;
    // A pin step writes pin slots, not the ring slots the device graph scatters into: it runs on the host
    // copy (pin() pulled it), as a host-cache step does.
    const device = pinStep ? null : this.device;
    // A rebase rotates every cached key on the host (rare: once per maxPos - C tokens).
    if (device && this.cache.rebaseDue(n)) await device.sync();
    const step = pinStep ? this.cache.beginPinStep(n) : this.cache.beginStep(n);
    const inputIds = this.inputIds.subarray(0, n);
    for (let i = 0; i < n; i++) inputIds[i] = BigInt(chunk[i]);

    const feeds = this.feeds;
    // A pin step attends to pin slots, which lie past any compact prefix.
    const compact = pinStep ? null : (this.compact?.prepare(n, step.attentionMask) ?? null);
    if (device === null) this.setPast(compact);
    const mask = compact?.mask ?? step.attentionMask;
    feeds[this.io.inputIds] = { type: 'int64', data: inputIds, dims: [1, n] };
    feeds[this.io.attentionMask] = { type: 'int64', data: mask, dims: [1, mask.length] };
    feeds[this.io.positionIds] = { type: 'int64', data: step.positionIds, dims: [1, n] };

    // The view may close while the pass runs: what was fetched decides what is read.
    const withAttention = this.attentionOn && this.attentionDue();
    const which = this.attentionLayers ? 0 : 1;
    if (device) {
      const deviceFeeds = device.feedsFor(feeds, n);
      const hostFetches = withAttention ? this.deviceAttentionFetches[which] : this.deviceHostFetches;
      const { host, device: out } = await this.session.runOnDevice(deviceFeeds, hostFetches, device.deviceFetches);
      this.lastFed = deviceFeeds;
      this.lastFetched = host;
      this.keepLastLogits(host[this.logitsOut]);
      this.lastReleased = detachNow(host[this.logitsOut].data);
      const delta = device.commit(chunk, out);
      if (withAttention && this.attentionOn) this.readAttention(host, delta);
      return delta;
    }
    const out = await this.session.run(feeds, withAttention ? this.attentionFetches[which] : this.fetches);
    if (n === 1) decodePastsRun(this.session).add(feeds[this.io.pastKeys[0]].dims[2]);
    this.lastFed = feeds;
    this.lastFetched = out;
    this.keepLastLogits(out[this.logitsOut]);
    const at = this.stepRows(out, n);
    if (pinStep) {
      this.cache.commitPinStep(chunk, this.keyRows, this.valueRows, at);
      this.releaseFetched(out);
      return;
    }
    const delta = this.cache.commitStep(chunk, this.keyRows, this.valueRows, at);
    this.releaseFetched(out);
    this.compact?.commit(last);
    if (withAttention && this.attentionOn) this.readAttention(out, delta);
    return delta;
  }

  /**
   * Frees the fetched logits and packed rows now that {@link lastLogits} and the cache hold copies, instead
   * of when the GC finds them: V8 counts them as external memory. A decode step's logits row (196 KB on
   * SmolLM2's vocabulary) added up to an incremental mark every ~50 steps, whose concurrent marking took a
   * core from onnxruntime's two and whose mark-compact fell inside a step; a prompt chunk's rows (12 MB per
   * 256 tokens) started one that finished in the first decode steps (bench/README section 20).
   */
  private releaseFetched(out: Record<string, TensorData>): void {
    this.lastReleased = detachNow(out[this.logitsOut].data) + (this.packed === null ? 0 : detachNow(out[this.packed.name].data));
  }

  /**
   * Points {@link keyRows} / {@link valueRows} at a host step's fetched rows: per layer its own output, or
   * every layer the packed output with the offsets returned (commitStep checks dtypes and lengths).
   */
  private stepRows(out: Record<string, TensorData>, n: number): RowsAt | null {
    const { packed, packedAt } = this;
    if (packed === null || packedAt === null) {
      for (let l = 0; l < this.keysOut.length; l++) {
        this.keyRows[l] = out[this.keysOut[l]].data as KvArray;
        this.valueRows[l] = out[this.valuesOut[l]].data as KvArray;
      }
      return null;
    }
    const rows = out[packed.name].data as KvArray;
    if (n !== this.packedN) {
      const { kvHeads, headDim } = this.cache.geometry;
      const block = kvHeads * n * headDim;
      for (let l = 0; l < packed.keyBlocks.length; l++) {
        packedAt.keys[l] = packed.keyBlocks[l] * block;
        packedAt.values[l] = packed.valueBlocks[l] * block;
      }
      this.packedN = n;
    }
    this.keyRows.fill(rows);
    this.valueRows.fill(rows);
    return packedAt;
  }

  /** Whether this step fetches the attention ({@link attentionEveryMs}); a step that does not keeps none. */
  private attentionDue(): boolean {
    if (this.attentionEveryMs > 0) {
      const now = performance.now();
      if (now - this.attentionAt < this.attentionEveryMs) {
        this.stepAttention = null;
        this.slotAttention = null;
        return false;
      }
      this.attentionAt = now;
    }
    return true;
  }

  /**
   * Lays the fetched [L, T] weights (T = past fed + n; a compact past holds slots 0..T-n-1) out over the
   * cache's C slots plus the step's tokens, and by slot after the step: each token's weight goes to the
   * slot it was written to (a decode step overwrites only a slot its query could not see). Into buffers
   * kept while n stays the same, so an open view allocates nothing per decode step (the host isolate's
   * young generation is 1 MB: 0.5 MB per step of fresh arrays meant a scavenge per token).
   */
  private readAttention(out: Record<string, TensorData>, delta: CacheDelta): void {
    const { layers: layersOut, mean: meanOut } = this.attentionOut!;
    // Without the per-layer rows (attentionLayers off), only the mean is laid out.
    const fetched = out[layersOut] as TensorData | undefined;
    const L = fetched ? fetched.dims[0] : 0;
    const T = out[meanOut].dims[0];
    const n = delta.writes.length;
    const C = this.cache.capacity;
    const past = T - n;
    const width = C + n;
    let bufs = this.attentionBuffers;
    if (bufs === null || bufs.n !== n || bufs.layers.length !== L * width) {
      bufs = {
        n,
        layers: new Float32Array(L * width),
        mean: new Float32Array(width),
        slotLayers: Array.from({ length: L }, () => new Float32Array(C)),
        slotMean: new Float32Array(C),
      };
      this.attentionBuffers = bufs;
    }
    const spread = (src: Float32Array, dst: Float32Array, rows: number): void => {
      for (let l = 0; l < rows; l++) {
        const at = l * width;
        dst.set(src.subarray(l * T, l * T + past), at);
        dst.fill(0, at + past, at + C);
        dst.set(src.subarray(l * T + past, (l + 1) * T), at + C);
      }
    };
    if (fetched) spread(fetched.data as Float32Array, bufs.layers, L);
    spread(out[meanOut].data as Float32Array, bufs.mean, 1);
    const bySlot = (row: Float32Array, slots: Float32Array): void => {
      slots.set(row.subarray(0, C));
      for (let i = 0; i < n; i++) slots[delta.writes[i].slot] = row[C + i];
    };
    for (let l = 0; l < L; l++) bySlot(bufs.layers.subarray(l * width, (l + 1) * width), bufs.slotLayers[l]);
    bySlot(bufs.mean, bufs.slotMean);
    this.stepAttention = { n, layers: bufs.layers, mean: bufs.mean };
    this.slotAttention = { layers: bufs.slotLayers, mean: bufs.slotMean };
  }

  private keepLastLogits(logits: TensorData): void {
    // The last row, whether the graph returned every position or only the last (logits_to_keep, fast
    // outputs); fp16 logits are widened for that row alone.
    const from = logits.data.length - this.vocabSize;
    if (logits.type === 'float16') halvesToFloats(logits.data as Uint16Array, from, this.lastLogits, 0, this.vocabSize);
    else this.lastLogits.set((logits.data as Float32Array).subarray(from));
  }

  /**
   * Points the past inputs at the compacted prefix, or back at the cache's buffers (new ones after a pin or
   * unpin); nothing when they already are (CompactPast returns the same step while its shape holds).
   */
  private setPast(compact: CompactStep | null): void {
    const { io, cache } = this;
    const moved = cache.keys !== this.pastKeys;
    if (compact === this.pastFed && !moved) return;
    const { kvHeads, headDim } = cache.geometry;
    if (moved) {
      this.pastKeys = cache.keys;
      this.pastDims = [1, kvHeads, cache.capacity, headDim];
    }
    const dims = compact ? [1, kvHeads, compact.length, headDim] : this.pastDims;
    for (let l = 0; l < io.pastKeys.length; l++) {
      this.feeds[io.pastKeys[l]] = { type: io.kvDtype, data: compact ? compact.keys[l] : this.cache.keys[l], dims };
      this.feeds[io.pastValues[l]] = { type: io.kvDtype, data: compact ? compact.values[l] : this.cache.values[l], dims };
    }
    this.pastFed = compact;
  }
}

/** Bytes of the host tensors among `tensors` (device tensors stay where they are). */
function hostBytes(tensors: Readonly<Record<string, TensorData | DeviceTensor>>): number {
  let n = 0;
  for (const t of Object.values(tensors)) if ('data' in t) n += t.data.byteLength;
  return n;
}
