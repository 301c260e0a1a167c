// Models slice: installed models, the loaded one, loading and importing (with the engine's specific
// errors kept per model for inline display). Renderer.
import type { ApiError, InstalledModel, ModelInfo } from '../../preload/contract';
import { toApiError } from '../bridge';
import type { SliceCreator, StoreDeps } from './appState';

/** What opening a model folder did. */
export type ImportResult =
  | { readonly model: InstalledModel; readonly loaded: boolean; readonly loadError?: ApiError }
  | { readonly error: ApiError };

export interface ModelsSlice {
  models: readonly InstalledModel[];
  /** False until the first `models.list` answered (the first-run screen waits for it). */
  modelsLoaded: boolean;
  currentModel: ModelInfo | null;
  loadingModelId: string | null;
  /** Last load error per model id, shown next to that model. */
  modelErrors: Readonly<Record<string, ApiError>>;
  refreshModels(): Promise<void>;
  setModels(models: readonly InstalledModel[], current: ModelInfo | null): void;
  loadModel(id: string): Promise<ApiError | null>;
  /**
   * Validates and remembers a model folder, then loads it when no model is loaded yet; `loadError` is
   * that load's failure (the folder was accepted but the engine cannot run it).
   */
  importModel(dir: string): Promise<ImportResult>;
  removeModel(id: string): Promise<ApiError | null>;
}

/** One line for an ApiError: its message, plus the engine's detail when it adds something. */
export function errorText(error: Readonly<ApiError>): string {
  return error.detail && !error.message.includes(error.detail) ? `${error.message} (${error.detail})` : error.message;
}

export function createModelsSlice(deps: StoreDeps): SliceCreator<ModelsSlice> {
  const { api } = deps;
  return (set, get) => ({
    models: [],
    modelsLoaded: false,
    currentModel: null,
    loadingModelId: null,
    modelErrors: {},

    async refreshModels() {
      try {
        const [models, current] = await Promise.all([api.invoke('models.list', {}), api.invoke('models.current', {})]);
        get().setModels(models, current);
      } catch (error) {
        set({ modelsLoaded: true });
        get().pushNotice('error', `Could not list models: ${toApiError(error).message}`);
      }
    },

    setModels(models, current) {
      set({ models, currentModel: current, modelsLoaded: true });
    },

    async loadModel(id) {
      if (get().loadingModelId !== null) return { code: 'busy', message: 'A model is loading already.' };
      const { [id]: _previous, ...rest } = get().modelErrors;
      set({ loadingModelId: id, modelErrors: rest });
      try {
        const info = await api.invoke('models.load', { id });
        set({ currentModel: info, loadingModelId: null });
        get().clearProgress('load');
        for (const warning of info.warnings) get().pushNotice('warning', warning);
        return null;
      } catch (error) {
        const apiError = toApiError(error);
        set((s) => ({ loadingModelId: null, modelErrors: { ...s.modelErrors, [id]: apiError } }));
        get().clearProgress('load');
        return apiError;
      }
    },

    async importModel(dir) {
      let model: InstalledModel;
      try {
        model = await api.invoke('models.import', { dir: dir.trim() });
      } catch (error) {
        return { error: toApiError(error) };
      }
      set((s) => ({ models: [...s.models.filter((m) => m.id !== model.id), model] }));
      if (get().currentModel || model.problem !== undefined || get().loadingModelId !== null) return { model, loaded: false };
      const loadError = await get().loadModel(model.id);
      return loadError ? { model, loaded: false, loadError } : { model, loaded: true };
    },

    async removeModel(id) {
      try {
        await api.invoke('models.remove', { id });
      } catch (error) {
        return toApiError(error);
      }
      set((s) => ({ models: s.models.filter((m) => m.id !== id) }));
      return null;
    },
  });
}
