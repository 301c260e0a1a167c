// UI slice: which page and dialog are showing, notices (toasts), composer drafts, the message being
// edited, the side panel, the connection state and (for the cache view) the horizon. Renderer.
import type { ConnectionState } from '../webSocketApi';
import type { SliceCreator } from './appState';

export type MainView = 'chat' | 'models';
export type SettingsTab = 'app' | 'conversation' | 'server';
export type NoticeLevel = 'info' | 'warning' | 'error';

export interface Notice {
  readonly id: number;
  readonly level: NoticeLevel;
  readonly text: string;
}

/** A user message being edited in place. */
export interface EditState {
  readonly messageId: string;
  readonly text: string;
}

/**
 * Where the model's window begins in the transcript (issue 4 fills it from cache deltas): text before
 * `charOffset` of `messageId`, and every earlier message, is out of the model's view.
 */
export interface Horizon {
  readonly messageId: string;
  readonly charOffset: number;
}

/** Draft key of the composer when no conversation is open (sending creates one). */
export const NEW_CONVERSATION_DRAFT = '';
/** Toasts kept at once; older ones drop off. */
const NOTICE_LIMIT = 4;

export interface UiSlice {
  view: MainView;
  settingsDialog: SettingsTab | null;
  cachePanelOpen: boolean;
  notices: readonly Notice[];
  /** Bumped to ask the composer to take focus. */
  composerFocusTick: number;
  connection: ConnectionState;
  drafts: Readonly<Record<string, string>>;
  editing: EditState | null;
  horizon: Horizon | null;
  showView(view: MainView): void;
  openSettings(tab?: SettingsTab): void;
  closeSettings(): void;
  toggleCachePanel(): void;
  pushNotice(level: NoticeLevel, text: string): void;
  dismissNotice(id: number): void;
  focusComposer(): void;
  setConnection(state: ConnectionState): void;
  setDraft(conversationId: string, text: string): void;
  startEdit(messageId: string, text: string): void;
  setEditText(text: string): void;
  cancelEdit(): void;
  setHorizon(horizon: Horizon | null): void;
}

export function createUiSlice(): SliceCreator<UiSlice> {
  let nextNoticeId = 1;
  return (set) => ({
    view: 'chat',
    settingsDialog: null,
    cachePanelOpen: false,
    notices: [],
    composerFocusTick: 0,
    connection: 'open',
    drafts: {},
    editing: null,
    horizon: null,

    showView(view) {
      set({ view });
    },
    openSettings(tab = 'app') {
      set({ settingsDialog: tab });
    },
    closeSettings() {
      set({ settingsDialog: null });
    },
    toggleCachePanel() {
      set((s) => ({ cachePanelOpen: !s.cachePanelOpen }));
    },
    pushNotice(level, text) {
      const notice = { id: nextNoticeId++, level, text };
      set((s) => ({ notices: [...s.notices, notice].slice(-NOTICE_LIMIT) }));
    },
    dismissNotice(id) {
      set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
    },
    focusComposer() {
      set((s) => ({ view: 'chat', composerFocusTick: s.composerFocusTick + 1 }));
    },
    setConnection(state) {
      set({ connection: state });
    },
    setDraft(conversationId, text) {
      set((s) => {
        if ((s.drafts[conversationId] ?? '') === text) return {};
        const drafts = { ...s.drafts };
        if (text) drafts[conversationId] = text;
        else delete drafts[conversationId];
        return { drafts };
      });
    },
    startEdit(messageId, text) {
      set({ editing: { messageId, text } });
    },
    setEditText(text) {
      set((s) => (s.editing ? { editing: { ...s.editing, text } } : {}));
    },
    cancelEdit() {
      set({ editing: null });
    },
    setHorizon(horizon) {
      set({ horizon });
    },
  });
}
