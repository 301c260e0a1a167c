// Which conversation the app's chat stream in the engine host belongs to, and moving it between
// conversations: save the outgoing one as a snapshot beside its file, restore the incoming one's, or start
// it empty and say so; new cache settings rebuild it at once. Runs in main; every method runs inside the
// engine lock (EngineOwner.exclusive).
import { stat } from 'node:fs/promises';
import { sameCacheSettings, type CacheSettings } from '../engine/chatTypes';
import { HostRequestError } from '../host/engineHostClient';
import type { Conversation } from '../../common/conversationSchema';
import type { ConversationStore } from '../storage/conversationStore';
import type { StreamId } from '../host/protocol';
import type { EngineOwner } from './engineOwner';
import { viewLabels, type ChatPrompt } from './generateRequest';

/** The conversation the host's stream holds. Owned by ConversationStreams; turns update the flags. */
export interface ActiveStream {
  readonly conversationId: string;
  readonly modelId: string;
  /** The supervisor generation of the host holding it (a restarted host holds nothing). */
  readonly generation: number;
  /** Cache settings of the stream; null while it is empty (any settings start it). */
  cache: CacheSettings | null;
  /** Changed since its snapshot was last written. */
  dirty: boolean;
  /** The conversation's pinned messages are still to be pinned (the stream started empty; a turn feeds it). */
  pinsPending: boolean;
}

export class ConversationStreams {
  private current: ActiveStream | null = null;
  /** The host stream the app's chats use (one at a time: conversations take turns through snapshots). */
  readonly streamId: StreamId;

  constructor(
    private readonly engine: EngineOwner,
    private readonly store: ConversationStore,
    private readonly warn: (text: string) => void,
  ) {
    this.streamId = engine.newStream('chat');
  }

  /** The active stream if it is `conversationId`'s on the current host. */
  activeFor(conversationId: string): ActiveStream | null {
    const a = this.current;
    return a && a.conversationId === conversationId && a.generation === this.engine.supervisor.generation ? a : null;
  }

  /**
   * Makes the host's stream `conversation`'s (read by the engine as `prompt`) for `modelId` with `cache`
   * settings. Returns a notice for the user when its context has to be rebuilt (no snapshot, another
   * model, other cache settings). New cache settings rebuild the stream now, so the cache view, the
   * horizon and the send preview show the new geometry before the next reply.
   */
  async switchTo(conversation: Readonly<Conversation>, modelId: string, cache: CacheSettings, prompt: ChatPrompt): Promise<string | null> {
    const hasHistory = conversation.messages.length > 0;
    const same = this.activeFor(conversation.id);
    if (same && same.modelId === modelId) {
      if (same.cache === null || sameCacheSettings(same.cache, cache)) return null;
      same.cache = cache;
      if (!hasHistory) return null;
      await this.rebuild(conversation, cache, prompt);
      await this.applyPins(conversation, prompt);
      same.dirty = true;
      return rebuiltNotice('its cache settings changed', true);
    }
    await this.saveActive();
    this.current = null;
    const generation = this.engine.supervisor.generation;
    const start = (streamCache: CacheSettings | null): ActiveStream =>
      (this.current = { conversationId: conversation.id, modelId, generation, cache: streamCache, dirty: false, pinsPending: false });
    if (!hasHistory) {
      await this.engine.request('reset', { stream: this.streamId, view: conversation.id });
      start(null);
      return null;
    }
    const path = this.store.snapshotPath(conversation.id);
    let reason: string;
    if (!(await stat(path).catch(() => null))) {
      reason = 'no saved context was found for it';
    } else {
      try {
        const view = viewLabels(conversation.id, prompt, conversation.messages);
        const info = await this.engine.request('restore', { stream: this.streamId, path, modelId, messages: prompt.messages, view });
        if (sameCacheSettings(info.settings, cache)) {
          start(info.settings);
          return null;
        }
        await this.rebuild(conversation, cache, prompt);
        start(cache).dirty = true;
        await this.applyPins(conversation, prompt);
        return rebuiltNotice('its cache settings changed since it was saved', true);
      } catch (err) {
        if (!(err instanceof HostRequestError) || !err.code.startsWith('snapshot-')) throw err;
        reason = err.code === 'snapshot-mismatch' ? 'it was saved with another model' : `its saved context could not be used (${err.message})`;
      }
    }
    // The host may still hold the previous conversation's stream: empty it so nothing leaks across.
    await this.engine.request('reset', { stream: this.streamId, view: conversation.id });
    start(null).pinsPending = (conversation.pins?.length ?? 0) > 0;
    return rebuiltNotice(reason);
  }

  /** Writes the active stream's snapshot if it changed since the last one (a failure is only reported). */
  async saveActive(): Promise<void> {
    const a = this.current;
    if (!a || !a.dirty || a.generation !== this.engine.supervisor.generation) return;
    try {
      const path = this.store.snapshotPath(a.conversationId);
      await this.engine.request('snapshot', { stream: this.streamId, path, meta: { modelId: a.modelId } });
      a.dirty = false;
    } catch (err) {
      this.warn(`The model's memory of this conversation could not be saved (${err instanceof Error ? err.message : String(err)}); reopening it will rebuild its context.`);
    }
  }

  /**
   * After `conversation`'s thread changed under its active stream (another reply version shown): the
   * stream is rebuilt on the thread as it is now, so the cache, its view and the next turn follow it.
   * Returns the tokens fed again (0 when the stream is not this conversation's: its next use re-plans).
   */
  async follow(conversation: Readonly<Conversation>, cache: CacheSettings, prompt: ChatPrompt): Promise<number> {
    const active = this.activeFor(conversation.id);
    if (!active) return 0;
    const reprocessed = await this.rebuild(conversation, cache, prompt);
    Object.assign(active, { cache, dirty: true });
    return reprocessed;
  }

  /** A new stream with `cache` settings, fed the sinks and the last W tokens of `conversation`; returns the tokens fed. */
  private async rebuild(conversation: Readonly<Conversation>, cache: CacheSettings, prompt: ChatPrompt): Promise<number> {
    const info = await this.engine.request('rebuild', { stream: this.streamId, prompt, cache, view: viewLabels(conversation.id, prompt, conversation.messages) });
    return info.reprocessedTokens;
  }

  /**
   * Pins `conversation`'s pinned messages and spans in the host's stream, which holds it (rebuilt, or fed by a turn):
   * a pin that no longer fits (a smaller budget) is reported and skipped.
   */
  async applyPins(conversation: Readonly<Conversation>, prompt: ChatPrompt): Promise<void> {
    const active = this.activeFor(conversation.id);
    if (active) active.pinsPending = false;
    const { ids } = viewLabels(conversation.id, prompt, conversation.messages);
    for (const { messageId, chars } of conversation.pins ?? []) {
      const index = ids.indexOf(messageId);
      if (index < 0) continue;
      try {
        await this.engine.request('pin', { stream: this.streamId, messages: prompt.messages, index, ...(chars && { chars }) });
      } catch (err) {
        if (!(err instanceof HostRequestError) || err.code !== 'pin-refused') throw err;
        this.warn(`A pinned message could not be pinned again: ${err.message}`);
      }
    }
  }

  /** Forgets the active stream if it is `conversationId`'s (deleted, or left unusable by a failed turn). */
  forget(conversationId: string): void {
    if (this.current?.conversationId === conversationId) this.current = null;
  }

  /** Forgets the active stream, whatever it is (the host dropped it: model change or restart). */
  forgetAll(): void {
    this.current = null;
  }
}

/** `now`: the stream was rebuilt already; otherwise the next reply rebuilds it. */
function rebuiltNotice(reason: string, now = false): string {
  return now
    ? `Context rebuilt: ${reason}. The model read its latest part again (what fits in its window).`
    : `Context rebuilt: ${reason}. The model reads its latest part again (what fits in its window), so the next reply starts more slowly.`;
}
