// The shape of the renderer's store: the union of its slices, and what every slice is built from.
// Types only. Renderer.
import type { StateCreator } from 'zustand/vanilla';
import type { OuroApi } from '../../common/contract';
import type { CacheSlice } from './cacheSlice';
import type { ChatSlice } from './chatSlice';
import type { ConversationsSlice } from './conversationsSlice';
import type { LifecycleSlice } from './lifecycleSlice';
import type { ModelsSlice } from './modelsSlice';
import type { SettingsSlice } from './settingsSlice';
import type { FrameScheduler, StreamPump } from './streamPump';
import type { StreamingSlice } from './streamingSlice';
import type { UiSlice } from './uiSlice';

/** Everything the renderer knows; components read it through the named selectors only. */
export type AppState = ConversationsSlice &
  ChatSlice &
  StreamingSlice &
  ModelsSlice &
  SettingsSlice &
  UiSlice &
  LifecycleSlice &
  CacheSlice;

/** What the slices' actions use: the bridge (rejects with ApiError), the token pump, frames and a wall clock. */
export interface StoreDeps {
  readonly api: OuroApi;
  readonly pump: StreamPump;
  /** The pump's frame scheduler (the cache view publishes once per frame too). */
  readonly scheduler: FrameScheduler;
  /** Milliseconds since the epoch (Date.now in the page; a fake clock in tests). */
  readonly now: () => number;
}

/** A slice of the store: sees the whole state, contributes `T`. */
export type SliceCreator<T> = StateCreator<AppState, [], [], T>;
