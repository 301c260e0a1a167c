// What the visualizer sees of the sink-ring cache: a full view, the small per-step delta, and how a delta
// updates a view in O(n + S). Plain data; built in the engine host, applied wherever the view is kept.

import type { PositionsMode } from './cacheGeometry';

/** One slot as the visualizer shows it (the caller adds the token text; it has the tokenizer). */
export interface CacheSlotView {
  slot: number;
  kind: 'sink' | 'ring';
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
  capacity: number;
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
 * Updates `view` (owned and mutated by the caller) by one step's delta. O(n + S), except after a rebase
 * when every ring slot's ropePos moves (O(C), once per rebase). After rewind, skipTo, reset or a restore
 * there is no delta: take a fresh `view()`.
 */
export function applyCacheDelta(view: CacheView, delta: Readonly<CacheDelta>): void {
  const { sink, window, slots } = view;
  if (delta.rebased) {
    for (let j = sink; j < slots.length; j++) if (slots[j].pos >= 0) slots[j].ropePos = slots[j].pos - delta.offset;
  }
  for (const w of delta.writes) {
    const s = slots[w.slot];
    s.pos = w.pos;
    s.tokenId = w.tokenId;
    s.ropePos = w.ropePos;
    s.visible = true;
  }
  for (let i = 0; i < sink; i++) if (slots[i].pos >= 0) slots[i].ropePos = i + delta.sinkRopeShift;
  // Only the slot about to be overwritten leaves the window (DESIGN §3); every other held slot stays visible.
  const leaving = slots[delta.head];
  if (delta.head >= sink && leaving.pos >= 0 && delta.nextPos - leaving.pos >= window) leaving.visible = false;
  view.nextPos = delta.nextPos;
  view.evicted = delta.evicted;
  view.head = delta.head;
  view.firstVisible = delta.firstVisible;
  view.offset = delta.offset;
}

/** A slot of the cache view with the token's display text. */
export interface SlotText {
  readonly slot: number;
  readonly text: string;
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
  /** Per message passed: the app's message id ('' for the system prompt); main fills it in. */
  readonly ids?: readonly string[];
}

/** The cache view with the text of every held token (`texts[j]` for slot j, '' when empty). */
export interface CacheViewWithText extends CacheView {
  readonly texts: readonly string[];
  readonly owners?: SlotOwners;
}
