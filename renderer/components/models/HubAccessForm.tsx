// Hugging Face access for downloads: the access token gated models need (main keeps it; this form only
// learns whether one is saved) and the Hub address (a mirror). Renderer.
import { useId, useState, type FormEvent } from 'react';
import type { ApiError } from '../../../common/contract';
import { errorText } from '../../state/modelsSlice';
import { selectHfTokenSaved, selectHubBaseUrl } from '../../state/selectors';
import { useAppStore, useStoreApi } from '../../state/storeContext';

/** The token field's element id, so a failed download's "Add token" can focus it. */
export const HF_TOKEN_INPUT_ID = 'hf-token-input';

export function HubAccessForm() {
  const store = useStoreApi();
  const saved = useAppStore(selectHfTokenSaved);
  const hub = useAppStore(selectHubBaseUrl);
  const hintId = useId();
  const [token, setToken] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const save = async (hfToken: string | null, done: string) => {
    setError(null);
    setStatus(null);
    const failed = await store.getState().saveSettings({ hfToken });
    if (failed) {
      setError(failed);
      return;
    }
    setToken('');
    setStatus(done);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (token.trim()) void save(token.trim(), 'Token saved.');
  };

  return (
    <form className="hub-access" onSubmit={submit} aria-labelledby={`${hintId}-title`}>
      <h3 id={`${hintId}-title`}>Hugging Face access</h3>
      <p className="field-hint" id={hintId}>
        Gated models need a free Hugging Face account: open the model’s page, accept its licence, create a read token at{' '}
        <a href={`${hub.replace(/\/+$/, '')}/settings/tokens`} target="_blank" rel="noreferrer">
          {hub.replace(/^https?:\/\//, '').replace(/\/+$/, '')}/settings/tokens
        </a>{' '}
        and paste it here. Ouro keeps it on this computer and sends it only to the Hub.
      </p>
      <div className="input-row">
        <input
          id={HF_TOKEN_INPUT_ID}
          type="password"
          aria-label="Hugging Face token"
          aria-describedby={hintId}
          autoComplete="off"
          spellCheck={false}
          placeholder={saved ? 'A token is saved; paste a new one to replace it' : 'hf_…'}
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <button type="submit" className="button button-primary" disabled={!token.trim()}>
          Save token
        </button>
        {saved && (
          <button type="button" className="button button-quiet" onClick={() => void save(null, 'Token removed.')}>
            Remove token
          </button>
        )}
      </div>
      {error && (
        <p className="download-error" role="alert">
          {errorText(error)}
        </p>
      )}
      {status && !error && (
        <p className="import-added" role="status">
          {status}
        </p>
      )}
    </form>
  );
}
