// Settings slice: the app settings, app info (providers, version), and saving app defaults or a
// conversation's overrides. Renderer.
import type { ApiError, AppInfo, AppSettings, LocalServerStatus } from '../../common/contract';
import type { ConversationSettings, SettingsPatch } from '../../common/settingsSchema';
import { toApiError } from '../bridge';
import type { SliceCreator, StoreDeps } from './appState';

export interface SettingsSlice {
  settings: AppSettings | null;
  appInfo: AppInfo | null;
  /** The local server's state (null until first asked or told). */
  serverStatus: LocalServerStatus | null;
  setSettings(settings: AppSettings): void;
  setServerStatus(status: LocalServerStatus): void;
  /** Asks main for the server's state (when Settings → Local server opens). */
  loadServerStatus(): Promise<void>;
  saveSettings(patch: SettingsPatch): Promise<ApiError | null>;
  /** Stores `settings` as the conversation's overrides; null clears them. */
  saveConversationSettings(conversationId: string, settings: ConversationSettings | null): Promise<ApiError | null>;
}

export function createSettingsSlice(deps: StoreDeps): SliceCreator<SettingsSlice> {
  const { api } = deps;
  return (set) => ({
    settings: null,
    appInfo: null,
    serverStatus: null,

    setSettings(settings) {
      set({ settings });
    },

    setServerStatus(serverStatus) {
      set({ serverStatus });
    },

    async loadServerStatus() {
      try {
        set({ serverStatus: await api.invoke('server.status', {}) });
      } catch {
        // The tab shows its last known state; events bring the next one.
      }
    },

    async saveSettings(patch) {
      try {
        set({ settings: await api.invoke('settings.update', { patch }) });
        return null;
      } catch (error) {
        return toApiError(error);
      }
    },

    async saveConversationSettings(conversationId, settings) {
      try {
        await api.invoke('conversations.updateSettings', { conversationId, settings });
      } catch (error) {
        return toApiError(error);
      }
      set((s) => {
        if (s.active?.id !== conversationId) return {};
        const { settings: _old, ...rest } = s.active;
        return { active: settings ? { ...rest, settings } : rest };
      });
      return null;
    },
  });
}
