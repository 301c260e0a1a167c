// The runner's device-resident cache (DESIGN §3 "Storage, dtype and place"): per step it feeds the graph
// rewritten by model/deviceCache the previous step's device tensors as the past, the slot indices and the
// sinks' and pinned tokens' cos/sin, and keeps the updated caches on the device; the host copy is pulled
// only for rare O(C) operations (rebase, rewind, skipTo, snapshot, pin). Runs in the engine host thread.
import type { CacheDelta } from '../../common/cacheView';
import type { DeviceKvRows } from './cache/deviceRows';
import type { KvArray } from './cache/kvStorage';
import type { SinkRingCache } from './cache/sinkRingCache';
import type { ModelIO } from './modelFolder';
import type { DecoderSession, DeviceCacheGraph, DeviceTensor, TensorData } from './onnxSession';

/** One step's GatherND outputs (the rows its writes replaced), kept on the device while journal entries point at them. */
interface OldRows {
  readonly keys: readonly DeviceTensor[];
  readonly values: readonly DeviceTensor[];
  /** Rows per head (m of `[1, kvHeads, m, headDim]`). */
  readonly rows: number;
  refs: number;
}

/** A journal entry's rows, still on the device: row `row` of `old`, to go to `keyRows`/`valueRows` at `at`. */
interface PendingRows {
  readonly old: OldRows;
  readonly row: number;
  readonly keyRows: KvArray;
  readonly valueRows: KvArray;
  readonly at: number;
}

/**
 * Drives one cache's device copy through a session with the device-cache rewrite. Owns the device
 * tensors it holds (the cache and the journal's pending rows) until {@link dispose}.
 */
export class DeviceSteps {
  private readonly rows: DeviceKvRows;
  private readonly fetches: readonly string[];
  private keys: DeviceTensor[] | null = null;
  private values: DeviceTensor[] | null = null;
  private readonly slotIndex: BigInt64Array;
  /** cos/sin rows per anchor (the sinks, then the pinned tokens by rank): grown when more are pinned. */
  private cos = new Float32Array(0);
  private sin = new Float32Array(0);
  /** Per anchor, the rotation its cos/sin rows hold (NaN: not filled yet). */
  private anchorDeltas = new Float64Array(0);
  private readonly pending = new Map<KvArray, Map<number, PendingRows>>();
  private readonly feeds: Record<string, TensorData | DeviceTensor> = {};

  constructor(
    private readonly session: DecoderSession,
    private readonly io: ModelIO,
    private readonly cache: SinkRingCache,
    private readonly graph: DeviceCacheGraph,
    maxChunk: number,
  ) {
    this.rows = cache.placeOnDevice();
    this.fetches = [...graph.nextKeys, ...graph.nextValues, ...graph.oldKeys, ...graph.oldValues];
    const { kvHeads } = cache.geometry;
    this.slotIndex = new BigInt64Array(kvHeads * maxChunk * 3);
  }

  /** Device outputs a step fetches. */
  get deviceFetches(): readonly string[] {
    return this.fetches;
  }

  /**
   * The feeds of the begun step of n tokens: `common` (ids, mask, positions, constants), the past (the
   * device copy, or the host copy when that is the current one) and the slot indices and sink cos/sin.
   */
  feedsFor(common: Readonly<Record<string, TensorData>>, n: number): Record<string, TensorData | DeviceTensor> {
    const { cache, io, graph, feeds } = this;
    const { kvHeads, headDim } = cache.geometry;
    Object.assign(feeds, common);
    if (this.rows.deviceStale || this.keys === null || this.values === null) {
      this.disposeCache();
      const dims = [1, kvHeads, cache.capacity, headDim];
      const keys = this.rows.deviceKeys();
      for (let l = 0; l < io.pastKeys.length; l++) {
        feeds[io.pastKeys[l]] = { type: io.kvDtype, data: keys[l], dims };
        feeds[io.pastValues[l]] = { type: io.kvDtype, data: this.rows.values[l], dims };
      }
    } else {
      for (let l = 0; l < io.pastKeys.length; l++) {
        feeds[io.pastKeys[l]] = this.keys[l];
        feeds[io.pastValues[l]] = this.values[l];
      }
    }
    const P = cache.nextPos;
    const index = this.slotIndex;
    for (let h = 0; h < kvHeads; h++) {
      for (let i = 0; i < n; i++) {
        const at = (h * n + i) * 3;
        index[at] = 0n;
        index[at + 1] = BigInt(h);
        index[at + 2] = BigInt(cache.slotOf(P + i));
      }
    }
    feeds[graph.slotIndex] = { type: 'int64', data: index.subarray(0, kvHeads * n * 3), dims: [1, kvHeads, n, 3] };
    const S = cache.sink;
    const anchors = S + cache.pinnedTokens;
    this.fillRotation(anchors);
    const rows = (a: Float32Array, from: number, to: number): TensorData => ({ type: 'float32', data: a.subarray(from * headDim, to * headDim), dims: [1, 1, to - from, headDim] });
    feeds[graph.sinkCos] = rows(this.cos, 0, S);
    feeds[graph.sinkSin] = rows(this.sin, 0, S);
    feeds[graph.pinCos] = rows(this.cos, S, anchors);
    feeds[graph.pinSin] = rows(this.sin, S, anchors);
    return feeds;
  }

  /** After the run: the updated caches become the device copy, and the step is committed to the cache's bookkeeping. */
  commit(tokenIds: ArrayLike<number>, out: Readonly<Record<string, DeviceTensor>>): CacheDelta {
    const { graph } = this;
    this.disposeCache();
    this.keys = graph.nextKeys.map((name) => out[name]);
    this.values = graph.nextValues.map((name) => out[name]);
    this.rows.deviceStale = false;
    const old: OldRows = { keys: graph.oldKeys.map((n) => out[n]), values: graph.oldValues.map((n) => out[n]), rows: tokenIds.length, refs: 0 };
    const P = this.cache.nextPos;
    const delta = this.cache.commitDeviceStep(tokenIds, (slot, keyRows, valueRows, at) => {
      let row = 0;
      while (this.cache.slotOf(P + row) !== slot) row++;
      let byOffset = this.pending.get(keyRows);
      if (byOffset === undefined) {
        byOffset = new Map();
        this.pending.set(keyRows, byOffset);
      }
      const replaced = byOffset.get(at);
      if (replaced) this.release(replaced.old);
      byOffset.set(at, { old, row, keyRows, valueRows, at });
      old.refs++;
    });
    if (old.refs === 0) disposeAll(old);
    return delta;
  }

  /**
   * Makes the host copy current (one download of the cache, and of the journal rows still on the device):
   * what rebase, rewind, skipTo and snapshots need. A no-op when it already is.
   */
  async sync(): Promise<void> {
    if (!this.rows.hostStale || this.keys === null || this.values === null) return;
    const download = async (t: DeviceTensor) => (await this.session.download(t)).data as KvArray;
    const keys: KvArray[] = [];
    const values: KvArray[] = [];
    for (let l = 0; l < this.keys.length; l++) {
      keys.push(await download(this.keys[l]));
      values.push(await download(this.values[l]));
    }
    this.cache.pulledFromDevice(keys, values);
    const { kvHeads, headDim } = this.cache.geometry;
    const fetched = new Map<OldRows, { keys: KvArray[]; values: KvArray[] }>();
    for (const byOffset of this.pending.values()) {
      for (const p of byOffset.values()) {
        let rows = fetched.get(p.old);
        if (rows === undefined) {
          rows = { keys: [], values: [] };
          for (let l = 0; l < p.old.keys.length; l++) {
            rows.keys.push(await download(p.old.keys[l]));
            rows.values.push(await download(p.old.values[l]));
          }
          fetched.set(p.old, rows);
        }
        // Device rows are [1, kvHeads, m, headDim]; journal rows [layer][head][dim].
        let at = p.at;
        for (let l = 0; l < rows.keys.length; l++) {
          for (let h = 0; h < kvHeads; h++, at += headDim) {
            const from = (h * p.old.rows + p.row) * headDim;
            p.keyRows.set(rows.keys[l].subarray(from, from + headDim), at);
            p.valueRows.set(rows.values[l].subarray(from, from + headDim), at);
          }
        }
      }
    }
    for (const old of fetched.keys()) disposeAll(old);
    this.pending.clear();
  }

  /** Frees every device tensor held; the host copy stays as it is. */
  dispose(): void {
    this.disposeCache();
    for (const byOffset of this.pending.values()) for (const p of byOffset.values()) this.release(p.old);
    this.pending.clear();
  }

  /**
   * cos/sin rows of the first `anchors` anchors' rotation from their pristine keys (DESIGN §3), recomputed
   * only where it moved (a pin or unpin moves the pinned tokens' ranks: their deltas then differ).
   */
  private fillRotation(anchors: number): void {
    const { cache } = this;
    const { headDim } = cache.geometry;
    if (this.anchorDeltas.length < anchors) {
      this.cos = new Float32Array(anchors * headDim);
      this.sin = new Float32Array(anchors * headDim);
      this.anchorDeltas = new Float64Array(anchors).fill(NaN);
    }
    const { cos, sin } = this;
    const rope = cache.rope;
    const half = rope ? rope.rotaryDim >> 1 : 0;
    for (let i = 0; i < anchors; i++) {
      const delta = cache.anchorDelta(i);
      if (delta === this.anchorDeltas[i]) continue;
      this.anchorDeltas[i] = delta;
      const at = i * headDim;
      cos.fill(1, at, at + headDim);
      sin.fill(0, at, at + headDim);
      if (delta === 0 || rope === null) continue;
      for (let d = 0; d < half; d++) {
        // Double-precision angles, as the host rotation (rope.ts): the device rounds them to float32 once.
        const angle = delta * rope.invFreq[d];
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        cos[at + d] = c;
        cos[at + d + half] = c;
        sin[at + d] = -s;
        sin[at + d + half] = s;
      }
    }
  }

  private disposeCache(): void {
    for (const t of [...(this.keys ?? []), ...(this.values ?? [])]) t.dispose();
    this.keys = null;
    this.values = null;
  }

  private release(old: OldRows): void {
    if (--old.refs === 0) disposeAll(old);
  }
}

function disposeAll(old: OldRows): void {
  for (const t of [...old.keys, ...old.values]) t.dispose();
}
