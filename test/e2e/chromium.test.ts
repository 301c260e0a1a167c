// The browser search: OURO_CHROMIUM, PATH, per-OS install folders and Playwright's cache, on a fake host.
import { describe, expect, it } from 'vitest';
import { chromiumCandidates, findChromium, playwrightCacheDir, type ChromiumHost } from './chromium';

function host(platform: NodeJS.Platform, env: Record<string, string>, files: readonly string[], home = '/home/u'): ChromiumHost {
  const set = new Set(files);
  return {
    platform,
    env,
    home,
    isFile: (p) => set.has(p),
    // Folder entries derived from the file list: enough for the cache scan.
    list: (dir) => [...new Set(files.filter((f) => f.startsWith(`${dir}/`) || f.startsWith(`${dir}\\`)).map((f) => f.slice(dir.length + 1).split(/[\\/]/)[0]))],
  };
}

describe('findChromium', () => {
  it('uses OURO_CHROMIUM alone when it is set, even over a browser on PATH', () => {
    const h = host('linux', { OURO_CHROMIUM: '/opt/mine/chrome', PATH: '/usr/bin' }, ['/usr/bin/chromium']);
    expect(findChromium(h)).toBeNull();
    expect(chromiumCandidates(h)).toEqual([{ path: '/opt/mine/chrome', how: 'OURO_CHROMIUM' }]);
  });

  it('prefers chromium over chrome and Edge on a Linux PATH', () => {
    const h = host('linux', { PATH: '/usr/local/bin:/usr/bin' }, ['/usr/bin/google-chrome-stable', '/usr/local/bin/chromium-browser', '/usr/bin/microsoft-edge']);
    expect(findChromium(h)).toEqual({ path: '/usr/local/bin/chromium-browser', how: '`chromium-browser` on PATH' });
  });

  it('finds Chrome and Edge in the Windows install folders', () => {
    const edge = 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe';
    const h = host('win32', { 'PROGRAMFILES(X86)': 'C:\\Program Files (x86)', Path: 'C:\\Windows' }, [edge]);
    expect(findChromium(h)).toEqual({ path: edge, how: 'installed in %PROGRAMFILES(X86)%' });
  });

  it('finds a macOS app bundle in ~/Applications', () => {
    const chrome = '/Users/u/Applications/Google Chrome.app/Contents/MacOS/Google Chrome';
    expect(findChromium(host('darwin', { PATH: '/usr/bin' }, [chrome], '/Users/u'))?.path).toBe(chrome);
  });

  it("takes the newest revision in Playwright's cache, full browser or headless shell", () => {
    const cache = '/home/u/.cache/ms-playwright';
    const files = [`${cache}/chromium-1100/chrome-linux/chrome`, `${cache}/chromium_headless_shell-1255/chrome-headless-shell-linux64/chrome-headless-shell`];
    expect(findChromium(host('linux', { PATH: '/usr/bin' }, files))).toEqual({ path: files[1], how: "Playwright's browser cache" });
  });

  it("locates Playwright's cache per OS and honours PLAYWRIGHT_BROWSERS_PATH", () => {
    expect(playwrightCacheDir(host('linux', { XDG_CACHE_HOME: '/c' }, []))).toBe('/c/ms-playwright');
    expect(playwrightCacheDir(host('darwin', {}, [], '/Users/u'))).toBe('/Users/u/Library/Caches/ms-playwright');
    expect(playwrightCacheDir(host('win32', { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, []))).toBe('C:\\Users\\u\\AppData\\Local\\ms-playwright');
    expect(playwrightCacheDir(host('linux', { PLAYWRIGHT_BROWSERS_PATH: '/pw' }, []))).toBe('/pw');
  });
});
