// Serves the built renderer folder over HTTP for the browser transport: GET/HEAD only, paths confined
// to the folder (encoded `..`, symlinks out of it and NUL refused), the app's CSP on every response.
// Runs in the Node process of the browser transport.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { CONTENT_SECURITY_POLICY } from '../../common/contentSecurityPolicy';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Headers every response carries, files and errors alike. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Answers a request with a file of `root` (`/` and folders mean their index.html). */
export async function serveStatic(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return plain(res, 405, 'Only GET and HEAD are served here.', { Allow: 'GET, HEAD' });
  }
  const file = await resolveInside(root, req.url ?? '/');
  if (file === 'bad') return plain(res, 400, 'Malformed path.');
  if (file === null) return plain(res, 404, 'Not found.');
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': String((await stat(file)).size),
    'Cache-Control': 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((done) => {
    const stream = createReadStream(file);
    stream.on('error', () => {
      res.destroy();
      done();
    });
    stream.on('end', done);
    stream.pipe(res);
  });
}

/**
 * The file a URL names inside `root`, or null (absent, or outside the folder after decoding and
 * resolving symlinks), or 'bad' (undecodable, NUL).
 */
export async function resolveInside(root: string, url: string): Promise<string | null | 'bad'> {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url, 'http://localhost').pathname);
  } catch {
    return 'bad';
  }
  if (pathname.includes('\0')) return 'bad';
  const base = await realpath(resolve(root)).catch(() => null);
  if (base === null) return null;
  let candidate = resolve(base, `.${pathname}`);
  if (!inside(base, candidate)) return null;
  const info = await stat(candidate).catch(() => null);
  if (info?.isDirectory()) candidate = join(candidate, 'index.html');
  // A symlink inside the folder may point anywhere: judge the real path.
  const real = await realpath(candidate).catch(() => null);
  if (real === null || !inside(base, real)) return null;
  const realInfo = await stat(real).catch(() => null);
  return realInfo?.isFile() ? real : null;
}

function inside(base: string, path: string): boolean {
  return path === base || path.startsWith(base.endsWith(sep) ? base : base + sep);
}

function plain(res: ServerResponse, status: number, text: string, extra: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...extra });
  res.end(text);
}
