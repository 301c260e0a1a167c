// Settings slice: the app settings, app info (providers, version), and saving app defaults or a
// conversation's overrides (a new provider offers to reload the loaded model), and the local server's
// status. Renderer.
import type { ApiError, AppInfo, AppSettings, LocalServerStatus } from '../../common/contract';
import { PROVIDER_LABELS } from '../../common/providers';
import type { ConversationSettings, SettingsPatch } from '../../common/settingsSchema';
import { toApiError } from '../bridge';
import type { AppState, SliceCreator, StoreDeps } from './appState';

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
  return (set, get) => ({
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
      const before = get().settings?.provider;
      let settings: AppSettings;
      try {
        settings = await api.invoke('settings.update', { patch });
      } catch (error) {
        return toApiError(error);
      }
      set({ settings });
      if (patch.provider !== undefined && patch.provider !== before) offerReload(get(), patch.provider);
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
 * A new provider applies when a model loads: say so, and offer to reload the loaded model now (unless it
 * already runs on that provider). Uses other slices' state and actions (models, notices).
 */
function offerReload(state: AppState, provider: AppSettings['provider']): void {
  const loaded = state.currentModel;
  const name = provider === 'auto' ? 'Auto' : PROVIDER_LABELS[provider];
  if (!loaded) {
    state.pushNotice('info', `Provider set to ${name}: the next model you load runs on it.`);
    return;
  }
  if (loaded.provider === provider) return;
  const id = state.models.find((m) => m.dir === loaded.dir)?.id;
  const text = `Provider set to ${name}. ${loaded.name} still runs on ${PROVIDER_LABELS[loaded.provider]} until it loads again.`;
  if (!id) {
    state.pushNotice('info', text);
    return;
  }
  state.pushNotice('info', text, {
    label: 'Reload model now',
    run: () => void state.loadModel(id).then((error) => error && state.pushNotice('error', `Could not reload ${loaded.name}: ${error.message}`)),
  });
}
