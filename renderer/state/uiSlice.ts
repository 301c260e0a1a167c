// UI slice: which page and dialog are showing, notices (toasts), composer drafts, the message being
// edited, the side panel, the connection state and (for the cache view) the horizon. Renderer.
import { isWideWindow } from '../platform';
import type { ConnectionState } from '../webSocketApi';
import type { SliceCreator } from './appState';

export type MainView = 'chat' | 'models';
export type SettingsTab = 'app' | 'conversation' | 'server';
export type NoticeLevel = 'info' | 'warning' | 'error';

/** A button on a notice (e.g. "Reload now"); pressing it runs `run` and dismisses the notice. */
export interface NoticeAction {
  readonly label: string;
  readonly run: () => void;
}

export interface Notice {
  readonly id: number;
  readonly level: NoticeLevel;
  readonly text: string;
  readonly action?: NoticeAction;
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
  /** In a window too narrow for sidebar, chat and cache panel, whether the sidebar is shown over the chat. */
  sidebarShown: boolean;
  notices: readonly Notice[];
  /** Bumped to ask the composer to take focus. */
  composerFocusTick: number;
  /** Bumped to ask the sidebar's search box to take focus. */
  searchFocusTick: number;
  /** The keyboard shortcuts sheet is open. */
  shortcutsOpen: boolean;
  connection: ConnectionState;
  drafts: Readonly<Record<string, string>>;
  editing: EditState | null;
  horizon: Horizon | null;
  showView(view: MainView): void;
  openSettings(tab?: SettingsTab): void;
  closeSettings(): void;
  toggleCachePanel(): void;
  /** Shows or hides the sidebar where a narrow window folds it away for the cache panel. */
  toggleSidebar(): void;
  /** Shows the chat with its sidebar and puts the cursor in the conversation search. */
  focusSearch(): void;
  setShortcutsOpen(open: boolean): void;
  pushNotice(level: NoticeLevel, text: string, action?: NoticeAction): void;
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
    // Open from the start where it fits beside the chat: the first screen shows the cache at work.
    cachePanelOpen: isWideWindow(),
    sidebarShown: false,
    notices: [],
    composerFocusTick: 0,
    searchFocusTick: 0,
    shortcutsOpen: false,
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
    toggleSidebar() {
      set((s) => ({ sidebarShown: !s.sidebarShown }));
    },
    focusSearch() {
      set((s) => ({ view: 'chat', sidebarShown: true, searchFocusTick: s.searchFocusTick + 1 }));
    },
    setShortcutsOpen(open) {
      set({ shortcutsOpen: open });
    },
    pushNotice(level, text, action) {
      const notice = { id: nextNoticeId++, level, text, ...(action && { action }) };
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
