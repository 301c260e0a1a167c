// The cache visualizer's mirror of the engine's cache: every slot in typed arrays, loaded from a full
// view and kept current in place by the cache view protocol's ops (common/cacheView), which carry every
// token's text and message. It derives nothing the engine knows. Mutable plain data, painted
// transiently, never React state. Renderer.
import { slotOf, type PositionsMode } from '../../common/cacheGeometry';
import type { AttentionFrame } from '../../common/attentionView';
import type { CacheFullView, CacheHeader, CacheRow, CacheViewOp } from '../../common/contract';
import { pinAnchor, type PinnedSpan } from '../../common/cacheView';

/** Steps of sink share the sparkline keeps (the latest ones). */
export const SINK_SHARE_STEPS = 512;

/**
 * Owns its arrays; readers (the canvas painter, the slot table) read them in place and must not write.
 * `version` grows with every change, so a reader can tell whether to repaint.
 */
export class CacheMirror {
  sink = 0;
  window = 0;
  /** S + W + the tokens pinned: changes with `pins` ops. */
  capacity = 0;
  /** Most tokens that may be pinned. */
  pinBudget = 0;
  positions: PositionsMode = 'cache';
  nextPos = 0;
  offset = 0;
  evicted = 0;
  head = 0;
  firstVisible = 0;
  /** The last op applied (a full view counts as its `seq`). */
  seq = 0;
  /** The conversation whose stream this is. */
  stream = '';
  /** Per slot: original position (-1 empty), position RoPE sees, token id (-1 empty), display text. */
  pos = new Int32Array(0);
  ropePos = new Int32Array(0);
  tokenId = new Int32Array(0);
  texts: string[] = [];
  /** Per slot: owner index of the message its token spells (-1: markup, unknown) and the offset in it. */
  owner = new Int32Array(0);
  ownerChar = new Int32Array(0);
  /** Per slot: a pinned token's anchor (its ropePos minus the sink shift; see pinAnchor), 0 elsewhere. */
  anchor = new Int32Array(0);
  /** Pinned spans of original positions, by start; their tokens are in slots sink + window .. capacity - 1. */
  pins: readonly PinnedSpan[] = [];
  /** Per slot: the write op that wrote it (-1: it came with a full view or a rewind). */
  writtenStep = new Int32Array(0);
  /** Write ops applied since the last full view; the last one's rows are `writtenStep === step`. */
  step = 0;
  /** Message ids by owner index ('' is the system prompt). */
  readonly ownerIds: string[] = [];
  /** Leading characters of each message the sinks hold, and the messages the engine's input leaves out, by id. */
  pinnedChars: Readonly<Record<string, number>> = {};
  unfed: readonly string[] = [];
  /**
   * The attention of the last write op that carried one (the Attention mode was open), by slot, and the
   * sinks' share of each such op, oldest first (at most {@link SINK_SHARE_STEPS}); both reset with a new stream.
   */
  attention: AttentionFrame | null = null;
  sinkShares: number[] = [];
  /** False until a full view or a `start` arrives (or after `clear`): there is nothing to show. */
  loaded = false;
  version = 0;
  private readonly owners = new Map<string, number>();

  /** Forgets everything (no model, no conversation). */
  clear(): void {
    this.resize(0, 0, 0);
    this.nextPos = this.offset = this.evicted = this.head = this.firstVisible = 0;
    this.seq = 0;
    this.stream = '';
    this.pins = [];
    this.pinnedChars = {};
    this.unfed = [];
    this.forgetAttention();
    this.loaded = false;
    this.version++;
  }

  private forgetAttention(): void {
    this.attention = null;
    this.sinkShares = [];
  }

  /** Replaces the mirror by a full view; `owners.ids` (when present) names each slot's message. */
  load(view: Readonly<CacheFullView>): void {
    if (view.stream !== this.stream || view.capacity !== this.capacity) this.forgetAttention();
    this.resize(view.sink, view.window, view.capacity);
    this.pinBudget = view.pinBudget;
    this.positions = view.positions;
    this.seq = view.seq;
    this.stream = view.stream;
    this.nextPos = view.nextPos;
    this.head = view.head;
    this.evicted = view.evicted;
    this.firstVisible = view.firstVisible;
    this.offset = view.offset;
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
      this.anchor[j] = s.kind === 'pin' && s.pos >= 0 ? pinAnchor(s.ropePos, view.sinkRopeShift) : 0;
    }
    this.pins = view.pins;
    const pinned: Record<string, number> = {};
    const unfed: string[] = [];
    ids?.forEach((id, k) => {
      if (owners!.pinnedChars[k] > 0) pinned[id] = owners!.pinnedChars[k];
      if (owners!.located[k] === false) unfed.push(id);
    });
    this.pinnedChars = pinned;
    this.unfed = unfed;
    this.loaded = true;
    this.version++;
  }

  /** Applies op `seq` of `stream`'s view; the caller has checked it follows the last one (or is self-contained). */
  apply(seq: number, stream: string, op: Readonly<CacheViewOp>): void {
    switch (op.kind) {
      case 'restore':
        this.load(op.view);
        return;
      case 'start':
        this.resize(op.geometry.sink, op.geometry.window, op.geometry.capacity);
        this.pinBudget = op.geometry.pinBudget;
        this.positions = op.geometry.positions;
        this.pins = [];
        this.pinnedChars = {};
        this.unfed = [];
        this.forgetAttention();
        this.loaded = true;
        this.setHeader(op.header);
        break;
      case 'write':
        if (op.rebased) {
          for (let j = this.sink; j < this.sink + this.window; j++) if (this.pos[j] >= 0) this.ropePos[j] = this.pos[j] - op.header.offset;
        }
        this.step++;
        for (const row of op.rows) this.setRow(row, this.step);
        this.setHeader(op.header);
        if (op.attention && op.attention.mass.length === this.capacity) {
          this.attention = op.attention;
          this.sinkShares.push(op.attention.sinkShare);
          if (this.sinkShares.length > SINK_SHARE_STEPS) this.sinkShares.splice(0, this.sinkShares.length - SINK_SHARE_STEPS);
        }
        break;
      case 'rewind':
        for (let j = 0; j < this.capacity; j++) if (this.pos[j] >= op.to) this.emptySlot(j);
        for (const row of op.restored) this.setRow(row, -1);
        this.setHeader(op.header);
        break;
      case 'reset':
        for (let j = 0; j < this.capacity; j++) this.emptySlot(j);
        this.setHeader(op.header);
        break;
      case 'messages':
        this.pinnedChars = op.pinnedChars;
        this.unfed = op.unfed;
        break;
      case 'pins':
        this.resizePins(op.capacity);
        for (const row of op.rows) {
          this.setRow(row, -1);
          this.anchor[row.slot] = pinAnchor(row.ropePos, op.header.sinkRopeShift);
        }
        this.pins = op.pins;
        this.setHeader(op.header);
        break;
    }
    this.seq = seq;
    this.stream = stream;
    this.version++;
  }

  /**
   * Whether the next step's query attends to slot `j` (the view's `visible`): a sink; a ring slot from
   * firstVisible on; a pin slot once its position is before firstVisible (its ring copy is seen until then).
   */
  visible(j: number): boolean {
    const p = this.pos[j];
    return p >= 0 && (j < this.sink || (j < this.sink + this.window ? p >= this.firstVisible : p < this.firstVisible));
  }

  /** Whether slot `j` is a pin slot (after the ring). */
  isPinSlot(j: number): boolean {
    return j >= this.sink + this.window;
  }

  /** Whether slot `j` was written by the latest write op. */
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
    for (let j = this.sink; j < this.sink + this.window; j++) if (this.pos[j] >= 0) n++;
    return n;
  }

  /** Pin slots holding a token. */
  pinFill(): number {
    let n = 0;
    for (let j = this.sink + this.window; j < this.capacity; j++) if (this.pos[j] >= 0) n++;
    return n;
  }

  /** The owner index of message `id`, added on first use. */
  private ownerIndex(id: string): number {
    let index = this.owners.get(id);
    if (index === undefined) {
      index = this.ownerIds.length;
      this.ownerIds.push(id);
      this.owners.set(id, index);
    }
    return index;
  }

  private setRow(row: Readonly<CacheRow>, step: number): void {
    const j = row.slot;
    this.pos[j] = row.pos;
    this.ropePos[j] = row.ropePos;
    this.tokenId[j] = row.tokenId;
    this.texts[j] = row.text;
    this.owner[j] = row.message === null ? -1 : this.ownerIndex(row.message);
    this.ownerChar[j] = row.message === null ? -1 : row.char;
    this.writtenStep[j] = step;
  }

  private setHeader(h: Readonly<CacheHeader>): void {
    this.nextPos = h.nextPos;
    this.head = h.head;
    this.evicted = h.evicted;
    this.firstVisible = h.firstVisible;
    this.offset = h.offset;
    for (let i = 0; i < this.sink; i++) if (this.pos[i] >= 0) this.ropePos[i] = i + h.sinkRopeShift;
    for (let j = this.sink + this.window; j < this.capacity; j++) if (this.pos[j] >= 0) this.ropePos[j] = this.anchor[j] + h.sinkRopeShift;
  }

  private emptySlot(j: number): void {
    this.pos[j] = this.ropePos[j] = this.tokenId[j] = this.owner[j] = this.ownerChar[j] = this.writtenStep[j] = -1;
    this.texts[j] = '';
  }

  /** Gives the mirror `capacity` slots, the sinks' and ring's kept and every pin slot empty. */
  private resizePins(capacity: number): void {
    const ring = this.sink + this.window;
    if (capacity !== this.capacity) {
      const grow = <T extends Int32Array>(a: T): T => {
        const out = new Int32Array(capacity) as T;
        out.set(a.subarray(0, ring));
        return out;
      };
      this.pos = grow(this.pos);
      this.ropePos = grow(this.ropePos);
      this.tokenId = grow(this.tokenId);
      this.owner = grow(this.owner);
      this.ownerChar = grow(this.ownerChar);
      this.writtenStep = grow(this.writtenStep);
      this.anchor = grow(this.anchor);
      this.texts.length = ring;
      this.capacity = capacity;
    }
    for (let j = ring; j < capacity; j++) {
      this.emptySlot(j);
      this.anchor[j] = 0;
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
      this.anchor = new Int32Array(capacity);
      this.texts = new Array<string>(capacity).fill('');
    }
    for (let j = 0; j < capacity; j++) this.emptySlot(j);
    this.owners.clear();
    this.ownerIds.length = 0;
    this.step = 0;
  }
}
