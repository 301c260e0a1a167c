// HttpTransport on node:http/https: follows redirects by the rule of `redirectHop` (no Authorization
// across origins, no https → http), honours HTTPS_PROXY/HTTP_PROXY/NO_PROXY. Runs in main; no electron.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions as TlsRequestOptions } from 'node:https';
import { rootCertificates, connect as tlsConnect } from 'node:tls';
import { DownloadError } from './downloadError';
import { redirectHop, REDIRECT_STATUSES, type HttpRequest, type HttpResponse, type HttpTransport } from './httpTransport';
import { bareHost, connectTunnel, proxyAuthorization, proxyForUrl, type ProxyEnv } from './proxyConfig';

/** Options of {@link nodeHttpTransport}. */
export interface NodeTransportOptions {
  /** Where HTTPS_PROXY / NO_PROXY are read from; default process.env. */
  readonly env?: ProxyEnv;
  /** Extra trusted CA certificates (PEM), e.g. a company's TLS-inspecting proxy; added to Node's roots. */
  readonly ca?: string | readonly string[];
  /** Default 10. */
  readonly maxRedirects?: number;
}

const USER_AGENT = 'Ouro/0.1 (model downloader; +https://huggingface.co)';

function wrap(res: IncomingMessage, url: URL): HttpResponse {
  return {
    status: res.statusCode ?? 0,
    url: url.href,
    header(name: string): string | null {
      const v = res.headers[name.toLowerCase()];
      if (v === undefined) return null;
      return Array.isArray(v) ? v.join(', ') : v;
    },
    body: res,
    discard(): void {
      res.destroy();
    },
  };
}

/** Creates a transport on node:http/https. */
export function nodeHttpTransport(options: Readonly<NodeTransportOptions> = {}): HttpTransport {
  const env = options.env ?? process.env;
  const maxRedirects = options.maxRedirects ?? 10;
  // Node replaces its default roots when `ca` is given; keep them so the extra CA is only added.
  const ca = options.ca === undefined ? undefined : [...rootCertificates, ...(typeof options.ca === 'string' ? [options.ca] : options.ca)];

  async function send(url: URL, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') throw new DownloadError('bad-request', `Cannot download from ${url.href}: only http and https URLs are supported.`);
    const port = url.port !== '' ? Number(url.port) : isHttps ? 443 : 80;
    const proxy = proxyForUrl(url, env);
    const base: TlsRequestOptions = { method: 'GET', headers: { 'user-agent': USER_AGENT, ...headers }, signal };
    let reqOptions: TlsRequestOptions;
    if (proxy === null) {
      reqOptions = { ...base, hostname: bareHost(url), port, path: `${url.pathname}${url.search}` };
    } else if (!isHttps) {
      // Plain http through a proxy: absolute-form request line to the proxy itself.
      const auth = proxyAuthorization(proxy);
      reqOptions = {
        ...base,
        hostname: bareHost(proxy),
        port: proxy.port !== '' ? Number(proxy.port) : 80,
        path: url.href,
        headers: { ...base.headers, host: url.host, ...(auth === undefined ? {} : { 'proxy-authorization': auth }) },
      };
    } else {
      const socket = await connectTunnel(proxy, bareHost(url), port, signal);
      const tlsSocket = tlsConnect({ socket, servername: bareHost(url), ...(ca ? { ca } : {}) });
      reqOptions = { ...base, hostname: bareHost(url), port, path: `${url.pathname}${url.search}`, createConnection: () => tlsSocket };
    }
    if (isHttps && proxy === null && ca) reqOptions.ca = ca;
    const requestFn = isHttps ? httpsRequest : httpRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = requestFn(reqOptions, resolve);
      req.once('error', reject);
      req.end();
    });
  }

  return {
    async request(req: Readonly<HttpRequest>): Promise<HttpResponse> {
      let url = new URL(req.url);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
      for (let hop = 0; ; hop++) {
        const res = await send(url, headers, req.signal);
        const location = res.headers.location;
        if (!REDIRECT_STATUSES.has(res.statusCode ?? 0) || location === undefined) return wrap(res, url);
        res.resume();
        if (hop >= maxRedirects) {
          throw new DownloadError('server', `Too many redirects while downloading ${req.url}; the server or a proxy is looping.`, { status: res.statusCode ?? null });
        }
        url = redirectHop(url, location, headers);
      }
    },
  };
}
