// The catalog bundled with the app (models/catalog.json, validated once) and lookups into it.
// Runs in main; the JSON is inlined by the bundler, so no path is resolved at run time.

import catalogJson from '../../models/catalog.json';
import { catalogFolderId, parseCatalog, type Catalog, type CatalogEntry } from '../../common/catalogSchema';
import type { DownloadRequest } from './downloadRequest';

let cached: Catalog | null = null;

/** The validated bundled catalog (throws, naming each problem, if the shipped file is broken). */
export function bundledCatalog(): Catalog {
  cached ??= parseCatalog(catalogJson);
  return cached;
}

/** The entry with `id`, or null. */
export function findCatalogEntry(id: string, catalog: Readonly<Catalog> = bundledCatalog()): CatalogEntry | null {
  return catalog.models.find((m) => m.id === id) ?? null;
}

/** The download request for `entry` (its default variant unless `variantId` names another). */
export function requestFromCatalog(entry: Readonly<CatalogEntry>, variantId?: string): DownloadRequest {
  const variant = entry.variants.find((v) => v.id === (variantId ?? entry.defaultVariant));
  if (variant === undefined) {
    throw new Error(`${entry.name} has no variant "${variantId}"; available: ${entry.variants.map((v) => v.id).join(', ')}`);
  }
  return {
    id: catalogFolderId(entry, variant),
    name: `${entry.name} (${variant.id})`,
    repo: entry.repo,
    revision: entry.revision,
    catalogId: entry.id,
    variant: variant.id,
    files: variant.files.map((f) => (f.sha256 === undefined ? { path: f.path } : { path: f.path, sha256: f.sha256 })),
  };
}
