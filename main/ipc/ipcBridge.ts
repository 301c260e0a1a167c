// The contract over Electron IPC: one `ouro:invoke` handler that checks its sender and answers with an
// ApiReply (never throws across IPC), and per window two MessagePorts — one fed by the engine host itself
// (tokens never pass through main), one by main's own events. Runs in Electron main.
import { BrowserWindow, dialog, ipcMain, MessageChannelMain, type IpcMainInvokeEvent, type MessagePortMain } from 'electron';
import type { ApiReply, AppEvent } from '../../common/contract';
import type { AppServices } from '../services/appServices';
import type { EventHub } from '../services/eventHub';
import { EVENT_KIND, IPC_INVOKE, IPC_PICK_FOLDER, IPC_PORTS, type PortsMessage } from '../../common/ipcChannels';
import { isTrustedRendererUrl, type RendererOrigin } from './senderPolicy';

export interface IpcBridgeOptions {
  readonly services: AppServices;
  /** Main's own events (the services emit into it; the menu's commands too). */
  readonly hub: EventHub<AppEvent>;
  readonly origin: RendererOrigin;
}

export interface IpcBridge {
  /** Hands `win` its event ports now and after every load of its page; stops when it closes. */
  attachWindow(win: BrowserWindow): void;
  dispose(): void;
}

interface WindowPorts {
  main: MessagePortMain | null;
}

const FORBIDDEN: ApiReply = { ok: false, error: { code: 'forbidden', message: 'This page may not use the Ouro API.' } };

export function registerIpc(options: Readonly<IpcBridgeOptions>): IpcBridge {
  const { services, hub, origin } = options;
  const windows = new Map<BrowserWindow, WindowPorts>();

  /** Only the top frame of one of our windows, showing our own page, may call verbs. */
  const trusted = (event: IpcMainInvokeEvent): boolean => {
    const frame = event.senderFrame;
    if (!frame || frame.parent !== null) return false;
    const win = BrowserWindow.fromWebContents(event.sender);
    return win !== null && windows.has(win) && isTrustedRendererUrl(frame.url, origin);
  };

  ipcMain.handle(IPC_INVOKE, async (event, verb: unknown, args: unknown): Promise<ApiReply> => {
    if (!trusted(event)) return FORBIDDEN;
    try {
      return await services.invoke(verb, args);
    } catch (err) {
      return { ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
    }
  });

  // The native folder dialog, as a sheet of the asking window ("Open model folder…").
  ipcMain.handle(IPC_PICK_FOLDER, async (event, title: unknown): Promise<string | null> => {
    const win = BrowserWindow.fromWebContents(event.sender);
    if (!trusted(event) || !win) return null;
    const { canceled, filePaths } = await dialog.showOpenDialog(win, {
      title: typeof title === 'string' ? title.slice(0, 200) : 'Open model folder',
      properties: ['openDirectory', 'dontAddToRecent'],
    });
    return canceled ? null : (filePaths[0] ?? null);
  });

  const sendPorts = (win: BrowserWindow, roles: PortsMessage['roles']): void => {
    const contents = win.webContents;
    if (contents.isDestroyed() || !isTrustedRendererUrl(contents.getURL(), origin)) return;
    const state = windows.get(win);
    if (!state) return;
    const transfer: MessagePortMain[] = [];
    for (const role of roles) {
      const { port1, port2 } = new MessageChannelMain();
      if (role === 'host') {
        // The host posts straight to the renderer; a closed renderer end detaches it there.
        try {
          services.host.attachEventPort(port1);
        } catch {
          // The host is down: the window gets a port that stays quiet until the next host's.
        }
      } else {
        state.main?.close();
        state.main = port1;
      }
      transfer.push(port2);
    }
    contents.postMessage(IPC_PORTS, { roles } satisfies PortsMessage, transfer);
  };

  const unsubscribe = hub.subscribe((event) => {
    for (const state of windows.values()) state.main?.postMessage({ kind: EVENT_KIND, event });
  });
  // A restarted engine host has none of the old ports: give every window a new host port.
  const stopHostWatch = services.onHostStarted(() => {
    for (const win of windows.keys()) sendPorts(win, ['host']);
  });

  return {
    attachWindow(win) {
      windows.set(win, { main: null });
      win.webContents.on('did-finish-load', () => sendPorts(win, ['host', 'main']));
      win.on('closed', () => {
        windows.get(win)?.main?.close();
        windows.delete(win);
      });
    },
    dispose() {
      unsubscribe();
      stopHostWatch();
      ipcMain.removeHandler(IPC_INVOKE);
      ipcMain.removeHandler(IPC_PICK_FOLDER);
      for (const state of windows.values()) state.main?.close();
      windows.clear();
    },
  };
}
