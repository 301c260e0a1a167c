// One message of the transcript: markdown (or the live text while it streams), the in-place editor of a
// user message, the reply footer and status, and per-message actions (copy, edit, regenerate). Renderer.
import { memo, useLayoutEffect, useMemo, useRef, useState, type FormEvent, type RefObject } from 'react';
import type { CharSpan, Message } from '../../common/contract';
import { errorText } from '../state/modelsSlice';
import { displayStatus, versionOf } from '../state/messageList';
import {
  selectBusy,
  selectEditing,
  selectEditText,
  selectIsEditing,
  selectIsLive,
  selectIsPinned,
  selectPins,
  selectReadOnly,
  selectReplyVersions,
  selectStreamText,
  type HorizonPlacement,
} from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { CopyButton } from './CopyButton';
import { PencilIcon, PinIcon, RefreshIcon } from './icons';
import { HorizonText } from './cache/HorizonText';
import { setPinnedRanges } from './pinHighlights';
import { sourceIndex, sourceRanges } from './sourceText';
import { countRender } from './cache/renderProbe';
import { ReplyFooter, ReplyStatus } from './ReplyFooter';
import { useAutoGrow } from './useAutoGrow';

export interface MessageItemProps {
  readonly message: Message;
  /** This is the last reply and nothing is streaming: Regenerate is offered. */
  readonly canRegenerate: boolean;
  /** Where the message sits against the model's view (dimmed above the horizon). */
  readonly horizon: HorizonPlacement;
}

const ROLE_LABEL: Record<Message['role'], string> = { user: 'You', assistant: 'Assistant', system: 'System' };

/** Memoised on its props: a token or another message's change never re-renders it. */
export const MessageItem = memo(function MessageItem({ message, canRegenerate, horizon }: MessageItemProps) {
  countRender('MessageItem');
  const live = useAppStore(selectIsLive(message.id));
  const editing = useAppStore(selectIsEditing(message.id));
  const status = displayStatus(message, live);
  const isUser = message.role === 'user';
  // A pinned message stays in the model's memory above the horizon: shown as seen, not dimmed.
  const pinned = useAppStore(selectIsPinned(message.id));
  const spans = usePinnedSpans(message.id);
  const bubble = useRef<HTMLDivElement>(null);
  usePinnedSpanHighlight(bubble, message.id, live || editing ? null : message.content, spans);
  const placement = pinned && horizon === 'hidden' ? 'visible' : horizon;
  return (
    <article
      className={`message message-${message.role} horizon-${horizon}${pinned ? ' message-pinned' : ''}`}
      data-testid="message"
      data-role={message.role}
      data-status={status}
      data-message-id={message.id}
      data-pinned={pinned || undefined}
      data-pinned-spans={spans.length > 0 ? spans.map((c) => `${c.start}:${c.end}`).join(' ') : undefined}
      aria-label={ROLE_LABEL[message.role]}
    >
      {pinned && (
        <span className="pin-badge" title="Pinned to the model's memory: it stays visible to the model">
          <PinIcon /> Pinned
        </span>
      )}
      {spans.length > 0 && (
        <span className="pin-badge" title="The highlighted text is pinned to the model's memory: it stays visible to the model. Click it to unpin.">
          <PinIcon /> {spans.length === 1 ? '1 pinned span' : `${spans.length} pinned spans`}
        </span>
      )}
      <div className="message-bubble" ref={bubble}>
        {editing ? (
          <MessageEditor message={message} />
        ) : live ? (
          <LiveText messageId={message.id} horizon={placement} />
        ) : message.content ? (
          <HorizonText messageId={message.id} text={message.content} markdown={!isUser} placement={placement} />
        ) : status === 'complete' ? (
          <p className="message-empty">(empty reply)</p>
        ) : null}
      </div>
      {message.role === 'assistant' && <ReplyStatus message={message} status={status} />}
      {message.role === 'assistant' && <ReplyFooter message={message} live={live} />}
      {!editing && <MessageActions message={message} canRegenerate={canRegenerate && !live} pinned={pinned} spans={spans.length} />}
    </article>
  );
});

const NO_SPANS: readonly CharSpan[] = [];

/** The pinned spans of message `messageId` (source characters), in the order they were pinned. */
function usePinnedSpans(messageId: string): readonly CharSpan[] {
  const pins = useAppStore(selectPins);
  return useMemo(() => {
    const spans = pins?.flatMap((p) => (p.messageId === messageId && p.chars ? [p.chars] : [])) ?? NO_SPANS;
    return spans.length > 0 ? spans : NO_SPANS;
  }, [pins, messageId]);
}

/**
 * Draws `spans` of the message rendered in `bubble` (source `content`; null while it streams or is
 * edited) as the pin highlight, again whenever its rendered text changes (the horizon moving through it).
 */
function usePinnedSpanHighlight(bubble: RefObject<HTMLDivElement | null>, messageId: string, content: string | null, spans: readonly CharSpan[]): void {
  useLayoutEffect(() => {
    const body = bubble.current;
    if (!body || content === null || spans.length === 0) return;
    const draw = () => {
      const index = sourceIndex(body, content);
      setPinnedRanges(
        messageId,
        spans.map((chars) => ({ chars, ranges: sourceRanges(index, chars) })),
      );
    };
    draw();
    const observer = new MutationObserver(draw);
    observer.observe(body, { childList: true, subtree: true, characterData: true });
    return () => {
      observer.disconnect();
      setPinnedRanges(messageId, []);
    };
  }, [bubble, messageId, content, spans]);
}

/** The streaming reply's text: the only component a token re-renders (once per frame). */
function LiveText({ messageId, horizon }: { readonly messageId: string; readonly horizon: HorizonPlacement }) {
  countRender('LiveText');
  const text = useAppStore(selectStreamText);
  if (!text) {
    return (
      <div className="typing" role="status" aria-label="Assistant is writing">
        <span />
        <span />
        <span />
      </div>
    );
  }
  return <HorizonText messageId={messageId} text={text} markdown placement={horizon} />;
}

interface MessageActionsProps {
  readonly message: Message;
  readonly canRegenerate: boolean;
  readonly pinned: boolean;
  /** How many spans of it are pinned. */
  readonly spans: number;
}

function MessageActions({ message, canRegenerate, pinned, spans }: MessageActionsProps) {
  const store = useStoreApi();
  const busy = useAppStore(selectBusy);
  // A read-only conversation (a damaged file) can be copied from, not changed.
  const readOnly = useAppStore(selectReadOnly) !== null;
  const anotherEditing = useAppStore(selectEditing) !== null;
  return (
    <div className="message-actions">
      <CopyButton label="Copy" getText={() => (store.getState().stream?.replyId === message.id ? store.getState().stream?.text ?? '' : message.content)} />
      {message.role === 'user' && !readOnly && (
        <button
          type="button"
          className="icon-button"
          aria-label="Edit"
          title="Edit and resend"
          disabled={busy || anotherEditing}
          onClick={() => store.getState().startEdit(message.id, message.content)}
        >
          <PencilIcon />
        </button>
      )}
      {!readOnly && message.content && (
        // With spans of it pinned, the button unpins them (the keyboard's way to what a click on a highlight offers).
        <button
          type="button"
          className={`icon-button${pinned || spans > 0 ? ' is-on' : ''}`}
          aria-label={pinned ? 'Unpin from memory' : spans > 0 ? 'Unpin its pinned spans' : 'Pin to memory'}
          aria-pressed={pinned ? true : spans > 0 ? 'mixed' : false}
          title={
            pinned || spans > 0
              ? 'Unpin: the model may forget it once it leaves the window'
              : 'Pin to memory: the model keeps seeing it for the rest of the conversation (to pin part of it, select that text)'
          }
          disabled={busy}
          onClick={() => {
            const pin = !pinned && spans === 0;
            void store
              .getState()
              .setPinned(message.id, pin)
              .then((error) => error && store.getState().pushNotice('error', `Could not ${pin ? 'pin' : 'unpin'} the message: ${errorText(error)}`));
          }}
        >
          <PinIcon />
        </button>
      )}
      {canRegenerate && <VersionSwitch message={message} />}
      {canRegenerate && !readOnly && (
        <button
          type="button"
          className="icon-button"
          aria-label="Regenerate"
          title="Regenerate this reply"
          disabled={busy}
          onClick={() => {
            void store
              .getState()
              .regenerate()
              .then((error) => error && store.getState().pushNotice('error', `Could not regenerate: ${errorText(error)}`));
          }}
        >
          <RefreshIcon />
        </button>
      )}
    </div>
  );
}

/** ‹ 1/2 ›: the versions of the last reply that regenerate kept, each shown in its place on demand. */
function VersionSwitch({ message }: { readonly message: Message }) {
  const store = useStoreApi();
  const busy = useAppStore(selectBusy);
  const readOnly = useAppStore(selectReadOnly) !== null;
  const version = versionOf(useAppStore(selectReplyVersions), message);
  if (!version) return null;
  const { index, ids } = version;
  const show = (to: number) => {
    void store
      .getState()
      .showVersion(ids[to])
      .then((error) => error && store.getState().pushNotice('error', `Could not show that version: ${errorText(error)}`));
  };
  return (
    <span className="version-switch" role="group" aria-label="Reply versions" data-testid="version-switch">
      <button type="button" className="icon-button" aria-label="Previous version" disabled={busy || readOnly || index === 0} onClick={() => show(index - 1)}>
        ‹
      </button>
      <span className="version-count" aria-label={`Version ${index + 1} of ${ids.length}`}>
        {index + 1}/{ids.length}
      </span>
      <button
        type="button"
        className="icon-button"
        aria-label="Next version"
        disabled={busy || readOnly || index === ids.length - 1}
        onClick={() => show(index + 1)}
      >
        ›
      </button>
    </span>
  );
}

function MessageEditor({ message }: { readonly message: Message }) {
  const store = useStoreApi();
  const text = useAppStore(selectEditText);
  const busy = useAppStore(selectBusy);
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  useAutoGrow(ref, text, 320);
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (busy || !text.trim()) return;
    setError(null);
    void store
      .getState()
      .editAndResend(message.id, text)
      .then((e) => e && setError(errorText(e)));
  };
  return (
    <form className="message-editor" onSubmit={submit}>
      <textarea
        ref={ref}
        aria-label="Edit text"
        value={text}
        autoFocus
        onFocus={(e) => e.currentTarget.setSelectionRange(e.currentTarget.value.length, e.currentTarget.value.length)}
        onChange={(e) => store.getState().setEditText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) submit(e);
          else if (e.key === 'Escape') {
            e.preventDefault();
            store.getState().cancelEdit();
          }
        }}
      />
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <div className="message-editor-actions">
        <span className="hint">Enter applies the edit and answers again; later messages are dropped.</span>
        <button type="button" className="button" onClick={() => store.getState().cancelEdit()}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={busy || !text.trim()}>
          Apply edit
        </button>
      </div>
    </form>
  );
}
