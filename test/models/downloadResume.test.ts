// Resuming downloads against the loopback mock Hub: dropped and stalled connections, cancel and a new
// service instance, 416 and servers that ignore Range, parts left by an earlier run.
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadModelFolder } from '../../main/engine/modelFolder';
import { downloadWorld, ONNX, REPO, sameBytes, type DownloadWorld } from './downloadTestKit';

let w: DownloadWorld;
beforeEach(async () => {
  w = await downloadWorld();
});
afterEach(async () => {
  await w.close();
});

const partOf = (w: DownloadWorld): string => join(w.modelsDir, '.partial', 'tiny-q', 'files', `${ONNX}.part`);
const cdnRanges = (w: DownloadWorld): Array<string | null> => w.hub.requestsFor(ONNX).filter((r) => r.server === 'cdn').map((r) => r.range);
const rangeStart = (range: string | null): number => Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? NaN);

describe('resume after an interruption', () => {
  it('a connection cut mid-file is retried with Range and the file is byte-identical', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'drop', afterBytes: 70_000 });
    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status).toBe('installed');
    const ranges = cdnRanges(w);
    expect(ranges).toHaveLength(2);
    expect(ranges[0]).toBeNull();
    expect(rangeStart(ranges[1])).toBeGreaterThan(0);
    expect(rangeStart(ranges[1])).toBeLessThanOrEqual(70_000);
    expect(w.hub.requestsFor(ONNX).at(-1)?.status).toBe(206);
    expect(w.events.filter((e) => e.type === 'retry')).toHaveLength(1);
    expect(await sameBytes(w.fixtureDir, join(w.modelsDir, 'tiny-q'))).toEqual([]);
    await loadModelFolder(join(w.modelsDir, 'tiny-q'));
  });

  it('a stalled connection hits the idle timeout and resumes with Range', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'stall', afterBytes: 40_000 });
    const outcome = await w.service({ idleTimeoutMs: 400 }).start(w.request()).done;
    expect(outcome.status).toBe('installed');
    const ranges = cdnRanges(w);
    expect(ranges).toHaveLength(2);
    expect(rangeStart(ranges[1])).toBeGreaterThan(0);
    const retry = w.events.find((e) => e.type === 'retry');
    expect(retry?.download.retry?.reason).toMatch(/did not answer in time/);
    expect(await sameBytes(w.fixtureDir, join(w.modelsDir, 'tiny-q'))).toEqual([]);
  });

  it('a slow server is waited for (no timeout while bytes keep coming)', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'slow', chunkBytes: 32 * 1024, delayMs: 20 });
    const outcome = await w.service({ idleTimeoutMs: 1000 }).start(w.request()).done;
    expect(outcome.status).toBe('installed');
    expect(cdnRanges(w)).toEqual([null]);
  });

  it('cancel keeps the part; a new service instance over the same folder lists it and resumes with Range', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'slow', chunkBytes: 16 * 1024, delayMs: 15 });
    const first = w.service({
      onEvent: (e) => {
        if (e.type === 'progress' && e.download.file === ONNX && e.download.receivedBytes - smallFilesBytes() > 40_000) first.cancel('tiny-q');
      },
    });
    const smallFilesBytes = (): number => ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'].reduce((n, f) => n + w.hub.content(REPO, f).length, 0);
    const cancelled = await first.start(w.request()).done;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.download.resumable).toBe(true);
    const kept = (await stat(partOf(w))).size;
    expect(kept).toBeGreaterThan(40_000);
    expect(kept).toBeLessThan(w.hub.content(REPO, ONNX).length);
    // Nothing that looks installed: only the dot-folder the registry skips.
    expect(await w.modelsEntries()).toEqual(['.partial']);

    const second = w.service();
    const listed = await second.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: 'tiny-q', phase: 'paused', resumable: true, commit: w.commit, receivedBytes: smallFilesBytes() + kept });
    const resumed = await (await second.resume('tiny-q')).done;
    expect(resumed.status).toBe('installed');
    expect(rangeStart(cdnRanges(w).at(-1) ?? null)).toBe(kept);
    // The revision was pinned by the first run: the resumed run did not ask the API again.
    expect(w.hub.requests.filter((r) => r.path.startsWith('/api/'))).toHaveLength(1);
    expect(await sameBytes(w.fixtureDir, join(w.modelsDir, 'tiny-q'))).toEqual([]);
    expect(await second.list()).toEqual([]);
    expect(await w.modelsEntries()).toEqual(['tiny-q']);
  });

  it('a part left by a crashed run is hashed before appending (a corrupted prefix is caught)', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'drop', afterBytes: 60_000 });
    const failed = await w.service({ retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } }).start(w.request()).done;
    expect(failed.status === 'failed' && failed.error.code).toBe('network');
    const part = partOf(w);
    const bytes = await readFile(part);
    bytes[100] ^= 0xff;
    await writeFile(part, bytes);

    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status === 'failed' && outcome.error.code).toBe('hash-mismatch');
    expect(rangeStart(cdnRanges(w).at(-1) ?? null)).toBe(bytes.length);
    expect(existsSync(part)).toBe(false);
    // With the damaged part gone, the next start fetches the graph whole and installs it.
    expect((await w.service().start(w.request()).done).status).toBe('installed');
    expect(cdnRanges(w).at(-1)).toBeNull();
  });

  it('a part from an earlier run resumes with Range after an app restart and yields identical bytes', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'drop', afterBytes: 90_000 });
    const failed = await w.service({ retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } }).start(w.request()).done;
    expect(failed.status === 'failed' && failed.download.resumable).toBe(true);
    const kept = (await stat(partOf(w))).size;
    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status).toBe('installed');
    expect(rangeStart(cdnRanges(w).at(-1) ?? null)).toBe(kept);
    expect(await sameBytes(w.fixtureDir, join(w.modelsDir, 'tiny-q'))).toEqual([]);
  });
});

describe('servers that answer ranges wrongly', () => {
  it('416 on a resume: starts the file over from byte 0 and still installs identical bytes', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'drop', afterBytes: 50_000 });
    w.hub.fault({ file: ONNX }, { kind: 'range-416' });
    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status).toBe('installed');
    const cdn = w.hub.requestsFor(ONNX).filter((r) => r.server === 'cdn');
    expect(cdn.map((r) => r.status)).toEqual([200, 416, 200]);
    expect(cdn[1].range).toMatch(/^bytes=\d+-$/);
    expect(cdn[2].range).toBeNull();
    expect(await sameBytes(w.fixtureDir, join(w.modelsDir, 'tiny-q'))).toEqual([]);
  });

  it('416 again after starting over is an error that says so', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'drop', afterBytes: 50_000 });
    w.hub.fault({ file: ONNX }, { kind: 'range-416' }, 5);
    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status === 'failed' && [outcome.error.code, outcome.error.file]).toEqual(['range-not-satisfiable', ONNX]);
    expect(await w.modelsEntries()).toEqual(['.partial']);
  });

  it('200 to a Range request (range ignored): the part is rewritten from byte 0, not appended to', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'drop', afterBytes: 50_000 });
    w.hub.fault({ file: ONNX }, { kind: 'ignore-range' });
    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status).toBe('installed');
    const cdn = w.hub.requestsFor(ONNX).filter((r) => r.server === 'cdn');
    expect(cdn.map((r) => r.status)).toEqual([200, 200]);
    expect(rangeStart(cdn[1].range)).toBeGreaterThan(0);
    expect(await sameBytes(w.fixtureDir, join(w.modelsDir, 'tiny-q'))).toEqual([]);
  });

  it('a refused CDN link (403, e.g. an expired signature) or a 503 is retried through a fresh redirect', async () => {
    w.hub.fault({ file: ONNX }, { kind: 'status', status: 403 });
    w.hub.fault({ file: ONNX }, { kind: 'status', status: 503 });
    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status).toBe('installed');
    expect(w.hub.requestsFor(ONNX).map((r) => [r.server, r.status])).toEqual([
      ['hub', 302],
      ['cdn', 403],
      ['hub', 302],
      ['cdn', 503],
      ['hub', 302],
      ['cdn', 200],
    ]);
    expect(w.events.filter((e) => e.type === 'retry').map((e) => e.download.retry?.reason)).toEqual([
      expect.stringMatching(/link .* expired or was refused .*HTTP 403/),
      expect.stringMatching(/HTTP 503/),
    ]);
  });

  it('a cut on a small file served by the Hub itself resumes there too', async () => {
    w.hub.fault({ file: 'tokenizer.json' }, { kind: 'drop', afterBytes: 5_000 });
    const outcome = await w.service().start(w.request()).done;
    expect(outcome.status).toBe('installed');
    const tok = w.hub.requestsFor('tokenizer.json');
    expect(tok.map((r) => [r.server, r.status])).toEqual([
      ['hub', 200],
      ['hub', 206],
    ]);
    expect(await sameBytes(w.fixtureDir, join(w.modelsDir, 'tiny-q'))).toEqual([]);
  });
});
