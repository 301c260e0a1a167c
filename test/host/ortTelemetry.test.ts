// onnxruntime-node writes no telemetry: a model loaded and run through the CLI's worker-thread engine
// host, under a fresh HOME and TMPDIR and without ORT_DISABLE_TELEMETRY in its environment, leaves both
// folders empty (1.30 otherwise writes a device id, an event database and mat-debug-<pid>.log there).
// A worker whose parent forgot the variable refuses to load. Runs under Vitest (child process, worker).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixture } from '../fixtures/llamaFixture';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every path under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

describe('onnxruntime telemetry', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'ouro-telemetry-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('loading and running a model writes nothing under HOME or TMPDIR', async () => {
    const model = (await ensureFixture('tiny')).dir;
    const home = join(scratch, 'home');
    const tmp = join(scratch, 'tmp');
    await Promise.all([mkdir(home), mkdir(tmp)]);
    // tsx's own transform cache would land in TMPDIR; the packaged app has no tsx.
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmp, TSX_DISABLE_CACHE: '1' };
    // The test process itself has it set (it loads onnxruntime too): the child must not inherit it.
    delete env.ORT_DISABLE_TELEMETRY;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'main/cli/chat.ts', '--model', model, '--raw', '--prompt', 'hello', '--max-tokens', '4', '--json'], {
      cwd: root,
      env,
      timeout: 120_000,
    });
    expect(stdout).toContain('"type":"done"');
    expect({ home: await filesUnder(home), tmp: await filesUnder(tmp) }).toEqual({ home: [], tmp: [] });
  });

  it('a worker started without the variable refuses to load onnxruntime', async () => {
    const worker = new Worker(new URL('../../main/host/tsxWorkerBoot.mjs', import.meta.url), {
      workerData: { entry: new URL('../../main/engine/onnxSession.ts', import.meta.url).href },
      env: {},
    });
    const failure = await new Promise<Error>((resolve) => worker.once('error', resolve));
    expect(failure.message).toMatch(/parent did not set ORT_DISABLE_TELEMETRY=1/);
  });
});
