// The native menu as data: standard roles plus the app's commands (new conversation, settings, models,
// cache panel, focus the composer). Pure (only electron's types), so it is unit-tested. Runs in main.
import type { MenuItemConstructorOptions } from 'electron';
import type { AppEvent } from '../../common/contract';

/** A menu command the renderer acts on. */
export type MenuCommand = Extract<AppEvent, { type: 'command' }>['command'];

export interface MenuOptions {
  readonly appName: string;
  readonly isMac: boolean;
  /** Reload and the developer tools are offered only in development. */
  readonly isDev: boolean;
  readonly command: (command: MenuCommand) => void;
}

/** The application menu: macOS app menu, File, Edit, View, Window, Help. */
export function menuTemplate(options: Readonly<MenuOptions>): MenuItemConstructorOptions[] {
  const { appName, isMac, isDev, command } = options;
  const item = (label: string, accelerator: string | undefined, name: MenuCommand): MenuItemConstructorOptions => ({
    label,
    ...(accelerator ? { accelerator } : {}),
    click: () => command(name),
  });
  const settings = item(isMac ? 'Settings…' : 'Settings', 'CmdOrCtrl+,', 'openSettings');
  const template: MenuItemConstructorOptions[] = [];
  if (isMac) {
    template.push({
      label: appName,
      submenu: [
        { role: 'about' },
        { type: 'separator' },
        settings,
        { type: 'separator' },
        { role: 'services' },
        { type: 'separator' },
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        { type: 'separator' },
        { role: 'quit' },
      ],
    });
  }
  template.push({
    label: 'File',
    submenu: [
      item('New Conversation', 'CmdOrCtrl+N', 'newConversation'),
      item('Models…', 'CmdOrCtrl+Shift+M', 'openModels'),
      ...(isMac ? [] : [{ type: 'separator' } as const, settings]),
      { type: 'separator' },
      isMac ? { role: 'close' } : { role: 'quit' },
    ],
  });
  template.push({
    label: 'Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      ...(isMac ? [{ role: 'pasteAndMatchStyle' } as const] : []),
      { role: 'delete' },
      { role: 'selectAll' },
      { type: 'separator' },
      item('Focus Message Box', 'CmdOrCtrl+L', 'focusComposer'),
    ],
  });
  template.push({
    label: 'View',
    submenu: [
      item('Toggle Cache Panel', 'CmdOrCtrl+Shift+K', 'toggleCachePanel'),
      { type: 'separator' },
      ...(isDev ? [{ role: 'reload' } as const, { role: 'forceReload' } as const, { role: 'toggleDevTools' } as const, { type: 'separator' } as const] : []),
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  });
  template.push({ role: 'windowMenu' });
  template.push({ role: 'help', submenu: [...(isMac ? [] : [{ role: 'about' } as const])] });
  return template;
}
