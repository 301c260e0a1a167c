// Engine host entry: the file that runs as a worker_threads Worker under Node and as an Electron utility
// process in the app. Adapts whichever parent port exists to EngineHost; imports no electron.
import { parentPort as workerParentPort } from 'node:worker_threads';
import { EngineHost } from './engineHost';
import { HostEventRouter, type EventPort } from './hostEventRouter';
import type { HostInbound, HostOutbound, HostStopped } from './protocol';

/** The slice of a MessagePort (worker_threads or Electron's MessagePortMain) the host uses. */
interface OutPort {
  postMessage(message: HostOutbound | HostStopped): void;
}

/** Electron's utility-process parent port delivers `{ data, ports }` events; Node's delivers the data. */
interface ElectronParentPort {
  on(event: 'message', listener: (e: { data: HostInbound; ports: EventPort[] }) => void): void;
  postMessage(message: HostOutbound | HostStopped): void;
}

const electronPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
const parent: OutPort | null = electronPort ?? workerParentPort;
if (!parent) throw new Error('hostEntry must run as a worker thread or an Electron utility process');

/** Events also go to ports the owner attached (Electron: straight to a renderer, main stays out of the token path). */
const router = new HostEventRouter(parent);
const host = new EngineHost((event, ownerOnly) => router.emit(event, ownerOnly));

async function onMessage(message: HostInbound, ports: readonly EventPort[]): Promise<void> {
  if (message.kind === 'attachEventPort') {
    for (const port of ports) router.attach(port);
    return;
  }
  if (message.kind === 'shutdown') {
    await host.shutdown();
    parent!.postMessage({ kind: 'stopped' });
    return;
  }
  const reply = await host.handle(message);
  parent!.postMessage({ kind: 'reply', seq: message.seq, ...reply });
}

if (electronPort) electronPort.on('message', (e) => void onMessage(e.data, e.ports));
// worker_threads delivers transferred ports only inside the message value (workerTransport puts them in `ports`).
else workerParentPort!.on('message', (m: HostInbound) => void onMessage(m, m.kind === 'attachEventPort' ? ((m.ports ?? []) as EventPort[]) : []));
