// Runs the engine host in a worker_threads Worker (CLI, tests, benchmarks). From TypeScript sources the
// worker boots through tsx; from a build it loads the compiled entry directly.
// First: the worker shares this process's environment, where onnxruntime looks for ORT_DISABLE_TELEMETRY.
import '../engine/ortTelemetryOff';
import { Worker, type Transferable } from 'node:worker_threads';
import { EngineHostClient, type HostTransport } from './engineHostClient';
import { HOST_WORKER_LIMITS } from './hostHeapLimits';
import type { HostInbound, HostOutbound } from './protocol';

function workerFor(): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  if (!fromSources) return new Worker(new URL('./hostEntry.js', import.meta.url), { resourceLimits: HOST_WORKER_LIMITS });
  // Node 20 ignores `--import tsx` for a worker's own .ts entry, so a JS boot file registers tsx first.
  return new Worker(new URL('./tsxWorkerBoot.mjs', import.meta.url), {
    workerData: { entry: new URL('./hostEntry.ts', import.meta.url).href },
    resourceLimits: HOST_WORKER_LIMITS,
  });
}

export function workerTransport(): HostTransport {
  const worker = workerFor();
  return {
    post: (message: HostInbound, transfer) => {
      const list = transfer as readonly Transferable[] | undefined;
      // A worker receives transferred ports only inside the message value.
      const value = message.kind === 'attachEventPort' ? { ...message, ports: list ?? [] } : message;
      worker.postMessage(value, list);
    },
    onMessage: (listener: (m: HostOutbound) => void) => worker.on('message', listener),
    onExit: (listener) => {
      let error: Error | null = null;
      worker.on('error', (err) => (error = err));
      worker.on('exit', () => listener(error));
    },
    terminate: async () => {
      await worker.terminate();
    },
  };
}

/** Starts an engine host in a new worker thread. */
export function startWorkerHost(): EngineHostClient {
  return new EngineHostClient(workerTransport());
}
