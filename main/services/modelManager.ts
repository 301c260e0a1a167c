// Which model the user picked and whether the current engine host has it loaded: loads on request,
// reloads into a host that replaced a crashed one, remembers the choice in settings. Runs in main.
import type { ModelInfo } from '../../common/modelInfo';
import type { InstalledModel } from '../../common/contract';
import type { SettingsStore } from '../storage/settingsStore';
import { fail } from './apiFailure';
import type { EngineOwner } from './engineOwner';
import type { ModelRegistry } from './modelRegistry';

/** The model in use: its registry entry and what the host reported when it loaded it. */
export interface CurrentModel {
  readonly model: InstalledModel;
  readonly info: ModelInfo;
}

export interface ModelManagerDeps {
  readonly registry: ModelRegistry;
  /** The engine's owner: its lock serialises everything that changes the host's state. */
  readonly engine: EngineOwner;
  readonly settings: SettingsStore;
  /** Runs inside the lock before the host drops its model: save what the active stream holds. */
  readonly beforeUnload: () => Promise<void>;
  /** The model list or the current model changed. */
  readonly changed: () => void;
}

export class ModelManager {
  private picked: CurrentModel | null = null;
  /** Supervisor generation whose host has `picked` loaded (-1: none). */
  private loadedIn = -1;
  private reloading: Promise<CurrentModel> | null = null;

  constructor(private readonly deps: ModelManagerDeps) {}

  /** The model in use, whether or not the current host has loaded it yet (after a crash it reloads on demand). */
  get current(): CurrentModel | null {
    return this.picked;
  }

  /** Loads a registered model into the host, replacing the one there; remembers it as the last model. */
  async load(id: string): Promise<ModelInfo> {
    const model = await this.deps.registry.find(id);
    if (!model) fail('not-found', `No model ${id} is installed; import its folder first.`);
    if (model.problem) fail('model-invalid', model.problem, 'missing-file');
    this.deps.engine.supervisor.revive();
    try {
      const current = await this.deps.engine.exclusive(() => this.loadLocked(model));
      await this.deps.settings.update({ lastModelId: id });
      return current.info;
    } finally {
      this.deps.changed();
    }
  }

  /** The current model, loaded into the current host (reloaded there if the host was replaced). @throws no-model */
  async ensureLoaded(): Promise<CurrentModel> {
    const picked = this.picked;
    if (!picked) fail('no-model', 'No model is loaded. Open Models and import or pick a model folder first.');
    const { engine } = this.deps;
    if (this.loadedIn === engine.supervisor.generation) return picked;
    this.reloading ??= engine
      .exclusive(() => (this.loadedIn === engine.supervisor.generation ? Promise.resolve(picked) : this.loadLocked(picked.model)))
      .finally(() => {
        this.reloading = null;
        this.deps.changed();
      });
    return this.reloading;
  }

  /** True when the current host holds the current model. */
  get loadedNow(): boolean {
    return this.picked !== null && this.loadedIn === this.deps.engine.supervisor.generation;
  }

  /** Forgets the current model if it is `id` (after it was removed), unloading it from the host. */
  async forget(id: string): Promise<void> {
    if (this.picked?.model.id !== id) return;
    await this.deps.engine.exclusive(async () => {
      await this.deps.beforeUnload();
      this.picked = null;
      this.loadedIn = -1;
      await this.deps.engine.request('unload', {}).catch(() => undefined);
    });
    await this.deps.settings.update({ lastModelId: null });
  }

  private async loadLocked(model: InstalledModel): Promise<CurrentModel> {
    await this.deps.beforeUnload();
    // The host drops its model before loading the next: until this succeeds nothing is loaded. A failed
    // reload of the same model keeps it picked (the next request tries again); any other failure clears it.
    const previous = this.picked;
    this.picked = previous?.model.id === model.id ? previous : null;
    this.loadedIn = -1;
    const generation = this.deps.engine.supervisor.generation;
    const { provider, q4Compute } = this.deps.settings.get();
    const info = await this.deps.engine.request('load', { dir: model.dir, provider, q4Compute });
    this.picked = { model, info };
    this.loadedIn = generation;
    return this.picked;
  }
}
