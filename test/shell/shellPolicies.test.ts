// The Electron shell's decisions that need no Electron: which pages may call IPC, which links go to the
// system browser, which permissions are granted, the menu's commands and shortcuts, and window bounds.
// Runs under Vitest (Node); nothing here imports electron.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { menuTemplate, type MenuCommand } from '../../main/ipc/menuTemplate';
import { externalLink, isAllowedPermission, isTrustedRendererUrl, type RendererOrigin } from '../../main/ipc/senderPolicy';
import { boundsToRestore, boundsToSave, DEFAULT_SIZE } from '../../main/ipc/windowBounds';

/** electron's MenuItemConstructorOptions, without importing electron here. */
type MenuItemConstructorOptions = ReturnType<typeof menuTemplate>[number];

const indexPath = join('/opt', 'Ouro', 'resources', 'out', 'renderer', 'index.html');
const file: RendererOrigin = { kind: 'file', indexPath };
const dev: RendererOrigin = { kind: 'dev', origin: 'http://localhost:5173' };

describe('trusted renderer URLs', () => {
  it('trusts only the built index.html (any hash or query) in production', () => {
    const url = pathToFileURL(indexPath).href;
    expect(isTrustedRendererUrl(url, file)).toBe(true);
    expect(isTrustedRendererUrl(`${url}#/settings`, file)).toBe(true);
    expect(isTrustedRendererUrl(`${url}?x=1`, file)).toBe(true);
    for (const other of [
      pathToFileURL(join('/opt', 'Ouro', 'resources', 'out', 'renderer', 'other.html')).href,
      pathToFileURL('/tmp/index.html').href,
      `${url.replace('index.html', 'assets/../../../index.html')}`,
      'https://evil.example/index.html',
      'http://localhost:5173/',
      'about:blank',
      'data:text/html,hi',
      'not a url',
      'file://remote-host/opt/Ouro/resources/out/renderer/index.html',
    ]) {
      expect(isTrustedRendererUrl(other, file), other).toBe(false);
    }
  });

  it('trusts only the dev server origin in development', () => {
    expect(isTrustedRendererUrl('http://localhost:5173/', dev)).toBe(true);
    expect(isTrustedRendererUrl('http://localhost:5173/index.html#x', dev)).toBe(true);
    expect(isTrustedRendererUrl('http://localhost:5174/', dev)).toBe(false);
    expect(isTrustedRendererUrl('http://127.0.0.1:5173/', dev)).toBe(false);
    expect(isTrustedRendererUrl('https://localhost:5173/', dev)).toBe(false);
  });

  it('sends only web links to the system browser', () => {
    expect(externalLink('https://huggingface.co/HuggingFaceTB')).toBe('https://huggingface.co/HuggingFaceTB');
    expect(externalLink('http://example.com')).toBe('http://example.com/');
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://server/share', 'ms-settings:', 'nope']) expect(externalLink(url), url).toBeNull();
  });

  it('grants clipboard writes and nothing else', () => {
    expect(isAllowedPermission('clipboard-sanitized-write')).toBe(true);
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fileSystem']) expect(isAllowedPermission(p), p).toBe(false);
  });
});

/** Every item of a template, depth first. */
function items(template: readonly MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return template.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? items(i.submenu) : [])]);
}

describe('menu template', () => {
  const build = (isMac: boolean, isDev: boolean) => {
    const sent: MenuCommand[] = [];
    const template = menuTemplate({ appName: 'Ouro', isMac, isDev, command: (c) => sent.push(c) });
    return { all: items(template), top: template, sent };
  };

  it('binds the app commands to their shortcuts', () => {
    const { all, sent } = build(false, false);
    const byLabel = (label: string) => all.find((i) => i.label === label)!;
    const expected: [string, string, MenuCommand][] = [
      ['New Conversation', 'CmdOrCtrl+N', 'newConversation'],
      ['Settings', 'CmdOrCtrl+,', 'openSettings'],
      ['Models…', 'CmdOrCtrl+Shift+M', 'openModels'],
      ['Toggle Cache Panel', 'CmdOrCtrl+Shift+K', 'toggleCachePanel'],
      ['Focus Message Box', 'CmdOrCtrl+L', 'focusComposer'],
      ['Search Conversations', 'CmdOrCtrl+K', 'focusSearch'],
      ['Keyboard Shortcuts', 'CmdOrCtrl+/', 'showShortcuts'],
    ];
    for (const [label, accelerator, command] of expected) {
      const item = byLabel(label);
      expect(item.accelerator, label).toBe(accelerator);
      // Shown only: the renderer handles the key, so it never runs twice.
      expect(item.registerAccelerator, label).toBe(false);
      (item.click as () => void)();
      expect(sent.at(-1)).toBe(command);
    }
    const accelerators = all.map((i) => i.accelerator).filter(Boolean);
    expect(new Set(accelerators).size).toBe(accelerators.length);
  });

  it('has the standard roles, the macOS app menu, and developer items only in development', () => {
    const mac = build(true, false);
    expect(mac.top[0].label).toBe('Ouro');
    expect(mac.top.map((i) => i.label ?? i.role)).toEqual(['Ouro', 'File', 'Edit', 'View', 'windowMenu', 'help']);
    const roles = (all: MenuItemConstructorOptions[]) => all.map((i) => i.role).filter(Boolean);
    expect(roles(mac.all)).toEqual(expect.arrayContaining(['about', 'quit', 'hide', 'copy', 'paste', 'selectAll', 'undo', 'zoomIn', 'resetZoom', 'togglefullscreen', 'pasteAndMatchStyle']));
    expect(roles(mac.all)).not.toContain('toggleDevTools');
    const other = build(false, false);
    expect(other.top.map((i) => i.label ?? i.role)).toEqual(['File', 'Edit', 'View', 'windowMenu', 'help']);
    expect(roles(other.all)).toContain('quit');
    expect(roles(build(false, true).all)).toEqual(expect.arrayContaining(['reload', 'toggleDevTools']));
  });
});

describe('window bounds', () => {
  const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }];

  it('restores saved bounds that are on a display, and drops a position that is not', () => {
    expect(boundsToRestore(null, screen)).toEqual({ ...DEFAULT_SIZE, maximized: false });
    expect(boundsToRestore({ x: 100, y: 50, width: 900, height: 700, maximized: true }, screen)).toEqual({ x: 100, y: 50, width: 900, height: 700, maximized: true });
    expect(boundsToRestore({ x: 2500, y: 50, width: 900, height: 700 }, screen)).toEqual({ width: 900, height: 700, maximized: false });
    expect(boundsToRestore({ x: 100, y: -500, width: 900, height: 700 }, screen)).toEqual({ width: 900, height: 700, maximized: false });
    expect(boundsToRestore({ x: 2500, y: 50, width: 900, height: 700 }, [...screen, { x: 1920, y: 0, width: 1280, height: 1024 }])).toMatchObject({ x: 2500 });
    expect(boundsToRestore({ width: 5000, height: 3000 }, screen)).toEqual({ width: 1920, height: 1080, maximized: false });
  });

  it('saves the normal bounds, rounded, with the maximised flag', () => {
    expect(boundsToSave({ x: 10.4, y: 20.6, width: 800.2, height: 600.9 }, false)).toEqual({ x: 10, y: 21, width: 800, height: 601, maximized: false });
    expect(boundsToSave({ x: 0, y: 0, width: 50, height: 50 }, true)).toMatchObject({ width: 200, height: 200, maximized: true });
  });
});
