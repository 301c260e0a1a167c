// The sending end of the cache view protocol (common/cacheView): turns what happens to the active
// stream's cache (steps, exact rewinds, resets, restores, new streams) into numbered ops carrying each
// token's text and the message it spells, so a receiver mirrors the cache without re-deriving any of it.
// Runs in the engine host thread.
import { attentionFrame } from '../../common/attentionView';
import type { ChatMessage } from '../../common/chat';
import type { CacheDelta, CacheFullView, CacheRow, CacheViewEvent, CacheViewOp } from '../../common/cacheView';
import type { SinkRingCache } from '../engine/cache/sinkRingCache';
import type { ChatSession, GenerateHooks } from '../engine/chatSession';
import type { TextTokenizer } from '../engine/text/tokenizer';
import type { ViewLabels } from './protocol';

/** What the feed names owners with: the conversation's message texts and ids, in prompt order. */
interface Labels {
  readonly contents: readonly string[];
  readonly ids: readonly string[];
}

/** The hooks that report what a session does to its cache, to spread into its hooks. */
export type CacheHooks = Required<Pick<GenerateHooks, 'onDelta' | 'onRewind' | 'onReset'>>;

/** The hooks of one turn (a generate or a rebuild). */
export type TurnHooks = CacheHooks & {
  /** Call for every `token` hook first: the reply's tokens begin (they belong to the reply, not the prompt). */
  readonly onToken: () => void;
  /** The turn ended with `reply` (the reply's text; null for a rebuild): its tokens keep their owner. */
  end(reply: string | null): void;
};

/**
 * Owns the op counter and the labels; borrows the session it is handed. `seq` counts every op this host
 * sent, so a receiver that missed one (it joined late, or ignored another conversation's) sees the gap.
 */
export class CacheViewFeed {
  private seq = 0;
  private stream = '';
  private labels: Labels | null = null;
  /** The cache the last op described: another one (a new stream) is announced with `start`. */
  private cache: SinkRingCache | null = null;
  /** While the attention view is open: the layer it shows (null: the mean over layers). */
  private attentionLayer: number | null | undefined = undefined;
  /** Pinned tokens as the last op left them for the receiver. */
  private pinned = 0;

  constructor(
    private readonly emit: (event: CacheViewEvent) => void,
    private readonly tokenizer: () => TextTokenizer | null,
  ) {}

  /**
   * The hooks that report one turn of `session`. `prompt` (a chat prompt's messages) and `view` name the
   * owners; without them tokens name no message. `replyId` owns the tokens decoded after `onToken`.
   */
  turn(session: ChatSession, prompt: readonly ChatMessage[] | null, view: ViewLabels | undefined, replyId: string | null): TurnHooks {
    this.label(prompt, view);
    let replyStart = -1;
    return {
      ...this.follow(session, () => (replyStart >= 0 && replyId !== null ? { id: replyId, start: replyStart } : null)),
      onToken: () => {
        if (replyStart >= 0) return;
        replyStart = session.fedChars;
        this.messages(session);
      },
      end: (reply) => {
        if (replyStart < 0) this.messages(session);
        if (reply !== null && replyId !== null && this.labels) {
          this.labels = { contents: [...this.labels.contents, reply], ids: [...this.labels.ids, replyId] };
        }
      },
    };
  }

  /**
   * The hooks that report `session`'s steps, rewinds and resets outside a turn (the `rewind` verb), named
   * by the latest labels. `reply` says whose tokens decoded ones are, while a reply is decoded.
   */
  follow(session: ChatSession, reply: () => { id: string; start: number } | null = () => null): CacheHooks {
    return {
      onDelta: (delta) => this.write(session, delta, reply()),
      onRewind: (to, from) => this.rewind(session, to, from),
      onReset: () => this.reset(session),
    };
  }

  /**
   * Opens the attention view on `layer` (null: the mean over layers), or closes it (undefined): while
   * open, each `write` op carries the step's attention, when the session reported one.
   */
  showAttention(layer: number | null | undefined): void {
    this.attentionLayer = layer;
  }

  /** The stream was emptied for a new conversation (`stream` names it): a new stream, announced with `start`. */
  emptied(session: ChatSession | null, stream: string | undefined): void {
    this.stream = stream ?? '';
    this.labels = null;
    const cache = session?.kvCache;
    if (cache) this.start(cache);
  }

  /** `session` continues from a snapshot: the whole view goes out as a `restore` op. */
  restored(session: ChatSession, prompt: readonly ChatMessage[] | undefined, view: ViewLabels | undefined): void {
    this.stream = view?.stream ?? '';
    this.label(prompt ?? null, view);
    this.cache = session.kvCache;
    this.pinned = this.cache?.pinnedTokens ?? 0;
    const full = this.fullView(session, this.labels, this.seq + 1);
    if (full) this.send({ kind: 'restore', view: full });
  }

  /**
   * The whole view as of the latest op. With `prompt`, slots name its messages (by `view.ids` when given,
   * which later ops use too); without, by the labels of the latest turn, if any named them.
   */
  view(session: ChatSession | null, prompt: readonly ChatMessage[] | undefined, view: ViewLabels | undefined): CacheFullView | null {
    if (prompt && view) this.label(prompt, view);
    return this.fullView(session, prompt ? { contents: prompt.map((m) => m.content), ids: view?.ids ?? [] } : this.labels, this.seq);
  }

  private fullView(session: ChatSession | null, labels: Labels | null, seq: number): CacheFullView | null {
    const cache = session?.kvCache;
    const tokenizer = this.tokenizer();
    if (!session || !cache || !tokenizer) return null;
    const view = cache.view();
    const texts = view.slots.map((s) => (s.tokenId >= 0 ? tokenizer.tokenText(s.tokenId) : ''));
    const base = { ...view, texts, seq, stream: this.stream };
    if (!labels) return base;
    const owners = session.textOwners(
      labels.contents,
      view.slots.map((s) => s.pos),
    );
    return { ...base, owners: labels.ids.length > 0 ? { ...owners, ids: labels.ids } : owners };
  }

  private label(prompt: readonly ChatMessage[] | null, view: ViewLabels | undefined): void {
    if (view) this.stream = view.stream;
    this.labels = prompt && view && view.ids.length === prompt.length ? { contents: prompt.map((m) => m.content), ids: view.ids } : null;
  }

  private write(session: ChatSession, delta: CacheDelta, reply: { id: string; start: number } | null): void {
    const cache = this.started(session);
    if (!cache) return;
    const positions = delta.writes.map((w) => w.pos);
    const owners = reply ? null : this.owners(session, positions);
    const rows = delta.writes.map((w, i): CacheRow => {
      const row = { slot: w.slot, pos: w.pos, tokenId: w.tokenId, ropePos: w.ropePos, text: this.text(w.tokenId) };
      // A decoded token begins where the fed text ends (its own text is appended after it is fed).
      if (reply) return { ...row, message: reply.id, char: session.fedChars - reply.start };
      return { ...row, ...(owners?.[i] ?? { message: null, char: -1 }) };
    });
    const { writes: _writes, rebased, ...header } = delta;
    const layer = this.attentionLayer;
    const attention = layer === undefined ? null : session.lastAttention;
    const frame = layer !== undefined && attention && attentionFrame(attention, layer !== null && layer < attention.layers.length ? layer : null, cache.sink, cache.slotPos);
    this.send({ kind: 'write', rows, rebased, header, ...(frame && { attention: frame }) });
  }

  /** After an exact rewind from `from` tokens to `to`: every slot those positions wrote, as it is now. */
  private rewind(session: ChatSession, to: number, from: number): void {
    const cache = this.started(session);
    if (!cache) return;
    const slots = new Set<number>();
    for (let p = to; p < from && slots.size < cache.capacity; p++) {
      const j = cache.slotOf(p);
      if (cache.slotPos[j] >= 0) slots.add(j);
    }
    const held = [...slots];
    const owners = this.owners(
      session,
      held.map((j) => cache.slotPos[j]),
    );
    const view = cache.view();
    const restored = held.map((j, i): CacheRow => {
      const s = view.slots[j];
      return { slot: j, pos: s.pos, tokenId: s.tokenId, ropePos: s.ropePos, text: this.text(s.tokenId), ...(owners?.[i] ?? { message: null, char: -1 }) };
    });
    this.send({ kind: 'rewind', to, restored, header: cache.header() });
    // A rewind drops whole pinned spans it cuts into; the receiver emptied only their positions from `to` on.
    if (this.pinned > 0) this.pinsChanged(session);
  }

  private reset(session: ChatSession): void {
    const cache = this.started(session);
    if (!cache) return;
    this.send({ kind: 'reset', header: cache.header() });
    // A re-prefill keeps the pins before the cut: the receiver emptied every slot, pin slots too.
    if (cache.pinnedTokens > 0) this.pinsChanged(session);
  }

  /** The pinned spans changed (pin, unpin, a rewind that cut one): the pin slots as they are now. */
  pinsChanged(session: ChatSession): void {
    const cache = this.started(session);
    if (!cache) return;
    const view = cache.view();
    const held = view.slots.filter((s) => s.kind === 'pin' && s.pos >= 0);
    const owners = this.owners(
      session,
      held.map((s) => s.pos),
    );
    const rows = held.map((s, i): CacheRow => ({
      slot: s.slot,
      pos: s.pos,
      tokenId: s.tokenId,
      ropePos: s.ropePos,
      text: this.text(s.tokenId),
      ...(owners?.[i] ?? { message: null, char: -1 }),
    }));
    this.send({ kind: 'pins', pins: view.pins, capacity: view.capacity, rows, header: cache.header() });
    this.pinned = rows.length;
  }

  /** Pinned characters and unfed messages, once the prompt is fed (they change only with the prompt). */
  private messages(session: ChatSession): void {
    const labels = this.labels;
    if (!labels || !this.started(session)) return;
    const owners = session.textOwners(labels.contents, []);
    const pinnedChars: Record<string, number> = {};
    const unfed: string[] = [];
    labels.ids.forEach((id, k) => {
      if (owners.pinnedChars[k] > 0) pinnedChars[id] = owners.pinnedChars[k];
      if (!owners.located[k]) unfed.push(id);
    });
    this.send({ kind: 'messages', pinnedChars, unfed });
  }

  /** The session's cache, announced with `start` when it is not the one the last op described. */
  private started(session: ChatSession): SinkRingCache | null {
    const cache = session.kvCache;
    if (!cache) return null;
    if (cache !== this.cache) this.start(cache);
    return cache;
  }

  /** Announces `cache` as a new, empty stream (its first op finds it empty; a restored one goes by `restored`). */
  private start(cache: SinkRingCache): void {
    this.cache = cache;
    this.pinned = 0;
    const { sink, window, capacity, pinBudget, positions } = cache;
    const header = { nextPos: 0, head: 0, evicted: 0, firstVisible: sink, offset: 0, sinkRopeShift: 0 };
    this.send({ kind: 'start', geometry: { sink, window, capacity, pinBudget, positions }, header });
  }

  private owners(session: ChatSession, positions: readonly number[]): { message: string | null; char: number }[] | null {
    const labels = this.labels;
    if (!labels || positions.length === 0) return null;
    const owners = session.textOwners(labels.contents, positions);
    return positions.map((_, i) => {
      const m = owners.message[i];
      return m >= 0 ? { message: labels.ids[m], char: owners.char[i] } : { message: null, char: -1 };
    });
  }

  private text(tokenId: number): string {
    return this.tokenizer()?.tokenText(tokenId) ?? '';
  }

  private send(op: CacheViewOp): void {
    this.emit({ type: 'cacheView', viewSeq: ++this.seq, stream: this.stream, op });
  }
}
