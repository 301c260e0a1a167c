// Models slice: installed models, the loaded one, loading, importing and inspecting (with the engine's
// specific errors kept per model for inline display); it carries the downloads slice (catalog and
// downloads). Renderer.
import type { ApiError, InstalledModel, ModelDetails, ModelInfo } from '../../common/contract';
import { toApiError } from '../bridge';
import type { SliceCreator, StoreDeps } from './appState';
import { createDownloadsSlice, type DownloadsSlice } from './downloadsSlice';

/** What opening a model folder did. */
export type ImportResult =
  | { readonly model: InstalledModel; readonly loaded: boolean; readonly loadError?: ApiError }
  | { readonly error: ApiError };

/** `models.inspect` of one model, fetched once per folder. */
export type ModelDetailsState =
  | { readonly status: 'loading'; readonly dir: string }
  | { readonly status: 'ready'; readonly dir: string; readonly details: ModelDetails }
  | { readonly status: 'failed'; readonly dir: string; readonly error: ApiError };

/** Where an imported folder goes: used where it is, or copied into Ouro's models folder. */
export type ImportMode = 'reference' | 'copy';

export interface ModelsSlice extends DownloadsSlice {
  models: readonly InstalledModel[];
  /** False until the first `models.list` answered (the first-run screen waits for it). */
  modelsLoaded: boolean;
  currentModel: ModelInfo | null;
  loadingModelId: string | null;
  /** Last load error per model id, shown next to that model. */
  modelErrors: Readonly<Record<string, ApiError>>;
  /** Inspect results per model id. */
  modelDetails: Readonly<Record<string, ModelDetailsState>>;
  refreshModels(): Promise<void>;
  setModels(models: readonly InstalledModel[], current: ModelInfo | null): void;
  loadModel(id: string): Promise<ApiError | null>;
  /**
   * Validates and remembers a model folder, then loads it when no model is loaded yet; `loadError` is
   * that load's failure (the folder was accepted but the engine cannot run it).
   */
  importModel(dir: string, mode?: ImportMode): Promise<ImportResult>;
  /** The desktop app has a native folder dialog; a browser types the path instead. */
  readonly canPickFolder: boolean;
  /** The native folder dialog: the chosen folder, or null (cancelled, or no dialog here). */
  pickModelFolder(): Promise<string | null>;
  /** Fetches `models.inspect` for `id` unless it is known (or being fetched) for the model's current folder. */
  inspectModel(id: string): Promise<void>;
  /** Deletes a downloaded or copied model's folder, or forgets an imported one. */
  removeModel(id: string): Promise<ApiError | null>;
  /** Hides or shows the demo model (the `models` event brings the new list). */
  setModelHidden(id: string, hidden: boolean): Promise<ApiError | null>;
}

/** One line for an ApiError: its message, plus the engine's detail when it adds something. */
export function errorText(error: Readonly<ApiError>): string {
  return error.detail && !error.message.includes(error.detail) ? `${error.message} (${error.detail})` : error.message;
}

export function createModelsSlice(deps: StoreDeps): SliceCreator<ModelsSlice> {
  const { api } = deps;
  const downloads = createDownloadsSlice(deps);
  return (set, get, store) => ({
    ...downloads(set, get, store),
    models: [],
    modelsLoaded: false,
    currentModel: null,
    loadingModelId: null,
    modelErrors: {},
    modelDetails: {},
    canPickFolder: api.pickFolder !== undefined,

    async pickModelFolder() {
      if (!api.pickFolder) return null;
      try {
        return await api.pickFolder('Open model folder');
      } catch (error) {
        get().pushNotice('error', `Could not open the folder dialog: ${toApiError(error).message}`);
        return null;
      }
    },

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

    async importModel(dir, mode) {
      let model: InstalledModel;
      try {
        model = await api.invoke('models.import', mode === undefined ? { dir: dir.trim() } : { dir: dir.trim(), mode });
      } catch (error) {
        return { error: toApiError(error) };
      }
      set((s) => ({ models: [...s.models.filter((m) => m.id !== model.id), model] }));
      if (get().currentModel || model.problem !== undefined || get().loadingModelId !== null) return { model, loaded: false };
      const loadError = await get().loadModel(model.id);
      return loadError ? { model, loaded: false, loadError } : { model, loaded: true };
    },

    async inspectModel(id) {
      const model = get().models.find((m) => m.id === id);
      if (!model) return;
      const known = get().modelDetails[id];
      if (known && known.dir === model.dir && known.status !== 'failed') return;
      const dir = model.dir;
      set((s) => ({ modelDetails: { ...s.modelDetails, [id]: { status: 'loading', dir } } }));
      let next: ModelDetailsState;
      try {
        next = { status: 'ready', dir, details: await api.invoke('models.inspect', { id }) };
      } catch (error) {
        next = { status: 'failed', dir, error: toApiError(error) };
      }
      set((s) => ({ modelDetails: { ...s.modelDetails, [id]: next } }));
    },

    async removeModel(id) {
      const dir = get().models.find((m) => m.id === id)?.dir;
      try {
        await api.invoke('models.remove', { id });
      } catch (error) {
        return toApiError(error);
      }
      set((s) => {
        const { [id]: _details, ...modelDetails } = s.modelDetails;
        // The finished download that installed this folder is history now: its card offers Download again.
        const downloads = Object.fromEntries(Object.entries(s.downloads).filter(([, d]) => dir === undefined || d.dir !== dir));
        return { models: s.models.filter((m) => m.id !== id), modelDetails, downloads };
      });
      return null;
    },
    async setModelHidden(id, hidden) {
      try {
        await api.invoke('models.setHidden', { id, hidden });
      } catch (error) {
        return toApiError(error);
      }
      set((s) => ({ models: s.models.map((m) => (m.id === id ? { ...m, hidden: hidden || undefined } : m)) }));
      return null;
    },
  });
}
