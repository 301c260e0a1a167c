// Settings slice: the app settings, app info (providers, version), and saving app defaults or a
// conversation's overrides (a new provider offers to reload the loaded model). Renderer.
import type { ApiError, AppInfo, AppSettings } from '../../common/contract';
import { PROVIDER_LABELS } from '../../common/providers';
import type { ConversationSettings, SettingsPatch } from '../../common/settingsSchema';
import { toApiError } from '../bridge';
import type { AppState, SliceCreator, StoreDeps } from './appState';

export interface SettingsSlice {
  settings: AppSettings | null;
  appInfo: AppInfo | null;
  setSettings(settings: AppSettings): void;
  saveSettings(patch: SettingsPatch): Promise<ApiError | null>;
  /** Stores `settings` as the conversation's overrides; null clears them. */
  saveConversationSettings(conversationId: string, settings: ConversationSettings | null): Promise<ApiError | null>;
}

export function createSettingsSlice(deps: StoreDeps): SliceCreator<SettingsSlice> {
  const { api } = deps;
  return (set, get) => ({
    settings: null,
    appInfo: null,

    setSettings(settings) {
      set({ settings });
    },

    async saveSettings(patch) {
      const before = get().settings?.provider;
      let settings: AppSettings;
      try {
        settings = await api.invoke('settings.update', { patch });
      } catch (error) {
        return toApiError(error);
      }
      set({ settings });
      if (before !== undefined && settings.provider !== before) offerReload(get(), settings.provider);
      return null;
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

/**
 * A provider change applies at the next load: offer to reload the loaded model now rather than leave it
 * running where it was without a word.
 */
function offerReload(state: AppState, provider: AppSettings['provider']): void {
  const current = state.currentModel;
  const installed = current && state.models.find((m) => m.dir === current.dir);
  if (!current || !installed) return;
  const wanted = provider === 'auto' ? 'Auto' : PROVIDER_LABELS[provider];
  state.pushNotice('info', `Provider set to ${wanted}; ${current.name} runs on ${PROVIDER_LABELS[current.provider]} until it is reloaded.`, {
    label: 'Reload now',
    run: () => void state.loadModel(installed.id),
  });
}
