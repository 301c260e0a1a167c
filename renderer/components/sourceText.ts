// Maps between a message as the transcript renders it (markdown, or plain text) and the characters of its
// source text, both ways: a selection to the source span it pins, a pinned source span to the DOM ranges
// that show it. Each render marks its root with where its text starts in the message (`data-src-base`)
// and its elements with the source offsets remark gave them (`data-src`, by rehypeSourceOffsets); inside
// the smallest marked element, the rendered text is aligned to that element's source, whose extra
// characters are markdown syntax, escapes and entities. Chrome inside a render (a code block's bar, a
// badge) is marked `data-nosrc`. Renderer.
import type { Element as HastElement, Root as HastRoot } from 'hast';

export const SRC_ATTR = 'data-src';
export const BASE_ATTR = 'data-src-base';
export const NOSRC_ATTR = 'data-nosrc';

/** Characters [start, end) of a message's source text. */
export interface SourceSpan {
  readonly start: number;
  readonly end: number;
}

/**
 * For each character of `rendered` (a rendering of `source` that drops syntax characters), its index in
 * `source`: where `rendered` is a substring (code, plain text), its offset; otherwise each character goes to
 * the next equal one in `source`, and one found nowhere further (an entity's expansion) to where the
 * search stands, without moving it.
 */
export function alignRendered(rendered: string, source: string): Int32Array {
  const out = new Int32Array(rendered.length);
  const at = rendered.length > 0 ? source.indexOf(rendered) : -1;
  if (at >= 0) {
    for (let i = 0; i < out.length; i++) out[i] = at + i;
    return out;
  }
  let j = 0;
  for (let i = 0; i < rendered.length; i++) {
    const k = source.indexOf(rendered[i], j);
    if (k < 0) out[i] = Math.min(j, Math.max(0, source.length - 1));
    else {
      out[i] = k;
      j = k + 1;
    }
  }
  return out;
}

/** Rehype plugin: every element with a source position gets `data-src="start:end"` (offsets into the markdown rendered). */
export function rehypeSourceOffsets() {
  const mark = (parent: HastRoot | HastElement): void => {
    for (const child of parent.children) {
      if (child.type !== 'element') continue;
      const start = child.position?.start.offset;
      const end = child.position?.end.offset;
      if (start !== undefined && end !== undefined) child.properties[toProperty(SRC_ATTR)] = `${start}:${end}`;
      mark(child);
    }
  };
  return (tree: HastRoot) => mark(tree);
}

/** hast names data attributes in camel case ("data-src" → "dataSrc"). */
function toProperty(attribute: string): string {
  return attribute.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A rendered text node and the source offset (in the message) of each of its characters. */
interface IndexedText {
  readonly node: Text;
  readonly src: Int32Array;
}

/** The rendered text of one message against its source: its text nodes in document order. */
export interface SourceIndex {
  readonly texts: readonly IndexedText[];
  /** The source text's length. */
  readonly length: number;
}

/**
 * Whether text node `t` renders source text: inside a render root, not inside chrome, and not the
 * newlines React puts between block elements (they stand for no source character in particular).
 */
function rendersSource(t: Text): boolean {
  if (/^\n+$/.test(t.data) && t.parentElement?.closest('pre') == null) return false;
  return t.parentElement?.closest(`[${NOSRC_ATTR}], [${BASE_ATTR}]`)?.hasAttribute(BASE_ATTR) ?? false;
}

function sourceTextNodes(root: Element): Text[] {
  const out: Text[] = [];
  const walker = root.ownerDocument.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) if (rendersSource(n as Text)) out.push(n as Text);
  return out;
}

/** Aligns the text of `container` (an element with `data-src`) to its source; the offsets by text node. */
function alignContainer(container: Element, source: string): Map<Text, Int32Array> {
  const base = Number(container.closest(`[${BASE_ATTR}]`)?.getAttribute(BASE_ATTR) ?? 0);
  const [s, e] = (container.getAttribute(SRC_ATTR) ?? '').split(':').map(Number);
  const from = Math.min(Math.max(0, base + s), source.length);
  const to = Math.min(Math.max(from, base + e), source.length);
  const nodes = sourceTextNodes(container);
  const map = alignRendered(nodes.map((n) => n.data).join(''), source.slice(from, to));
  const byNode = new Map<Text, Int32Array>();
  let at = 0;
  for (const n of nodes) {
    byNode.set(
      n,
      map.subarray(at, at + n.data.length).map((k) => from + k),
    );
    at += n.data.length;
  }
  return byNode;
}

/** Indexes the rendered text under `body` (a message's rendered text) against `source`, the message's text. */
export function sourceIndex(body: Element, source: string): SourceIndex {
  const aligned = new Map<Element, Map<Text, Int32Array>>();
  const texts: IndexedText[] = [];
  for (const node of sourceTextNodes(body)) {
    const container = node.parentElement!.closest(`[${SRC_ATTR}]`);
    if (container === null || !body.contains(container)) continue;
    let byNode = aligned.get(container);
    if (byNode === undefined) aligned.set(container, (byNode = alignContainer(container, source)));
    const src = byNode.get(node);
    if (src !== undefined && src.length > 0) texts.push({ node, src });
  }
  return { texts, length: source.length };
}

/**
 * The source offset of DOM point (`node`, `offset`) as the `edge` of a span: a start takes the indexed
 * character after the point, an end the one before it (plus one), so the syntax around an element's text
 * stays out of a span that starts or ends at its edge. A point outside the indexed text (an element's
 * child boundary, chrome) moves the same way. Null when the span has no indexed character on that side.
 */
export function sourceOffset(index: SourceIndex, node: Node, offset: number, edge: 'start' | 'end'): number | null {
  const { texts } = index;
  const i = texts.findIndex((t) => t.node === node);
  if (i >= 0) {
    const { src } = texts[i];
    if (edge === 'start') {
      if (offset < src.length) return src[offset];
      return i + 1 < texts.length ? texts[i + 1].src[0] : src[src.length - 1] + 1;
    }
    if (offset > 0) return src[Math.min(offset, src.length) - 1] + 1;
    return i > 0 ? texts[i - 1].src[texts[i - 1].src.length - 1] + 1 : src[0];
  }
  const point = node.ownerDocument!.createRange();
  point.setStart(node, offset);
  if (edge === 'start') {
    const after = texts.find((t) => point.comparePoint(t.node, 0) >= 0);
    return after ? after.src[0] : null;
  }
  const before = texts.findLast((t) => point.comparePoint(t.node, t.node.length) <= 0);
  return before ? before.src[before.src.length - 1] + 1 : null;
}

/**
 * The source span that `range` selects of the message rendered in `body`: the range clipped to the body,
 * its ends mapped to source characters. Null when it selects none of the message's text.
 */
export function selectedSpan(index: SourceIndex, range: Range, body: Element): SourceSpan | null {
  if (!range.intersectsNode(body)) return null;
  const startInside = body.contains(range.startContainer);
  const endInside = body.contains(range.endContainer);
  const start = startInside ? sourceOffset(index, range.startContainer, range.startOffset, 'start') : (index.texts[0]?.src[0] ?? null);
  const end = endInside ? sourceOffset(index, range.endContainer, range.endOffset, 'end') : sourceOffset(index, body, body.childNodes.length, 'end');
  if (start === null || end === null) return null;
  const s = Math.max(0, start);
  const e = Math.min(index.length, end);
  return s < e ? { start: s, end: e } : null;
}

/** The DOM ranges that render source characters [start, end) (one per text node it touches). */
export function sourceRanges(index: SourceIndex, span: SourceSpan): Range[] {
  const ranges: Range[] = [];
  for (const { node, src } of index.texts) {
    if (src[src.length - 1] < span.start || src[0] >= span.end) continue;
    let lo = 0;
    while (lo < src.length && src[lo] < span.start) lo++;
    let hi = lo;
    while (hi < src.length && src[hi] < span.end) hi++;
    if (hi <= lo) continue;
    const r = node.ownerDocument.createRange();
    r.setStart(node, lo);
    r.setEnd(node, hi);
    ranges.push(r);
  }
  return ranges;
}
