// Cache slice: the visualizer's model of the engine's cache (typed arrays, mutated in place), fed by the
// per-step `cacheDelta` events and refreshed from `cache.view` when the engine is idle; the token-to-
// message map of the live reply; the horizon it publishes once per frame. Renderer.
import type { AppEvent, CacheViewWithText, SendPreview } from '../../common/contract';
import { effectiveChatSettings } from '../../common/settingsSchema';
import { toApiError } from '../bridge';
import type { AppState, SliceCreator, StoreDeps } from './appState';
import { CacheModel } from './cacheModel';
import { LiveAttribution } from './liveAttribution';
import type { Horizon } from './uiSlice';

export type CacheDeltaEvent = Extract<AppEvent, { type: 'cacheDelta' }>;
export type TokenEvent = Extract<AppEvent, { type: 'token' }>;

/**
 * `none`: no model or no conversation; `loading`: the first view is on its way; `ready`: the model shows
 * the engine's cache; `waiting`: a reply streams into a cache the renderer has no view of yet (it
 * appears when the reply ends); `failed`: the view could not be read.
 */
export type CacheStatus = 'none' | 'loading' | 'ready' | 'waiting' | 'failed';

export interface CacheSlice {
  /** The painted model. Mutated in place and never replaced: read it on `cacheVersion`, never render per slot. */
  readonly cacheModel: CacheModel;
  /** Bumped at most once per frame when the model changed: the transient painters' signal. */
  cacheVersion: number;
  cacheStatus: CacheStatus;
  /** Leading characters of each message that the sinks hold, by message id ('' is the system prompt). */
  pinnedChars: Readonly<Record<string, number>>;
  /** Messages the engine's input does not contain (its chat template leaves them out), by id. */
  cacheUnfed: Readonly<Record<string, true>>;
  /** Fetches a fresh view (retrying while main answers `busy`); called on open, after a reply, on reconnect. */
  refreshCacheView(): Promise<void>;
  /** A `cacheDelta` event: applied to the model at once, published with the next frame. */
  applyCacheEvent(event: Readonly<CacheDeltaEvent>): void;
  /** A `token` event: where the reply's token at `pos` begins in its text, and the live decode rate. */
  noteStreamToken(event: Readonly<TokenEvent>): void;
  /** Decode tokens per second over the last tokens of the live reply, or null when none streams. */
  cacheLiveRate(): number | null;
  /** What sending `draft` would push out of the model's view; null while a reply streams or on failure. */
  previewSend(conversationId: string, draft: string): Promise<SendPreview | null>;
}

/** `busy` retries of a refresh (main's turn is still ending): about 6 s in all. */
const REFRESH_RETRIES = 7;
const RETRY_BASE_MS = 50;

export function createCacheSlice(deps: StoreDeps): SliceCreator<CacheSlice> {
  const { api, scheduler, now } = deps;
  return (set, get, store) => {
    const model = new CacheModel();
    const live = new LiveAttribution(model, now);
    let frame: unknown = null;
    let refreshes = 0;

    const flush = (): void => {
      if (frame !== null) scheduler.cancel(frame);
      frame = null;
      const horizon = horizonOf(model, get());
      const before = get().horizon;
      const patch: Partial<AppState> = { cacheVersion: get().cacheVersion + 1 };
      if (!sameHorizon(before, horizon)) patch.horizon = horizon;
      set(patch);
    };
    const publish = (): void => {
      if (frame === null) frame = scheduler.request(flush);
    };

    const loadView = (view: Readonly<CacheViewWithText> | null): void => {
      if (view) model.load(view);
      else model.clear();
      const pinned: Record<string, number> = {};
      const unfed: Record<string, true> = {};
      const owners = view?.owners;
      owners?.ids?.forEach((id, k) => {
        if (owners.pinnedChars[k] > 0) pinned[id] = owners.pinnedChars[k];
        if (owners.located[k] === false) unfed[id] = true;
      });
      if (!sameRecord(get().pinnedChars, pinned)) set({ pinnedChars: pinned });
      if (!sameRecord(get().cacheUnfed, unfed)) set({ cacheUnfed: unfed });
      set({ cacheStatus: view ? 'ready' : 'none' });
      flush();
    };

    /** The StreamStart arrived: the reply and the prompt it answers are known. */
    const startTrack = (s: AppState): void => {
      const stream = s.stream!;
      const prompt = [...s.messages].reverse().find((m) => m.role === 'user' && m.id !== stream.replyId) ?? null;
      if (live.start(stream.seq, stream.replyId, prompt)) publish();
    };

    /** An empty model shaped by the conversation's settings, when they fix the geometry (no `auto`). */
    const startFromSettings = (): boolean => {
      const s = get();
      if (!s.settings) return false;
      const { cache } = effectiveChatSettings(s.settings, s.active?.settings);
      if (cache.sink === 'auto' || cache.window === 'auto') return false;
      model.start(cache.sink, cache.window, cache.positions);
      return true;
    };

    // Outside the set() that triggered it, so a refresh's own updates never nest in another's listeners.
    let queued = false;
    const refreshSoon = (): void => {
      if (queued) return;
      queued = true;
      queueMicrotask(() => {
        queued = false;
        void get().refreshCacheView();
      });
    };
    store.subscribe((s, prev) => {
      if (s.stream && s.stream.seq !== prev.stream?.seq) startTrack(s);
      if (!s.stream && prev.stream) {
        live.end();
        refreshSoon();
      } else if (s.activeId !== prev.activeId || s.currentModel?.dir !== prev.currentModel?.dir) {
        refreshSoon();
      } else if (s.connection === 'open' && prev.connection !== 'open') {
        refreshSoon();
      }
    });

    return {
      cacheModel: model,
      cacheVersion: 0,
      cacheStatus: 'none',
      pinnedChars: {},
      cacheUnfed: {},

      async refreshCacheView() {
        const ticket = ++refreshes;
        const id = get().activeId;
        if (id === null || get().currentModel === null) {
          loadView(null);
          return;
        }
        if (get().stream) return;
        if (!model.loaded) set({ cacheStatus: 'loading' });
        for (let attempt = 0; ; attempt++) {
          try {
            const view = await api.invoke('cache.view', { conversationId: id });
            // A newer refresh, another conversation or a new stream (its deltas build on the old view) wins.
            if (ticket !== refreshes || get().activeId !== id || get().stream) return;
            loadView(view);
            return;
          } catch (error) {
            if (ticket !== refreshes) return;
            if (toApiError(error).code !== 'busy' || attempt >= REFRESH_RETRIES) {
              set({ cacheStatus: 'failed' });
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS << attempt));
          }
        }
      },

      applyCacheEvent(event) {
        const s = get();
        // Deltas of a conversation that is not shown (switched away mid-reply) would paint the wrong cache.
        if (s.stream && s.stream.seq === event.seq && s.stream.conversationId !== s.activeId) return;
        // A stream starting at position 0 may be a new one with another geometry (the settings changed):
        // take the settings' geometry, or wait for the next view when they leave it to the engine.
        if (event.delta.writes[0]?.pos === 0 && model.loaded && !startFromSettings() && model.nextPos > 0) model.clear();
        if (!model.loaded) {
          if (!startFromSettings()) {
            if (s.cacheStatus !== 'waiting') set({ cacheStatus: 'waiting' });
            return;
          }
          set({ cacheStatus: 'ready' });
        }
        if (event.delta.writes.some((w) => w.slot >= model.capacity)) {
          model.clear();
          set({ cacheStatus: 'waiting' });
          publish();
          return;
        }
        model.apply(event.delta, event.texts, live.owners(event.seq, event.delta.writes, event.texts));
        live.applied(event.seq);
        publish();
      },

      noteStreamToken(event) {
        live.token(event.seq, event.pos, event.slot, event.text);
      },

      async previewSend(conversationId, draft) {
        if (get().stream || get().pending) return null;
        try {
          return await api.invoke('chat.preview', { conversationId, draft });
        } catch {
          // Busy (a reply started) or no model: the composer just shows no preview.
          return null;
        }
      },

      cacheLiveRate() {
        return get().stream ? live.rate() : null;
      },
    };
  };
}

/**
 * Where the model's window begins in the transcript: the first visible token that spells a message,
 * from `firstVisible` on; null while nothing has left the window.
 */
export function horizonOf(model: CacheModel, s: Pick<AppState, 'stream'>): Horizon | null {
  if (!model.loaded || model.firstVisible <= model.sink) return null;
  for (let p = model.firstVisible; p < model.nextPos; p++) {
    const j = model.slotHolding(p);
    if (j >= 0 && model.owner[j] >= 0) return { messageId: model.ownerIds[model.owner[j]], charOffset: Math.max(0, model.ownerChar[j]) };
  }
  // Only markup is in view (a reply just started after a long prompt): the horizon is at the reply's start.
  return s.stream ? { messageId: s.stream.replyId, charOffset: 0 } : null;
}

function sameHorizon(a: Horizon | null, b: Horizon | null): boolean {
  return a === b || (a !== null && b !== null && a.messageId === b.messageId && a.charOffset === b.charOffset);
}

function sameRecord<T>(a: Readonly<Record<string, T>>, b: Readonly<Record<string, T>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
