// Cache slice: the visualizer's mirror of the engine's cache (typed arrays, mutated in place), kept by the
// cache view protocol's ops (`cacheView` events) and loaded from a full view on open, after a settings
// change and after a gap in the ops; the horizon it publishes once per frame; the live decode rate.
// Renderer.
import type { AttentionAvailability } from '../../common/attentionView';
import type { AppEvent, CacheFullView, CacheViewEvent, SendPreview } from '../../common/contract';
import { selfContained } from '../../common/cacheView';
import { effectiveChatSettings } from '../../common/settingsSchema';
import { toApiError } from '../bridge';
import type { AppState, SliceCreator, StoreDeps } from './appState';
import { CacheMirror } from './cacheMirror';
import type { Horizon } from './uiSlice';

export type TokenEvent = Extract<AppEvent, { type: 'token' }>;

/**
 * `none`: no model or no conversation in the engine's cache; `loading`: a full view is on its way;
 * `ready`: the mirror shows the engine's cache; `waiting`: ops were missed during a reply, and a full
 * view follows when it ends; `failed`: the view could not be read.
 */
export type CacheStatus = 'none' | 'loading' | 'ready' | 'waiting' | 'failed';

export interface CacheSlice {
  /** The painted mirror. Mutated in place and never replaced: read it on `cacheVersion`, never render per slot. */
  readonly cacheMirror: CacheMirror;
  /** Bumped at most once per frame when the mirror changed: the transient painters' signal. */
  cacheVersion: number;
  cacheStatus: CacheStatus;
  /** Leading characters of each message that the sinks hold, by message id ('' is the system prompt). */
  pinnedChars: Readonly<Record<string, number>>;
  /** Messages the engine's input does not contain (its chat template leaves them out), by id. */
  cacheUnfed: Readonly<Record<string, true>>;
  /** Fetches a full view (retrying while main answers `busy`); on open, on a settings change, after a gap. */
  refreshCacheView(): Promise<void>;
  /** A `cacheView` event: applied to the mirror at once (or after the full view on its way), published with the next frame. */
  applyCacheEvent(event: Readonly<CacheViewEvent>): void;
  /** A `token` event: counts toward the live decode rate. */
  noteStreamToken(event: Readonly<TokenEvent>): void;
  /** Decode tokens per second over the last tokens of the live reply, or null when none streams. */
  cacheLiveRate(): number | null;
  /**
   * Opens the engine's attention view on `layer` (null: the mean over layers) or closes it (undefined);
   * null when no model is loaded or the call failed.
   */
  showAttention(layer: number | null | undefined): Promise<AttentionAvailability | null>;
  /** What sending `draft` would push out of the model's view; null while a reply streams or on failure. */
  previewSend(conversationId: string, draft: string): Promise<SendPreview | null>;
}

/** `busy` retries of a refresh (main's turn is still ending): about 6 s in all. */
const REFRESH_RETRIES = 7;
const RETRY_BASE_MS = 50;
/** Token arrivals the live rate is measured over. */
const RATE_WINDOW = 32;

export function createCacheSlice(deps: StoreDeps): SliceCreator<CacheSlice> {
  const { api, scheduler, now } = deps;
  return (set, get, store) => {
    const mirror = new CacheMirror();
    let frame: unknown = null;
    let refreshes = 0;
    /** Ops that arrive while a full view is on its way: applied after it, those it does not include. */
    let held: CacheViewEvent[] | null = null;
    /** Arrival times (ms) of the live reply's last tokens. */
    let times: number[] = [];
    let timesSeq = -1;

    const flush = (): void => {
      if (frame !== null) scheduler.cancel(frame);
      frame = null;
      const s = get();
      const patch: Partial<AppState> = { cacheVersion: s.cacheVersion + 1 };
      const horizon = horizonOf(mirror, s);
      if (!sameHorizon(s.horizon, horizon)) patch.horizon = horizon;
      if (!sameRecord(s.pinnedChars, mirror.pinnedChars)) patch.pinnedChars = mirror.pinnedChars;
      const unfed = Object.fromEntries(mirror.unfed.map((id) => [id, true] as const));
      if (!sameRecord(s.cacheUnfed, unfed)) patch.cacheUnfed = unfed;
      set(patch);
    };
    const publish = (): void => {
      if (frame === null) frame = scheduler.request(flush);
    };

    const loadView = (view: Readonly<CacheFullView> | null): void => {
      if (view) mirror.load(view);
      else mirror.clear();
      const pending = held ?? [];
      held = null;
      for (const event of pending) apply(event);
      set({ cacheStatus: view ? 'ready' : 'none' });
      flush();
    };

    /** Applies an op of the shown conversation's stream, or notices the gap before it. */
    const apply = (event: Readonly<CacheViewEvent>): void => {
      const { viewSeq, stream, op } = event;
      const follows = mirror.loaded && mirror.stream === stream && viewSeq === mirror.seq + 1;
      if (follows || selfContained(op)) {
        mirror.apply(viewSeq, stream, op);
        if (get().cacheStatus !== 'ready') set({ cacheStatus: 'ready' });
        publish();
      } else if (!(mirror.stream === stream && viewSeq <= mirror.seq)) {
        // A gap (ops of another conversation, or a page that joined late): a full view catches up.
        if (get().stream) set({ cacheStatus: 'waiting' });
        refreshSoon();
      }
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
      if (!s.stream && prev.stream) {
        if (s.cacheStatus === 'waiting') refreshSoon();
      } else if (s.activeId !== prev.activeId || s.currentModel?.dir !== prev.currentModel?.dir) {
        refreshSoon();
      } else if (s.connection === 'open' && prev.connection !== 'open') {
        refreshSoon();
      } else if (!sameGeometrySettings(s, prev)) {
        // New cache settings rebuild the engine's stream at once (main does it when asked for the view).
        refreshSoon();
      }
    });

    return {
      cacheMirror: mirror,
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
        held ??= [];
        if (!mirror.loaded) set({ cacheStatus: 'loading' });
        for (let attempt = 0; ; attempt++) {
          try {
            const view = await api.invoke('cache.view', { conversationId: id });
            // A newer refresh or another conversation wins.
            if (ticket !== refreshes || get().activeId !== id) return;
            loadView(view);
            return;
          } catch (error) {
            if (ticket !== refreshes) return;
            if (toApiError(error).code !== 'busy' || attempt >= REFRESH_RETRIES) {
              const pending = held ?? [];
              held = null;
              for (const event of pending) apply(event);
              if (get().cacheStatus !== 'ready') set({ cacheStatus: 'failed' });
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS << attempt));
          }
        }
      },

      applyCacheEvent(event) {
        // Another conversation's stream (switched away mid-reply) would paint the wrong cache.
        if (event.stream !== get().activeId) return;
        if (held) held.push(event);
        else apply(event);
      },

      noteStreamToken(event) {
        if (event.slot < 0) return;
        if (event.seq !== timesSeq) {
          timesSeq = event.seq;
          times = [];
        }
        times.push(now());
        if (times.length > RATE_WINDOW) times.shift();
      },

      cacheLiveRate() {
        if (!get().stream || get().stream!.seq !== timesSeq || times.length < 2) return null;
        const span = times[times.length - 1] - times[0];
        return span > 0 ? ((times.length - 1) * 1000) / span : null;
      },

      async showAttention(layer) {
        try {
          return await api.invoke('cache.attention', layer === undefined ? { open: false } : { open: true, layer });
        } catch {
          return null;
        }
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
    };
  };
}

/**
 * Where the model's window begins in the transcript: the first visible token that spells a message,
 * from `firstVisible` on; null while nothing has left the window.
 */
export function horizonOf(mirror: CacheMirror, s: Pick<AppState, 'stream'>): Horizon | null {
  if (!mirror.loaded || mirror.firstVisible <= mirror.sink) return null;
  for (let p = mirror.firstVisible; p < mirror.nextPos; p++) {
    const j = mirror.slotHolding(p);
    if (j >= 0 && mirror.owner[j] >= 0) return { messageId: mirror.ownerIds[mirror.owner[j]], charOffset: Math.max(0, mirror.ownerChar[j]) };
  }
  // Only markup is in view (a reply just started after a long prompt): the horizon is at the reply's start.
  return s.stream ? { messageId: s.stream.replyId, charOffset: 0 } : null;
}

/** Whether the shown conversation's cache settings are unchanged (any setting besides them leaves the cache alone). */
function sameGeometrySettings(a: Pick<AppState, 'settings' | 'active'>, b: Pick<AppState, 'settings' | 'active'>): boolean {
  if (!a.settings || !b.settings) return a.settings === b.settings;
  const x = effectiveChatSettings(a.settings, a.active?.settings).cache;
  const y = effectiveChatSettings(b.settings, b.active?.settings).cache;
  return x.sink === y.sink && x.window === y.window && x.positions === y.positions;
}

function sameHorizon(a: Horizon | null, b: Horizon | null): boolean {
  return a === b || (a !== null && b !== null && a.messageId === b.messageId && a.charOffset === b.charOffset);
}

function sameRecord<T>(a: Readonly<Record<string, T>>, b: Readonly<Record<string, T>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
