// The renderer's vanilla zustand store, composed from slices, with the stream pump wired to it.
// Created once in main.tsx (and per test). Renderer.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { OuroApi } from '../../common/contract';
import type { AppState, StoreDeps } from './appState';
import { createCacheSlice } from './cacheSlice';
import { createChatSlice } from './chatSlice';
import { createConversationsSlice } from './conversationsSlice';
import { createLifecycleSlice } from './lifecycleSlice';
import { createModelsSlice } from './modelsSlice';
import { createSettingsSlice } from './settingsSlice';
import { animationFrameScheduler, createStreamPump, type FrameScheduler, type StreamPump } from './streamPump';
import { createStreamingSlice } from './streamingSlice';
import { createUiSlice } from './uiSlice';

/** The store plus the pump that feeds its streaming slice (the event router needs both). */
export interface AppStore extends StoreApi<AppState> {
  readonly pump: StreamPump;
}

export interface AppStoreOptions {
  /** The bridge's API; its `invoke` must reject with ApiError (see `withApiErrors`). */
  readonly api: OuroApi;
  readonly scheduler?: FrameScheduler;
  readonly now?: () => number;
}

/** Builds the store. Nothing is fetched until `getState().initialize()`. */
export function createAppStore(options: AppStoreOptions): AppStore {
  const scheduler = options.scheduler ?? animationFrameScheduler();
  const pump = createStreamPump(scheduler);
  const deps: StoreDeps = { api: options.api, pump, scheduler, now: options.now ?? Date.now };
  const store = createStore<AppState>()((...a) => ({
    ...createConversationsSlice(deps)(...a),
    ...createChatSlice(deps)(...a),
    ...createStreamingSlice(deps)(...a),
    ...createModelsSlice(deps)(...a),
    ...createSettingsSlice(deps)(...a),
    ...createUiSlice()(...a),
    ...createLifecycleSlice(deps)(...a),
    ...createCacheSlice(deps)(...a),
  }));
  pump.connect({
    currentSeq: () => store.getState().stream?.seq ?? null,
    appendStreamText: (seq, text, tokens) => store.getState().appendStreamText(seq, text, tokens),
    finishStream: (seq, outcome) => store.getState().finishStream(seq, outcome),
  });
  return Object.assign(store, { pump });
}
