// HttpTransport on a fetch function: Electron main passes `net.fetch` (Chromium's network stack: system
// proxy settings, PAC, OS certificate store); Node's global fetch works too. Runs in main; no electron.

import type { HttpRequest, HttpResponse, HttpTransport } from './httpTransport';

/** The part of the fetch API used here (globalThis.fetch and Electron's net.fetch both fit). */
export type FetchLike = (input: string, init: { headers: Record<string, string>; signal?: AbortSignal; redirect: 'follow' }) => Promise<Response>;

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
 * Wraps `fetchImpl`. Redirects are followed by fetch itself, which drops `Authorization` on a
 * cross-origin hop (the Hub's CDN redirects), per the Fetch standard.
 */
export function fetchTransport(fetchImpl: FetchLike = globalThis.fetch): HttpTransport {
  return {
    async request(req: Readonly<HttpRequest>): Promise<HttpResponse> {
      const res = await fetchImpl(req.url, { headers: { ...(req.headers ?? {}) }, signal: req.signal, redirect: 'follow' });
      return {
        status: res.status,
        url: res.url === '' ? req.url : res.url,
        header: (name: string) => res.headers.get(name),
        body: chunksOf(res.body),
        discard(): void {
          void res.body?.cancel().catch(() => undefined);
        },
      };
    },
  };
}
