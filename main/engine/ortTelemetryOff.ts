// Turns off onnxruntime-node's telemetry. Left on, 1.30 writes a device id and an SQLite queue of events
// (graph names, CPU, OS, RSS) under ~/.cache/Microsoft/DeveloperTools/.onnxruntime, and a
// mat-debug-<pid>.log in the temp folder, the first time a session is created. Imported for its effect,
// first, by every module that loads onnxruntime or starts the thread that will. Any Node process.
import { isMainThread } from 'node:worker_threads';

/** The environment that keeps it off; a process spawned to run the engine gets it at spawn. */
export const ORT_TELEMETRY_OFF: Readonly<Record<string, string>> = { ORT_DISABLE_TELEMETRY: '1' };

// onnxruntime reads the variable with getenv. A worker's process.env is a private copy that native code
// never sees, so only a main thread can set it: a worker checks that whoever started it did.
if (isMainThread) Object.assign(process.env, ORT_TELEMETRY_OFF);
else if (process.env.ORT_DISABLE_TELEMETRY !== '1') {
  throw new Error('onnxruntime is loaded in a worker whose parent did not set ORT_DISABLE_TELEMETRY=1 (import main/engine/ortTelemetryOff first there)');
}
