// Bounded undo journal of the sink-ring cache's slot writes, so rewinding (edit, regenerate) restores the
// exact cache. Runs in the engine host. K/V row storage grows lazily in chunks: a short chat never pays
// for the whole bound up front.
import { allocKv, kvElementBytes, type KvArray, type KvDtype } from './kvStorage';

/** Journal entries whose K/V rows share one allocation. */
const CHUNK_TOKENS = 64;

/**
 * A ring of the last `capacity` slot writes: per write, the slot, what it held before (position, token id,
 * and for an overwrite its K/V rows for every layer and head) and the sink rotation shift before the
 * write's step. The cache owns the K/V buffers; the journal only copies rows it is handed offsets for.
 */
export class UndoJournal {
  readonly capacity: number;
  /** Elements of one token's rows for all layers and heads: layers * kvHeads * headDim. */
  readonly rowFloats: number;
  readonly dtype: KvDtype;
  private readonly chunkTokens: number;
  private readonly slots: Int32Array;
  private readonly prevPositions: Int32Array;
  private readonly prevTokens: Int32Array;
  private readonly prevShifts: Int32Array;
  private readonly keyChunks: (KvArray | undefined)[] = [];
  private readonly valueChunks: (KvArray | undefined)[] = [];
  private head = 0;
  private count = 0;

  constructor(capacity: number, rowFloats: number, dtype: KvDtype = 'float32') {
    this.capacity = capacity;
    this.rowFloats = rowFloats;
    this.dtype = dtype;
    this.chunkTokens = Math.max(1, Math.min(CHUNK_TOKENS, capacity));
    this.slots = new Int32Array(capacity);
    this.prevPositions = new Int32Array(capacity);
    this.prevTokens = new Int32Array(capacity);
    this.prevShifts = new Int32Array(capacity);
  }

  /** Entries held, i.e. how many of the latest tokens a rewind can undo. */
  get length(): number {
    return this.count;
  }

  /** Forgets every entry (row storage stays allocated for reuse). */
  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /**
   * Records a write into `slot` and returns the entry index, or -1 when the journal is disabled.
   * When `prevPos >= 0` the caller must copy the old rows into {@link keyRows}/{@link valueRows}.
   */
  push(slot: number, prevPos: number, prevToken: number, prevShift: number): number {
    if (this.capacity === 0) return -1;
    const e = this.head;
    this.head = e + 1 === this.capacity ? 0 : e + 1;
    if (this.count < this.capacity) this.count++;
    this.slots[e] = slot;
    this.prevPositions[e] = prevPos;
    this.prevTokens[e] = prevToken;
    this.prevShifts[e] = prevShift;
    return e;
  }

  /** Removes the newest entry and returns its index; its fields stay readable until the next push. */
  pop(): number {
    if (this.count === 0) throw new Error('undo journal is empty');
    this.count--;
    this.head = this.head === 0 ? this.capacity - 1 : this.head - 1;
    return this.head;
  }

  slot(e: number): number {
    return this.slots[e];
  }

  prevPos(e: number): number {
    return this.prevPositions[e];
  }

  prevToken(e: number): number {
    return this.prevTokens[e];
  }

  prevShift(e: number): number {
    return this.prevShifts[e];
  }

  /** Buffer holding entry e's key rows (allocated on first use), starting at {@link rowOffset}(e). */
  keyRows(e: number): KvArray {
    return this.chunk(this.keyChunks, e);
  }

  /** Buffer holding entry e's value rows, starting at {@link rowOffset}(e). */
  valueRows(e: number): KvArray {
    return this.chunk(this.valueChunks, e);
  }

  /** Offset of entry e's rows within its chunk; rows are laid out `[layer][head][dim]`. */
  rowOffset(e: number): number {
    return (e % this.chunkTokens) * this.rowFloats;
  }

  /** Bytes of row storage allocated so far. */
  bytes(): number {
    let chunks = 0;
    for (const c of this.keyChunks) if (c) chunks++;
    for (const c of this.valueChunks) if (c) chunks++;
    return chunks * this.chunkTokens * this.rowFloats * kvElementBytes(this.dtype);
  }

  private chunk(chunks: (KvArray | undefined)[], e: number): KvArray {
    const c = Math.floor(e / this.chunkTokens);
    let buf = chunks[c];
    if (buf === undefined) {
      buf = allocKv(this.dtype, this.chunkTokens * this.rowFloats);
      chunks[c] = buf;
    }
    return buf;
  }
}
