// The engine host's V8 process flags (the Electron utility process is started with them): Node refuses a
// whole process over one flag it does not know ("bad option"), so each must start a process here, and
// together they must leave the heap limits the host is sized for.
import { spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { HOST_SEMI_SPACE_MB, HOST_V8_FLAGS } from '../../main/host/hostHeapLimits';

test('the host flags start a Node process: the young generation capped, the memory reducer off', () => {
  // Short-lived garbage at a steady rate, which grows an uncapped young generation (to 4 MB here), then its size.
  const probe = [
    'let live = [];',
    'for (let i = 0; i < 3e6; i++) { live.push({ i }); if (live.length > 1000) live = []; }',
    "console.log(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);",
  ].join(' ');
  const run = spawnSync(process.execPath, [...HOST_V8_FLAGS, '-e', probe], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  // Its two semi-spaces of HOST_SEMI_SPACE_MB at most (uncapped, the same probe reads 4 MB).
  expect(Number(run.stdout.trim())).toBeLessThanOrEqual(2 * HOST_SEMI_SPACE_MB * 1024 * 1024);
  expect(HOST_V8_FLAGS).toContain('--no-memory-reducer');
  const refused = spawnSync(process.execPath, ['--no-such-v8-flag-for-ouro', '-e', '0'], { encoding: 'utf8' });
  expect(refused.status).not.toBe(0);
});
