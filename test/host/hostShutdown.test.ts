// Closing a worker-thread engine host while it is inside a native onnxruntime call (a load, a decode
// step) must not abort the process that owns it: the host is stopped cooperatively (cancel, wait until
// idle, release) before the worker is terminated. The owner is a child process, so an abort shows as
// its exit status instead of killing the test run. Runs under Vitest (Node).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ensureFixture, TINY } from '../fixtures/llamaFixture';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

/** Big enough that a decode step spends most of its time inside session.run (16 MB of weights). */
const SLOW_STEPS = { ...TINY, layers: 4, hidden: 256, heads: 4, kvHeads: 2, headDim: 64, intermediate: 1024, seed: 9 };

describe('closing a worker host', () => {
  it('during a load and during decode steps leaves the owning process alive', async () => {
    const { dir } = await ensureFixture('host-shutdown', SLOW_STEPS);
    const rounds = 4;
    const result = await run(tsx, ['test/host/hostShutdownChild.ts', dir, String(rounds)], { cwd: root, timeout: 100_000 }).then(
      ({ stdout, stderr }) => ({ code: 0, signal: null, stdout, stderr }),
      (err: { code: number | null; signal: string | null; stdout: string; stderr: string }) => err,
    );
    expect(result.stderr).not.toContain('terminate called');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.closedDuring ?? l.survived)).toEqual(['load', ...Array(rounds - 1).fill('generate'), true]);
    // A generate cut by the close answers as a cancelled reply (an object), not a host crash (a message).
    for (const line of lines.slice(1, -1)) expect(line.result).toBe('object');
  }, 120_000);
});
