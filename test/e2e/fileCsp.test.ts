// The packaged app loads the built index.html from file://, where no response header exists: its meta tag
// is the whole policy there. It must say what the header policy says (less frame-ancestors, which a meta
// tag cannot carry) and Chromium must enforce it on the file. Vitest + Debian Chromium.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, metaContentSecurityPolicy } from '../../common/contentSecurityPolicy';
import { RENDERER_DIR, useE2E } from './e2eHarness';

const e2e = useE2E();

/** `directive → sources` of a policy string. */
function directives(policy: string): Map<string, string> {
  return new Map(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter(([name]) => name !== '')
      .map(([name, ...sources]) => [name, sources.join(' ')]),
  );
}

/** The DOM the page-side probe uses (the e2e suites typecheck without the DOM lib). */
interface ProbeDocument {
  readonly head: { append(node: unknown): void };
  readonly body: { append(node: unknown): void };
  createElement(tag: string): { textContent: string | null; setAttribute(name: string, value: string): void; id: string };
  getElementById(id: string): unknown;
  addEventListener(type: 'securitypolicyviolation', listener: (e: { readonly effectiveDirective: string }) => void): void;
}

describe('the built index.html under file://', () => {
  it('carries the header policy in its meta tag', () => {
    const html = readFileSync(join(RENDERER_DIR, 'index.html'), 'utf8');
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1];
    expect(meta).toBe(metaContentSecurityPolicy(CONTENT_SECURITY_POLICY));
    const header = directives(CONTENT_SECURITY_POLICY);
    header.delete('frame-ancestors');
    expect(directives(meta!)).toEqual(header);
    expect(meta).not.toMatch(/unsafe-|\*|https?:/);
  });

  it('blocks inline styles and scripts, <base> and plugins in Chromium', async () => {
    const page = await e2e.browser.newPage();
    try {
      await page.goto(pathToFileURL(join(RENDERER_DIR, 'index.html')).href);
      const blocked = await page.evaluate(async () => {
        const { document, getComputedStyle } = globalThis as unknown as {
          document: ProbeDocument;
          getComputedStyle(element: unknown): { color: string };
        };
        const seen: string[] = [];
        document.addEventListener('securitypolicyviolation', (e) => seen.push(e.effectiveDirective));
        const style = document.createElement('style');
        style.textContent = '#probe { color: rgb(255, 0, 0) }';
        document.head.append(style);
        const probe = document.createElement('div');
        probe.id = 'probe';
        document.body.append(probe);
        const script = document.createElement('script');
        script.textContent = 'globalThis.inlineRan = true';
        document.body.append(script);
        const base = document.createElement('base');
        base.setAttribute('href', 'https://evil.example/');
        document.head.append(base);
        const object = document.createElement('object');
        object.setAttribute('data', 'data:text/html,hi');
        document.body.append(object);
        await new Promise((resolve) => setTimeout(resolve, 200));
        return {
          seen: [...new Set(seen)].sort(),
          styled: getComputedStyle(document.getElementById('probe')).color === 'rgb(255, 0, 0)',
          scripted: 'inlineRan' in globalThis,
        };
      });
      expect(blocked).toEqual({ seen: ['base-uri', 'object-src', 'script-src-elem', 'style-src-elem'], styled: false, scripted: false });
    } finally {
      await page.close();
    }
  });
});
