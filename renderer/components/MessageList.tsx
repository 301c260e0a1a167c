// The transcript, virtualised with @tanstack/react-virtual (measured row heights, anchored to the end):
// it follows the streaming reply while the view is at the bottom, stops when the user scrolls up, and
// offers "Jump to latest". Rows are memoised; a token re-renders only the live row's text. Renderer.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Message } from '../../common/contract';
import { regenerableIndex } from '../state/messageList';
import { horizonIndexOf, horizonPlacement, selectBusy, selectHorizonMessageId, selectMessages, selectStreamReplyId } from '../state/selectors';
import { useAppStore } from '../state/storeContext';
import { countRender } from './cache/renderProbe';
import { SystemPromptRow } from './cache/SystemPromptRow';
import { ArrowDownIcon } from './icons';
import { SpanPinActions } from './SpanPinActions';
import { MessageItem } from './MessageItem';

/** Distance from the bottom (px) that still counts as "at the latest message". */
const END_SLACK_PX = 24;

/** A first guess of a row's height from its text, refined by measurement once it renders. */
function estimateHeight(message: Message): number {
  const text = message.content;
  let lines = 1;
  let run = 0;
  for (let i = 0; i < text.length && lines < 400; i++) {
    if (text.charCodeAt(i) === 10 || ++run > 90) {
      lines++;
      run = 0;
    }
  }
  return 56 + lines * 24 + (message.role === 'assistant' ? 28 : 0);
}

export function MessageList() {
  countRender('MessageList');
  const messages = useAppStore(selectMessages);
  const liveReplyId = useAppStore(selectStreamReplyId);
  const busy = useAppStore(selectBusy);
  // The message the horizon cuts, not its offset: the list re-renders when it crosses a message only.
  const horizonId = useAppStore(selectHorizonMessageId);
  const scrollRef = useRef<HTMLDivElement>(null);
  const [atEnd, setAtEnd] = useState(true);

  const getItemKey = useCallback((index: number) => messages[index].id, [messages]);
  const estimateSize = useCallback((index: number) => estimateHeight(messages[index]), [messages]);
  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => scrollRef.current,
    estimateSize,
    getItemKey,
    overscan: 4,
    paddingStart: 24,
    paddingEnd: 24,
    anchorTo: 'end',
    followOnAppend: true,
    scrollEndThreshold: END_SLACK_PX,
    useFlushSync: false,
    onChange: (instance) => setAtEnd(instance.getTotalSize() <= (instance.scrollRect?.height ?? 0) || instance.isAtEnd(END_SLACK_PX)),
  });

  // Open at the newest message: the list remounts per conversation, so this runs once per open.
  useLayoutEffect(() => {
    virtualizer.scrollToEnd();
  }, [virtualizer]);

  // A reply the user just asked for brings the view down to it, even from far up.
  useLayoutEffect(() => {
    if (liveReplyId !== null) virtualizer.scrollToEnd();
  }, [liveReplyId, virtualizer]);

  const regenerable = busy ? -1 : regenerableIndex(messages);
  const horizonIndex = useMemo(() => horizonIndexOf(messages, horizonId ?? undefined), [messages, horizonId]);
  const items = virtualizer.getVirtualItems();

  return (
    <div className="message-list">
      <SystemPromptRow outOfView={horizonId !== null} />
      <div ref={scrollRef} className="message-scroller" role="region" aria-label="Transcript" tabIndex={0} data-testid="message-list">
        <div className="message-canvas" style={{ height: virtualizer.getTotalSize() }}>
          {items.map((item) => (
            <div
              key={item.key}
              data-index={item.index}
              ref={virtualizer.measureElement}
              className="message-row"
              style={{ transform: `translateY(${item.start}px)` }}
            >
              <MessageItem
                message={messages[item.index]}
                canRegenerate={item.index === regenerable}
                horizon={horizonPlacement(item.index, horizonIndex)}
              />
            </div>
          ))}
        </div>
      </div>
      <SpanPinActions scrollRef={scrollRef} />
      {!atEnd && (
        <button
          type="button"
          className="jump-latest"
          onClick={() => {
            // Glide over a few screens; jump straight across a long history.
            const far = virtualizer.getDistanceFromEnd() > 3 * (scrollRef.current?.clientHeight ?? 0);
            virtualizer.scrollToEnd({ behavior: far ? 'auto' : 'smooth' });
          }}
        >
          <ArrowDownIcon />
          Jump to latest
        </button>
      )}
    </div>
  );
}
