// Where downloads come from (huggingface.co or a mirror) and whether a mirror may receive the Hugging Face
// token: off unless the user ticks it, with a warning, and never for an http address. Renderer.
import { useEffect, useId, useState, type FormEvent } from 'react';
import type { ApiError } from '../../../common/contract';
import { DEFAULT_HUB_BASE_URL, originOf, tokenMayGoTo, type SettingsPatch } from '../../../common/settingsSchema';
import { errorText } from '../../state/modelsSlice';
import { selectHfTokenMirror, selectHubBaseUrl } from '../../state/selectors';
import { useAppStore, useStoreApi } from '../../state/storeContext';

export function HubMirrorForm() {
  const store = useStoreApi();
  const hub = useAppStore(selectHubBaseUrl);
  const trustedMirror = useAppStore(selectHfTokenMirror);
  const id = useId();
  const [address, setAddress] = useState(hub);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => setAddress(hub), [hub]);

  const save = async (patch: SettingsPatch) => {
    setError(null);
    setError(await store.getState().saveSettings(patch));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (address.trim() && address.trim() !== hub) void save({ hubBaseUrl: address.trim() });
  };
  const isMirror = originOf(hub) !== DEFAULT_HUB_BASE_URL;
  const overHttp = originOf(hub)?.startsWith('http://') === true;

  return (
    <form className="hub-mirror" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Download from</h3>
      <div className="input-row">
        <input aria-label="Hub address" spellCheck={false} value={address} onChange={(e) => setAddress(e.target.value)} />
        <button type="submit" className="button" disabled={!address.trim() || address.trim() === hub}>
          Use this address
        </button>
        {isMirror && (
          <button type="button" className="button button-quiet" onClick={() => void save({ hubBaseUrl: DEFAULT_HUB_BASE_URL })}>
            Back to huggingface.co
          </button>
        )}
      </div>
      {isMirror && (
        <>
          <label className="checkbox-row">
            <input
              type="checkbox"
              disabled={overHttp}
              checked={tokenMayGoTo(hub, trustedMirror)}
              onChange={(e) => void save({ hfTokenMirror: e.target.checked ? hub : null })}
            />
            Send my Hugging Face token to this mirror
          </label>
          <p className="field-warning" role="note">
            {overHttp
              ? 'Ouro never sends the token over http: anyone on the network could read it.'
              : 'Whoever runs this mirror can use your token to act as you on Hugging Face: download your gated and private models, and anything else the token allows. Tick this only for a mirror you or your organisation run.'}
          </p>
        </>
      )}
      {error && (
        <p className="download-error" role="alert">
          {errorText(error)}
        </p>
      )}
    </form>
  );
}
