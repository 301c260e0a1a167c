// Pinning a selected span of a message: while the transcript's selection covers text of one message (the
// one it started in, where it crosses several), a floating "Pin selection" action over it (Ctrl/⌘+Shift+P
// does the same); a click on a pinned span's highlight offers "Unpin". The selection is mapped to the
// message's source characters (./sourceText), so markdown renders pin what they show. Renderer.
import { useEffect, useState, type RefObject } from 'react';
import type { CharSpan } from '../../common/contract';
import { keysLabel, shortcutOf } from '../../common/shortcuts';
import { isMacPlatform } from '../platform';
import { errorText } from '../state/modelsSlice';
import { selectBusy, selectPins, selectReadOnly, selectSelectionSpan } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { PinIcon } from './icons';
import { pinnedSpanAt, pinnedSpanRect } from './pinHighlights';
import { selectedSpan, sourceIndex, sourceRanges } from './sourceText';

/** What "Pin selection" does, on hover. */
export const PIN_SELECTION_EXPLAINED =
  'Pin to memory: the model keeps seeing this text for the rest of the conversation. A selection that cuts a word piece (token) pins the whole token.';

const UNPIN_EXPLAINED = 'Unpin this span: the model may forget it once it leaves the window';

type Point = { readonly x: number; readonly y: number };

/** The message the selection started in (or ended in, or first crosses) inside `scroller`. */
function selectedArticle(selection: Selection, range: Range, scroller: Element): Element | null {
  const articleOf = (n: Node | null): Element | null => {
    const el = n instanceof Element ? n : (n?.parentElement ?? null);
    const article = el?.closest('[data-testid="message"]') ?? null;
    return article && scroller.contains(article) ? article : null;
  };
  return (
    articleOf(selection.anchorNode) ??
    articleOf(selection.focusNode) ??
    [...scroller.querySelectorAll('[data-testid="message"]')].find((a) => range.intersectsNode(a)) ??
    null
  );
}

export function SpanPinActions({ scrollRef }: { readonly scrollRef: RefObject<HTMLElement | null> }) {
  const store = useStoreApi();
  const busy = useAppStore(selectBusy);
  const readOnly = useAppStore(selectReadOnly) !== null;
  const span = useAppStore(selectSelectionSpan);
  const pins = useAppStore(selectPins);
  const [at, setAt] = useState<Point | null>(null);
  // The pinned span a click on its highlight offers to unpin; the offer follows it as the transcript scrolls.
  const [unpin, setUnpin] = useState<{ readonly messageId: string; readonly chars: CharSpan } | null>(null);
  const [, setScrolled] = useState(0);

  useEffect(() => {
    const scroller = scrollRef.current;
    if (!scroller) return;
    const track = () => {
      const state = store.getState();
      const selection = document.getSelection();
      let found: { messageId: string; chars: CharSpan; at: Point } | null = null;
      if (selection && !selection.isCollapsed && selection.rangeCount > 0) {
        const range = selection.getRangeAt(0);
        const article = selectedArticle(selection, range, scroller);
        const messageId = article?.getAttribute('data-message-id');
        const message = state.messages.find((m) => m.id === messageId);
        const body = article?.querySelector('.message-bubble');
        const live = state.stream?.replyId === messageId;
        if (message && body && !live && state.editing !== messageId) {
          const index = sourceIndex(body, message.content);
          const chars = selectedSpan(index, range, body);
          const first = chars && sourceRanges(index, chars)[0]?.getClientRects()[0];
          if (chars && first) found = { messageId: message.id, chars, at: { x: first.left, y: first.top } };
        }
      }
      const now = state.selectionSpan;
      if (found === null) {
        if (now !== null) state.setSelectionSpan(null);
        setAt(null);
        return;
      }
      if (now?.messageId !== found.messageId || now.chars.start !== found.chars.start || now.chars.end !== found.chars.end) {
        state.setSelectionSpan({ messageId: found.messageId, chars: found.chars });
      }
      setAt(found.at);
      setUnpin(null);
    };
    const onClick = (event: MouseEvent) => {
      if (!document.getSelection()?.isCollapsed) return;
      setUnpin(pinnedSpanAt(event.clientX, event.clientY));
    };
    const onMove = (event: MouseEvent) => {
      const over = pinnedSpanAt(event.clientX, event.clientY) !== null;
      scroller.classList.toggle('over-pinned-span', over);
      scroller.title = over ? `Pinned to the model's memory. Click to unpin.` : '';
    };
    const onScroll = () => {
      setScrolled((n) => n + 1);
      track();
    };
    document.addEventListener('selectionchange', track);
    scroller.addEventListener('click', onClick);
    scroller.addEventListener('mousemove', onMove);
    scroller.addEventListener('scroll', onScroll);
    return () => {
      document.removeEventListener('selectionchange', track);
      scroller.removeEventListener('click', onClick);
      scroller.removeEventListener('mousemove', onMove);
      scroller.removeEventListener('scroll', onScroll);
      store.getState().setSelectionSpan(null);
    };
  }, [scrollRef, store]);

  // A pin just taken leaves nothing to offer for its selection; a span no longer pinned, no Unpin.
  useEffect(() => {
    const pinned = (t: { readonly messageId: string; readonly chars: CharSpan } | null) =>
      pins?.some((p) => p.messageId === t?.messageId && p.chars?.start === t.chars.start && p.chars.end === t.chars.end) ?? false;
    if (pinned(span)) document.getSelection()?.removeAllRanges();
    setUnpin((u) => (pinned(u) ? u : null));
  }, [pins, span]);

  const unpinSpan = (messageId: string, chars: CharSpan) => {
    void store
      .getState()
      .setPinned(messageId, false, chars)
      .then((error) => error && store.getState().pushNotice('error', `Could not unpin the span: ${errorText(error)}`));
  };
  const keep = (event: { preventDefault(): void }) => event.preventDefault();
  const place = (p: Point) => ({ left: Math.max(8, p.x), top: Math.max(8, p.y - 40) });
  const unpinAt = unpin && pinnedSpanRect(unpin.messageId, unpin.chars);
  return (
    <>
      {span && at && !readOnly && (
        <button
          type="button"
          className="span-pin-action"
          data-testid="pin-selection"
          data-span={`${span.messageId}:${span.chars.start}:${span.chars.end}`}
          style={place(at)}
          disabled={busy}
          title={`${PIN_SELECTION_EXPLAINED} (${keysLabel(shortcutOf('pinSelection'), isMacPlatform())})`}
          onMouseDown={keep}
          onClick={() => void store.getState().pinSelection()}
        >
          <PinIcon /> Pin selection
        </button>
      )}
      {unpin && unpinAt && !span && !readOnly && (
        <button
          type="button"
          className="span-pin-action"
          data-testid="unpin-span"
          style={place({ x: unpinAt.left, y: unpinAt.top })}
          disabled={busy}
          title={UNPIN_EXPLAINED}
          onMouseDown={keep}
          onClick={() => {
            setUnpin(null);
            unpinSpan(unpin.messageId, unpin.chars);
          }}
        >
          <PinIcon /> Unpin
        </button>
      )}
    </>
  );
}
