// DownloadService against a real loopback HTTP server that mimics the Hub: installs, pinning, hashes,
// disk space, gated/missing repos, network failures.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { loadModelFolder } from '../../main/engine/modelFolder';
import { startWorkerHost } from '../../main/host/workerTransport';
import { HostSupervisor } from '../../main/services/hostSupervisor';
import { DOWNLOAD_MANIFEST } from '../../main/models/downloadJob';
import { cleanupTemp, copyFolder, externalizeWeights } from '../engine/model/modelTestKit';
import { downloadWorld, FILES, ONNX, REPO, sameBytes, type DownloadWorld } from './downloadTestKit';

const { onnx } = onnxProto;

let w: DownloadWorld;
beforeEach(async () => {
  w = await downloadWorld();
});
afterEach(async () => {
  await w.close();
});

describe('DownloadService: a clean download', () => {
  it('installs the fixture through the CDN redirect, pinned to the commit, byte-identical and valid for the engine', async () => {
    // Over https, from a mirror trusted with the token: the only way a token is sent at all.
    await w.close();
    w = await downloadWorld({ tls: true });
    const svc = w.service({ token: 'hf_secret', trustedMirror: w.hub.baseUrl });
    const outcome = await svc.start(w.request()).done;
    expect(outcome.status).toBe('installed');
    const dir = join(w.modelsDir, 'tiny-q');
    expect(outcome.status === 'installed' && outcome.dir).toBe(dir);
    expect(await sameBytes(w.fixtureDir, dir)).toEqual([]);
    const folder = await loadModelFolder(dir);
    expect(folder.onnxFile).toBe(ONNX);
    expect(folder.config.numLayers).toBe(2);

    // Only the finished model is left: no partial folder, no leftovers.
    expect(await w.modelsEntries()).toEqual(['tiny-q']);
    const manifest = JSON.parse(await readFile(join(dir, DOWNLOAD_MANIFEST), 'utf8')) as { commit: string; repo: string; files: unknown[] };
    expect(manifest).toMatchObject({ repo: REPO, commit: w.commit });
    expect(manifest.files).toHaveLength(FILES.length);

    // The graph came via a 302 from the Hub to the CDN (another host), and the token stayed on the Hub.
    const onnx = w.hub.requestsFor(ONNX);
    expect(onnx.map((r) => [r.server, r.status])).toEqual([
      ['hub', 302],
      ['cdn', 200],
    ]);
    expect(onnx[0].path).toContain(`/resolve/${w.commit}/`);
    expect(w.hub.requests.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer hf_secret')).toBe(true);
    expect(w.hub.requests.filter((r) => r.server === 'cdn').every((r) => r.authorization === null)).toBe(true);
    // Every file was fetched at the resolved commit, never at the branch name.
    expect(w.hub.requests.filter((r) => r.path.includes('/resolve/')).every((r) => r.path.includes(`/resolve/${w.commit}/`))).toBe(true);
  });

  it('reports phases in order and progress that only grows, ending at the total', async () => {
    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status).toBe('installed');
    const phases = w.events.filter((e) => e.type === 'phase').map((e) => e.download.phase);
    expect(phases).toEqual(['resolving', 'downloading', 'verifying', 'installing', 'installed']);
    const progress = w.events.filter((e) => e.type === 'progress').map((e) => e.download.receivedBytes);
    expect(progress.length).toBeGreaterThan(FILES.length);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]);
    const total = FILES.reduce((n, f) => n + w.hub.content(REPO, f).length, 0);
    expect(outcome.download.totalBytes).toBe(total);
    expect(progress[progress.length - 1]).toBe(total);
  });

  it('downloads a graph that keeps its weights in external data (model.onnx_data) through the CDN', async () => {
    const src = copyFolder(w.fixtureDir, 'external');
    externalizeWeights(join(src, ONNX), 'model.onnx_data');
    w.hub.addFolder('ouro-test/external', src, { skip: ['fixture-spec.json'] });
    const files = [...w.request().files, { path: 'onnx/model.onnx_data' }];
    const outcome = await w.service().start(w.request({ id: 'ext', repo: 'ouro-test/external', files })).done;
    expect(outcome.status).toBe('installed');
    const folder = await loadModelFolder(join(w.modelsDir, 'ext'));
    expect(folder.externalData).toEqual([join(w.modelsDir, 'ext', 'onnx', 'model.onnx_data')]);
    expect(w.hub.requestsFor('onnx/model.onnx_data').map((r) => [r.server, r.status])).toEqual([
      ['hub', 302],
      ['cdn', 200],
    ]);
    cleanupTemp();
  });

  it('refuses a second download of an installed model', async () => {
    expect((await w.service().start(w.request()).done).status).toBe('installed');
    const again = await w.service().start(w.request()).done;
    expect(again.status === 'failed' && again.error.code).toBe('already-installed');
  });
});

describe('DownloadService: verification', () => {
  it('rejects a graph whose bytes do not match the LFS sha256, deletes its part, installs nothing, and a retry succeeds', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'corrupt' });
    const svc = w.service();
    const failed = await svc.start(w.request()).done;
    expect(failed.status).toBe('failed');
    if (failed.status !== 'failed') return;
    expect(failed.error.code).toBe('hash-mismatch');
    expect(failed.error.file).toBe(ONNX);
    expect(failed.error.message).toMatch(/arrived damaged.*deleted/);
    expect(failed.download.resumable).toBe(true);
    expect(existsSync(join(w.modelsDir, 'tiny-q'))).toBe(false);
    expect(existsSync(join(w.modelsDir, '.partial', 'tiny-q', 'files', `${ONNX}.part`))).toBe(false);
    expect(await w.modelsEntries()).toEqual(['.partial']);

    const fetchedBefore = w.hub.requests.filter((r) => r.file === 'config.json').length;
    const retried = await svc.start(w.request()).done;
    expect(retried.status).toBe('installed');
    // The files that had passed their hash were kept; only the damaged graph came again, from byte 0.
    expect(w.hub.requests.filter((r) => r.file === 'config.json').length).toBe(fetchedBefore);
    expect(w.hub.requestsFor(ONNX).filter((r) => r.server === 'cdn').map((r) => r.range)).toEqual([null, null]);
    expect(await sameBytes(w.fixtureDir, join(w.modelsDir, 'tiny-q'))).toEqual([]);
  });

  it('checks small (non-LFS) files against their git blob id', async () => {
    w.hub.fault({ file: 'tokenizer.json' }, { kind: 'corrupt' });
    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status === 'failed' && [outcome.error.code, outcome.error.file]).toEqual(['hash-mismatch', 'tokenizer.json']);
    expect(outcome.status === 'failed' && outcome.error.message).toMatch(/git hash/);
  });

  it('refuses a file whose Hub sha256 differs from the catalog before fetching a byte', async () => {
    const files = w.request().files.map((f) => (f.path === ONNX ? { path: ONNX, sha256: 'a'.repeat(64) } : f));
    const outcome = await w.service().start(w.request({ files })).done;
    expect(outcome.status === 'failed' && outcome.error.code).toBe('catalog-mismatch');
    expect(w.hub.requests.filter((r) => r.path.includes('/resolve/'))).toEqual([]);
  });

  it('turns a folder the engine rejects into invalid-model and frees the space', async () => {
    // A repo whose files hash correctly but which is not a model Ouro can run (no tokenizer.json).
    w.hub.addRepo('ouro-test/broken', {
      'config.json': await readFile(join(w.fixtureDir, 'config.json')),
      'tokenizer_config.json': await readFile(join(w.fixtureDir, 'tokenizer_config.json')),
      [ONNX]: await readFile(join(w.fixtureDir, ONNX)),
    });
    const outcome = await w.service().start({ id: 'broken', repo: 'ouro-test/broken', revision: 'main', files: [{ path: 'config.json' }, { path: 'tokenizer_config.json' }, { path: ONNX }] }).done;
    expect(outcome.status === 'failed' && outcome.error.code).toBe('invalid-model');
    expect(outcome.status === 'failed' && outcome.error.message).toMatch(/tokenizer\.json/);
    expect(await w.modelsEntries()).toEqual([]);
  });
});

describe('DownloadService: the engine host check before install', () => {
  it('refuses a graph onnxruntime cannot open, with the engine error, and frees the space', async () => {
    // Every file hashes as the Hub says and ModelFolder's interface scan passes; only opening the graph fails.
    const model = onnx.ModelProto.decode(await readFile(join(w.fixtureDir, ONNX)));
    model.graph!.node![0].opType = 'NoSuchOp';
    const files: Record<string, Buffer> = {};
    for (const f of FILES) files[f] = f === ONNX ? Buffer.from(onnx.ModelProto.encode(model).finish()) : await readFile(join(w.fixtureDir, f));
    w.hub.addRepo('ouro-test/unrunnable', files);
    const supervisor = new HostSupervisor({ host: startWorkerHost() });
    try {
      const svc = w.service({ checkFolder: (dir) => supervisor.validateFolder(dir) });
      const outcome = await svc.start(w.request({ id: 'unrunnable', repo: 'ouro-test/unrunnable' })).done;
      expect(outcome.status === 'failed' && outcome.error.code).toBe('invalid-model');
      expect(outcome.status === 'failed' && outcome.error.message).toMatch(/downloaded intact but Ouro cannot run it: .*onnxruntime cannot load it: .*NoSuchOp/);
      expect(await w.modelsEntries()).toEqual([]);

      // The fixture itself passes the same check and installs.
      expect((await svc.start(w.request()).done).status).toBe('installed');
    } finally {
      await supervisor.close();
    }
  });
});

describe('DownloadService: refusals and Hub errors', () => {
  it('refuses before downloading when the disk cannot hold the model', async () => {
    w.hub.addFolder('ouro-test/huge', w.fixtureDir, { skip: ['fixture-spec.json'], reportedSizes: { [ONNX]: 2 ** 52 } });
    const outcome = await w.service().start(w.request({ id: 'huge', repo: 'ouro-test/huge' })).done;
    expect(outcome.status === 'failed' && outcome.error.code).toBe('disk-full');
    expect(outcome.status === 'failed' && outcome.error.message).toMatch(/needs 4\.5 PB more .* free/);
    expect(w.hub.requests.filter((r) => r.path.includes('/resolve/'))).toEqual([]);
    expect(existsSync(join(w.modelsDir, 'huge'))).toBe(false);
  });

  it('a gated model without a token fails at once with how to accept the licence and add a token', async () => {
    w.hub.addFolder('ouro-test/gated', w.fixtureDir, { skip: ['fixture-spec.json'], gated: 'manual', acceptedTokens: ['hf_ok'] });
    const outcome = await w.service().start(w.request({ id: 'gated', repo: 'ouro-test/gated' })).done;
    expect(outcome.status === 'failed' && outcome.error.code).toBe('gated');
    const msg = outcome.status === 'failed' ? outcome.error.message : '';
    expect(msg).toContain(`${w.hub.baseUrl}/ouro-test/gated`);
    expect(msg).toMatch(/accept its licence/);
    expect(msg).toMatch(/Settings/);
    expect(w.hub.requests.filter((r) => r.path.includes('/resolve/'))).toEqual([]);
  });

  it('a gated model with a token that has not accepted the licence gets 403 → gated; an accepted token downloads', async () => {
    await w.close();
    w = await downloadWorld({ tls: true });
    w.hub.addFolder('ouro-test/gated', w.fixtureDir, { skip: ['fixture-spec.json'], gated: 'auto', acceptedTokens: ['hf_ok'] });
    const refused = await w.service({ token: 'hf_other', trustedMirror: w.hub.baseUrl }).start(w.request({ id: 'gated', repo: 'ouro-test/gated' })).done;
    expect(refused.status === 'failed' && refused.error.code).toBe('gated');
    expect(refused.status === 'failed' && refused.error.message).toMatch(/token has no access .* accept the licence/);
    expect(w.hub.requests.some((r) => r.status === 403)).toBe(true);
    const ok = await w.service({ token: () => 'hf_ok', trustedMirror: () => w.hub.baseUrl }).start(w.request({ id: 'gated', repo: 'ouro-test/gated' })).done;
    expect(ok.status).toBe('installed');
  });

  it('names what is missing: an unknown repo, an unknown revision, a file not in the revision', async () => {
    const svc = w.service();
    const repo = await svc.start(w.request({ id: 'a', repo: 'ouro-test/nope' })).done;
    expect(repo.status === 'failed' && [repo.error.code, repo.error.message]).toEqual(['not-found', expect.stringMatching(/ouro-test\/nope does not exist .* token/)]);
    const rev = await svc.start(w.request({ id: 'b', revision: 'v9' })).done;
    expect(rev.status === 'failed' && [rev.error.code, rev.error.message]).toEqual(['not-found', expect.stringMatching(/revision "v9"/)]);
    const file = await svc.start(w.request({ id: 'c', files: [...w.request().files, { path: 'onnx/model.onnx_data' }] })).done;
    expect(file.status === 'failed' && [file.error.code, file.error.file]).toEqual(['not-found', 'onnx/model.onnx_data']);
    expect(await w.modelsEntries()).toEqual([]);
  });

  it('retries a failing Hub API (503) with backoff and then succeeds', async () => {
    w.hub.fault({ api: true }, { kind: 'status', status: 503 }, 2);
    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status).toBe('installed');
    expect(w.events.filter((e) => e.type === 'retry')).toHaveLength(2);
  });

  it('a Hub API that never answers times out and is retried', async () => {
    w.hub.fault({ api: true }, { kind: 'stall', afterBytes: 0 });
    const outcome = await w.service({ idleTimeoutMs: 300 }).start(w.request()).done;
    expect(outcome.status).toBe('installed');
    expect(w.hub.requests.filter((r) => r.path.startsWith('/api/'))).toHaveLength(2);
    expect(w.events.filter((e) => e.type === 'retry').map((e) => e.download.retry?.reason)).toEqual([expect.stringMatching(/did not answer in time/)]);
  });

  it('gives up on a network that is down (connection refused) with an error saying what to check', async () => {
    const hubUrl = w.hub.baseUrl;
    await w.hub.close();
    const svc = w.service({ hubBaseUrl: hubUrl });
    const outcome = await svc.start(w.request()).done;
    expect(outcome.status === 'failed' && outcome.error.code).toBe('network');
    expect(outcome.status === 'failed' && outcome.error.message).toMatch(/refused the connection.*internet connection/);
    expect(w.events.filter((e) => e.type === 'retry')).toHaveLength(2);
    expect(await w.modelsEntries()).toEqual([]);
  });

  it('rejects unsafe requests up front', () => {
    const svc = w.service();
    expect(() => svc.start(w.request({ id: '../evil' }))).toThrow(/cannot be a model folder name/);
    expect(() => svc.start(w.request({ id: '.partial' }))).toThrow(/cannot be a model folder name/);
    expect(() => svc.start(w.request({ files: [{ path: '../../etc/passwd' }] }))).toThrow(/not a safe file path/);
    expect(() => svc.start(w.request({ repo: 'no-slash' }))).toThrow(/not a Hugging Face repository id/);
  });
});
