// Named selectors: every component reads the store through one of these, one field each, so a change
// re-renders only its readers (STYLE principle 8). Renderer.
import type { Message } from '../../preload/contract';
import type { AppState } from './appState';
import { NEW_CONVERSATION_DRAFT } from './uiSlice';

export const selectConversations = (s: AppState) => s.conversations;
export const selectConversationsLoaded = (s: AppState) => s.conversationsLoaded;
export const selectSearch = (s: AppState) => s.search;

export const selectActiveId = (s: AppState) => s.activeId;
export const selectActive = (s: AppState) => s.active;
export const selectActiveTitle = (s: AppState) => s.active?.title ?? null;
export const selectActiveOverrides = (s: AppState) => s.active?.settings;
export const selectOpening = (s: AppState) => s.opening;
export const selectMessages = (s: AppState) => s.messages;
export const selectHasMessages = (s: AppState) => s.messages.length > 0;
export const selectPending = (s: AppState) => s.pending;

export const selectIsStreaming = (s: AppState) => s.stream !== null;
/** A stream is starting or running: new sends, edits and regenerates wait. */
export const selectBusy = (s: AppState) => s.stream !== null || s.pending !== null;
export const selectStopping = (s: AppState) => s.stream?.stopping ?? false;
export const selectStreamReplyId = (s: AppState) => s.stream?.replyId ?? null;
/** The live reply's text: the one selector a token changes. */
export const selectStreamText = (s: AppState) => s.stream?.text ?? '';
export const selectStreamTokens = (s: AppState) => s.stream?.tokens ?? 0;
export const selectStreamStartedAt = (s: AppState) => s.stream?.startedAt ?? null;
export const selectStreamFirstTokenAt = (s: AppState) => s.stream?.firstTokenAt ?? null;
export const selectLoadProgress = (s: AppState) => s.progress.load;
export const selectPrefillProgress = (s: AppState) => s.progress.prefill;
export const selectLastStats = (s: AppState) => s.lastStats;

export const selectModels = (s: AppState) => s.models;
export const selectModelsLoaded = (s: AppState) => s.modelsLoaded;
export const selectCurrentModel = (s: AppState) => s.currentModel;
export const selectCurrentModelDir = (s: AppState) => s.currentModel?.dir ?? null;
export const selectHasModel = (s: AppState) => s.currentModel !== null;
export const selectLoadingModelId = (s: AppState) => s.loadingModelId;
export const selectModelErrors = (s: AppState) => s.modelErrors;

export const selectSettings = (s: AppState) => s.settings;
export const selectTheme = (s: AppState) => s.settings?.theme ?? 'system';
export const selectAppInfo = (s: AppState) => s.appInfo;

export const selectView = (s: AppState) => s.view;
export const selectSettingsDialog = (s: AppState) => s.settingsDialog;
export const selectCachePanelOpen = (s: AppState) => s.cachePanelOpen;
export const selectNotices = (s: AppState) => s.notices;
export const selectComposerFocusTick = (s: AppState) => s.composerFocusTick;
export const selectConnection = (s: AppState) => s.connection;
export const selectEditing = (s: AppState) => s.editing;
export const selectEditText = (s: AppState) => s.editing?.text ?? '';
export const selectHorizon = (s: AppState) => s.horizon;
export const selectInitialized = (s: AppState) => s.initialized;

/** The composer draft of the open conversation (or of the one a send will create). */
export const selectActiveDraft = (s: AppState) => s.drafts[s.activeId ?? NEW_CONVERSATION_DRAFT] ?? '';

/** Whether `messageId` is the reply streaming right now (flips twice per reply, not per token). */
export const selectIsLive = (messageId: string) => (s: AppState) => s.stream?.replyId === messageId;
/** Whether `messageId` is being edited. */
export const selectIsEditing = (messageId: string) => (s: AppState) => s.editing?.messageId === messageId;

/** Where a message sits relative to the horizon: out of view, cut by it, or visible. */
export type HorizonPlacement = 'hidden' | 'split' | 'visible';

/** The placement of every message index given the horizon's message index (-1: no horizon). */
export function horizonPlacement(index: number, horizonIndex: number): HorizonPlacement {
  if (horizonIndex < 0 || index > horizonIndex) return 'visible';
  return index === horizonIndex ? 'split' : 'hidden';
}

/** Index of the horizon's message in `messages`, or -1. */
export function horizonIndexOf(messages: readonly Message[], messageId: string | undefined): number {
  if (messageId === undefined) return -1;
  return messages.findIndex((m) => m.id === messageId);
}
