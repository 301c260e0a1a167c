// The chat page: header (title, model menu, export, conversation settings, cache panel toggle), progress strip,
// the virtualised transcript or an empty state, and the composer. Renderer.
import {
  selectActiveId,
  selectActiveTitle,
  selectCachePanelOpen,
  selectHasModel,
  selectIsStreaming,
  selectHasMessages,
  selectOpening,
  selectReadOnly,
  selectSidebarShown,
} from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { UNTITLED } from '../state/messageList';
import { Composer } from './Composer';
import { ExportMenu } from './ExportMenu';
import { ChatIcon, PanelIcon, SidebarIcon, SlidersIcon } from './icons';
import { MessageList } from './MessageList';
import { ModelPicker } from './ModelPicker';
import { ProgressStrip } from './ProgressBar';

export function ChatView() {
  const activeId = useAppStore(selectActiveId);
  const opening = useAppStore(selectOpening);
  const hasMessages = useAppStore(selectHasMessages);
  return (
    <section className="chat-view" aria-label="Chat">
      <ChatHeader />
      <ProgressStrip />
      <ReadOnlyNotice />
      {hasMessages ? (
        <MessageList key={activeId ?? 'none'} />
      ) : (
        <EmptyChat loading={opening !== null} />
      )}
      <StreamAnnouncer />
      <Composer />
    </section>
  );
}

function ChatHeader() {
  const store = useStoreApi();
  const title = useAppStore(selectActiveTitle);
  const activeId = useAppStore(selectActiveId);
  const panelOpen = useAppStore(selectCachePanelOpen);
  const sidebarShown = useAppStore(selectSidebarShown);
  return (
    <header className="chat-header">
      {/* Shown only where the window is too narrow for sidebar, chat and panel side by side (layout.css). */}
      <button
        type="button"
        className="icon-button sidebar-toggle"
        aria-label="Sidebar"
        title="Show the conversations"
        aria-expanded={sidebarShown}
        onClick={() => store.getState().toggleSidebar()}
      >
        <SidebarIcon />
      </button>
      <h1 className="chat-title" title={title ?? undefined}>
        {title || UNTITLED}
      </h1>
      <div className="chat-header-tools">
        <ModelPicker />
        <ExportMenu />
        <button
          type="button"
          className="icon-button"
          aria-label="Tune this conversation"
          title="Settings of this conversation"
          disabled={activeId === null}
          onClick={() => store.getState().openSettings('conversation')}
        >
          <SlidersIcon />
        </button>
        <button
          type="button"
          className="icon-button"
          aria-label="Cache panel"
          title="Cache panel"
          aria-pressed={panelOpen}
          onClick={() => store.getState().toggleCachePanel()}
        >
          <PanelIcon />
        </button>
      </div>
    </header>
  );
}

function EmptyChat({ loading }: { readonly loading: boolean }) {
  const hasModel = useAppStore(selectHasModel);
  if (loading) {
    return (
      <div className="empty-chat" aria-busy="true">
        <span className="spinner" role="status" aria-label="Opening conversation" />
      </div>
    );
  }
  return (
    <div className="empty-chat">
      <div className="empty-chat-mark" aria-hidden="true">
        <ChatIcon width={28} height={28} />
      </div>
      <h2>What’s on your mind?</h2>
      <p>
        {hasModel
          ? 'Everything stays on this computer. The conversation can go on as long as you like: the model keeps the start and the most recent part in view.'
          : 'Load a model to start chatting.'}
      </p>
    </div>
  );
}

/** Why the open conversation cannot be changed (a damaged file): shown above its readable messages. */
function ReadOnlyNotice() {
  const reason = useAppStore(selectReadOnly);
  if (reason === null) return null;
  return (
    <div className="read-only-notice" role="status" data-testid="read-only">
      <strong>Read-only.</strong> {reason}
    </div>
  );
}

/** Tells screen readers when a reply starts and ends (the transcript itself is not a live region). */
function StreamAnnouncer() {
  const streaming = useAppStore(selectIsStreaming);
  return (
    <div className="visually-hidden" role="status" aria-live="polite">
      {streaming ? 'Assistant is replying' : ''}
    </div>
  );
}
