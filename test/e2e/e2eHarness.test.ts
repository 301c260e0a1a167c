// The e2e harness itself: it serves the built renderer under its strict CSP, and it notices what a page
// must never do (a CSP violation, a console error, an uncaught error), so the chat suites can trust a
// clean run. Runs under Vitest with Debian Chromium.
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../common/contentSecurityPolicy';
import { useE2E } from './e2eHarness';
import type { PageWindow } from './pageTypes';

const e2e = useE2E();

describe('e2e harness', () => {
  it('serves the app under the strict CSP, and a clean page reports nothing (no eval probe either)', async () => {
    const session = await e2e.start();
    const page = await session.openPage();
    const response = await page.request.get(session.app.url);
    expect(response.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    await page.getByTestId('first-run').waitFor();
    expect(session.takeProblems()).toEqual([]);
  });

  it('the page takes the bridge key out of its address; a page without it is told how to connect', async () => {
    const session = await e2e.start();
    const page = await session.openPage();
    await page.getByTestId('first-run').waitFor();
    expect(page.url()).toBe(session.app.url.replace(/#.*$/, ''));
    await page.reload();
    await page.getByTestId('first-run').waitFor();
    const stranger = await e2e.browser.newPage();
    try {
      await stranger.goto(page.url());
      await stranger.getByText(/not connected to Ouro: it lacks the key of this launch/).waitFor();
    } finally {
      await stranger.close();
    }
  });

  it('catches CSP violations, console errors and uncaught errors', async () => {
    const session = await e2e.start();
    const page = await session.openPage();
    await page.getByTestId('first-run').waitFor();
    // An injected inline script is what the CSP exists to stop: it must be blocked and reported.
    // (Code run through page.evaluate itself is exempt from the page's CSP, so eval cannot be provoked
    // from here; the clean-page test above catches a library's eval probe, e.g. zod's.)
    await page.evaluate(() => {
      const { document } = globalThis as unknown as PageWindow;
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.body.append(script);
      console.error('something broke');
      setTimeout(() => {
        throw new Error('uncaught in the page');
      });
    });
    // Events and console messages arrive asynchronously: gather until each kind has been reported.
    const seen: string[] = [];
    const expected = [
      /^CSP violation: script-src-elem blocked inline$/,
      /^console error: something broke$/,
      /^uncaught: uncaught in the page$/,
    ];
    await expect
      .poll(() => {
        seen.push(...session.takeProblems());
        return expected.filter((pattern) => !seen.some((p) => pattern.test(p))).map(String);
      })
      .toEqual([]);
    expect(await page.evaluate(() => 'inlineRan' in globalThis)).toBe(false);
  });
});
