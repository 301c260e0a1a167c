// The native menu as data: standard roles plus the app's commands (new conversation, settings, models,
// cache panel, focus the composer). Pure (only electron's types), so it is unit-tested. Runs in main.
import type { MenuItemConstructorOptions } from 'electron';
import type { AppEvent } from '../../common/contract';
import { accelerator, shortcutOf } from '../../common/shortcuts';

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
  // The renderer handles the keys itself (common/shortcuts, the same in a browser): the menu only shows them,
  // so a key press never runs its command twice.
  const item = (label: string, name: MenuCommand): MenuItemConstructorOptions => ({
    label,
    accelerator: accelerator(shortcutOf(name)),
    registerAccelerator: false,
    click: () => command(name),
  });
  const settings = item(isMac ? 'Settings…' : 'Settings', 'openSettings');
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
      item('New Conversation', 'newConversation'),
      item('Search Conversations', 'focusSearch'),
      item('Models…', 'openModels'),
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
      item('Pin Selection to Memory', 'pinSelection'),
      item('Focus Message Box', 'focusComposer'),
    ],
  });
  template.push({
    label: 'View',
    submenu: [
      item('Toggle Cache Panel', 'toggleCachePanel'),
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
  template.push({ role: 'help', submenu: [item('Keyboard Shortcuts', 'showShortcuts'), ...(isMac ? [] : [{ role: 'about' } as const])] });
  return template;
}
