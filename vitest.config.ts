// Vitest runs every suite under plain Node; browser suites drive Debian Chromium themselves.
import { defineConfig } from 'vitest/config';
import { NODE_PARITY_FLAGS } from './main/host/hostHeapLimits';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    globalSetup: ['test/fixtures/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The engine runs as under Electron's Node (compactPast frees its mirror with ArrayBuffer.prototype.transfer).
    execArgv: [...NODE_PARITY_FLAGS],
    // One file at a time: the browser suites stream from a real engine, and two of them sharing 2 cores
    // with other suites made stop and reply timing flaky.
    maxWorkers: 1,
  },
});
