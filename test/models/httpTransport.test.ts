// The network seam: NO_PROXY matching, downloads through a loopback forward proxy (absolute-form http and
// a CONNECT tunnel carrying TLS), proxy errors, and the fetch-based transport with the Hub's CDN redirect.
import { createServer as createHttpsServer, type Server } from 'node:https';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDownloadError } from '../../main/models/downloadError';
import { fetchTransport } from '../../main/models/fetchTransport';
import { readText } from '../../main/models/httpTransport';
import { nodeHttpTransport } from '../../main/models/nodeHttpTransport';
import { bypassesProxy, proxyForUrl } from '../../main/models/proxyConfig';
import { downloadWorld, ONNX, sameBytes, type DownloadWorld } from './downloadTestKit';
import { startMockProxy, type MockProxy } from './mockProxy';
import { TEST_CERT, TEST_KEY } from './tlsFixture';

describe('proxy settings', () => {
  it('matches NO_PROXY like curl: exact hosts, domain suffixes, ports, *', () => {
    const cases: Array<[string, string, boolean]> = [
      ['https://huggingface.co/x', 'huggingface.co', true],
      ['https://cdn-lfs.huggingface.co/x', '.huggingface.co', true],
      ['https://cdn-lfs.huggingface.co/x', '*.huggingface.co', true],
      ['https://cdn-lfs.huggingface.co/x', 'huggingface.co', true],
      ['https://nothuggingface.co/x', 'huggingface.co', false],
      ['http://127.0.0.1:8080/x', '127.0.0.1:8080', true],
      ['http://127.0.0.1:9090/x', '127.0.0.1:8080', false],
      ['https://huggingface.co/x', 'localhost, 127.0.0.1', false],
      ['https://huggingface.co/x', '*', true],
      ['http://[::1]:5000/x', '[::1]:5000', true],
      ['https://huggingface.co/x', '', false],
    ];
    for (const [url, noProxy, bypass] of cases) expect([url, noProxy, bypassesProxy(new URL(url), noProxy)]).toEqual([url, noProxy, bypass]);
  });

  it('picks the variable for the scheme, lowercase too, and ALL_PROXY as a fallback', () => {
    const env = { https_proxy: 'http://p1:3128', HTTP_PROXY: 'p2:8080', NO_PROXY: 'internal.lan' };
    expect(proxyForUrl(new URL('https://huggingface.co/'), env)?.host).toBe('p1:3128');
    expect(proxyForUrl(new URL('http://example.com/'), env)?.href).toBe('http://p2:8080/');
    expect(proxyForUrl(new URL('https://a.internal.lan/'), env)).toBeNull();
    expect(proxyForUrl(new URL('https://huggingface.co/'), { ALL_PROXY: 'http://p3:1' })?.host).toBe('p3:1');
    expect(proxyForUrl(new URL('https://huggingface.co/'), { HTTPS_PROXY: '  ' })).toBeNull();
  });

  it('rejects proxy schemes it cannot speak with a message naming the variable', () => {
    let err: unknown;
    try {
      proxyForUrl(new URL('https://huggingface.co/'), { HTTPS_PROXY: 'socks5://127.0.0.1:1080' });
    } catch (e) {
      err = e;
    }
    expect(isDownloadError(err, 'proxy')).toBe(true);
    expect((err as Error).message).toMatch(/HTTPS_PROXY to an http:\/\/host:port/);
  });
});

describe('downloads through a proxy', () => {
  let w: DownloadWorld;
  let proxy: MockProxy;
  beforeEach(async () => {
    w = await downloadWorld();
    proxy = await startMockProxy();
  });
  afterEach(async () => {
    await proxy.close();
    await w.close();
  });

  it('sends every request (Hub and CDN) through HTTP_PROXY', async () => {
    const svc = w.service({ transport: nodeHttpTransport({ env: { HTTP_PROXY: proxy.url } }) });
    const outcome = await svc.start(w.request()).done;
    expect(outcome.status).toBe('installed');
    expect(await sameBytes(w.fixtureDir, join(w.modelsDir, 'tiny-q'))).toEqual([]);
    const targets = proxy.seen.map((r) => new URL(r.target).origin);
    expect(new Set(targets)).toEqual(new Set([w.hub.baseUrl, w.hub.cdnUrl]));
    expect(proxy.seen.length).toBe(w.hub.requests.length);
  });

  it('goes direct for hosts in NO_PROXY', async () => {
    const svc = w.service({ transport: nodeHttpTransport({ env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1,localhost' } }) });
    expect((await svc.start(w.request()).done).status).toBe('installed');
    expect(proxy.seen).toEqual([]);
  });

  it('a proxy asking for credentials fails with a proxy error saying how to add them; with them it works', async () => {
    const strict = await startMockProxy('me:s3cret');
    try {
      const refused = await w.service({ transport: nodeHttpTransport({ env: { HTTP_PROXY: strict.url } }), retry: { attempts: 1 } }).start(w.request()).done;
      expect(refused.status === 'failed' && [refused.error.code, refused.error.message]).toEqual(['proxy', expect.stringMatching(/HTTP 407.*user:password@host:port/)]);
      const ok = await w
        .service({ transport: nodeHttpTransport({ env: { HTTP_PROXY: strict.url.replace('http://', 'http://me:s3cret@') } }) })
        .start(w.request({ id: 'tiny-auth' })).done;
      expect(ok.status).toBe('installed');
      expect(strict.seen.at(-1)?.proxyAuthorization).toBe(`Basic ${Buffer.from('me:s3cret').toString('base64')}`);
    } finally {
      await strict.close();
    }
  });
});

describe('https through a CONNECT tunnel', () => {
  let server: Server;
  let origin: string;
  let proxy: MockProxy;
  beforeEach(async () => {
    server = createHttpsServer({ cert: TEST_CERT, key: TEST_KEY }, (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello over tls, auth=${req.headers.authorization ?? 'none'}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    origin = `https://localhost:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
    proxy = await startMockProxy('u:p');
  });
  afterEach(async () => {
    await proxy.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('tunnels TLS end to end through HTTPS_PROXY, trusting an extra CA', async () => {
    const transport = nodeHttpTransport({ env: { HTTPS_PROXY: proxy.url.replace('http://', 'http://u:p@') }, ca: TEST_CERT });
    const res = await transport.request({ url: `${origin}/x`, headers: { authorization: 'Bearer t' } });
    expect(res.status).toBe(200);
    expect(await readText(res)).toBe('hello over tls, auth=Bearer t');
    expect(proxy.seen).toEqual([{ method: 'CONNECT', target: origin.replace('https://', ''), proxyAuthorization: `Basic ${Buffer.from('u:p').toString('base64')}` }]);
  });

  it('refuses a certificate it does not trust', async () => {
    const transport = nodeHttpTransport({ env: { HTTPS_PROXY: proxy.url.replace('http://', 'http://u:p@') } });
    await expect(transport.request({ url: `${origin}/x` })).rejects.toThrow(/self[- ]signed/i);
  });

  it('a 407 from the proxy on CONNECT is a proxy error with the fix', async () => {
    const transport = nodeHttpTransport({ env: { HTTPS_PROXY: proxy.url }, ca: TEST_CERT });
    const err = await transport.request({ url: `${origin}/x` }).catch((e: unknown) => e);
    expect(isDownloadError(err, 'proxy')).toBe(true);
    expect((err as Error).message).toMatch(/HTTP 407.*HTTPS_PROXY=http:\/\/user:password@host:port/);
  });
});

describe('fetch transport (Electron net.fetch / Node fetch)', () => {
  let w: DownloadWorld;
  beforeEach(async () => {
    w = await downloadWorld();
  });
  afterEach(async () => {
    await w.close();
  });

  it('downloads, follows the CDN redirect, and resumes a cut with Range', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'drop', afterBytes: 60_000 });
    // Over http the token is never sent (downloadTrust.test covers where it goes and what a redirect drops).
    const outcome = await w.service({ transport: fetchTransport(), token: 'hf_secret' }).start(w.request()).done;
    expect(outcome.status).toBe('installed');
    expect(await sameBytes(w.fixtureDir, join(w.modelsDir, 'tiny-q'))).toEqual([]);
    const cdn = w.hub.requestsFor(ONNX).filter((r) => r.server === 'cdn');
    expect(cdn.map((r) => r.status)).toEqual([200, 206]);
    expect(w.hub.requests.every((r) => r.authorization === null)).toBe(true);
  });
});
