// Lifecycle slice: first load, resync after the transport reconnects, and the native menu's commands.
// Renderer.
import type { AppEvent } from '../../common/contract';
import { toApiError } from '../bridge';
import type { SliceCreator, StoreDeps } from './appState';

export type AppCommand = Extract<AppEvent, { type: 'command' }>['command'];

export interface LifecycleSlice {
  /** True once the first settings/models/conversations fetch has answered. */
  initialized: boolean;
  /** Fetches everything and opens the newest conversation. */
  initialize(): Promise<void>;
  /** Re-fetches after a reconnect; a stream the drop cut off is closed, the open conversation reloaded. */
  resync(): Promise<void>;
  handleCommand(command: AppCommand): void;
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
      ]);
    };

    return {
      initialized: false,

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
          const { conversation } = await api.invoke('conversations.open', { conversationId: id });
          if (get().activeId === id) get().showConversation(conversation);
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
        }
      },
    };
  };
}
