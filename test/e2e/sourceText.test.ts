// The selection ↔ source mapping of pinned spans (renderer/components/sourceText) on real renders: the
// app's Markdown (and the parts a horizon cuts a message into) rendered to HTML, laid out in headless
// Chromium, selections made there mapped to the message's source characters and back. Vitest + Chromium.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useE2E } from './e2eHarness';

const e2e = useE2E();
let page: Page;

beforeAll(async () => {
  const out = await build({
    entryPoints: [fileURLToPath(new URL('../renderer/sourceTextPage.tsx', import.meta.url))],
    bundle: true,
    format: 'iife',
    write: false,
    platform: 'browser',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  page = await e2e.browser.newPage();
  await page.setContent('<!doctype html><body></body>');
  await page.addScriptTag({ content: out.outputFiles[0].text });
});

/** test/renderer/sourceTextPage.tsx's API (that file typechecks with the renderer: DOM and JSX). */
interface ShownMessage {
  readonly id: string;
  readonly source: string;
  readonly plain?: boolean;
  readonly cut?: number;
}
interface PageApi {
  show(messages: readonly ShownMessage[]): void;
  renderedText(id: string): string;
  pinOf(start: string, from: number, to: number, endIn?: string): { start: number; end: number; text: string } | null;
  everyCharacter(id: string): { rendered: string; source: string }[];
  rangesOf(id: string, start: number, end: number): string[];
}

/** Calls the page half's `name` with `args` in the page. */
async function call<K extends keyof PageApi>(name: K, ...args: Parameters<PageApi[K]>): Promise<ReturnType<PageApi[K]>> {
  return page.evaluate(
    ([name, args]) => {
      const api = (globalThis as unknown as { sourceTextPage: Record<string, (...a: unknown[]) => unknown> }).sourceTextPage;
      return api[name](...args);
    },
    [name, args] as const,
  ) as Promise<ReturnType<PageApi[K]>>;
}

const show = (messages: readonly ShownMessage[]) => call('show', messages);

const pinOf = (start: string, from: number, to: number, endIn?: string) => call('pinOf', start, from, to, endIn);
const renderedText = (id: string) => call('renderedText', id);
const everyCharacter = (id: string) => call('everyCharacter', id);
const rangesOf = (id: string, start: number, end: number) => call('rangesOf', id, start, end);

const PROSE = 'Hello **big** world, see [the docs](https://example.org/docs) now &amp; then: a \\* star.';
const CODE = 'Run this:\n\n```js\nconst x = 1;\nlet y = x + 2;\n```\n\nThen stop.\n';
const LIST = 'Steps:\n\n- first item\n- second *item*\n\n1. one\n2. two `code` here\n';

describe('selection to source characters', () => {
  it('maps every rendered character of markdown to the same character of its source', async () => {
    await show([
      { id: 'prose', source: PROSE },
      { id: 'code', source: CODE },
      { id: 'list', source: LIST },
    ]);
    expect(await renderedText('prose')).toBe('Hello big world, see the docs now & then: a * star.');
    for (const id of ['prose', 'code', 'list']) {
      const chars = await everyCharacter(id);
      expect(chars.length).toBeGreaterThan(10);
      // A rendered character maps to itself in the source ('&' to the start of its entity).
      for (const c of chars) expect(c.source[0], `${id}: ${JSON.stringify(c)}`).toBe(c.rendered);
    }
  });

  it('maps a selection inside emphasis, links, entities and escapes to the source text that spells it', async () => {
    await show([{ id: 'prose', source: PROSE }]);
    const rendered = await renderedText('prose');
    const select = (text: string) => pinOf('prose', rendered.indexOf(text), rendered.indexOf(text) + text.length);
    expect((await select('big world'))?.text).toBe('big** world');
    expect((await select('see the docs now'))?.text).toBe('see [the docs](https://example.org/docs) now');
    expect((await select('now & then'))?.text).toBe('now &amp; then');
    expect((await select('a * star'))?.text).toBe('a \\* star');
  });

  it('maps selections in code blocks and lists to their exact source lines', async () => {
    await show([
      { id: 'code', source: CODE },
      { id: 'list', source: LIST },
    ]);
    const code = await renderedText('code');
    const inCode = 'x = 1;\nlet y';
    const span = await pinOf('code', code.indexOf(inCode), code.indexOf(inCode) + inCode.length);
    expect(span).toEqual({ start: CODE.indexOf(inCode), end: CODE.indexOf(inCode) + inCode.length, text: inCode });
    const list = await renderedText('list');
    // From the first item's last word into the second item (the newline between them is not rendered text).
    expect((await pinOf('list', list.indexOf('item'), list.indexOf('second item') + 'second item'.length))?.text).toBe('item\n- second *item');
    const numbered = 'two code here';
    expect((await pinOf('list', list.indexOf(numbered), list.indexOf(numbered) + numbered.length))?.text).toBe('two `code` here');
  });

  it('maps a user message rendered as plain text character for character', async () => {
    const text = 'My code is 7412 & my *name* is <Ada>.';
    await show([{ id: 'user', source: text, plain: true }]);
    expect(await pinOf('user', 11, 15)).toEqual({ start: 11, end: 15, text: '7412' });
    expect((await pinOf('user', 21, 27))?.text).toBe('*name*');
  });

  it('clips a selection that crosses into the next message to the message it started in', async () => {
    await show([
      { id: 'a', source: PROSE },
      { id: 'b', source: LIST },
    ]);
    const rendered = await renderedText('a');
    const span = await pinOf('a', rendered.indexOf('now'), 3, 'b');
    expect(span?.text).toBe('now &amp; then: a \\* star.');
    expect(span?.end).toBe(PROSE.length);
  });

  it('maps selections across the parts a horizon cuts a message into, inside a code block too', async () => {
    const cut = CODE.indexOf('let');
    await show([{ id: 'code', source: CODE, cut }]);
    const rendered = await renderedText('code');
    const across = '1;\nlet y';
    const span = await pinOf('code', rendered.indexOf(across), rendered.indexOf(across) + across.length);
    expect(span).toEqual({ start: CODE.indexOf(across), end: CODE.indexOf(across) + across.length, text: across });
    for (const c of await everyCharacter('code')) expect(c.source[0]).toBe(c.rendered);
  });

  it('finds the DOM ranges of a pinned source span, whichever elements it crosses', async () => {
    await show([
      { id: 'prose', source: PROSE },
      { id: 'code', source: CODE, cut: CODE.indexOf('let') },
    ]);
    const at = PROSE.indexOf('big');
    expect((await rangesOf('prose', at, at + 'big** world'.length)).join('')).toBe('big world');
    const from = CODE.indexOf('this');
    // The blank line between the paragraph and the code is no rendered character: nothing to draw there.
    expect((await rangesOf('code', from, CODE.indexOf(' + 2'))).join('')).toBe('this:const x = 1;\nlet y = x');
  });
});
