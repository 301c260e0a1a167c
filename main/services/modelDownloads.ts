// The app's model downloads: the curated catalog as the Models page shows it, and one DownloadService
// whose events become `download` AppEvents (a finished install re-sends the model list). Runs in main.
import { requestFromCatalog } from '../models/catalog';
import type { AppEvent, CatalogListing, DownloadSnapshot } from '../../common/contract';
import { catalogFolderId, type Catalog } from '../../common/catalogSchema';
import { findCatalogEntry } from '../models/catalog';
import { DownloadService, type DownloadServiceOptions } from '../models/downloadService';
import type { AppSettings } from '../../common/settingsSchema';
import { fail } from './apiFailure';
import { downloadedModelId } from './modelRegistry';

/** Download tuning and test seams passed through to the DownloadService. */
export type DownloadTuning = Partial<
  Pick<DownloadServiceOptions, 'transport' | 'idleTimeoutMs' | 'retry' | 'progressIntervalMs' | 'reserveBytes' | 'freeBytes'>
>;

export interface ModelDownloadsOptions {
  /** `<dataDir>/models` (the registry's downloadsDir). */
  readonly modelsDir: string;
  readonly catalog: Readonly<Catalog>;
  /** The current settings (token and Hub base URL are read at each start, so a change applies to the next download). */
  readonly settings: () => Readonly<AppSettings>;
  /** Overrides the `hubBaseUrl` setting (tests point it at a mock Hub). */
  readonly hubBaseUrl?: string;
  readonly emit: (event: AppEvent) => void;
  /** The engine's check of an assembled download before it is installed (DownloadServiceOptions.checkFolder). */
  readonly checkFolder?: (dir: string) => Promise<void>;
  /** A download was installed: the model list changed. */
  readonly installed: () => void;
  readonly tuning?: DownloadTuning;
}

/** Owns the DownloadService (and closes it); translates catalog ids into download requests. */
export class ModelDownloads {
  readonly service: DownloadService;

  constructor(private readonly options: Readonly<ModelDownloadsOptions>) {
    const { settings, hubBaseUrl } = options;
    this.service = new DownloadService({
      ...options.tuning,
      modelsDir: options.modelsDir,
      // A getter: the service reads it at each start, so a changed setting needs no restart.
      get hubBaseUrl() {
        return hubBaseUrl ?? settings().hubBaseUrl;
      },
      token: () => settings().hfToken ?? undefined,
      checkFolder: options.checkFolder,
      onEvent: (event) => {
        options.emit({ type: 'download', event });
        if (event.type === 'phase' && event.download.phase === 'installed') options.installed();
      },
    });
  }

  /** The catalog with each variant's download id and the model id it gets once installed. */
  listing(): CatalogListing {
    const { catalog } = this.options;
    return {
      updated: catalog.updated,
      models: catalog.models.map((entry) => ({
        ...entry,
        variants: entry.variants.map((variant) => {
          const { files, ...rest } = variant;
          const downloadId = catalogFolderId(entry, variant);
          return { ...rest, downloadId, modelId: downloadedModelId(downloadId), fileCount: files.length };
        }),
      })),
    };
  }

  /** Starts (or resumes from its partial files) `variant` of catalog entry `catalogId`. @throws not-found, bad-request */
  start(catalogId: string, variant?: string): DownloadSnapshot {
    const entry = findCatalogEntry(catalogId, this.options.catalog);
    if (entry === null) fail('not-found', `The catalog has no model "${catalogId}".`);
    if (variant !== undefined && !entry.variants.some((v) => v.id === variant)) {
      fail('bad-request', `${entry.name} has no variant "${variant}"; available: ${entry.variants.map((v) => v.id).join(', ')}.`);
    }
    const { id } = this.service.start(requestFromCatalog(entry, variant));
    return this.snapshot(id);
  }

  /** Resumes an unfinished download found on disk. @throws DownloadError not-found */
  async resume(id: string): Promise<DownloadSnapshot> {
    const handle = await this.service.resume(id);
    return this.snapshot(handle.id);
  }

  cancel(id: string): void {
    this.service.cancel(id);
  }

  discard(id: string): Promise<void> {
    return this.service.discard(id);
  }

  list(): Promise<DownloadSnapshot[]> {
    return this.service.list();
  }

  /** Cancels running downloads (their bytes stay for a resume after the next start). */
  close(): Promise<void> {
    return this.service.close();
  }

  private snapshot(id: string): DownloadSnapshot {
    const running = this.service.get(id);
    if (running === null) fail('internal', `The download ${id} ended before it could be reported.`);
    return running;
  }
}
