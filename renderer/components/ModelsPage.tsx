// The Models page: open a model folder, and the installed models with load and remove; the loaded one
// is marked, a broken one shows the engine's error. Renderer.
import { useId, useState } from 'react';
import type { InstalledModel } from '../../preload/contract';
import { errorText } from '../state/modelsSlice';
import { selectBusy, selectCurrentModel, selectLoadingModelId, selectModelErrors, selectModels } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { ConfirmDialog } from './Dialog';
import { ImportModelForm } from './ImportModelForm';
import { ProgressStrip } from './ProgressBar';

export function ModelsPage() {
  const store = useStoreApi();
  const models = useAppStore(selectModels);
  const current = useAppStore(selectCurrentModel);
  const [toRemove, setToRemove] = useState<InstalledModel | null>(null);
  return (
    <section className="page" aria-labelledby="models-title">
      <header className="page-header">
        <h1 id="models-title">Models</h1>
        <button type="button" className="button" onClick={() => store.getState().showView('chat')}>
          Back to chat
        </button>
      </header>
      <ProgressStrip />
      <div className="page-body">
        <section className="card" aria-labelledby="import-title">
          <h2 id="import-title">Add a model</h2>
          <ImportModelForm />
        </section>
        <section className="card" aria-labelledby="installed-title">
          <h2 id="installed-title">Installed</h2>
          {models.length === 0 ? (
            <p className="muted">No models yet. Add a model folder above.</p>
          ) : (
            <ul className="model-list">
              {models.map((model) => (
                <ModelRow key={model.id} model={model} loaded={current?.dir === model.dir} onRemove={setToRemove} />
              ))}
            </ul>
          )}
          {current && (
            <p className="model-current muted">
              Loaded: {current.name} · {current.modelType} · {current.layers} layers · trained context{' '}
              {current.maxPositions.toLocaleString()} tokens · running on {current.provider.toUpperCase()}
            </p>
          )}
        </section>
      </div>
      <ConfirmDialog
        open={toRemove !== null}
        title="Remove model?"
        message={
          toRemove?.source === 'downloaded'
            ? `“${toRemove.name}” will be removed from Ouro and its downloaded files deleted.`
            : `“${toRemove?.name ?? ''}” will be removed from Ouro. Its folder on disk stays where it is.`
        }
        confirmLabel="Remove"
        onCancel={() => setToRemove(null)}
        onConfirm={() => {
          const target = toRemove;
          setToRemove(null);
          if (!target) return;
          void store
            .getState()
            .removeModel(target.id)
            .then((error) => error && store.getState().pushNotice('error', `Could not remove ${target.name}: ${errorText(error)}`));
        }}
      />
    </section>
  );
}

interface ModelRowProps {
  readonly model: InstalledModel;
  readonly loaded: boolean;
  readonly onRemove: (model: InstalledModel) => void;
}

function ModelRow({ model, loaded, onRemove }: ModelRowProps) {
  const store = useStoreApi();
  const loadingId = useAppStore(selectLoadingModelId);
  const error = useAppStore(selectModelErrors)[model.id];
  const busy = useAppStore(selectBusy);
  const nameId = useId();
  const loading = loadingId === model.id;
  const problem = model.problem ?? (error ? errorText(error) : undefined);
  return (
    <li className={`model-row ${loaded ? 'is-loaded' : ''}`} data-testid="model-row" data-model-id={model.id}>
      <div className="model-info">
        <span className="model-name" id={nameId}>
          {model.name}
          {loaded && <span className="badge">Loaded</span>}
          {model.source === 'downloaded' && <span className="badge badge-quiet">Downloaded</span>}
        </span>
        <code className="model-dir" title={model.dir}>
          {model.dir}
        </code>
        {problem && (
          <p className="model-problem" role="alert">
            {problem}
          </p>
        )}
      </div>
      <div className="model-actions">
        <button
          type="button"
          className={loaded ? 'button button-quiet' : 'button button-primary'}
          aria-describedby={nameId}
          disabled={loaded || loadingId !== null || busy || model.problem !== undefined}
          onClick={() => void store.getState().loadModel(model.id)}
        >
          {loading ? 'Loading…' : loaded ? 'Loaded' : 'Load'}
        </button>
        <button type="button" className="button button-quiet" aria-describedby={nameId} disabled={loading} onClick={() => onRemove(model)}>
          Remove
        </button>
      </div>
    </li>
  );
}
