// The message composer: auto-growing textarea, Enter sends, Shift+Enter adds a line, a Stop button while
// a reply streams (Esc stops too, see useEscapeStops), disabled with an explanation when no model is
// loaded. Drafts are kept per conversation. Renderer.
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { errorText } from '../state/modelsSlice';
import {
  selectActiveDraft,
  selectActiveId,
  selectBusy,
  selectComposerFocusTick,
  selectHasModel,
  selectReadOnly,
  selectIsStreaming,
  selectLoadingModelId,
  selectStopping,
} from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { NEW_CONVERSATION_DRAFT } from '../state/uiSlice';
import { useSendPreview } from './cache/useSendPreview';
import { SendIcon, StopIcon } from './icons';
import { useAutoGrow } from './useAutoGrow';

export function Composer() {
  const store = useStoreApi();
  const activeId = useAppStore(selectActiveId);
  const draft = useAppStore(selectActiveDraft);
  const streaming = useAppStore(selectIsStreaming);
  const stopping = useAppStore(selectStopping);
  const busy = useAppStore(selectBusy);
  const hasModel = useAppStore(selectHasModel);
  const readOnly = useAppStore(selectReadOnly) !== null;
  const loadingModel = useAppStore(selectLoadingModelId) !== null;
  const focusTick = useAppStore(selectComposerFocusTick);
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  const hintId = useId();
  const errorId = useId();
  useAutoGrow(ref, draft);

  useEffect(() => {
    if (focusTick > 0) ref.current?.focus();
  }, [focusTick]);

  // Focus follows the open conversation, so typing can start at once.
  useEffect(() => {
    if (hasModel) ref.current?.focus();
  }, [activeId, hasModel]);

  const key = activeId ?? NEW_CONVERSATION_DRAFT;
  const canSend = hasModel && !loadingModel && !busy && !readOnly && draft.trim().length > 0;
  const preview = useSendPreview(activeId, draft, hasModel && !loadingModel && !busy && !readOnly);

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (!canSend) return;
    const text = draft;
    const s = store.getState();
    s.setDraft(key, '');
    setError(null);
    void s.send(text).then((e) => {
      if (!e) return;
      const now = store.getState();
      const target = now.activeId ?? NEW_CONVERSATION_DRAFT;
      // Put the text back unless the user has typed something new meanwhile.
      if (!(now.drafts[target] ?? '')) now.setDraft(target, text);
      setError(errorText(e));
    });
  };

  const explanation = readOnly
    ? 'This conversation is read-only: its file is damaged. Export it, or start a new conversation.'
    : hasModel
    ? null
    : loadingModel
      ? 'The model is loading; you can send when it is ready.'
      : 'No model is loaded. Choose one in the model menu above, or open Models to add one.';

  return (
    <form className="composer" onSubmit={submit}>
      {error && (
        <p className="composer-error" role="alert" id={errorId}>
          {error}
        </p>
      )}
      <div className={`composer-box ${hasModel && !readOnly ? '' : 'is-disabled'}`}>
        <textarea
          ref={ref}
          aria-label="Message"
          aria-describedby={[explanation ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined}
          placeholder={readOnly ? 'This conversation is read-only' : hasModel ? 'Message Ouro' : 'Load a model to start chatting'}
          rows={1}
          value={draft}
          disabled={!hasModel || readOnly}
          onChange={(e) => {
            store.getState().setDraft(key, e.target.value);
            if (error) setError(null);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              submit();
            }
          }}
        />
        {streaming ? (
          <button
            type="button"
            className="composer-button is-stop"
            aria-label="Stop"
            title="Stop (Esc)"
            disabled={stopping}
            onClick={() => void store.getState().stop()}
          >
            <StopIcon />
          </button>
        ) : (
          <button type="submit" className="composer-button" aria-label="Send" title="Send (Enter)" disabled={!canSend}>
            <SendIcon />
          </button>
        )}
      </div>
      {explanation ? (
        <p className="composer-hint is-warning" id={hintId}>
          {explanation}{' '}
          {!loadingModel && !readOnly && (
            <button type="button" className="link-button" onClick={() => store.getState().showView('models')}>
              Add a model
            </button>
          )}
        </p>
      ) : (
        <p className="composer-hint">
          <span aria-hidden="true">Enter to send · Shift+Enter for a new line{streaming ? ' · Esc to stop' : ''}</span>
          {preview && preview.pushedOut > 0 && (
            <span className="composer-preview" role="status" data-testid="send-preview" data-pushed-out={preview.pushedOut}>
              {' · '}Sending this will push {preview.pushedOut.toLocaleString()} earlier {preview.pushedOut === 1 ? 'token' : 'tokens'} out of the
              model’s view
            </span>
          )}
        </p>
      )}
    </form>
  );
}
