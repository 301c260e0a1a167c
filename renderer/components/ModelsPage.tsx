// The Models page: the curated catalog with downloads, the Hugging Face token, "Open model folder…",
// unfinished downloads the catalog no longer lists, and the installed models. Renderer.
import { useEffect } from 'react';
import type { DownloadSnapshot } from '../../common/contract';
import { errorText } from '../state/modelsSlice';
import { selectCatalog, selectCatalogError, selectDownloads } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { ImportModelForm } from './ImportModelForm';
import { CatalogCard } from './models/CatalogCard';
import { HubAccessForm } from './models/HubAccessForm';
import { InstalledModels } from './models/InstalledModels';
import { phaseLabel, progressDetail } from './models/modelText';
import './models/models.css';
import { ProgressStrip } from './ProgressBar';

export function ModelsPage() {
  const store = useStoreApi();
  useEffect(() => {
    const s = store.getState();
    void s.refreshCatalog();
    void s.refreshDownloads();
  }, [store]);
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
        <section className="card" aria-labelledby="installed-title">
          <h2 id="installed-title">Installed</h2>
          <InstalledModels />
        </section>
        <section className="card" aria-labelledby="catalog-title">
          <h2 id="catalog-title">Download a model</h2>
          <p className="field-hint">
            Chat models checked to work with Ouro, from the Hugging Face Hub. Downloads resume after an interruption and every file
            is checked before the model appears.
          </p>
          <Catalog />
          <OrphanDownloads />
          <HubAccessForm />
        </section>
        <section className="card" aria-labelledby="import-title">
          <h2 id="import-title">Open a model folder</h2>
          <ImportModelForm />
        </section>
      </div>
    </section>
  );
}

function Catalog() {
  const catalog = useAppStore(selectCatalog);
  const error = useAppStore(selectCatalogError);
  if (error) {
    return (
      <p className="download-error" role="alert">
        The catalog could not be read: {errorText(error)}
      </p>
    );
  }
  if (!catalog) return <span className="spinner" role="status" aria-label="Loading the catalog" />;
  return (
    <div className="catalog-grid">
      {catalog.models.map((entry) => (
        <CatalogCard key={entry.id} entry={entry} />
      ))}
    </div>
  );
}

/** Unfinished downloads no catalog card shows (the catalog changed since): Resume or Discard them here. */
function OrphanDownloads() {
  const store = useStoreApi();
  const catalog = useAppStore(selectCatalog);
  const downloads = useAppStore(selectDownloads);
  if (!catalog) return null;
  const shown = new Set(catalog.models.flatMap((m) => m.variants.map((v) => v.downloadId)));
  const orphans = Object.values(downloads).filter((d: DownloadSnapshot) => !shown.has(d.id) && d.phase !== 'installed');
  if (orphans.length === 0) return null;
  return (
    <div className="orphan-downloads">
      <h3>Unfinished downloads</h3>
      <ul className="model-list">
        {orphans.map((d) => (
          <li key={d.id} className="model-row">
            <div className="model-info">
              <span className="model-name">{d.name}</span>
              <span className="muted">
                {phaseLabel(d.phase)} · {progressDetail(d)}
              </span>
            </div>
            <div className="model-actions">
              {d.phase === 'downloading' || d.phase === 'resolving' ? (
                <button type="button" className="button" onClick={() => void store.getState().cancelDownload(d.id)}>
                  Cancel download
                </button>
              ) : (
                <button type="button" className="button" disabled={!d.resumable} onClick={() => void store.getState().resumeDownload(d.id)}>
                  Resume
                </button>
              )}
              <button type="button" className="button button-quiet" onClick={() => void store.getState().discardDownload(d.id)}>
                Discard
              </button>
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
