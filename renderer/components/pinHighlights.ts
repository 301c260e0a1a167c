// The pinned spans of the transcript's messages drawn as one CSS custom highlight ("ouro-pin", styled in
// chat.css), and which span a point is on (a click there offers "Unpin"). Each rendered message registers
// the DOM ranges of its spans (./sourceText) and takes them back when it unmounts. Renderer.
import type { CharSpan } from '../../common/contract';

export const PIN_HIGHLIGHT = 'ouro-pin';

/** A pinned span of a message and the DOM ranges rendering it. */
export interface PinnedRanges {
  readonly chars: CharSpan;
  readonly ranges: readonly Range[];
}

const registry = new Map<string, readonly PinnedRanges[]>();

/** Sets message `messageId`'s pinned spans and their ranges (none: forgets the message). */
export function setPinnedRanges(messageId: string, spans: readonly PinnedRanges[]): void {
  if (spans.length === 0) {
    if (!registry.delete(messageId)) return;
  } else registry.set(messageId, spans);
  // Browsers without the Highlight API show the spans in the panel and the message's badge only.
  if (typeof CSS === 'undefined' || !('highlights' in CSS)) return;
  const ranges = [...registry.values()].flatMap((s) => s.flatMap((p) => p.ranges));
  if (ranges.length === 0) CSS.highlights.delete(PIN_HIGHLIGHT);
  else CSS.highlights.set(PIN_HIGHLIGHT, new Highlight(...ranges));
}

/** The pinned span drawn under viewport point (x, y), if any. */
export function pinnedSpanAt(x: number, y: number): { readonly messageId: string; readonly chars: CharSpan } | null {
  for (const [messageId, spans] of registry) {
    for (const { chars, ranges } of spans) {
      for (const range of ranges) {
        for (const r of range.getClientRects()) if (x >= r.left && x <= r.right && y >= r.top && y <= r.bottom) return { messageId, chars };
      }
    }
  }
  return null;
}

/** Where pinned span `chars` of message `messageId` is drawn now (its first line box), or null when it is not. */
export function pinnedSpanRect(messageId: string, chars: CharSpan): DOMRect | null {
  const span = registry.get(messageId)?.find((p) => p.chars.start === chars.start && p.chars.end === chars.end);
  for (const range of span?.ranges ?? []) {
    const [first] = range.getClientRects();
    if (first) return first;
  }
  return null;
}
