// The page half of test/e2e/sourceText.test.ts: lays out messages as the transcript renders them (the app's
// Markdown, whole or cut at a horizon into parts as HorizonText cuts them; or plain text), makes selections
// by rendered-character offsets and maps them with renderer/components/sourceText. Bundled by esbuild into
// the test's Chromium page as `window.sourceTextPage`; typechecked with the renderer.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { markdownBlocks, markdownParts } from '../../renderer/components/cache/HorizonText';
import { Markdown } from '../../renderer/components/Markdown';
import { BASE_ATTR, selectedSpan, sourceIndex, sourceRanges, SRC_ATTR } from '../../renderer/components/sourceText';

export interface ShownMessage {
  readonly id: string;
  readonly source: string;
  /** Plain text (a user's message) instead of markdown. */
  readonly plain?: boolean;
  /** Where the horizon cuts it (out of view before, in view after). */
  readonly cut?: number;
}

const sources = new Map<string, string>();

function html(m: ShownMessage): string {
  const { source } = m;
  if (m.plain) {
    const p = document.createElement('p');
    p.className = 'message-plain';
    p.setAttribute(BASE_ATTR, '0');
    p.setAttribute(SRC_ATTR, `0:${source.length}`);
    p.textContent = source;
    return p.outerHTML;
  }
  if (m.cut === undefined) return renderToStaticMarkup(createElement(Markdown, { text: source }));
  const blocks = markdownBlocks(source);
  const part = (from: number, to: number) =>
    markdownParts(blocks, source, from, to)
      .map((p) => renderToStaticMarkup(createElement(Markdown, { text: p.text, base: p.base })))
      .join('');
  return `<div class="horizon-out">${part(0, m.cut)}</div><div class="horizon-marker" data-nosrc>The model can no longer see above this line</div><div class="horizon-in">${part(m.cut, source.length)}</div>`;
}

const bodyOf = (id: string): Element => document.querySelector(`[data-message-id="${id}"] .bubble`)!;
const indexOf = (id: string) => sourceIndex(bodyOf(id), sources.get(id)!);

/** The DOM point before rendered character `at` of message `id` (as the mapping indexes its text). */
function point(id: string, at: number): [Node, number] {
  for (const { node } of indexOf(id).texts) {
    if (at <= node.length) return [node, at];
    at -= node.length;
  }
  throw new Error(`no rendered character ${at} in ${id}`);
}

export const sourceTextPage = {
  show(messages: readonly ShownMessage[]): void {
    sources.clear();
    for (const m of messages) sources.set(m.id, m.source);
    document.body.innerHTML = messages.map((m) => `<article data-message-id="${m.id}"><div class="bubble">${html(m)}</div></article>`).join('<hr>');
  },

  /** The rendered text the mapping indexes in message `id`. */
  renderedText(id: string): string {
    return indexOf(id)
      .texts.map((t) => t.node.data)
      .join('');
  },

  /**
   * Selects from rendered character `from` of message `start` to rendered character `to` (of message
   * `endIn` when given) and maps the selection to message `start`'s source: the span and its text.
   */
  pinOf(start: string, from: number, to: number, endIn?: string): { start: number; end: number; text: string } | null {
    const range = document.createRange();
    range.setStart(...point(start, from));
    range.setEnd(...point(endIn ?? start, to));
    const span = selectedSpan(indexOf(start), range, bodyOf(start));
    return span && { ...span, text: sources.get(start)!.slice(span.start, span.end) };
  },

  /** For every rendered character of message `id`: the source text a one-character selection of it maps to. */
  everyCharacter(id: string): { rendered: string; source: string }[] {
    const index = indexOf(id);
    const out: { rendered: string; source: string }[] = [];
    for (const { node } of index.texts) {
      for (let i = 0; i < node.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const span = selectedSpan(index, range, bodyOf(id));
        out.push({ rendered: node.data[i], source: span ? sources.get(id)!.slice(span.start, span.end) : '' });
      }
    }
    return out;
  },

  /** The texts of the DOM ranges that render source characters [start, end) of message `id`. */
  rangesOf(id: string, start: number, end: number): string[] {
    return sourceRanges(indexOf(id), { start, end }).map((r) => r.toString());
  },
};

(window as unknown as { sourceTextPage: typeof sourceTextPage }).sourceTextPage = sourceTextPage;
