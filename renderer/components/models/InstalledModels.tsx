// The installed models: each with what `models.inspect` says (parameters, shape, KV memory per 1K
// tokens, where it came from), Load, and Delete model with a confirmation that says what deleting does
// (a downloaded or copied folder is deleted; a folder used in place is only forgotten); the demo model
// that comes with Ouro is hidden and shown instead. Renderer.
import { useEffect, useId, useState } from 'react';
import { PROVIDER_LABELS } from '../../../common/providers';
import type { InstalledModel, ModelSummary } from '../../../common/contract';
import { formatBytes, formatCount } from '../../format';
import { errorText } from '../../state/modelsSlice';
import { selectBusy, selectCatalog, selectCurrentModel, selectLoadingModelId, selectModelDetails, selectModelErrors, selectModels } from '../../state/selectors';
import { useAppStore, useStoreApi } from '../../state/storeContext';
import { ConfirmDialog } from '../Dialog';
import { formatParameters, modelDisplayName } from './modelText';

export function InstalledModels() {
  const store = useStoreApi();
  const models = useAppStore(selectModels);
  const current = useAppStore(selectCurrentModel);
  const catalog = useAppStore(selectCatalog);
  const [toDelete, setToDelete] = useState<InstalledModel | null>(null);
  const name = toDelete ? modelDisplayName(toDelete, catalog) : '';
  const ownsFiles = toDelete?.source === 'downloaded';
  return (
    <>
      {models.length === 0 ? (
        <p className="muted">No models yet: download one from the catalog or open a model folder.</p>
      ) : (
        <ul className="model-list">
          {models.map((model) => (
            <InstalledModelRow key={model.id} model={model} loaded={current?.dir === model.dir} onDelete={setToDelete} />
          ))}
        </ul>
      )}
      {current && (
        <p className="model-current muted">
          Loaded: {current.name} · {current.modelType} · {current.layers} layers · trained context {formatCount(current.maxPositions)} tokens ·
          running on {PROVIDER_LABELS[current.provider]}
          {current.providerNote && <span className="model-provider-note"> ({current.providerNote})</span>}
          {current.q4Compute && ` · 4-bit compute: ${current.q4Compute === 'int8' ? 'int8 activations' : 'exact'}`}
        </p>
      )}
      <ConfirmDialog
        open={toDelete !== null}
        title={ownsFiles ? 'Delete model?' : 'Remove model from Ouro?'}
        message={
          ownsFiles
            ? `“${name}” and its files in Ouro’s models folder will be deleted (${toDelete?.dir ?? ''}). You can download it again later.`
            : `Ouro will forget “${name}”. Its folder stays where it is on disk (${toDelete?.dir ?? ''}); nothing is deleted.`
        }
        confirmLabel={ownsFiles ? 'Delete files' : 'Remove from Ouro'}
        onCancel={() => setToDelete(null)}
        onConfirm={() => {
          const target = toDelete;
          setToDelete(null);
          if (!target) return;
          void store
            .getState()
            .removeModel(target.id)
            .then((error) => error && store.getState().pushNotice('error', `Could not delete ${name}: ${errorText(error)}`));
        }}
      />
    </>
  );
}

interface RowProps {
  readonly model: InstalledModel;
  readonly loaded: boolean;
  readonly onDelete: (model: InstalledModel) => void;
}

function InstalledModelRow({ model, loaded, onDelete }: RowProps) {
  const store = useStoreApi();
  const loadingId = useAppStore(selectLoadingModelId);
  const error = useAppStore(selectModelErrors)[model.id];
  const busy = useAppStore(selectBusy);
  const catalog = useAppStore(selectCatalog);
  const details = useAppStore(selectModelDetails(model.id));
  const nameId = useId();
  const loading = loadingId === model.id;
  const problem = model.problem ?? (error ? errorText(error) : undefined);
  useEffect(() => {
    if (model.problem === undefined) void store.getState().inspectModel(model.id);
  }, [store, model.id, model.dir, model.problem]);
  return (
    <li className={`model-row ${loaded ? 'is-loaded' : ''}`} data-testid="model-row" data-model-id={model.id}>
      <div className="model-info">
        <span className="model-name" id={nameId}>
          {modelDisplayName(model, catalog)}
          {loaded && <span className="badge">Loaded</span>}
          <span className="badge badge-quiet">{sourceLabel(model, details?.status === 'ready' ? details.details.summary : null)}</span>
        </span>
        <code className="model-dir" title={model.dir}>
          {model.dir}
        </code>
        {model.note && <p className="model-summary">{model.note}</p>}
        {details?.status === 'ready' && <SummaryLine summary={details.details.summary} />}
        {details?.status === 'failed' && !problem && (
          <p className="model-problem" role="alert">
            {errorText(details.error)}
          </p>
        )}
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
        {model.source === 'demo' ? (
          <button
            type="button"
            className="button button-quiet"
            aria-describedby={nameId}
            title={model.hidden ? undefined : 'Leaves it out of the model menu; it stays on disk and can be shown again here'}
            onClick={() =>
              void store
                .getState()
                .setModelHidden(model.id, !model.hidden)
                .then((err) => err && store.getState().pushNotice('error', errorText(err)))
            }
          >
            {model.hidden ? 'Show in model menu' : 'Hide'}
          </button>
        ) : (
          <button type="button" className="button button-quiet" aria-describedby={nameId} disabled={loading} onClick={() => onDelete(model)}>
            Delete model
          </button>
        )}
      </div>
    </li>
  );
}

/** Comes with Ouro, downloaded (with a provenance record), copied into the models folder, or used in place. */
function sourceLabel(model: InstalledModel, summary: ModelSummary | null): string {
  if (model.source === 'demo') return model.hidden ? 'Comes with Ouro · hidden' : 'Comes with Ouro';
  if (model.source === 'imported') return 'Folder used in place';
  return summary && summary.download === null ? 'Copied' : 'Downloaded';
}

function SummaryLine({ summary }: { readonly summary: ModelSummary }) {
  const from = summary.download;
  const repo = typeof from?.repo === 'string' ? from.repo : null;
  const commit = typeof from?.commit === 'string' ? from.commit.slice(0, 7) : null;
  return (
    <>
      <p className="model-summary">
        {formatParameters(summary.parameters)} parameters{summary.parametersFrom === 'weights' ? ' (estimated)' : ''} · {summary.modelType} ·{' '}
        {summary.layers} layers · {summary.weightFormat} weights, {formatBytes(summary.weightsBytes)} · context {formatCount(summary.contextLength)} ·
        KV cache {formatBytes(summary.kvBytesPer1kTokens)} per 1K tokens
      </p>
      {repo && (
        <p className="model-summary muted">
          From {repo}
          {commit ? ` @ ${commit}` : ''}
        </p>
      )}
      {summary.warnings.map((w) => (
        <p key={w} className="model-summary model-warning">
          {w}
        </p>
      ))}
    </>
  );
}
