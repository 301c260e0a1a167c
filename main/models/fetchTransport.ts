// HttpTransport on a fetch function: Electron main may pass `net.fetch` (Chromium's network stack: system
// proxy settings, PAC, OS certificate store); Node's global fetch works too. Runs in main; no electron.

import { DownloadError } from './downloadError';
import { redirectHop, REDIRECT_STATUSES, type HttpRequest, type HttpResponse, type HttpTransport } from './httpTransport';

/** The part of the fetch API used here (globalThis.fetch and Electron's net.fetch both fit). */
export type FetchLike = (input: string, init: { headers: Record<string, string>; signal?: AbortSignal; redirect: 'manual' }) => Promise<Response>;

const MAX_REDIRECTS = 10;

async function* chunksOf(body: ReadableStream<Uint8Array> | null): AsyncIterable<Uint8Array> {
  if (body === null) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Stopping early (an error or a discarded body) must free the connection.
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Wraps `fetchImpl`. Redirects are followed here, hop by hop, not by fetch: the same rule as the node
 * transport (`redirectHop`) then holds whatever fetch implementation is underneath.
 */
export function fetchTransport(fetchImpl: FetchLike = globalThis.fetch): HttpTransport {
  return {
    async request(req: Readonly<HttpRequest>): Promise<HttpResponse> {
      let url = new URL(req.url);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
      for (let hop = 0; ; hop++) {
        const res = await fetchImpl(url.href, { headers: { ...headers }, signal: req.signal, redirect: 'manual' });
        const location = res.headers.get('location');
        if (!REDIRECT_STATUSES.has(res.status) || location === null) {
          return {
            status: res.status,
            url: url.href,
            header: (name: string) => res.headers.get(name),
            body: chunksOf(res.body),
            discard(): void {
              void res.body?.cancel().catch(() => undefined);
            },
          };
        }
        await res.body?.cancel().catch(() => undefined);
        if (hop >= MAX_REDIRECTS) {
          throw new DownloadError('server', `Too many redirects while downloading ${req.url}; the server or a proxy is looping.`, { status: res.status });
        }
        url = redirectHop(url, location, headers);
      }
    },
  };
}
