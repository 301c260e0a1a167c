// Chat turns: store the user's message, stream the reply into its conversation file while the engine
// host generates it, end it with its stats, and keep the host's stream in step with the conversation
// (regenerate and edit are truncations the engine rewinds through). One turn at a time. Runs in main.
import { ATTENTION_FRAME_MS, type AttentionAvailability } from '../../common/attentionView';
import type { CacheFullView } from '../../common/cacheView';
import { randomUUID } from 'node:crypto';
import type { AppEvent, Conversation, SendPreview, StreamStart } from '../../common/contract';
import type { HostResult } from '../host/protocol';
import type { EngineHostClient } from '../host/engineHostClient';
import type { CharSpan, Message, Pin } from '../../common/conversationSchema';
import type { ConversationStore, LoadedConversation } from '../storage/conversationStore';
import { effectiveChatSettings, type AppSettings } from '../../common/settingsSchema';
import type { StreamEnd, StreamWriter } from '../storage/streamWriter';
import type { HostEvent } from '../host/protocol';
import { fail, toApiError } from './apiFailure';
import type { ConversationStreams } from './conversationStreams';
import { chatPrompt, engineCacheSettings, generateRequest, messageStats, randomSeed, viewLabels } from './generateRequest';
import type { EngineOwner } from './engineOwner';
import type { ModelManager } from './modelManager';

export interface ChatOrchestratorDeps {
  readonly store: ConversationStore;
  /** The engine's owner: the chats are one of its clients (the local server is another). */
  readonly engine: EngineOwner;
  readonly models: ModelManager;
  readonly streams: ConversationStreams;
  readonly settings: () => AppSettings;
  readonly emit: (event: AppEvent) => void;
  /** The conversation list changed (a message was added or ended). */
  readonly listChanged: () => void;
  /** Seed for replies whose settings leave it null (tests pin it). */
  readonly seed?: () => number;
}

/** A reply being generated. */
interface Turn {
  readonly conversationId: string;
  readonly replyId: string;
  readonly seq: number;
  readonly host: EngineHostClient;
  readonly writer: StreamWriter;
  /** The host has answered (the renderer has seen `done`); only storing the reply remains. */
  answered: boolean;
  done: Promise<void>;
}

/** What a turn's preparation did to the conversation before the reply starts. */
interface Prepared {
  readonly userMessage?: Message;
  /** The conversation's messages now, which the reply answers. */
  readonly messages: readonly Message[];
}

const BUSY = 'A reply is still being written. Stop it or wait for it to finish.';

export class ChatOrchestrator {
  private turn: Turn | null = null;
  private starting = false;

  constructor(private readonly deps: ChatOrchestratorDeps) {
    deps.engine.supervisor.onEvent((event) => this.onHostEvent(event));
  }

  /** True while a reply is starting or streaming. */
  get busy(): boolean {
    return this.turn !== null || this.starting;
  }

  send(conversationId: string, content: string): Promise<StreamStart> {
    return this.startTurn(conversationId, async (c) => {
      const userMessage = await this.deps.store.appendMessage(conversationId, { role: 'user', content });
      return { userMessage, messages: [...c.messages, userMessage] };
    });
  }

  /** Drops the last reply (everything after the last user message) and answers that message again. */
  regenerate(conversationId: string): Promise<StreamStart> {
    return this.startTurn(conversationId, async (c) => {
      const last = c.messages.findLastIndex((m) => m.role === 'user');
      if (last < 0) fail('bad-request', 'There is nothing to regenerate: this conversation has no message of yours yet.');
      await this.deps.store.truncateAfter(conversationId, c.messages[last].id);
      return { messages: c.messages.slice(0, last + 1) };
    });
  }

  /** Replaces user message `messageId` with `content`, dropping everything after it, and answers it. */
  edit(conversationId: string, messageId: string, content: string): Promise<StreamStart> {
    return this.startTurn(conversationId, async (c) => {
      const at = c.messages.findIndex((m) => m.id === messageId);
      if (at < 0) fail('not-found', `Message ${messageId} is not in this conversation (it may have been replaced already).`);
      if (c.messages[at].role !== 'user') fail('bad-request', 'Only your own messages can be edited; regenerate a reply instead.');
      await this.deps.store.truncateAfter(conversationId, at === 0 ? null : c.messages[at - 1].id);
      const userMessage = await this.deps.store.appendMessage(conversationId, { role: 'user', content });
      return { userMessage, messages: [...c.messages.slice(0, at), userMessage] };
    });
  }

  /**
   * Shows version `messageId` of the last reply (Conversation.replyVersions) in its place. The host's
   * stream follows the thread at once (rebuilt on it, those tokens counted), so the cache view, the
   * horizon and the next turn see the version shown.
   */
  async showVersion(conversationId: string, messageId: string): Promise<{ conversation: Conversation; reprocessedTokens: number }> {
    await this.finishing();
    if (this.busy) fail('busy', BUSY);
    const before = await this.deps.store.load(conversationId);
    const last = before.messages.at(-1);
    if (last?.role !== 'assistant' || last.parentId === undefined) fail('bad-request', 'Only the last reply has versions to show.');
    if (last.id === messageId) return { conversation: before, reprocessedTokens: 0 };
    await this.prepareStream(before, true);
    const conversation = await this.deps.store.showVersion(conversationId, last.parentId, messageId);
    this.deps.listChanged();
    const settings = effectiveChatSettings(this.deps.settings(), conversation.settings);
    const prompt = chatPrompt(settings.systemPrompt, conversation.messages);
    const reprocessedTokens = await this.deps.engine.exclusive(() =>
      this.deps.streams.follow(conversation, engineCacheSettings(settings.cache), prompt),
    );
    return { conversation, reprocessedTokens };
  }

  /** Stops the reply streaming in `conversationId` at its next token (a no-op if none is). */
  async stop(conversationId: string): Promise<void> {
    const turn = this.turn;
    if (!turn || turn.conversationId !== conversationId) return;
    await this.deps.engine.cancel(turn.host, turn.seq);
  }

  /**
   * Loads a conversation and, when the engine is free, moves the host's stream to it. A damaged file
   * opens read-only: its readable messages, `readOnly` saying why, and the engine left as it is.
   */
  async open(conversationId: string): Promise<{ conversation: Conversation; notice?: string; readOnly?: string }> {
    const { recovered, damage, ...conversation } = await this.deps.store.loadReadable(conversationId);
    if (recovered) {
      this.notice('warning', `The end of this conversation's file was incomplete (the app stopped while writing); ${recovered.droppedBytes} bytes were left out.`);
    }
    if (damage) return { conversation, readOnly: damage.message };
    if (this.busy || !this.deps.models.current) return { conversation };
    try {
      const notice = await this.prepareStream(conversation);
      return notice ? { conversation, notice } : { conversation };
    } catch (err) {
      this.notice('error', `The model could not take up this conversation: ${toApiError(err).message}`);
      return { conversation };
    }
  }

  /** How many tokens `draft` would add and how many the model would stop seeing. */
  async preview(conversationId: string, draft: string): Promise<SendPreview> {
    await this.finishing();
    if (this.busy) fail('busy', BUSY);
    const conversation = await this.deps.store.load(conversationId);
    await this.prepareStream(conversation, true);
    const settings = effectiveChatSettings(this.deps.settings(), conversation.settings);
    const prompt = chatPrompt(settings.systemPrompt, [...conversation.messages, { role: 'user', content: draft }]);
    return this.deps.engine.request('preview', { stream: this.deps.streams.streamId, prompt, cache: engineCacheSettings(settings.cache) });
  }

  /**
   * Pins message `messageId` (or its characters `chars`) to the model's memory, or unpins it, in the host's
   * stream, which moves to this conversation first, and stores the conversation's pins. A pin that does not
   * fit or overlaps one already taken is refused (`bad-request`, saying why with the numbers) and nothing
   * is stored. Unpinning with `chars` drops that pinned span; without, every pin of the message.
   */
  async pin(conversationId: string, messageId: string, pinned: boolean, chars?: CharSpan): Promise<{ pins: Pin[]; reprocessedTokens: number }> {
    await this.finishing();
    if (this.busy) fail('busy', BUSY);
    const conversation = await this.deps.store.load(conversationId);
    const message = conversation.messages.find((m) => m.id === messageId);
    if (!message) fail('not-found', `Message ${messageId} is not in this conversation.`);
    if (chars && chars.end > message.content.length) {
      fail('bad-request', `Characters ${chars.start}–${chars.end} are not in this ${message.content.length}-character message.`);
    }
    const held = conversation.pins ?? [];
    const mine = held.filter((p) => p.messageId === messageId);
    if (pinned) {
      const clash = mine.find((p) => spansOverlap(p.chars, chars, message.content.length));
      if (clash) fail('bad-request', overlapMessage(clash, chars));
    } else if (chars && !mine.some((p) => sameSpan(p.chars, chars))) {
      fail('not-found', `Characters ${chars.start}–${chars.end} of this message are not a pinned span.`);
    }
    await this.prepareStream(conversation, true);
    if (pinned && this.deps.streams.activeFor(conversationId)?.cache === null) {
      fail('bad-request', 'The model has not read this conversation since it was reopened (its saved context could not be used); it reads it again with your next message, and text can be pinned then.');
    }
    const settings = effectiveChatSettings(this.deps.settings(), conversation.settings);
    const prompt = chatPrompt(settings.systemPrompt, conversation.messages);
    const index = viewLabels(conversationId, prompt, conversation.messages).ids.indexOf(messageId);
    const reprocessedTokens = await this.deps.engine.exclusive(async () => {
      const args = { stream: this.deps.streams.streamId, messages: prompt.messages, index, ...(chars && { chars }) };
      let fed = 0;
      if (pinned) fed = (await this.deps.engine.request('pin', args)).reprocessedTokens;
      else await this.deps.engine.request('unpin', args);
      const active = this.deps.streams.activeFor(conversationId);
      if (active) active.dirty = true;
      return fed;
    });
    const pins = pinned
      ? [...held, { messageId, ...(chars && { chars: { start: chars.start, end: chars.end } }) }]
      : held.filter((p) => p.messageId !== messageId || (chars !== undefined && !sameSpan(p.chars, chars)));
    await this.deps.store.updatePins(conversationId, pins);
    return { pins, reprocessedTokens };
  }

  /**
   * The host's cache view (the cache view protocol's full view). For `conversationId`, the host's stream
   * moves to that conversation first (as `open` does when the engine is free; new cache settings rebuild
   * it) and every slot also names the message it spells (`owners`, with the app's message ids; '' stands
   * for the system prompt).
   */
  async cacheView(conversationId?: string): Promise<CacheFullView | null> {
    await this.finishing();
    if (this.busy) fail('busy', 'A reply is streaming; the cache view follows it through its events.');
    if (!this.deps.models.loadedNow) return null;
    const stream = this.deps.streams.streamId;
    if (conversationId === undefined) return this.deps.engine.request('cacheView', { stream });
    const conversation = await this.deps.store.load(conversationId);
    await this.prepareStream(conversation, true);
    const settings = effectiveChatSettings(this.deps.settings(), conversation.settings);
    const prompt = chatPrompt(settings.systemPrompt, conversation.messages);
    return this.deps.engine.request('cacheView', { stream, messages: prompt.messages, view: viewLabels(conversationId, prompt, conversation.messages) });
  }

  /**
   * Opens the attention view on `layer` (null: the mean over layers) or closes it. Also while a reply
   * streams: the host answers at once and the reply's next step follows. Null when no model is loaded.
   */
  async cacheAttention(open: boolean, layer: number | null): Promise<AttentionAvailability | null> {
    if (!this.deps.models.loadedNow) return null;
    // The panel takes a frame at most every ATTENTION_FRAME_MS (the steps between pay nothing for the view),
    // and each layer's row only while it shows one layer (else the mean over layers, 1/L of the data).
    return this.deps.engine.request('attention', { stream: this.deps.streams.streamId, open, layer, everyMs: ATTENTION_FRAME_MS, perLayer: layer !== null });
  }

  /** Stops the reply of `conversationId` (if any) and waits for it to be stored: before deleting it. */
  async settle(conversationId?: string): Promise<void> {
    const turn = this.turn;
    if (!turn || (conversationId !== undefined && turn.conversationId !== conversationId)) return;
    await this.deps.engine.cancel(turn.host, turn.seq);
    await turn.done;
  }

  /** Resolves when no reply streams and every queued engine step (snapshots) is done. */
  async idle(): Promise<void> {
    while (this.turn) await this.turn.done;
    await this.deps.engine.idle();
  }

  /** Ensures the model is loaded and the host's stream is this conversation's; emits a rebuild notice. */
  private async prepareStream(conversation: Readonly<Conversation>, announce = false): Promise<string | null> {
    const { model } = await this.deps.models.ensureLoaded();
    const settings = effectiveChatSettings(this.deps.settings(), conversation.settings);
    const cache = engineCacheSettings(settings.cache);
    const prompt = chatPrompt(settings.systemPrompt, conversation.messages);
    const notice = await this.deps.engine.exclusive(() => this.deps.streams.switchTo(conversation, model.id, cache, prompt));
    if (notice && announce) this.notice('info', notice);
    return notice;
  }

  /** A reply the host has answered is only being stored: callers wait for that instead of being refused. */
  private async finishing(): Promise<void> {
    const turn = this.turn;
    if (turn?.answered) await turn.done;
  }

  private async startTurn(conversationId: string, prepare: (c: LoadedConversation) => Promise<Prepared>): Promise<StreamStart> {
    await this.finishing();
    if (this.busy) fail('busy', BUSY);
    this.starting = true;
    try {
      const { engine, streams, store } = this.deps;
      const before = await store.load(conversationId);
      // The stream moves here before this turn's changes, so only earlier turns count as context to rebuild.
      await this.prepareStream(before, true);
      const prepared = await prepare(before);
      this.deps.listChanged();
      const { messages } = prepared;
      const settings = effectiveChatSettings(this.deps.settings(), before.settings);
      const replyId = randomUUID();
      const request = generateRequest(streams.streamId, settings, conversationId, messages, replyId, this.deps.seed ?? randomSeed);
      const active = streams.activeFor(conversationId);
      if (active) Object.assign(active, { dirty: true, cache: request.cache });

      const writer = await store.beginStreaming(conversationId, replyId);
      const started = engine.generate(request);
      const turn: Turn = { conversationId, replyId, seq: started.seq, host: started.host, writer, answered: false, done: Promise.resolve() };
      this.turn = turn;
      turn.done = this.finish(turn, started.result);
      const parentId = messages.at(-1)?.id;
      const reply: Message = {
        id: replyId,
        role: 'assistant',
        content: '',
        createdAt: Date.now(),
        status: 'streaming',
        ...(parentId === undefined ? {} : { parentId }),
      };
      return { seq: started.seq, conversationId, ...(prepared.userMessage ? { userMessage: prepared.userMessage } : {}), reply };
    } finally {
      this.starting = false;
    }
  }

  /** Ends the reply when the host answers: final record, `message` event, then the stream's snapshot. */
  private async finish(turn: Turn, result: Promise<HostResult<'generate'>>): Promise<void> {
    let end: StreamEnd;
    let ok = false;
    try {
      const r = await result;
      turn.answered = true;
      end =
        r.reason === 'cancelled'
          ? { status: 'stopped', content: r.text, stats: messageStats(r.stats) }
          : { status: 'complete', content: r.text, stats: messageStats(r.stats), endReason: r.reason };
      ok = true;
    } catch (err) {
      turn.answered = true;
      end = { status: 'error', error: `The reply failed: ${toApiError(err).message}` };
    }
    let message: Message | null = null;
    try {
      message = await turn.writer.end(end);
    } catch (err) {
      this.notice('error', `The reply could not be saved: ${toApiError(err).message}`);
    }
    this.turn = null;
    if (message) this.deps.emit({ type: 'message', conversationId: turn.conversationId, message });
    this.deps.listChanged();
    // A failed turn may leave the host's stream half-way: forget it, so the next turn restores or rebuilds.
    await this.deps.engine.exclusive(async () => {
      if (!ok) return this.deps.streams.forget(turn.conversationId);
      // A stream that started empty was fed the conversation by this turn: its pins can be taken now.
      if (this.deps.streams.activeFor(turn.conversationId)?.pinsPending) {
        const conversation = await this.deps.store.load(turn.conversationId);
        const settings = effectiveChatSettings(this.deps.settings(), conversation.settings);
        await this.deps.streams.applyPins(conversation, chatPrompt(settings.systemPrompt, conversation.messages));
      }
      await this.deps.streams.saveActive();
    });
  }

  private onHostEvent(event: HostEvent): void {
    const turn = this.turn;
    // Seqs restart with every host: an event counts only if it comes from the turn's own host.
    if (!turn || event.type === 'cacheView' || event.seq !== turn.seq || turn.host !== this.deps.engine.supervisor.client) return;
    if (event.type === 'done' || event.type === 'error') turn.answered = true;
    if ((event.type === 'token' || event.type === 'partial') && !turn.writer.detached) {
      try {
        turn.writer.append(event.text);
      } catch {
        // The writer already ended (the reply arrived first): its final record holds the whole text.
      }
    }
  }

  private notice(level: 'info' | 'warning' | 'error', text: string): void {
    this.deps.emit({ type: 'notice', level, text });
  }
}

/** Whether two pins of one `length`-character message overlap (no span: the whole message). */
function spansOverlap(a: CharSpan | undefined, b: CharSpan | undefined, length: number): boolean {
  const x = a ?? { start: 0, end: length };
  const y = b ?? { start: 0, end: length };
  return x.start < y.end && y.start < x.end;
}

function sameSpan(a: CharSpan | undefined, b: CharSpan): boolean {
  return a !== undefined && a.start === b.start && a.end === b.end;
}

/** Why a pin of `chars` (none: the whole message) is refused: `clash`, a pin of the same message, overlaps it. */
function overlapMessage(clash: Pin, chars: CharSpan | undefined): string {
  if (!clash.chars) return 'This whole message is pinned already.';
  const taken = `characters ${clash.chars.start}–${clash.chars.end}`;
  return chars
    ? `The selection overlaps text of this message that is pinned already (${taken}); unpin that span first (click its highlight).`
    : `Part of this message is pinned already (${taken}); unpin that span first (click its highlight) to pin the whole message.`;
}
