// The catalog bundled with the app (models/catalog.json, validated once) and lookups into it.
// Runs in main; the JSON is inlined by the bundler, so no path is resolved at run time.

import catalogJson from '../../models/catalog.json';
import { parseCatalog, type Catalog, type CatalogEntry } from './catalogSchema';

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
