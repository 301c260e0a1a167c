// Named selectors: every component reads the store through one of these, one field each, so a change
// re-renders only its readers (STYLE principle 8). Renderer.
import type { Message } from '../../common/contract';
import { effectiveChatSettings } from '../../common/settingsSchema';
import type { AppState } from './appState';
import { NEW_CONVERSATION_DRAFT } from './uiSlice';

export const selectConversations = (s: AppState) => s.conversations;
export const selectConversationsLoaded = (s: AppState) => s.conversationsLoaded;
export const selectSearch = (s: AppState) => s.search;

export const selectActiveId = (s: AppState) => s.activeId;
export const selectActive = (s: AppState) => s.active;
export const selectActiveTitle = (s: AppState) => s.active?.title ?? null;
export const selectActiveOverrides = (s: AppState) => s.active?.settings;
/** Versions of the open conversation's replies, by the message they answer (regenerate keeps them). */
export const selectReplyVersions = (s: AppState) => s.active?.replyVersions;
export const selectOpening = (s: AppState) => s.opening;
/** Why the open conversation cannot be changed (a damaged file), or null. */
export const selectReadOnly = (s: AppState) => s.readOnly;
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
/** The model menu's entries: every model but a hidden demo (kept while it is the one loaded). Use with useShallow. */
export const selectPickableModels = (s: AppState) => s.models.filter((m) => !m.hidden || m.dir === s.currentModel?.dir);
export const selectModelsLoaded = (s: AppState) => s.modelsLoaded;
export const selectCurrentModel = (s: AppState) => s.currentModel;
export const selectCurrentModelDir = (s: AppState) => s.currentModel?.dir ?? null;
export const selectHasModel = (s: AppState) => s.currentModel !== null;
export const selectLoadingModelId = (s: AppState) => s.loadingModelId;
export const selectCanPickFolder = (s: AppState) => s.canPickFolder;
export const selectModelErrors = (s: AppState) => s.modelErrors;
export const selectCatalog = (s: AppState) => s.catalog;
export const selectCatalogError = (s: AppState) => s.catalogError;
export const selectDownloads = (s: AppState) => s.downloads;
/** One download's latest snapshot (changes with its progress events only). */
export const selectDownload = (id: string) => (s: AppState) => s.downloads[id] ?? null;
export const selectDownloadError = (id: string) => (s: AppState) => s.downloadErrors[id] ?? null;
export const selectDownloadPending = (id: string) => (s: AppState) => s.downloadPending[id] === true;
export const selectModelDetails = (id: string) => (s: AppState) => s.modelDetails[id] ?? null;
export const selectIsInstalled = (modelId: string) => (s: AppState) => s.models.some((m) => m.id === modelId);
/** Whether a Hugging Face token is saved (main never sends the token itself). */
export const selectHfTokenSaved = (s: AppState) => Boolean(s.settings?.hfToken);
export const selectHubBaseUrl = (s: AppState) => s.settings?.hubBaseUrl ?? 'https://huggingface.co';
/** The mirror the user trusts with the token, or null (huggingface.co only). */
export const selectHfTokenMirror = (s: AppState) => s.settings?.hfTokenMirror ?? null;

export const selectSettings = (s: AppState) => s.settings;
/** The sink size the engine chose for the open conversation, where its setting is `auto`; else null. */
export const selectResolvedSink = (s: AppState) => resolvedCache(s, 'sink');
/** The window size the engine chose for the open conversation, where its setting is `auto`; else null. */
export const selectResolvedWindow = (s: AppState) => resolvedCache(s, 'window');
/** The provider the loaded model runs on, where it was loaded with provider `auto`; else null. */
export const selectResolvedProvider = (s: AppState) => (s.currentModel?.providerNote != null ? s.currentModel.provider : null);
/** The provider models are downloaded for: the chosen one, or what `auto` picked for the loaded model (null: not known). */
export const selectVariantProvider = (s: AppState) => {
  const chosen = s.settings?.provider;
  return chosen === undefined || chosen === 'auto' ? selectResolvedProvider(s) : chosen;
};

function resolvedCache(s: AppState, field: 'sink' | 'window'): number | null {
  if (!s.settings || s.cacheStatus !== 'ready' || !s.cacheMirror.loaded) return null;
  return effectiveChatSettings(s.settings, s.active?.settings).cache[field] === 'auto' ? s.cacheMirror[field] : null;
}
export const selectTheme = (s: AppState) => s.settings?.theme ?? 'system';
export const selectAppInfo = (s: AppState) => s.appInfo;

export const selectView = (s: AppState) => s.view;
export const selectSettingsDialog = (s: AppState) => s.settingsDialog;
export const selectCachePanelOpen = (s: AppState) => s.cachePanelOpen;
export const selectSidebarShown = (s: AppState) => s.sidebarShown;
export const selectNotices = (s: AppState) => s.notices;
export const selectRepairs = (s: AppState) => s.repairs;
export const selectComposerFocusTick = (s: AppState) => s.composerFocusTick;
export const selectSearchFocusTick = (s: AppState) => s.searchFocusTick;
export const selectShortcutsOpen = (s: AppState) => s.shortcutsOpen;
export const selectConnection = (s: AppState) => s.connection;
export const selectEditing = (s: AppState) => s.editing;
export const selectEditText = (s: AppState) => s.editing?.text ?? '';
export const selectHorizon = (s: AppState) => s.horizon;
/** Whether message `messageId` of the open conversation is pinned to the model's memory whole. */
export const selectIsPinned = (messageId: string) => (s: AppState) => s.active?.pins?.some((p) => p.messageId === messageId && !p.chars) ?? false;
/** The open conversation's pins (messages and spans), in the order they were taken. */
export const selectPins = (s: AppState) => s.active?.pins;
/** The transcript's selection as a span of one message, while there is one. */
export const selectSelectionSpan = (s: AppState) => s.selectionSpan;
/** The message the horizon cuts: changes only when the horizon crosses a message boundary. */
export const selectHorizonMessageId = (s: AppState) => s.horizon?.messageId ?? null;
/** Where the horizon cuts `messageId` (-1 when it does not): the one value that moves per token. */
export const selectHorizonCharOffset = (messageId: string) => (s: AppState) =>
  s.horizon?.messageId === messageId ? s.horizon.charOffset : -1;
/** Leading characters of `messageId` the sinks hold ('' is the system prompt). */
export const selectPinnedChars = (messageId: string) => (s: AppState) => s.pinnedChars[messageId] ?? 0;
export const selectCacheStatus = (s: AppState) => s.cacheStatus;
/** Whether the engine's input lacks `messageId` (its chat template leaves it out; '' is the system prompt). */
export const selectUnfed = (messageId: string) => (s: AppState) => s.cacheUnfed[messageId] === true;
/** The system prompt the open conversation runs with (its override, else the app's). */
export const selectSystemPrompt = (s: AppState) => s.active?.settings?.systemPrompt ?? s.settings?.systemPrompt ?? '';
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
