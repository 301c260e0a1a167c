// A catalog card's download area: the Download button, then a progress bar with bytes, speed and ETA
// and Cancel; a paused or failed download with Resume/Retry/Discard and, for a failure, what to do.
// Renderer.
import type { CatalogModel, CatalogModelVariant, DownloadSnapshot } from '../../../common/contract';
import { isActivePhase } from '../../state/downloadsSlice';
import { errorText } from '../../state/modelsSlice';
import { selectDownload, selectDownloadError, selectDownloadPending, selectHubBaseUrl } from '../../state/selectors';
import { useAppStore, useStoreApi } from '../../state/storeContext';
import { ProgressBar } from '../ProgressBar';
import { failureHelp, phaseLabel, progressDetail, type FailureAction } from './modelText';
import { HF_TOKEN_INPUT_ID } from './HubAccessForm';

export interface DownloadPanelProps {
  readonly entry: CatalogModel;
  readonly variant: CatalogModelVariant;
  readonly installed: boolean;
  /** Id of the card's title (describes the buttons to screen readers). */
  readonly nameId: string;
}

export function DownloadPanel({ entry, variant, installed, nameId }: DownloadPanelProps) {
  const store = useStoreApi();
  const download = useAppStore(selectDownload(variant.downloadId));
  const verbError = useAppStore(selectDownloadError(variant.downloadId));
  const pending = useAppStore(selectDownloadPending(variant.downloadId));
  const id = variant.downloadId;
  const start = () => void store.getState().startDownload(entry.id, variant.id, id);

  let body;
  if (installed && (!download || !isActivePhase(download.phase))) {
    body = <p className="download-installed">Installed. Load it from the list of installed models.</p>;
  } else if (download && isActivePhase(download.phase)) {
    body = (
      <>
        <ProgressBar label={`${phaseLabel(download.phase)} ${entry.name}`} done={download.receivedBytes} total={download.totalBytes} detail={progressDetail(download)} />
        <div className="download-actions">
          <button type="button" className="button" aria-describedby={nameId} disabled={pending || download.phase === 'installing'} onClick={() => void store.getState().cancelDownload(id)}>
            Cancel download
          </button>
        </div>
      </>
    );
  } else if (download && download.phase !== 'installed') {
    body = <StoppedDownload entry={entry} download={download} nameId={nameId} pending={pending} onRetry={start} />;
  } else {
    body = (
      <div className="download-actions">
        <button type="button" className="button button-primary" aria-describedby={nameId} disabled={pending} onClick={start}>
          Download
        </button>
      </div>
    );
  }
  return (
    <div className="download-panel" data-testid="download-panel">
      {body}
      {verbError && (
        <p className="download-error" role="alert">
          {errorText(verbError)}
        </p>
      )}
    </div>
  );
}

interface StoppedDownloadProps {
  readonly entry: CatalogModel;
  readonly download: DownloadSnapshot;
  readonly nameId: string;
  readonly pending: boolean;
  readonly onRetry: () => void;
}

/** A download that stopped: paused (cancelled, or left over from an earlier run) or failed. */
function StoppedDownload({ entry, download, nameId, pending, onRetry }: StoppedDownloadProps) {
  const store = useStoreApi();
  const hub = useAppStore(selectHubBaseUrl);
  const id = download.id;
  const help = download.error ? failureHelp(download.error, download.resumable) : null;
  const actions: readonly FailureAction[] = help ? help.actions : ['resume'];
  const resume = () => void store.getState().resumeDownload(id);
  return (
    <>
      {download.totalBytes > 0 && (
        <ProgressBar label={`${phaseLabel(download.phase)}: ${entry.name}`} done={download.receivedBytes} total={download.totalBytes} detail={progressDetail(download)} />
      )}
      {help && download.error && (
        <div className="download-failure" role="alert">
          <p>
            <strong>{help.advice}</strong>
          </p>
          {/* Gated and token errors: the advice and the buttons say it all (the raw message names Settings). */}
          {download.error.code !== 'gated' && download.error.code !== 'auth-required' && (
            <p className="download-failure-message">{download.error.message}</p>
          )}
        </div>
      )}
      <div className="download-actions">
        {actions.includes('open-model-page') && (
          <a className="button" href={`${hub.replace(/\/+$/, '')}/${entry.repo}`} target="_blank" rel="noreferrer" aria-describedby={nameId}>
            Open model page
          </a>
        )}
        {actions.includes('add-token') && (
          <button type="button" className="button" onClick={focusTokenField}>
            Add token
          </button>
        )}
        {actions.includes('resume') && (
          <button type="button" className="button button-primary" aria-describedby={nameId} disabled={pending} onClick={resume}>
            Resume
          </button>
        )}
        {actions.includes('retry') && (
          <button type="button" className="button button-primary" aria-describedby={nameId} disabled={pending} onClick={onRetry}>
            Try again
          </button>
        )}
        {download.resumable ? (
          <button type="button" className="button button-quiet" aria-describedby={nameId} disabled={pending} onClick={() => void store.getState().discardDownload(id)}>
            Discard
          </button>
        ) : (
          <button type="button" className="button button-quiet" aria-describedby={nameId} onClick={() => store.getState().dismissDownload(id)}>
            Dismiss
          </button>
        )}
      </div>
    </>
  );
}

function focusTokenField(): void {
  const input = document.getElementById(HF_TOKEN_INPUT_ID);
  input?.scrollIntoView({ block: 'center' });
  input?.focus();
}
