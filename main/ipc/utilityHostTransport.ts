// The engine host as an Electron utility process: a HostTransport over `utilityProcess.fork` of the
// built host entry (out/main/hostEntry.js). Runs in Electron main.
import { utilityProcess, type MessagePortMain } from 'electron';
import { EngineHostClient, type HostTransport } from '../host/engineHostClient';
import { ORT_TELEMETRY_OFF } from '../engine/ortTelemetryOff';
import { HOST_V8_FLAGS } from '../host/hostHeapLimits';
import type { HostInbound, HostOutbound } from '../host/protocol';

/**
 * Forks `entry` as a utility process (its own V8 and event loop, so `session.run` never blocks main).
 * Messages posted before the process has spawned are held and sent once it has.
 */
export function utilityHostTransport(entry: string): HostTransport {
  // The bundled host entry may load onnxruntime before any of its own code runs: the variable comes with the process.
  const child = utilityProcess.fork(entry, [], {
    serviceName: 'Ouro engine',
    stdio: 'inherit',
    execArgv: [...HOST_V8_FLAGS],
    env: { ...process.env, ...ORT_TELEMETRY_OFF },
  });
  let spawned = false;
  let exited = false;
  let fatal: Error | null = null;
  const held: { message: HostInbound; transfer: MessagePortMain[] }[] = [];
  child.once('spawn', () => {
    spawned = true;
    for (const { message, transfer } of held.splice(0)) child.postMessage(message, transfer);
  });
  child.on('error', (type, location) => {
    fatal = new Error(`the engine process failed (${type} at ${location})`);
  });
  child.once('exit', () => {
    exited = true;
  });
  return {
    post: (message, transfer) => {
      const ports = (transfer ?? []) as MessagePortMain[];
      if (spawned) child.postMessage(message, ports);
      else held.push({ message, transfer: ports });
    },
    onMessage: (listener: (message: HostOutbound) => void) => {
      child.on('message', (message: HostOutbound) => listener(message));
    },
    onExit: (listener) => {
      child.once('exit', (code) => listener(fatal ?? (code === 0 ? null : new Error(`the engine process exited with code ${code}`))));
    },
    terminate: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

/** Starts an engine host in a new utility process running `entry`. */
export function startUtilityHost(entry: string): EngineHostClient {
  return new EngineHostClient(utilityHostTransport(entry));
}
