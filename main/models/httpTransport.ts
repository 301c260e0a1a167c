// The seam between the model downloader and the network: one GET that follows redirects and streams
// the body, and the one redirect rule both implementations follow. Runs in main; implemented on
// node:http(s) (nodeHttpTransport) or on a fetch (fetchTransport).

import { DownloadError } from './downloadError';

/** One GET. Redirects are followed by the transport; `Authorization` never leaves the first origin. */
export interface HttpRequest {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the request and the body stream. */
  readonly signal?: AbortSignal;
}

/** The final response after redirects. Read `body` once, or call `discard()` to release the connection. */
export interface HttpResponse {
  readonly status: number;
  /** The URL that answered (after redirects). */
  readonly url: string;
  /** A response header (case-insensitive), or null. */
  header(name: string): string | null;
  readonly body: AsyncIterable<Uint8Array>;
  discard(): void;
}

/** What the downloader needs from the network. */
export interface HttpTransport {
  request(req: Readonly<HttpRequest>): Promise<HttpResponse>;
}

/** Statuses that carry a Location to follow. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * Where a redirect from `from` to `location` leads, with `headers` fixed up for the hop: Authorization
 * is dropped as soon as the origin changes (the Hub's CDN redirects; a token must never follow one),
 * and a hop from https to plain http is refused (DownloadError `insecure-redirect`): anyone on the path
 * could read the request and swap the bytes.
 */
export function redirectHop(from: URL, location: string, headers: Record<string, string>): URL {
  const next = new URL(location, from);
  if (from.protocol === 'https:' && next.protocol !== 'https:') {
    throw new DownloadError(
      'insecure-redirect',
      `${from.host} redirected the download to an unencrypted address (${next.protocol}//${next.host}); Ouro refused to follow it. Try again later, or use another mirror.`,
    );
  }
  if (next.origin !== from.origin) delete headers.authorization;
  return next;
}

/** Reads a whole (small) body as text, e.g. a JSON API answer or an error page. */
export async function readText(res: HttpResponse, limitBytes = 16 * 1024 * 1024): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > limitBytes) {
      res.discard();
      throw new Error(`response from ${res.url} is larger than ${limitBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
