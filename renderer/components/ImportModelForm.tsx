// "Open model folder…": in the desktop app the OS's folder dialog, in a browser a path field (the app
// has both: a path can be typed there too); either calls `models.import` (used in place or copied into
// Ouro's models folder) and shows the engine's specific error (the file and the problem, and which
// folder to pick when a neighbour of a model folder was chosen) inline. Renderer.
import { useId, useState, type FormEvent } from 'react';
import type { ApiError } from '../../common/contract';
import type { ImportMode } from '../state/modelsSlice';
import { selectCanPickFolder } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { FolderIcon } from './icons';

export function ImportModelForm({ autoFocus }: { readonly autoFocus?: boolean }) {
  const store = useStoreApi();
  const id = useId();
  const [dir, setDir] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [mode, setMode] = useState<ImportMode>('reference');

  const canPick = useAppStore(selectCanPickFolder);

  const importDir = (folder: string) => {
    setBusy(true);
    setError(null);
    setAdded(null);
    setLoadError(null);
    void store
      .getState()
      .importModel(folder, mode)
      .then((result) => {
        setBusy(false);
        if ('error' in result) {
          setError(result.error);
          return;
        }
        setDir('');
        setAdded(result.model.name);
        if (result.loadError) setLoadError(result.loadError);
      });
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (dir.trim() && !busy) importDir(dir);
  };
  const pick = () => {
    if (busy) return;
    void store
      .getState()
      .pickModelFolder()
      .then((chosen) => {
        if (chosen === null) return;
        setDir(chosen);
        importDir(chosen);
      });
  };

  return (
    <form className="import-form" onSubmit={submit}>
      <label id={`${id}-label`} htmlFor={id} className="import-label">
        Model folder
      </label>
      <div className="input-row">
        <input
          id={id}
          type="text"
          value={dir}
          autoFocus={autoFocus}
          spellCheck={false}
          autoComplete="off"
          placeholder="/path/to/SmolLM2-135M-Instruct"
          aria-describedby={`${id}-hint${error ? ` ${id}-error` : ''}`}
          aria-invalid={error !== null || undefined}
          onChange={(e) => {
            setDir(e.target.value);
            setError(null);
          }}
        />
        {canPick ? (
          <>
            <button type="submit" className="button" disabled={!dir.trim() || busy}>
              Open
            </button>
            <button type="button" className="button button-primary" disabled={busy} onClick={pick}>
              <FolderIcon />
              {busy ? 'Opening…' : 'Open model folder…'}
            </button>
          </>
        ) : (
          <button type="submit" className="button button-primary" disabled={!dir.trim() || busy}>
            <FolderIcon />
            {busy ? 'Opening…' : 'Open model folder…'}
          </button>
        )}
      </div>
      <p className="field-hint" id={`${id}-hint`}>
        The folder of a model exported for transformers.js: <code>config.json</code>, <code>tokenizer.json</code>,{' '}
        <code>tokenizer_config.json</code> and <code>onnx/model.onnx</code>. Ouro opens the graph to check it can run it.
      </p>
      <fieldset className="import-mode">
        <legend className="visually-hidden">Where the model stays</legend>
        <label>
          <input type="radio" name={`${id}-mode`} value="reference" checked={mode === 'reference'} onChange={() => setMode('reference')} />
          Use the folder where it is
        </label>
        <label>
          <input type="radio" name={`${id}-mode`} value="copy" checked={mode === 'copy'} onChange={() => setMode('copy')} />
          Copy it into Ouro’s models folder
        </label>
      </fieldset>
      {error && (
        <div className="import-error" role="alert" id={`${id}-error`} data-testid="import-error">
          <strong>Ouro cannot use this folder.</strong> {error.message}
          {error.detail && !error.message.includes(error.detail) && <span className="error-detail"> ({error.detail})</span>}
        </div>
      )}
      {added && loadError && (
        <div className="import-error" role="alert" data-testid="import-error">
          <strong>Added {added}, but it cannot be loaded.</strong> {loadError.message}
          {loadError.detail && !loadError.message.includes(loadError.detail) && (
            <span className="error-detail"> ({loadError.detail})</span>
          )}
        </div>
      )}
      {added && !loadError && (
        <p className="import-added" role="status">
          Added {added}.
        </p>
      )}
    </form>
  );
}
