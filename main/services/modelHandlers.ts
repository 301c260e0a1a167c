// The handlers of the model verbs: installed models (import with full validation, inspect, load,
// remove), the curated catalog and downloads. Part of serviceHandlers; runs in main.
import { inspectModel } from '../models/modelInspect';
import { fail } from './apiFailure';
import type { ServiceParts } from './appServices';
import type { ServiceHandlers } from './serviceHandlers';

/** The verbs handled here. */
export type ModelVerb =
  | 'models.list'
  | 'models.import'
  | 'models.remove'
  | 'models.setHidden'
  | 'models.load'
  | 'models.current'
  | 'models.inspect'
  | 'catalog.list'
  | 'downloads.start'
  | 'downloads.cancel'
  | 'downloads.resume'
  | 'downloads.discard'
  | 'downloads.list';

/** Handlers of the model, catalog and download verbs over `parts`. */
export function modelHandlers(parts: ServiceParts): Pick<ServiceHandlers, ModelVerb> {
  const { settings, registry, supervisor, models, chat, downloads, emit } = parts;
  const requireIdle = (what: string) => {
    if (chat.busy) fail('busy', `A reply is still being written; stop it before ${what}.`);
  };
  // The engine host opens the graph and checks its inputs and outputs, so a folder the engine cannot
  // drive (no position_ids, fp16 KV, ...) is refused at import with the engine's own error, not at load.
  const checkInHost = (dir: string) => supervisor.validateFolder(dir);

  return {
    'models.list': () => registry.list(),
    'models.import': async ({ dir, mode }) => {
      const model = mode === 'copy' ? await registry.importCopy(dir, checkInHost) : await registry.import(dir, checkInHost);
      parts.modelsChanged();
      return model;
    },
    'models.remove': async ({ id }) => {
      if (models.current?.model.id === id) requireIdle('removing the model in use');
      await models.forget(id);
      await registry.remove(id);
      parts.modelsChanged();
      emit({ type: 'settings', settings: settings.get() });
      return null;
    },
    'models.setHidden': async ({ id, hidden }) => {
      await registry.setHidden(id, hidden);
      parts.modelsChanged();
      return null;
    },
    'models.load': async ({ id }) => {
      requireIdle('loading another model');
      const info = await models.load(id);
      emit({ type: 'settings', settings: settings.get() });
      return info;
    },
    'models.current': async () => models.current?.info ?? null,
    'models.inspect': async ({ id }) => {
      const model = await registry.find(id);
      if (!model) fail('not-found', `No model ${id} is installed.`);
      return { model, summary: await inspectModel(model.dir) };
    },

    'catalog.list': async () => downloads.listing(),
    'downloads.start': async ({ catalogId, variant }) => downloads.start(catalogId, variant),
    'downloads.cancel': async ({ id }) => {
      downloads.cancel(id);
      return null;
    },
    'downloads.resume': ({ id }) => downloads.resume(id),
    'downloads.discard': async ({ id }) => {
      await downloads.discard(id);
      return null;
    },
    'downloads.list': () => downloads.list(),
  };
}
