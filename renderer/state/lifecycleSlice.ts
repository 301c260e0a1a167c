// Lifecycle slice: first load, resync after the transport reconnects, the commands of the native menu
// and the keyboard shortcuts, and the repairs main made to unreadable files at start. Renderer.
import type { Repair } from '../../common/contract';
import type { AppCommand } from '../../common/shortcuts';
import { toApiError } from '../bridge';
import type { SliceCreator, StoreDeps } from './appState';

export interface LifecycleSlice {
  /** True once the first settings/models/conversations fetch has answered. */
  initialized: boolean;
  /** Fetches everything and opens the newest conversation. */
  initialize(): Promise<void>;
  /** Re-fetches after a reconnect; a stream the drop cut off is closed, the open conversation reloaded. */
  resync(): Promise<void>;
  handleCommand(command: AppCommand): void;
  /** Files main repaired on its own, until the user dismisses them (what was lost, where the file was kept). */
  repairs: readonly Repair[];
  setRepairs(repairs: readonly Repair[]): void;
  /** Tells main the user has read a repair; the list follows from main's `repairs` event or this reply. */
  dismissRepair(id: string): Promise<void>;
}

export function createLifecycleSlice(deps: StoreDeps): SliceCreator<LifecycleSlice> {
  const { api, pump } = deps;
  return (set, get) => {
    const fetchAll = async (): Promise<void> => {
      await Promise.all([
        api.invoke('settings.get', {}).then(
          (settings) => get().setSettings(settings),
          (error: unknown) => get().pushNotice('error', `Could not read settings: ${toApiError(error).message}`),
        ),
        api.invoke('app.info', {}).then(
          (appInfo) => set({ appInfo }),
          () => undefined,
        ),
        get().refreshModels(),
        get().loadConversations(),
        api.invoke('repairs.list', {}).then(
          (repairs) => get().setRepairs(repairs),
          () => undefined,
        ),
      ]);
    };

    return {
      initialized: false,
      repairs: [],

      setRepairs(repairs) {
        set({ repairs });
      },

      async dismissRepair(id) {
        set((s) => ({ repairs: s.repairs.filter((r) => r.id !== id) }));
        try {
          await api.invoke('repairs.dismiss', { id });
        } catch (error) {
          get().pushNotice('error', `Could not dismiss the notice: ${toApiError(error).message}`);
        }
      },

      async initialize() {
        await fetchAll();
        set({ initialized: true });
        const newest = get().conversations[0];
        if (newest && get().activeId === null && get().opening === null) await get().openConversation(newest.id);
      },

      async resync() {
        const live = get().stream;
        if (live) {
          pump.end(live.seq, { kind: 'error', message: 'The connection to Ouro dropped while this reply was being written.' });
          void api.invoke('chat.stop', { conversationId: live.conversationId }).catch(() => undefined);
        }
        await fetchAll();
        const id = get().activeId;
        if (id === null) return;
        try {
          const { conversation, readOnly } = await api.invoke('conversations.open', { conversationId: id });
          if (get().activeId === id) get().showConversation(conversation, readOnly);
        } catch (error) {
          get().pushNotice('error', `Could not reload the conversation: ${toApiError(error).message}`);
        }
      },

      handleCommand(command) {
        switch (command) {
          case 'newConversation':
            void get()
              .startNewConversation()
              .then((error) => error && get().pushNotice('error', `Could not create a conversation: ${error.message}`));
            return;
          case 'openSettings':
            get().openSettings('app');
            return;
          case 'openModels':
            get().showView('models');
            return;
          case 'focusComposer':
            get().focusComposer();
            return;
          case 'toggleCachePanel':
            get().toggleCachePanel();
            return;
          case 'focusSearch':
            get().focusSearch();
            return;
          case 'showShortcuts':
            get().setShortcutsOpen(true);
            return;
          case 'pinSelection':
            void get().pinSelection();
            return;
        }
      },
    };
  };
}
