// Runs the engine host in a worker_threads Worker (CLI, tests, benchmarks). From TypeScript sources the
// worker boots through tsx; from a build it loads the compiled entry directly.
// First: the worker shares this process's environment, where onnxruntime looks for ORT_DISABLE_TELEMETRY.
import '../engine/ortTelemetryOff';
import { Worker, type Transferable } from 'node:worker_threads';
import { EngineHostClient, type HostTransport } from './engineHostClient';
import { HOST_WORKER_LIMITS } from './hostHeapLimits';
import type { HostInbound, HostOutbound, HostShutdown, HostStopped } from './protocol';

function workerFor(): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  if (!fromSources) return new Worker(new URL('./hostEntry.js', import.meta.url), { resourceLimits: HOST_WORKER_LIMITS });
  // Node 20 ignores `--import tsx` for a worker's own .ts entry, so a JS boot file registers tsx first.
  return new Worker(new URL('./tsxWorkerBoot.mjs', import.meta.url), {
    workerData: { entry: new URL('./hostEntry.ts', import.meta.url).href },
    resourceLimits: HOST_WORKER_LIMITS,
  });
}

/**
 * A transport to a new worker. `terminate` first asks the host to stop (protocol's HostShutdown) and
 * waits for its answer or its exit: terminating a worker inside a native onnxruntime call aborts this
 * whole process, so a worker is only terminated once it is idle.
 */
export function workerTransport(): HostTransport {
  const worker = workerFor();
  let exited = false;
  let stopped: () => void = () => undefined;
  let terminating: Promise<void> | null = null;
  worker.once('exit', () => {
    exited = true;
    stopped();
  });
  worker.on('message', (message: HostOutbound | HostStopped) => {
    if (message.kind === 'stopped') stopped();
  });
  return {
    post: (message: HostInbound, transfer) => {
      const list = transfer as readonly Transferable[] | undefined;
      // A worker receives transferred ports only inside the message value.
      const value = message.kind === 'attachEventPort' ? { ...message, ports: list ?? [] } : message;
      worker.postMessage(value, list);
    },
    onMessage: (listener: (m: HostOutbound) => void) =>
      worker.on('message', (message: HostOutbound | HostStopped) => message.kind !== 'stopped' && listener(message)),
    onExit: (listener) => {
      let error: Error | null = null;
      worker.on('error', (err) => (error = err));
      worker.on('exit', () => listener(error));
    },
    terminate: () =>
      (terminating ??= (async () => {
        if (!exited) {
          const idle = new Promise<void>((resolve) => (stopped = resolve));
          worker.postMessage({ kind: 'shutdown' } satisfies HostShutdown);
          await idle;
        }
        await worker.terminate();
      })()),
  };
}

/** Starts an engine host in a new worker thread. */
export function startWorkerHost(): EngineHostClient {
  return new EngineHostClient(workerTransport());
}
