// Composition root of the desktop app: single instance, app-data folder, the engine host as a utility
// process, the services, IPC, menu and window; on quit, the active conversation's snapshot is saved and
// everything is closed. Runs in Electron main.
import { app, BrowserWindow, Menu } from 'electron';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppEvent, AppInfo } from '../common/contract';
import { registerIpc, type IpcBridge } from './ipc/ipcBridge';
import { menuTemplate } from './ipc/menuTemplate';
import type { RendererOrigin } from './ipc/senderPolicy';
import { startUtilityHost } from './ipc/utilityHostTransport';
import { AppServices } from './services/appServices';
import { EventHub } from './services/eventHub';
import type { AppSettings } from '../common/settingsSchema';
import { createMainWindow, hardenSession } from './window';

/** out/main/ (this file's folder once built). */
const here = fileURLToPath(new URL('.', import.meta.url));
const HOST_ENTRY = join(here, 'hostEntry.js');
const PRELOAD = join(here, '../preload/index.cjs');
/** electron-vite sets this to the Vite dev server in `npm run dev` only. */
const devServer = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
const origin: RendererOrigin = devServer ? { kind: 'dev', origin: devServer } : { kind: 'file', indexPath: join(here, '../renderer/index.html') };

let window: BrowserWindow | null = null;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  void app.whenReady().then(start);
}

async function start(): Promise<void> {
  const hub = new EventHub<AppEvent>();
  const startHost = () => startUtilityHost(HOST_ENTRY);
  const services = new AppServices({
    dataDir: app.getPath('userData'),
    host: startHost(),
    startHost,
    emit: hub.emit,
    // Host events reach the window over its own port from the utility process (main stays out of the token path).
    forwardHostEvents: false,
    version: app.getVersion(),
  });
  hardenSession(origin);
  const ipc = registerIpc({ services, hub, origin });
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      menuTemplate({
        appName: app.name,
        isMac: process.platform === 'darwin',
        isDev: origin.kind === 'dev',
        command: (command) => hub.emit({ type: 'command', command }),
      }),
    ),
  );
  const settings = await services.invoke('settings.get', {});
  const bounds = settings.ok ? (settings.result as AppSettings).windowBounds : null;
  const open = () => {
    window = createMainWindow({
      preload: PRELOAD,
      origin,
      bounds,
      saveBounds: (windowBounds) => void services.invoke('settings.update', { patch: { windowBounds } }),
    });
    ipc.attachWindow(window);
    window.on('closed', () => (window = null));
  };
  open();
  void services.restoreLastModel();
  void logProviders(services);

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) open();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  quitCleanly(services, ipc);
}

/** Says at start which execution providers this build offers (the UI shows them in Settings too). */
async function logProviders(services: AppServices): Promise<void> {
  const reply = await services.invoke('app.info', {});
  if (!reply.ok) return;
  const providers = (reply.result as AppInfo).providers.map((p) => (p.available ? p.name : `${p.name} (unavailable: ${p.reason ?? 'not in this build'})`));
  console.info(`Ouro: execution providers: ${providers.join(', ')}`);
}

/** Holds the first quit until the reply in progress is stopped, the snapshot saved and the stores flushed. */
function quitCleanly(services: AppServices, ipc: IpcBridge): void {
  let state: 'running' | 'closing' | 'closed' = 'running';
  app.on('before-quit', (event) => {
    if (state === 'closed') return;
    event.preventDefault();
    if (state === 'closing') return;
    state = 'closing';
    void services
      .close()
      .catch(() => undefined)
      .finally(() => {
        ipc.dispose();
        state = 'closed';
        app.quit();
      });
  });
}
