// The cache visualizer's model: every slot of the engine's sink-ring cache in typed arrays, loaded from a
// fresh view and kept current in place by per-step deltas (applyCacheDelta's semantics), with the message
// each held token spells. Mutable plain data, painted transiently, never React state. Renderer.
import { DEFAULT_JOURNAL_TOKENS, slotOf } from '../../common/cacheGeometry';
import type { CacheDelta, CacheViewWithText } from '../../common/contract';

/** Which message a written token spells: an owner index (see {@link CacheModel.ownerIndex}) and offset. */
export interface WriteOwner {
  readonly owner: number;
  readonly char: number;
}

/** An overwritten ring slot, kept so a rewind (regenerate, edit) can put its token back. */
interface JournalEntry {
  readonly slot: number;
  /** Position whose write overwrote it. */
  readonly by: number;
  readonly pos: number;
  readonly ropePos: number;
  readonly tokenId: number;
  readonly text: string;
  readonly owner: number;
  readonly char: number;
}

/** Overwrites remembered for rewinds: as many as the engine's undo journal covers by default. */
const JOURNAL_LIMIT = DEFAULT_JOURNAL_TOKENS;

/**
 * Owns its arrays; readers (the canvas painter, the slot table) read them in place and must not write.
 * `version` grows with every change, so a reader can tell whether to repaint.
 */
export class CacheModel {
  sink = 0;
  window = 0;
  capacity = 0;
  positions: 'cache' | 'original' = 'cache';
  nextPos = 0;
  offset = 0;
  evicted = 0;
  head = 0;
  firstVisible = 0;
  /** Per slot: original position (-1 empty), position RoPE sees, token id (-1 empty), display text. */
  pos = new Int32Array(0);
  ropePos = new Int32Array(0);
  tokenId = new Int32Array(0);
  texts: string[] = [];
  /** Per slot: owner index of the message its token spells (-1: markup, unknown) and the offset in it. */
  owner = new Int32Array(0);
  ownerChar = new Int32Array(0);
  /** Per slot: the step that wrote it (-1: it came with the view). */
  writtenStep = new Int32Array(0);
  /** Steps (deltas) applied since the last view; the last one's writes are `writtenStep === step`. */
  step = 0;
  /** Message ids by owner index ('' is the system prompt). */
  readonly ownerIds: string[] = [];
  /** False until a view arrives (or after `clear`): there is nothing to show. */
  loaded = false;
  version = 0;
  private readonly owners = new Map<string, number>();
  private journal: JournalEntry[] = [];

  /** The owner index of message `id`, added on first use. */
  ownerIndex(id: string): number {
    let index = this.owners.get(id);
    if (index === undefined) {
      index = this.ownerIds.length;
      this.ownerIds.push(id);
      this.owners.set(id, index);
    }
    return index;
  }

  /** Forgets everything (no model, no conversation). */
  clear(): void {
    this.resize(0, 0, 0);
    this.nextPos = this.offset = this.evicted = this.head = this.firstVisible = 0;
    this.loaded = false;
    this.version++;
  }

  /**
   * An empty cache of the given geometry, for a stream that starts before the engine has a cache to
   * show (a new conversation's first reply): its deltas then fill it.
   */
  start(sink: number, window: number, positions: 'cache' | 'original'): void {
    this.load({
      sink,
      window,
      capacity: sink + window,
      positions,
      nextPos: 0,
      offset: 0,
      evicted: 0,
      head: 0,
      firstVisible: sink,
      slots: [],
      texts: [],
    });
  }

  /** Replaces the model by a fresh view; `owners.ids` (when present) names each slot's message. */
  load(view: Readonly<CacheViewWithText>): void {
    this.resize(view.sink, view.window, view.capacity);
    this.owners.clear();
    this.ownerIds.length = 0;
    this.positions = view.positions;
    this.nextPos = view.nextPos;
    this.offset = view.offset;
    this.evicted = view.evicted;
    this.head = view.head;
    this.firstVisible = view.firstVisible;
    const owners = view.owners;
    const ids = owners?.ids;
    for (const s of view.slots) {
      const j = s.slot;
      this.pos[j] = s.pos;
      this.ropePos[j] = s.ropePos;
      this.tokenId[j] = s.tokenId;
      this.texts[j] = view.texts[j] ?? '';
      const m = owners && ids ? owners.message[j] : -1;
      this.owner[j] = m >= 0 && ids && m < ids.length ? this.ownerIndex(ids[m]) : -1;
      this.ownerChar[j] = this.owner[j] >= 0 ? owners!.char[j] : -1;
    }
    this.loaded = true;
    this.version++;
  }

  /**
   * Applies one committed step. A step that writes before `nextPos` follows a rewind the engine made
   * without a delta (regenerate, edit): the overwritten tokens come back from the journal first, and
   * slots nothing can restore are shown empty until the next fresh view.
   */
  apply(delta: Readonly<CacheDelta>, texts: readonly string[], owners: readonly WriteOwner[] = []): void {
    if (!this.loaded) return;
    const first = delta.writes[0];
    if (first && first.pos < this.nextPos) this.rewindTo(first.pos);
    const { sink } = this;
    if (delta.rebased) {
      for (let j = sink; j < this.capacity; j++) if (this.pos[j] >= 0) this.ropePos[j] = this.pos[j] - delta.offset;
    }
    this.step++;
    for (let i = 0; i < delta.writes.length; i++) {
      const w = delta.writes[i];
      const j = w.slot;
      if (j >= sink && this.pos[j] >= 0 && this.pos[j] !== w.pos) this.remember(j, w.pos);
      this.pos[j] = w.pos;
      this.tokenId[j] = w.tokenId;
      this.ropePos[j] = w.ropePos;
      this.texts[j] = texts[i] ?? '';
      this.owner[j] = owners[i]?.owner ?? -1;
      this.ownerChar[j] = owners[i]?.char ?? -1;
      this.writtenStep[j] = this.step;
    }
    for (let i = 0; i < sink; i++) if (this.pos[i] >= 0) this.ropePos[i] = i + delta.sinkRopeShift;
    this.nextPos = delta.nextPos;
    this.evicted = delta.evicted;
    this.head = delta.head;
    this.firstVisible = delta.firstVisible;
    this.offset = delta.offset;
    this.version++;
  }

  /** Whether the next step's query attends to slot `j` (the view's `visible`). */
  visible(j: number): boolean {
    const p = this.pos[j];
    return p >= 0 && (j < this.sink || p >= this.firstVisible);
  }

  /** Whether slot `j` was written by the latest step. */
  writtenLast(j: number): boolean {
    return this.step > 0 && this.writtenStep[j] === this.step;
  }

  /** The slot holding position `p`, or -1 when no slot holds it. */
  slotHolding(p: number): number {
    if (p < 0 || this.capacity === 0) return -1;
    const j = slotOf(p, this.sink, this.window);
    return this.pos[j] === p ? j : -1;
  }

  /** Ring slots holding a token. */
  ringFill(): number {
    let n = 0;
    for (let j = this.sink; j < this.capacity; j++) if (this.pos[j] >= 0) n++;
    return n;
  }

  private remember(slot: number, by: number): void {
    this.journal.push({
      slot,
      by,
      pos: this.pos[slot],
      ropePos: this.ropePos[slot],
      tokenId: this.tokenId[slot],
      text: this.texts[slot],
      owner: this.owner[slot],
      char: this.ownerChar[slot],
    });
    // Trim in blocks, so trimming stays amortised O(1) per write.
    if (this.journal.length > 2 * JOURNAL_LIMIT) this.journal = this.journal.slice(-JOURNAL_LIMIT);
  }

  private rewindTo(p: number): void {
    const journal = this.journal;
    while (journal.length > 0 && journal[journal.length - 1].by >= p) {
      const e = journal.pop()!;
      if (this.pos[e.slot] !== e.by) continue;
      this.pos[e.slot] = e.pos;
      this.ropePos[e.slot] = e.ropePos;
      this.tokenId[e.slot] = e.tokenId;
      this.texts[e.slot] = e.text;
      this.owner[e.slot] = e.owner;
      this.ownerChar[e.slot] = e.char;
      this.writtenStep[e.slot] = -1;
    }
    for (let j = 0; j < this.capacity; j++) {
      if (this.pos[j] < p) continue;
      this.pos[j] = this.ropePos[j] = this.tokenId[j] = this.owner[j] = this.ownerChar[j] = -1;
      this.texts[j] = '';
    }
  }

  private resize(sink: number, window: number, capacity: number): void {
    this.sink = sink;
    this.window = window;
    if (capacity !== this.capacity) {
      this.capacity = capacity;
      this.pos = new Int32Array(capacity);
      this.ropePos = new Int32Array(capacity);
      this.tokenId = new Int32Array(capacity);
      this.owner = new Int32Array(capacity);
      this.ownerChar = new Int32Array(capacity);
      this.writtenStep = new Int32Array(capacity);
      this.texts = new Array<string>(capacity).fill('');
    }
    this.pos.fill(-1);
    this.ropePos.fill(-1);
    this.tokenId.fill(-1);
    this.owner.fill(-1);
    this.ownerChar.fill(-1);
    this.writtenStep.fill(-1);
    this.texts.fill('');
    this.step = 0;
    this.journal = [];
  }
}
