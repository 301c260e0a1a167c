// Shared setup for the download tests: the mock Hub serving the tiny fixture model, a temp models
// folder, a DownloadService with short retries and timeouts, and the events it emitted. Test process.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DownloadRequest } from '../../main/models/downloadRequest';
import { DownloadService, type DownloadServiceOptions } from '../../main/models/downloadService';
import type { DownloadEvent } from '../../common/downloadTypes';
import { ensureFixture } from '../fixtures/llamaFixture';
import { MockHub } from './mockHub';

export const REPO = 'ouro-test/tiny-llama';
/** The fixture's files in the order they are fetched; the graph last, so a test can cut it mid-file. */
export const FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'onnx/model.onnx'];
export const ONNX = 'onnx/model.onnx';

/** One test's world. */
export interface DownloadWorld {
  readonly hub: MockHub;
  readonly fixtureDir: string;
  readonly root: string;
  readonly modelsDir: string;
  readonly events: DownloadEvent[];
  readonly commit: string;
  service(extra?: Partial<DownloadServiceOptions>): DownloadService;
  request(extra?: Partial<DownloadRequest>): DownloadRequest;
  /** Entries of the models folder (what the registry would see, dot-folders included). */
  modelsEntries(): Promise<string[]>;
  close(): Promise<void>;
}

/** Starts a mock Hub publishing the tiny fixture as {@link REPO}. */
export async function downloadWorld(): Promise<DownloadWorld> {
  const { dir: fixtureDir } = await ensureFixture('tiny');
  const hub = await MockHub.start();
  const commit = hub.addFolder(REPO, fixtureDir, { skip: ['fixture-spec.json'] });
  const root = await mkdtemp(join(tmpdir(), 'ouro-models-'));
  const modelsDir = join(root, 'models');
  const events: DownloadEvent[] = [];
  return {
    hub,
    fixtureDir,
    root,
    modelsDir,
    events,
    commit,
    service: (extra = {}) =>
      new DownloadService({
        modelsDir,
        hubBaseUrl: hub.baseUrl,
        retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
        idleTimeoutMs: 5000,
        progressIntervalMs: 0,
        reserveBytes: 0,
        onEvent: (e) => events.push(e),
        ...extra,
      }),
    request: (extra = {}) => ({ id: 'tiny-q', name: 'Tiny', repo: REPO, revision: 'main', files: FILES.map((path) => ({ path })), ...extra }),
    modelsEntries: async () => (await readdir(modelsDir).catch(() => [] as string[])).sort(),
    close: async () => {
      await hub.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Asserts-friendly: every fixture file's bytes vs the installed copy. */
export async function sameBytes(fixtureDir: string, installedDir: string): Promise<string[]> {
  const differing: string[] = [];
  for (const f of FILES) {
    const [a, b] = await Promise.all([readFile(join(fixtureDir, f)), readFile(join(installedDir, f))]);
    if (!a.equals(b)) differing.push(f);
  }
  return differing;
}
