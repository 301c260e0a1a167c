// What the visualizer sees of the sink-ring cache: a full view, the engine's per-step delta (and how it
// updates a view in O(n + S)), and the cache view protocol the engine host sends the renderer: numbered
// ops carrying everything the panel shows, so the renderer mirrors the cache and derives none of it.
// Plain data; built in the engine host, applied wherever the view is kept.

import type { AttentionFrame } from './attentionView';
import type { PositionsMode } from './cacheGeometry';

/** Which region a slot belongs to: the sinks, the ring, or the pin slots after it. */
export type SlotKind = 'sink' | 'ring' | 'pin';

/** A pinned span of original positions [start, end). */
export interface PinnedSpan {
  readonly start: number;
  readonly end: number;
}

/** One slot as the visualizer shows it (the caller adds the token text; it has the tokenizer). */
export interface CacheSlotView {
  slot: number;
  /** `pin`: a slot after the ring holding a pinned token (DESIGN §3 "Pinned memory"). */
  kind: SlotKind;
  /** Original position of the token held, -1 when empty. */
  pos: number;
  /**
   * Position RoPE sees for this key at the next step (-1 when empty; tell emptiness by `pos`, since in
   * `original` mode a sink's position goes negative after a rebase).
   */
  ropePos: number;
  /** Token id held, -1 when empty. */
  tokenId: number;
  /** Whether the next step's first query attends to this slot. */
  visible: boolean;
}

/** The whole cache as the next step will see it; `view()` builds a fresh one (O(C)). */
export interface CacheView {
  sink: number;
  window: number;
  /** S + W + the tokens pinned (the pin slots hold exactly what is pinned). */
  capacity: number;
  /** Most tokens that may be pinned. */
  pinBudget: number;
  positions: PositionsMode;
  /** Original position of the next token = tokens seen. */
  nextPos: number;
  /** Position offset subtracted by rebases. */
  offset: number;
  /** Tokens no longer held in any slot. */
  evicted: number;
  /** Slot the next token goes to. */
  head: number;
  /** Oldest window position the next query attends to: max(S, nextPos - W + 1). */
  firstVisible: number;
  /** Sink i's ropePos is `i + sinkRopeShift`; a pinned token's is its anchor plus it (see {@link pinAnchor}). */
  sinkRopeShift: number;
  /** Pinned spans, by start; their tokens are in the pin slots (capacity - S - W of them). */
  pins: readonly PinnedSpan[];
  slots: CacheSlotView[];
}

/** One token written by a step. */
export interface CacheWrite {
  readonly slot: number;
  readonly pos: number;
  readonly tokenId: number;
  /** As {@link CacheSlotView.ropePos}. */
  readonly ropePos: number;
}

/** What a committed step changed, O(n) in size: applying it to the previous view yields the new one. */
export interface CacheDelta {
  readonly writes: readonly CacheWrite[];
  readonly head: number;
  readonly nextPos: number;
  readonly evicted: number;
  readonly firstVisible: number;
  readonly offset: number;
  /** The step rebased positions: every ring slot's ropePos moved to `pos - offset`. */
  readonly rebased: boolean;
  /** Sink i's ropePos is `i + sinkRopeShift` (cache mode: firstVisible - S - offset; original: -offset). */
  readonly sinkRopeShift: number;
}

/**
 * Updates `view` (owned and mutated by the caller) by one step's delta. O(n + S + B), except after a
 * rebase when every ring slot's ropePos moves (O(C), once per rebase). Rewinds, resets and restores make no
 * delta: the cache view protocol sends them as ops of their own ({@link CacheViewOp}).
 */
export function applyCacheDelta(view: CacheView, delta: Readonly<CacheDelta>): void {
  const { sink, window, slots } = view;
  const ring = sink + window;
  if (delta.rebased) {
    for (let j = sink; j < ring; j++) if (slots[j].pos >= 0) slots[j].ropePos = slots[j].pos - delta.offset;
  }
  for (const w of delta.writes) {
    const s = slots[w.slot];
    s.pos = w.pos;
    s.tokenId = w.tokenId;
    s.ropePos = w.ropePos;
    s.visible = true;
  }
  for (let i = 0; i < sink; i++) if (slots[i].pos >= 0) slots[i].ropePos = i + delta.sinkRopeShift;
  // Pinned tokens move with the sinks and show once their ring copy has left the window.
  for (let j = ring; j < slots.length; j++) {
    const s = slots[j];
    if (s.pos < 0) continue;
    s.ropePos += delta.sinkRopeShift - view.sinkRopeShift;
    s.visible = s.pos < delta.firstVisible;
  }
  view.sinkRopeShift = delta.sinkRopeShift;
  // Only the slot about to be overwritten leaves the window (DESIGN §3); every other held slot stays visible.
  const leaving = slots[delta.head];
  if (delta.head >= sink && leaving.pos >= 0 && delta.nextPos - leaving.pos >= window) leaving.visible = false;
  view.nextPos = delta.nextPos;
  view.evicted = delta.evicted;
  view.head = delta.head;
  view.firstVisible = delta.firstVisible;
  view.offset = delta.offset;
}

/**
 * Which message each held token spells (the visualizer's token-to-message map), when `cacheView` was
 * given the conversation's messages.
 */
export interface SlotOwners {
  /** Per slot: index into the messages passed, -1 for template markup and empty slots. */
  readonly message: readonly number[];
  /** Per slot: where the token's text begins in that message's content (UTF-16 units), -1 with message -1. */
  readonly char: readonly number[];
  /** Per message passed: how many leading characters of its content the sinks hold. */
  readonly pinnedChars: readonly number[];
  /** Per message passed: whether the fed text holds it at all (a chat template may leave one out). */
  readonly located: readonly boolean[];
  /** Per message passed: the app's message id ('' for the system prompt), when the caller named them. */
  readonly ids?: readonly string[];
}

/** The cache view with the text of every held token (`texts[j]` for slot j, '' when empty). */
export interface CacheViewWithText extends CacheView {
  readonly texts: readonly string[];
  readonly owners?: SlotOwners;
}

/**
 * A full view as the cache view protocol sends it: `seq` is the last op it includes, `stream` the
 * conversation the engine's stream belongs to ('' when none was named).
 */
export interface CacheFullView extends CacheViewWithText {
  readonly seq: number;
  readonly stream: string;
}

/** What a new stream's cache is laid out as (its capacity then changes only with `pins` ops). */
export interface CacheGeometry {
  readonly sink: number;
  readonly window: number;
  readonly capacity: number;
  readonly pinBudget: number;
  readonly positions: PositionsMode;
}

/** The cache's counters after an op: the next position, its slot, what the next query sees. */
export interface CacheHeader {
  readonly nextPos: number;
  readonly head: number;
  readonly evicted: number;
  readonly firstVisible: number;
  readonly offset: number;
  /** Sink i's ropePos is `i + sinkRopeShift` (see {@link CacheDelta.sinkRopeShift}). */
  readonly sinkRopeShift: number;
}

/** One slot's content as an op sets it: the token, its text and the message it spells. */
export interface CacheRow {
  readonly slot: number;
  readonly pos: number;
  readonly tokenId: number;
  readonly ropePos: number;
  readonly text: string;
  /** The app's id of the message the token spells ('' the system prompt), null for markup or unknown. */
  readonly message: string | null;
  /** Where the token's text begins in that message (UTF-16 units), -1 with no message. */
  readonly char: number;
}

/**
 * One change of the engine's cache, in order, everything the cache panel shows:
 * - `start`: a new, empty stream of this geometry (new settings, a new conversation, a rebuild);
 * - `write`: a committed step's rows (`rebased`: every ring slot's ropePos moved to `pos - offset`), and,
 *   while the attention view is open, the step's attention by slot after it;
 * - `rewind`: every slot holding a position >= `to` is emptied, then `restored` rows are put back (the
 *   undo journal's exact rewind);
 * - `reset`: every slot emptied, the geometry kept (a rewind beyond the journal re-feeds from here);
 * - `restore`: the whole view (a snapshot restored, or a resync after a gap);
 * - `messages`: per message id, the leading characters the sinks hold, and the messages the fed text leaves out;
 * - `pins`: the pinned spans changed (pin, unpin, a rewind that cut one, a re-prefill): the pin slots are
 *   resized to `capacity` (S + W + the tokens pinned) and emptied, then `rows` are put back (a pin slot is
 *   visible once its position is before `firstVisible`).
 */
export type CacheViewOp =
  | { readonly kind: 'start'; readonly geometry: CacheGeometry; readonly header: CacheHeader }
  | { readonly kind: 'write'; readonly rows: readonly CacheRow[]; readonly rebased: boolean; readonly header: CacheHeader; readonly attention?: AttentionFrame }
  | { readonly kind: 'rewind'; readonly to: number; readonly restored: readonly CacheRow[]; readonly header: CacheHeader }
  | { readonly kind: 'reset'; readonly header: CacheHeader }
  | { readonly kind: 'restore'; readonly view: CacheFullView }
  | { readonly kind: 'messages'; readonly pinnedChars: Readonly<Record<string, number>>; readonly unfed: readonly string[] }
  | { readonly kind: 'pins'; readonly pins: readonly PinnedSpan[]; readonly capacity: number; readonly rows: readonly CacheRow[]; readonly header: CacheHeader };

/**
 * What a pinned token's ropePos is measured from: `ropePos - sinkRopeShift` when the op or view that
 * carried it was sent (S + its rank among pinned tokens in cache mode, its position in original mode),
 * so a receiver moves it with the sinks: `ropePos = anchor + sinkRopeShift` after every later op.
 */
export function pinAnchor(ropePos: number, sinkRopeShift: number): number {
  return ropePos - sinkRopeShift;
}

/**
 * The cache view protocol's event: op number `viewSeq` of the engine host's view stream (consecutive from
 * 1 per host; not a request's `seq`), for the stream of conversation `stream`. A receiver that sees a gap
 * asks for a full view.
 */
export interface CacheViewEvent {
  readonly type: 'cacheView';
  readonly viewSeq: number;
  readonly stream: string;
  readonly op: CacheViewOp;
}

/** Ops that replace everything the receiver held, so they apply after a gap too. */
export function selfContained(op: Readonly<CacheViewOp>): boolean {
  return op.kind === 'start' || op.kind === 'restore';
}
