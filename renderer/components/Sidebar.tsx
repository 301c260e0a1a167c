// The sidebar: new conversation, search (titles at once, content through `conversations.search`), the
// conversation list newest first with inline rename and delete-with-confirmation, and the app's
// Models and Settings buttons. Renderer.
import { useEffect, useMemo, useState } from 'react';
import type { ConversationSummary } from '../../common/contract';
import { visibleConversations } from '../state/conversationsSlice';
import { errorText } from '../state/modelsSlice';
import {
  selectActiveId,
  selectConnection,
  selectConversations,
  selectConversationsLoaded,
  selectSearch,
  selectView,
} from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { ConversationItem } from './ConversationItem';
import { ConfirmDialog } from './Dialog';
import { CubeIcon, GearIcon, PlusIcon, SearchIcon } from './icons';

/** Wait this long after the last keystroke before a content search. */
const SEARCH_DEBOUNCE_MS = 200;

export function Sidebar() {
  const store = useStoreApi();
  const conversations = useAppStore(selectConversations);
  const loaded = useAppStore(selectConversationsLoaded);
  const search = useAppStore(selectSearch);
  const activeId = useAppStore(selectActiveId);
  const view = useAppStore(selectView);
  const [toDelete, setToDelete] = useState<ConversationSummary | null>(null);
  const rows = useMemo(() => visibleConversations(conversations, search), [conversations, search]);

  const query = search.query;
  useEffect(() => {
    if (!query.trim()) return;
    const timer = window.setTimeout(() => void store.getState().runSearch(query), SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [query, store]);

  const newConversation = () => {
    const s = store.getState();
    s.setSearchQuery('');
    void s
      .startNewConversation()
      .then((error) => error && store.getState().pushNotice('error', `Could not create a conversation: ${errorText(error)}`));
  };

  const confirmDelete = () => {
    const target = toDelete;
    setToDelete(null);
    if (!target) return;
    void store
      .getState()
      .deleteConversation(target.id)
      .then((error) => error && store.getState().pushNotice('error', `Could not delete “${target.title}”: ${errorText(error)}`));
  };

  return (
    <aside className="sidebar" aria-label="Sidebar">
      <div className="sidebar-top">
        <div className="brand" aria-hidden="true">
          <span className="brand-mark" />
          Ouro
        </div>
        <button type="button" className="button button-new" onClick={newConversation}>
          <PlusIcon />
          New conversation
        </button>
        <div className="search-box">
          <SearchIcon />
          <input
            type="search"
            aria-label="Search conversations"
            placeholder="Search"
            value={query}
            onChange={(e) => store.getState().setSearchQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape' && query) {
                e.preventDefault();
                store.getState().setSearchQuery('');
              }
            }}
          />
        </div>
      </div>
      <nav className="conversation-nav" aria-label="Conversations">
        {rows.length > 0 ? (
          <ul className="conversation-list">
            {rows.map((row) => (
              <ConversationItem
                key={row.summary.id}
                summary={row.summary}
                snippet={row.snippet}
                active={row.summary.id === activeId && view === 'chat'}
                onDelete={setToDelete}
              />
            ))}
          </ul>
        ) : (
          <p className="sidebar-empty" role={query ? 'status' : undefined}>
            {!loaded ? '' : query.trim() ? (search.pending ? 'Searching…' : 'No conversation matches.') : 'No conversations yet.'}
          </p>
        )}
      </nav>
      <div className="sidebar-bottom">
        <ConnectionState />
        <button
          type="button"
          className={`sidebar-link ${view === 'models' ? 'is-current' : ''}`}
          aria-current={view === 'models' ? 'page' : undefined}
          onClick={() => store.getState().showView(view === 'models' ? 'chat' : 'models')}
        >
          <CubeIcon />
          Models
        </button>
        <button type="button" className="sidebar-link" onClick={() => store.getState().openSettings('app')}>
          <GearIcon />
          Settings
        </button>
      </div>
      <ConfirmDialog
        open={toDelete !== null}
        title="Delete conversation?"
        message={
          <>
            “{toDelete?.title || 'Untitled'}” and all its messages will be deleted from this computer. This cannot be
            undone.
          </>
        }
        confirmLabel="Delete"
        onConfirm={confirmDelete}
        onCancel={() => setToDelete(null)}
      />
    </aside>
  );
}

function ConnectionState() {
  const connection = useAppStore(selectConnection);
  if (connection === 'open') return null;
  return (
    <p className="connection-state" role="status">
      <span className="spinner is-small" aria-hidden="true" />
      {connection === 'connecting' ? 'Connecting to Ouro…' : 'Connection lost. Reconnecting…'}
    </p>
  );
}
