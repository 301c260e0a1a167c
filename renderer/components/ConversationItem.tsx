// One row of the sidebar's conversation list: opens on click, renames inline (Enter saves, Esc
// cancels), asks the sidebar to confirm a delete. Renderer.
import { memo, useEffect, useRef, useState } from 'react';
import type { ConversationSummary } from '../../common/contract';
import { formatWhen } from '../format';
import { useStoreApi } from '../state/storeContext';
import { errorText } from '../state/modelsSlice';
import { PencilIcon, TrashIcon } from './icons';

export interface ConversationItemProps {
  readonly summary: ConversationSummary;
  /** The matching text from a content search. */
  readonly snippet?: string;
  readonly active: boolean;
  readonly onDelete: (summary: ConversationSummary) => void;
}

export const ConversationItem = memo(function ConversationItem({ summary, snippet, active, onDelete }: ConversationItemProps) {
  const store = useStoreApi();
  const [renaming, setRenaming] = useState(false);
  const title = summary.title || 'Untitled';

  return (
    <li
      className={`conversation-item ${active ? 'is-active' : ''}`}
      data-testid="conversation-row"
      data-conversation-id={summary.id}
    >
      {renaming ? (
        <RenameField summary={summary} onDone={() => setRenaming(false)} />
      ) : (
        <button
          type="button"
          className="conversation-open"
          aria-current={active ? 'page' : undefined}
          onClick={() => void store.getState().openConversation(summary.id)}
          onDoubleClick={() => setRenaming(true)}
          onKeyDown={(e) => {
            if (e.key === 'F2') {
              e.preventDefault();
              setRenaming(true);
            }
          }}
        >
          <span className="conversation-title">{title}</span>
          <span className="conversation-sub">
            {snippet !== undefined ? (
              <span className="conversation-snippet">{snippet}</span>
            ) : (
              <>
                {summary.problem !== undefined && (
                  <span className="conversation-problem" title={summary.problem}>
                    Damaged ·{' '}
                  </span>
                )}
                {formatWhen(summary.updatedAt, Date.now())}
              </>
            )}
          </span>
        </button>
      )}
      {!renaming && (
        <div className="conversation-actions">
          <button type="button" className="icon-button" aria-label="Rename" title="Rename (F2)" onClick={() => setRenaming(true)}>
            <PencilIcon />
          </button>
          <button type="button" className="icon-button" aria-label="Delete" title="Delete" onClick={() => onDelete(summary)}>
            <TrashIcon />
          </button>
        </div>
      )}
    </li>
  );
});

function RenameField({ summary, onDone }: { readonly summary: ConversationSummary; readonly onDone: () => void }) {
  const store = useStoreApi();
  const [value, setValue] = useState(summary.title);
  const ref = useRef<HTMLInputElement>(null);
  const finished = useRef(false);

  useEffect(() => {
    ref.current?.select();
  }, []);

  const finish = (save: boolean) => {
    if (finished.current) return;
    finished.current = true;
    onDone();
    const title = value.trim();
    if (!save || !title || title === summary.title) return;
    void store
      .getState()
      .renameConversation(summary.id, title)
      .then((error) => error && store.getState().pushNotice('error', `Could not rename the conversation: ${errorText(error)}`));
  };

  return (
    <input
      ref={ref}
      className="rename-input"
      aria-label="Conversation title"
      value={value}
      maxLength={500}
      autoFocus
      onChange={(e) => setValue(e.target.value)}
      onBlur={() => finish(true)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          finish(true);
        } else if (e.key === 'Escape') {
          e.preventDefault();
          finish(false);
        }
      }}
    />
  );
}
