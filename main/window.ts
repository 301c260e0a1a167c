// The main window: sandboxed, context-isolated renderer with a strict CSP, navigation and new windows
// denied (web links go to the system browser), permissions refused, bounds remembered. Runs in Electron main.
import { BrowserWindow, nativeTheme, screen, session, shell } from 'electron';
import { CONTENT_SECURITY_POLICY, devContentSecurityPolicy } from './services/contentSecurityPolicy';
import { externalLink, isAllowedPermission, isTrustedRendererUrl, type RendererOrigin } from './ipc/senderPolicy';
import { boundsToRestore, boundsToSave } from './ipc/windowBounds';
import type { WindowBounds } from '../common/settingsSchema';

export interface MainWindowOptions {
  /** The built preload script (CommonJS: sandboxed preloads cannot be ES modules). */
  readonly preload: string;
  readonly origin: RendererOrigin;
  readonly bounds: Readonly<WindowBounds> | null;
  /** Called (debounced) when the user moves or resizes the window, and when it closes. */
  readonly saveBounds: (bounds: WindowBounds) => void;
}

const SAVE_DELAY_MS = 500;

/** Sets the CSP header and the permission policy of the default session (once per app). */
export function hardenSession(origin: RendererOrigin): void {
  const policy = origin.kind === 'dev' ? devContentSecurityPolicy(origin.origin) : CONTENT_SECURITY_POLICY;
  // file:// responses carry no headers; the renderer's index.html holds the same policy as a meta tag.
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [policy] } });
  });
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback) => callback(isAllowedPermission(permission)));
  session.defaultSession.setPermissionCheckHandler((_contents, permission) => isAllowedPermission(permission));
}

/** Creates the window, shows it when its first paint is ready, and loads the renderer. */
export function createMainWindow(options: Readonly<MainWindowOptions>): BrowserWindow {
  const restored = boundsToRestore(options.bounds, screen.getAllDisplays().map((d) => d.workArea));
  const win = new BrowserWindow({
    ...(restored.x === undefined ? {} : { x: restored.x, y: restored.y }),
    width: restored.width,
    height: restored.height,
    minWidth: 480,
    minHeight: 360,
    show: false,
    title: 'Ouro',
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#16171a' : '#ffffff',
    webPreferences: {
      preload: options.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: true,
      devTools: options.origin.kind === 'dev',
    },
  });
  if (restored.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  guardNavigation(win, options.origin);
  rememberBounds(win, options.saveBounds);
  if (options.origin.kind === 'dev') void win.loadURL(options.origin.origin);
  else void win.loadFile(options.origin.indexPath);
  return win;
}

/** The page never navigates away or opens windows; http(s) links open in the system browser instead. */
function guardNavigation(win: BrowserWindow, origin: RendererOrigin): void {
  const contents = win.webContents;
  const toBrowser = (url: string) => {
    const link = externalLink(url);
    if (link) void shell.openExternal(link);
  };
  contents.on('will-navigate', (event, url) => {
    // A reload of the app's own page (dev server HMR) is the one navigation allowed.
    if (isTrustedRendererUrl(url, origin)) return;
    event.preventDefault();
    toBrowser(url);
  });
  contents.on('will-redirect', (event, url) => {
    if (!isTrustedRendererUrl(url, origin)) event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    toBrowser(url);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

function rememberBounds(win: BrowserWindow, save: (bounds: WindowBounds) => void): void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const saveNow = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!win.isDestroyed()) save(boundsToSave(win.getNormalBounds(), win.isMaximized()));
  };
  const later = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(saveNow, SAVE_DELAY_MS);
  };
  win.on('resize', later);
  win.on('move', later);
  win.on('maximize', later);
  win.on('unmaximize', later);
  win.on('close', saveNow);
}
