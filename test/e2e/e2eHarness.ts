// Browser end-to-end harness: one headless Debian Chromium per test file and, per test, the real app
// (services, a worker-thread engine host, the bridge server over the built renderer) in a temp data
// folder. Any console error, page error, failed load or CSP violation fails the test. Runs under Vitest.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { ApiError, InstalledModel, Verb, VerbArgs, VerbResult } from '../../common/contract';
import type { SettingsPatch } from '../../common/settingsSchema';
import { startTestApp, type TestApp, type TestAppOptions } from '../../main/web/serveApp';
import { ensureFixture } from '../fixtures/llamaFixture';
import { EventLog } from '../services/servicesKit';
import type { PageWindow } from './pageTypes';

/** The built renderer (`npm run build:renderer`; `npm test` builds it first). */
export const RENDERER_DIR = fileURLToPath(new URL('../../out/renderer/', import.meta.url));

/** Debian's Chromium (`.ci/run` installs it); `OURO_CHROMIUM` points elsewhere. */
export const CHROMIUM_PATH = process.env.OURO_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Where a docs screenshot goes: `docs/<name>` when asked for (`npm run docs:screenshots` sets
 * OURO_UPDATE_DOCS=1) and the trained model it is taken with is there, else a file in `scratchDir`, so
 * the capture still runs in every test run without rewriting a tracked file.
 */
export function screenshotPath(name: string, scratchDir: string, trainedModel: boolean): string {
  if (process.env.OURO_UPDATE_DOCS === '1' && trainedModel) return fileURLToPath(new URL(`../../docs/${name}`, import.meta.url));
  return join(scratchDir, name);
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Every page gets the same window, locale and theme, so screenshots and relative dates are stable. */
const CONTEXT_OPTIONS: BrowserContextOptions = {
  viewport: { width: 1280, height: 800 },
  colorScheme: 'light',
  reducedMotion: 'reduce',
  locale: 'en-US',
  timezoneId: 'UTC',
  permissions: ['clipboard-read', 'clipboard-write'],
};

/** Playwright's own waits give up well before Vitest's 60 s test timeout, so failures name the step. */
const ACTION_TIMEOUT_MS = 15_000;

export interface StartOptions {
  /**
   * A model to import and load through the services before any page opens: `'tiny'` (the fixture) or
   * a folder. Default none: the app starts on its first-run screen.
   */
  readonly model?: 'tiny' | { readonly dir: string };
  /** App settings to apply before any page opens (e.g. `{ sampling: { maxTokens: 8 } }`). */
  readonly settings?: SettingsPatch;
  /** Seeds for replies whose settings leave `seed` null; default 1, 2, 3… per session (repeatable runs). */
  readonly seed?: () => number;
  /** More options for `startTestApp` (a mock Hub's `hubBaseUrl`, a `catalog`, `services` tweaks…). */
  readonly app?: Partial<Omit<TestAppOptions, 'dataDir' | 'staticDir'>>;
}

/** One running app and the pages opened on it. Closed by the harness after the test that started it. */
export interface E2ESession {
  readonly app: TestApp;
  /** The session's temp folder (scratch space; removed on close). */
  readonly dir: string;
  /** The app-data folder inside `dir`. */
  readonly dataDir: string;
  /** Every event the services pushed to the page(s), with waits. */
  readonly events: EventLog;
  /** The model loaded by `start({ model })`, if any. */
  readonly model: InstalledModel | null;
  /** Runs a verb on the services directly (not through a page); throws with the ApiError on failure. */
  call<V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>>;
  /** A new page (own browser context) on the app, watched for problems and loaded. */
  openPage(options?: Readonly<OpenPageOptions>): Promise<Page>;
  /** Resolves when main has stored the last reply and its cache snapshot (no turn in flight). */
  idle(): Promise<void>;
  /** Returns and clears the problems seen so far (for a test that provokes one on purpose). */
  takeProblems(): string[];
}

export interface OpenPageOptions {
  /** Runs before the app loads: routes, init scripts (e.g. `gateBridge` from ./bridgeGate). */
  readonly beforeLoad?: (page: Page) => Promise<void>;
}

export interface E2E {
  /** The file's Chromium (launched in `beforeAll`). */
  readonly browser: Browser;
  /** Starts an app; inside a test it closes after that test, in `beforeAll` after the file. */
  start(options?: Readonly<StartOptions>): Promise<E2ESession>;
}

interface LiveSession extends E2ESession {
  readonly perTest: boolean;
  close(): Promise<void>;
}

/**
 * Registers the file's hooks: Chromium up in `beforeAll`; after each test, that test's sessions close
 * and any problem a page reported (console error, uncaught error, HTTP error, CSP violation) fails it.
 */
export function useE2E(): E2E {
  let browser: Browser | null = null;
  let inTest = false;
  const sessions = new Set<LiveSession>();

  beforeAll(async () => {
    if (!existsSync(join(RENDERER_DIR, 'index.html'))) {
      throw new Error(`the built renderer is missing at ${RENDERER_DIR}: run \`npm run build:renderer\` first`);
    }
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(`Chromium is missing at ${CHROMIUM_PATH}: \`apt-get install chromium\` (or set OURO_CHROMIUM)`);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  });
  beforeEach(() => {
    inTest = true;
  });
  afterEach(async () => {
    inTest = false;
    const problems: string[] = [];
    for (const session of [...sessions]) {
      if (session.perTest) {
        sessions.delete(session);
        await session.close().catch((err: unknown) => problems.push(`closing the app failed: ${String(err)}`));
      }
      problems.push(...session.takeProblems());
    }
    if (problems.length > 0) throw new Error(`the page reported problems:\n${problems.join('\n')}`);
  });
  afterAll(async () => {
    for (const session of sessions) await session.close();
    sessions.clear();
    await browser?.close();
  });

  return {
    get browser() {
      if (!browser) throw new Error('Chromium is not running: call start() inside a test or a beforeAll of this file');
      return browser;
    },
    async start(options = {}) {
      const session = await startSession(this.browser, options, inTest);
      sessions.add(session);
      return session;
    },
  };
}

async function startSession(browser: Browser, options: Readonly<StartOptions>, perTest: boolean): Promise<LiveSession> {
  const dir = await mkdtemp(join(tmpdir(), 'ouro-e2e-'));
  const dataDir = join(dir, 'data');
  let nextSeed = 1;
  const app = await startTestApp({
    ...options.app,
    dataDir,
    staticDir: RENDERER_DIR,
    services: { seed: options.seed ?? (() => nextSeed++), ...options.app?.services },
  });
  const events = new EventLog();
  const unsubscribe = app.subscribe(events.push);
  const problems: string[] = [];
  const pages: Page[] = [];

  const call = async <V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>> => {
    const reply = await app.services.invoke(verb, args);
    if (!reply.ok) throw Object.assign(new Error(`${verb} failed: ${reply.error.code}: ${reply.error.message}`), { apiError: reply.error satisfies ApiError });
    return reply.result as VerbResult<V>;
  };

  const close = async () => {
    for (const page of pages) await page.context().close().catch(() => undefined);
    unsubscribe();
    await app.close();
    await rm(dir, { recursive: true, force: true });
  };

  let model: InstalledModel | null = null;
  try {
    if (options.settings) await call('settings.update', { patch: options.settings });
    if (options.model) {
      const modelDir = options.model === 'tiny' ? (await ensureFixture('tiny')).dir : options.model.dir;
      model = await call('models.import', { dir: modelDir });
      await call('models.load', { id: model.id });
    }
  } catch (err) {
    await close();
    throw err;
  }

  return {
    app,
    dir,
    dataDir,
    events,
    model,
    call,
    perTest,
    close,
    idle: () => app.services.idle(),
    takeProblems: () => problems.splice(0),
    async openPage(pageOptions = {}) {
      const context = await browser.newContext(CONTEXT_OPTIONS);
      const page = await context.newPage();
      pages.push(page);
      page.setDefaultTimeout(ACTION_TIMEOUT_MS);
      await watchProblems(page, problems);
      await pageOptions.beforeLoad?.(page);
      await page.goto(app.url);
      return page;
    },
  };
}

/** Collects what must never happen in a page: console errors, uncaught errors, HTTP errors, CSP violations. */
async function watchProblems(page: Page, problems: string[]): Promise<void> {
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  page.on('requestfailed', (request) => {
    // A navigation or page close aborts what is in flight; anything else failing to load is a defect.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`failed to load ${request.url()}: ${request.failure()?.errorText}`);
  });
  // Chromium also logs most violations to the console; the event catches every one, with its directive.
  await page.exposeFunction('__ouroCspViolation', (text: string) => problems.push(`CSP violation: ${text}`));
  await page.addInitScript(() => {
    const win = globalThis as unknown as PageWindow & { __ouroCspViolation(text: string): Promise<void> };
    win.document.addEventListener('securitypolicyviolation', (e) => {
      void win.__ouroCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });
}
