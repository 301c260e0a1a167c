// Finds a Chromium-family browser for the browser suites on Linux, Windows and macOS, and obtains one
// where none is installed (Playwright's headless shell download, else Debian/Ubuntu's package as root), so
// `npm install && npm test` passes on a fresh machine. Runs in Vitest's main process (globalSetup) and bench.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';

/** Where a search looks: the environment, the OS and the file system (tests pass their own). */
export interface ChromiumHost {
  readonly platform: NodeJS.Platform;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string;
  readonly isFile: (path: string) => boolean;
  /** Entries of a folder, [] when it is missing. */
  readonly list: (dir: string) => readonly string[];
}

/** A browser found, and how (for the one line the test run prints). */
export interface FoundChromium {
  readonly path: string;
  readonly how: string;
}

/** The machine this process runs on. */
export function thisHost(): ChromiumHost {
  return {
    platform: process.platform,
    env: process.env,
    home: homedir(),
    isFile: (path) => existsSync(path),
    list: (dir) => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    },
  };
}

// Commands on PATH, in order of preference: a plain Chromium first, then Chrome, then Edge.
const PATH_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'microsoft-edge', 'microsoft-edge-stable', 'msedge'];

const MAC_APPS = [
  'Chromium.app/Contents/MacOS/Chromium',
  'Google Chrome.app/Contents/MacOS/Google Chrome',
  'Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
];
const WINDOWS_INSTALLS = ['Chromium\\Application\\chrome.exe', 'Google\\Chrome\\Application\\chrome.exe', 'Microsoft\\Edge\\Application\\msedge.exe'];
const LINUX_FIXED = ['/snap/bin/chromium', '/opt/google/chrome/chrome', '/opt/microsoft/msedge/msedge'];

// Executables inside a Playwright cache folder (chromium-<rev>, chromium_headless_shell-<rev>), per OS.
const PLAYWRIGHT_LAYOUTS: Readonly<Record<string, readonly string[]>> = {
  linux: ['chrome-linux64/chrome', 'chrome-linux/chrome', 'chrome-headless-shell-linux64/chrome-headless-shell', 'chrome-linux/headless_shell'],
  darwin: [
    'chrome-mac-arm64/Chromium.app/Contents/MacOS/Chromium',
    'chrome-mac/Chromium.app/Contents/MacOS/Chromium',
    'chrome-headless-shell-mac-arm64/chrome-headless-shell',
    'chrome-headless-shell-mac-x64/chrome-headless-shell',
  ],
  win32: ['chrome-win64\\chrome.exe', 'chrome-win\\chrome.exe', 'chrome-headless-shell-win64\\chrome-headless-shell.exe'],
};

/** Playwright's browser cache for `host` (PLAYWRIGHT_BROWSERS_PATH, else the per-OS default), or null. */
export function playwrightCacheDir(host: Readonly<ChromiumHost>): string | null {
  const set = host.env.PLAYWRIGHT_BROWSERS_PATH;
  if (set && set !== '0') return set;
  if (host.platform === 'win32') return host.env.LOCALAPPDATA ? win32.join(host.env.LOCALAPPDATA, 'ms-playwright') : null;
  if (host.platform === 'darwin') return posix.join(host.home, 'Library', 'Caches', 'ms-playwright');
  return posix.join(host.env.XDG_CACHE_HOME || posix.join(host.home, '.cache'), 'ms-playwright');
}

/**
 * Every place a browser is looked for, in order, with how it was found: OURO_CHROMIUM alone when set
 * (pointing elsewhere by mistake must not silently test another browser), else PATH, the OS's usual
 * install folders, and Playwright's cache (newest revision first).
 */
export function chromiumCandidates(host: Readonly<ChromiumHost>): FoundChromium[] {
  const override = host.env.OURO_CHROMIUM;
  if (override) return [{ path: override, how: 'OURO_CHROMIUM' }];
  const path = host.platform === 'win32' ? win32 : posix;
  const out: FoundChromium[] = [];
  const pathDirs = (host.env.PATH ?? host.env.Path ?? '').split(host.platform === 'win32' ? ';' : ':').filter(Boolean);
  const extensions = host.platform === 'win32' ? ['.exe'] : [''];
  for (const name of PATH_NAMES) {
    for (const dir of pathDirs) for (const ext of extensions) out.push({ path: path.join(dir, name + ext), how: `\`${name}\` on PATH` });
  }
  if (host.platform === 'darwin') {
    for (const root of ['/Applications', path.join(host.home, 'Applications')]) {
      for (const app of MAC_APPS) out.push({ path: path.join(root, app), how: 'installed app' });
    }
  } else if (host.platform === 'win32') {
    for (const key of ['LOCALAPPDATA', 'PROGRAMFILES', 'PROGRAMFILES(X86)']) {
      const root = host.env[key];
      if (root) for (const exe of WINDOWS_INSTALLS) out.push({ path: path.join(root, exe), how: `installed in %${key}%` });
    }
  } else {
    for (const fixed of LINUX_FIXED) out.push({ path: fixed, how: 'installed' });
  }
  const cache = playwrightCacheDir(host);
  const layouts = PLAYWRIGHT_LAYOUTS[host.platform] ?? PLAYWRIGHT_LAYOUTS.linux;
  if (cache) {
    const revisions = host.list(cache).filter((d) => /^chromium(_headless_shell)?-\d+$/.test(d));
    revisions.sort((a, b) => revisionOf(b) - revisionOf(a) || a.localeCompare(b));
    for (const dir of revisions) for (const exe of layouts) out.push({ path: path.join(cache, dir, exe), how: "Playwright's browser cache" });
  }
  return out;
}

function revisionOf(folder: string): number {
  return Number(folder.slice(folder.lastIndexOf('-') + 1));
}

/** The first candidate that exists, or null. */
export function findChromium(host: Readonly<ChromiumHost> = thisHost()): FoundChromium | null {
  return chromiumCandidates(host).find((c) => host.isFile(c.path)) ?? null;
}

/** The outcome of `ensureChromium`: a browser, or why there is none (each step tried, in words). */
export type ChromiumResult = { readonly ok: true; readonly found: FoundChromium } | { readonly ok: false; readonly reason: string };

/**
 * Finds a browser or obtains one: Playwright's own headless-shell download (needs its CDN), then, on
 * Linux as root with apt, the distribution's `chromium` package. `say` gets one line per step taken.
 */
export function ensureChromium(say: (line: string) => void, host: Readonly<ChromiumHost> = thisHost()): ChromiumResult {
  const found = findChromium(host);
  if (found) return { ok: true, found };
  if (host.env.OURO_CHROMIUM) return { ok: false, reason: `OURO_CHROMIUM is set to ${host.env.OURO_CHROMIUM}, which does not exist` };
  const tried: string[] = [];
  say('No Chromium, Chrome or Edge found; downloading Playwright\'s headless Chromium (`playwright-core install chromium-headless-shell`)…');
  const cli = createRequire(import.meta.url).resolve('playwright-core/cli.js');
  const download = spawnSync(process.execPath, [cli, 'install', '--no-progress', 'chromium-headless-shell'], { stdio: 'inherit', timeout: 600_000 });
  const afterDownload = findChromium(host);
  if (download.status === 0 && afterDownload) {
    say(`Installed Playwright's headless Chromium at ${afterDownload.path}.`);
    return { ok: true, found: afterDownload };
  }
  tried.push('the Playwright download failed (no network?)');
  if (host.platform === 'linux' && process.getuid?.() === 0 && host.isFile('/usr/bin/apt-get')) {
    say('Installing Debian/Ubuntu\'s chromium package with apt-get (running as root)…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env, timeout: 600_000 });
    const install = update.status === 0 && spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env, timeout: 900_000 });
    const afterApt = findChromium(host);
    if (install && install.status === 0 && afterApt) {
      say(`Installed chromium with apt-get at ${afterApt.path}.`);
      return { ok: true, found: afterApt };
    }
    tried.push('apt-get install chromium failed');
  } else {
    tried.push('apt-get was not tried (it needs Linux, root and apt)');
  }
  return {
    ok: false,
    reason: `no Chromium, Chrome or Edge was found and none could be installed (${tried.join('; ')}): install one, or set OURO_CHROMIUM to its executable`,
  };
}
