// Downloads slice: the curated catalog and every model download's latest snapshot, kept current by
// `download` events (a few per second while bytes flow), plus the verbs that start, cancel, resume and
// discard them. Part of the models slice's state. Renderer.
import type { ApiError, CatalogListing, DownloadEvent, DownloadSnapshot } from '../../common/contract';
import { toApiError } from '../bridge';
import type { SliceCreator, StoreDeps } from './appState';

export interface DownloadsSlice {
  /** Null until `catalog.list` answered. */
  catalog: CatalogListing | null;
  catalogError: ApiError | null;
  /** The latest snapshot per download id (a catalog variant's `downloadId`). */
  downloads: Readonly<Record<string, DownloadSnapshot>>;
  /** A verb about a download that failed (the download's own failures are in its snapshot's `error`). */
  downloadErrors: Readonly<Record<string, ApiError>>;
  /** Download ids with a verb call in flight (their buttons wait). */
  downloadPending: Readonly<Record<string, true>>;
  refreshCatalog(): Promise<void>;
  /** Replaces the snapshots with `downloads.list` (running and unfinished ones on disk). */
  refreshDownloads(): Promise<void>;
  applyDownloadEvent(event: DownloadEvent): void;
  startDownload(catalogId: string, variant: string, downloadId: string): Promise<ApiError | null>;
  cancelDownload(id: string): Promise<ApiError | null>;
  resumeDownload(id: string): Promise<ApiError | null>;
  /** Cancels if running and deletes the partial files; the snapshot goes. */
  discardDownload(id: string): Promise<ApiError | null>;
  /** Forgets a finished or failed download's snapshot here (nothing of it is left on disk). */
  dismissDownload(id: string): void;
}

/** Phases in which bytes are still coming or being checked: Cancel applies, Download does not. */
export function isActivePhase(phase: DownloadSnapshot['phase']): boolean {
  return phase === 'resolving' || phase === 'downloading' || phase === 'verifying' || phase === 'installing';
}

function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _dropped, ...rest } = record;
  return rest;
}

export function createDownloadsSlice(deps: StoreDeps): SliceCreator<DownloadsSlice> {
  const { api } = deps;
  return (set, get) => {
    /** Runs a download verb with `id` marked pending; a failure is kept for that download. */
    const run = async (id: string, call: () => Promise<void>): Promise<ApiError | null> => {
      set((s) => ({ downloadPending: { ...s.downloadPending, [id]: true }, downloadErrors: without(s.downloadErrors, id) }));
      try {
        await call();
        set((s) => ({ downloadPending: without(s.downloadPending, id) }));
        return null;
      } catch (error) {
        const apiError = toApiError(error);
        set((s) => ({ downloadPending: without(s.downloadPending, id), downloadErrors: { ...s.downloadErrors, [id]: apiError } }));
        return apiError;
      }
    };
    // A verb's reply may arrive after the download's first events (under Electron events come over
    // another channel), so a reply only fills in a download no event has reported yet.
    const adopt = (snapshot: DownloadSnapshot) =>
      set((s) => (s.downloads[snapshot.id] && isActivePhase(s.downloads[snapshot.id].phase) ? {} : { downloads: { ...s.downloads, [snapshot.id]: snapshot } }));

    return {
      catalog: null,
      catalogError: null,
      downloads: {},
      downloadErrors: {},
      downloadPending: {},

      async refreshCatalog() {
        try {
          set({ catalog: await api.invoke('catalog.list', {}), catalogError: null });
        } catch (error) {
          set({ catalogError: toApiError(error) });
        }
      },

      async refreshDownloads() {
        try {
          const rows = await api.invoke('downloads.list', {});
          set({ downloads: Object.fromEntries(rows.map((d) => [d.id, d])) });
        } catch (error) {
          get().pushNotice('error', `Could not list downloads: ${toApiError(error).message}`);
        }
      },

      applyDownloadEvent(event) {
        const snapshot = event.download;
        set((s) => ({ downloads: { ...s.downloads, [snapshot.id]: snapshot } }));
      },

      startDownload(catalogId, variant, downloadId) {
        return run(downloadId, async () => adopt(await api.invoke('downloads.start', { catalogId, variant })));
      },

      cancelDownload(id) {
        return run(id, async () => {
          await api.invoke('downloads.cancel', { id });
        });
      },

      resumeDownload(id) {
        return run(id, async () => adopt(await api.invoke('downloads.resume', { id })));
      },

      discardDownload(id) {
        return run(id, async () => {
          await api.invoke('downloads.discard', { id });
          set((s) => ({ downloads: without(s.downloads, id) }));
        });
      },

      dismissDownload(id) {
        set((s) => ({ downloads: without(s.downloads, id), downloadErrors: without(s.downloadErrors, id) }));
      },
    };
  };
}
