// IPC channel names and message shapes shared by main's IPC bridge and the preload. Pure data, no
// electron import, so the sandboxed preload bundles it without pulling anything else in.

/** `ipcRenderer.invoke(IPC_INVOKE, verb, args)` → `ApiReply`. */
export const IPC_INVOKE = 'ouro:invoke';

/**
 * `ipcRenderer.invoke(IPC_PICK_FOLDER, title)` → the folder chosen in the OS's native folder dialog, or
 * null when cancelled (the desktop app's "Open model folder…"; a browser types a path instead).
 */
export const IPC_PICK_FOLDER = 'ouro:pickFolder';

/** Main → preload: MessagePorts for the event streams (`webContents.postMessage(IPC_PORTS, PortsMessage, ports)`). */
export const IPC_PORTS = 'ouro:ports';

/**
 * Which stream each transferred port carries, in order: `host` — straight from the engine host (token,
 * cacheView, progress, done, error); `main` — main's own events. A message may carry only `host`
 * (after the engine restarted); a port replaces the earlier one of its role.
 */
export interface PortsMessage {
  readonly roles: readonly ('host' | 'main')[];
}

/** Every message on either port: `{ kind: 'event', event }` (the host protocol's event envelope). */
export const EVENT_KIND = 'event';
