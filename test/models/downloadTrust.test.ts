// What a download trusts: the Hugging Face token goes only to huggingface.co or a mirror the user marked
// trusted, only over https, never across a redirect to another origin; a redirect from https to http is
// refused; a file with no hash is never fetched. Real loopback Hub (http and https) and fetch transport.
import { afterEach, describe, expect, it } from 'vitest';
import { isDownloadError } from '../../main/models/downloadError';
import { fetchTransport, type FetchLike } from '../../main/models/fetchTransport';
import { tokenMayGoTo } from '../../common/settingsSchema';
import { downloadWorld, ONNX, type DownloadWorld } from './downloadTestKit';

let w: DownloadWorld | null = null;
afterEach(async () => {
  await w?.close();
  w = null;
});

const GATED = 'ouro-test/gated';

function publishGated(world: DownloadWorld): void {
  world.hub.addFolder(GATED, world.fixtureDir, { skip: ['fixture-spec.json'], gated: 'auto', acceptedTokens: ['hf_ok'] });
}

describe('where the token may go', () => {
  it('only https, only huggingface.co or the trusted mirror, compared by origin', () => {
    const cases: Array<[string, string | null, boolean]> = [
      ['https://huggingface.co/api/models/x', null, true],
      ['https://huggingface.co:443/x', null, true],
      ['http://huggingface.co/x', null, false],
      ['https://huggingface.co.evil.example/x', null, false],
      ['https://cdn-lfs.huggingface.co/x', null, false],
      ['https://hf-mirror.com/x', null, false],
      ['https://hf-mirror.com/x', 'https://hf-mirror.com', true],
      ['https://hf-mirror.com:8443/x', 'https://hf-mirror.com', false],
      ['http://hf-mirror.com/x', 'https://hf-mirror.com', false],
      ['http://127.0.0.1:8080/x', 'http://127.0.0.1:8080', false],
      ['not a url', 'https://hf-mirror.com', false],
    ];
    for (const [url, mirror, ok] of cases) expect([url, mirror, tokenMayGoTo(url, mirror)]).toEqual([url, mirror, ok]);
  });

  it('a trusted https mirror gets the token on its own origin, never on the CDN it redirects to', async () => {
    w = await downloadWorld({ tls: true });
    publishGated(w);
    const outcome = await w.service({ token: 'hf_ok', trustedMirror: w.hub.baseUrl }).start(w.request({ id: 'gated', repo: GATED })).done;
    expect(outcome.status).toBe('installed');
    const hub = w.hub.requests.filter((r) => r.server === 'hub');
    expect(hub.length).toBeGreaterThan(1);
    expect(hub.every((r) => r.authorization === 'Bearer hf_ok')).toBe(true);
    const cdn = w.hub.requests.filter((r) => r.server === 'cdn');
    expect(cdn.map((r) => [r.file, r.authorization])).toEqual([[ONNX, null]]);
  });

  it('an https mirror the user did not trust never sees the token, and the error says why', async () => {
    w = await downloadWorld({ tls: true });
    publishGated(w);
    const outcome = await w.service({ token: 'hf_ok' }).start(w.request({ id: 'gated', repo: GATED })).done;
    expect(outcome.status === 'failed' && [outcome.error.code, outcome.error.message]).toEqual([
      'token-withheld',
      expect.stringMatching(/needs your Hugging Face token, and it was not sent: Ouro sends it only to huggingface.co over https, or to a mirror you trust with it/),
    ]);
    expect(w.hub.requests.length).toBeGreaterThan(0);
    expect(w.hub.requests.every((r) => r.authorization === null)).toBe(true);
  });

  it('a Hub over http never sees the token, even one named as trusted', async () => {
    w = await downloadWorld();
    publishGated(w);
    const outcome = await w.service({ token: 'hf_ok', trustedMirror: w.hub.baseUrl }).start(w.request({ id: 'gated', repo: GATED })).done;
    expect(outcome.status === 'failed' && outcome.error.code).toBe('token-withheld');
    expect(w.hub.requests.every((r) => r.authorization === null)).toBe(true);
  });
});

describe('redirects and hashes', () => {
  it('refuses a redirect from https to http, and installs nothing', async () => {
    w = await downloadWorld({ tls: true });
    const downgrade = `http://localhost:1/blobs/${'0'.repeat(64)}`;
    w.hub.fault({ file: ONNX }, { kind: 'status', status: 302, headers: { location: downgrade } }, 10);
    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status === 'failed' && [outcome.error.code, outcome.error.message]).toEqual([
      'insecure-redirect',
      expect.stringMatching(/redirected the download to an unencrypted address \(http:\/\/localhost:1\); Ouro refused to follow it/),
    ]);
    // The CDN's answer was the downgrade: refused at once (not retried), nothing sent over http.
    expect(w.hub.requestsFor(ONNX).map((r) => [r.server, r.status])).toEqual([
      ['hub', 302],
      ['cdn', 302],
    ]);
    expect(await w.modelsEntries()).not.toContain('tiny-q');
  });

  it('never fetches a file that neither the catalog nor the Hub gives a hash for', async () => {
    w = await downloadWorld();
    w.hub.addFolder('ouro-test/unhashed', w.fixtureDir, { skip: ['fixture-spec.json'], unhashed: ['tokenizer.json'] });
    const outcome = await w.service().start(w.request({ id: 'unhashed', repo: 'ouro-test/unhashed' })).done;
    expect(outcome.status === 'failed' && [outcome.error.code, outcome.error.file, outcome.error.message]).toEqual([
      'unverifiable',
      'tokenizer.json',
      expect.stringMatching(/^tokenizer.json: neither Ouro's catalog nor 127.0.0.1:\d+ gives its hash/),
    ]);
    expect(w.hub.requests.filter((r) => r.path.includes('/resolve/'))).toEqual([]);
    expect(await w.modelsEntries()).toEqual([]);
  });

  it('the fetch transport follows redirects itself: the token stays on its origin, https → http is refused', async () => {
    const seen: { url: string; authorization: string | null }[] = [];
    const routes: Record<string, string> = {
      'https://hub.test/a': 'https://hub.test/b',
      'https://hub.test/b': 'https://cdn.test/c',
      'https://hub.test/down': 'http://hub.test/plain',
    };
    const fake: FetchLike = async (input, init) => {
      seen.push({ url: input, authorization: init.headers.authorization ?? null });
      expect(init.redirect).toBe('manual');
      const next = routes[input];
      return next ? new Response(null, { status: 302, headers: { location: next } }) : new Response('bytes', { status: 200 });
    };
    const transport = fetchTransport(fake);
    const res = await transport.request({ url: 'https://hub.test/a', headers: { Authorization: 'Bearer hf_x' } });
    expect([res.status, res.url]).toEqual([200, 'https://cdn.test/c']);
    expect(seen).toEqual([
      { url: 'https://hub.test/a', authorization: 'Bearer hf_x' },
      { url: 'https://hub.test/b', authorization: 'Bearer hf_x' },
      { url: 'https://cdn.test/c', authorization: null },
    ]);
    seen.length = 0;
    const refused = await transport.request({ url: 'https://hub.test/down' }).catch((e: unknown) => e);
    expect(isDownloadError(refused, 'insecure-redirect')).toBe(true);
    expect(seen.map((s) => s.url)).toEqual(['https://hub.test/down']);
  });
});
