// The sandboxed preload: exposes `window.ouro` (the contract's verbs and one event stream) through
// contextBridge, never ipcRenderer itself. Events arrive on MessagePorts main hands over: one fed by the
// engine host directly, one by main. Runs in the renderer's isolated world (bundled as CommonJS).
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { EVENT_KIND, IPC_INVOKE, IPC_PICK_FOLDER, IPC_PORTS, type PortsMessage } from '../common/ipcChannels';
import type { ApiReply, AppEvent, OuroApi } from '../common/contract';

/** The DOM MessagePort as used here (typed structurally: this project's Node typings lack the DOM). */
interface EventPort {
  onmessage: ((event: { data: unknown }) => void) | null;
  close(): void;
}

/**
 * Event types the renderer handles; the host's other events (stats, partial) are main's business. A record
 * over the union, so a new AppEvent type that is not listed here fails the typecheck instead of being dropped.
 */
const APP_EVENT_TYPES: Readonly<Record<AppEvent['type'], true>> = {
  token: true,
  cacheView: true,
  progress: true,
  done: true,
  error: true,
  message: true,
  conversations: true,
  models: true,
  settings: true,
  server: true,
  notice: true,
  repairs: true,
  command: true,
  download: true,
};

const listeners = new Set<(event: AppEvent) => void>();
const ports = new Map<'host' | 'main', EventPort>();

function deliver(data: unknown): void {
  if (typeof data !== 'object' || data === null || (data as { kind?: unknown }).kind !== EVENT_KIND) return;
  const event = (data as { event?: { type?: unknown } }).event;
  if (!event || typeof event.type !== 'string' || !Object.hasOwn(APP_EVENT_TYPES, event.type)) return;
  for (const listener of listeners) {
    try {
      listener(event as AppEvent);
    } catch (err) {
      console.error('ouro event listener failed', err);
    }
  }
}

ipcRenderer.on(IPC_PORTS, (event: IpcRendererEvent, message: PortsMessage) => {
  message.roles.forEach((role, i) => {
    const port = event.ports[i] as unknown as EventPort | undefined;
    if (!port) return;
    ports.get(role)?.close();
    ports.set(role, port);
    // Assigning onmessage starts the port.
    port.onmessage = (e) => deliver(e.data);
  });
});

const api: OuroApi = {
  invoke: (async (verb: string, args: unknown) => {
    const reply = (await ipcRenderer.invoke(IPC_INVOKE, verb, args)) as ApiReply;
    if (reply.ok) return reply.result;
    // The ApiError object itself (code, message, detail) is the rejection, as over the browser transport.
    throw reply.error;
  }) as OuroApi['invoke'],
  subscribe: (listener) => {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
  pickFolder: async (title) => {
    const chosen: unknown = await ipcRenderer.invoke(IPC_PICK_FOLDER, title);
    return typeof chosen === 'string' ? chosen : null;
  },
};

contextBridge.exposeInMainWorld('ouro', api);
