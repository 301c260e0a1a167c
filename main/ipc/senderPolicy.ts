// Which URLs the app trusts: the renderer's own page (IPC senders, navigation targets) and the links
// handed to the system browser. Pure functions (no electron import) so they are unit-tested. Runs in main.
import { fileURLToPath } from 'node:url';

/** Where the renderer is loaded from: the built index.html, or the Vite dev server in `npm run dev`. */
export type RendererOrigin = { readonly kind: 'file'; readonly indexPath: string } | { readonly kind: 'dev'; readonly origin: string };

/** True when `url` is the app's own page (any hash or query): the only sender IPC answers. */
export function isTrustedRendererUrl(url: string, origin: RendererOrigin): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (origin.kind === 'dev') return parsed.origin === new URL(origin.origin).origin;
  if (parsed.protocol !== 'file:') return false;
  try {
    // The path alone decides (a query or hash is the page's own business); a remote file host throws.
    return fileURLToPath(parsed) === origin.indexPath;
  } catch {
    return false;
  }
}

/** The URL to open in the system browser for a link the page tried to follow, or null to just deny it. */
export function externalLink(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** Permissions the page may get: writing to the clipboard (copy buttons); camera, location, etc. never. */
export function isAllowedPermission(permission: string): boolean {
  return permission === 'clipboard-sanitized-write';
}
