// The chat header's model menu: installed models (the demo unless hidden, imported, copied and downloaded;
// catalog downloads by their catalog name), the loaded one selected; choosing one loads it. Renderer.
import { useEffect } from 'react';
import { errorText } from '../state/modelsSlice';
import { useShallow } from 'zustand/react/shallow';
import { selectBusy, selectCatalog, selectCurrentModelDir, selectLoadingModelId, selectPickableModels } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { modelDisplayName } from './models/modelText';

export function ModelPicker() {
  const store = useStoreApi();
  const models = useAppStore(useShallow(selectPickableModels));
  const currentDir = useAppStore(selectCurrentModelDir);
  const loadingId = useAppStore(selectLoadingModelId);
  const busy = useAppStore(selectBusy);
  const catalog = useAppStore(selectCatalog);
  // The catalog names downloaded models; it is local data, cheap to fetch once.
  useEffect(() => {
    if (store.getState().catalog === null) void store.getState().refreshCatalog();
  }, [store]);
  const currentId = models.find((m) => m.dir === currentDir)?.id ?? '';
  const value = loadingId ?? currentId;
  return (
    <div className="model-picker">
      <select
        aria-label="Model"
        value={value}
        disabled={loadingId !== null || busy || models.length === 0}
        title={busy ? 'Wait for the reply to finish to switch models' : undefined}
        onChange={(e) => {
          const id = e.target.value;
          if (!id) return;
          const model = models.find((m) => m.id === id);
          const name = model ? modelDisplayName(model, catalog) : id;
          void store
            .getState()
            .loadModel(id)
            .then((error) => error && store.getState().pushNotice('error', `Could not load ${name}: ${errorText(error)}`));
        }}
      >
        {value === '' && (
          <option value="" disabled>
            {models.length ? 'No model loaded' : 'No models installed'}
          </option>
        )}
        {models.map((m) => (
          <option key={m.id} value={m.id} disabled={m.problem !== undefined}>
            {modelDisplayName(m, catalog)}
            {m.problem !== undefined ? ' (unavailable)' : ''}
          </option>
        ))}
      </select>
      {loadingId !== null && (
        <span className="spinner" role="status" aria-label="Loading" />
      )}
    </div>
  );
}
