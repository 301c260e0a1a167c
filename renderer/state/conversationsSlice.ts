// Conversations slice: the sidebar list (newest first), create/rename/delete, and search by title
// (instant, local) and content (`conversations.search`). Renderer.
import type { ApiError, Conversation, ConversationSummary } from '../../common/contract';
import { toApiError } from '../bridge';
import type { SliceCreator, StoreDeps } from './appState';

/** A content match from `conversations.search`. */
export interface SearchHit {
  readonly conversationId: string;
  readonly title: string;
  readonly snippet: string;
}

/** The sidebar search: `hits` is null until a content search for `query` has answered. */
export interface SearchState {
  readonly query: string;
  readonly hits: readonly SearchHit[] | null;
  readonly pending: boolean;
}

/** A sidebar row: the summary plus the content snippet that matched the search, if any. */
export interface ConversationRow {
  readonly summary: ConversationSummary;
  readonly snippet?: string;
}

export interface ConversationsSlice {
  conversations: readonly ConversationSummary[];
  conversationsLoaded: boolean;
  search: SearchState;
  loadConversations(): Promise<void>;
  /** Replaces the list (a `conversations` event or a fresh `conversations.list`). */
  setConversations(list: readonly ConversationSummary[]): void;
  /** Sets the query; titles filter at once, content hits follow from `runSearch`. */
  setSearchQuery(query: string): void;
  /** Asks main for content matches of `query`; a stale answer (the query moved on) is dropped. */
  runSearch(query: string): Promise<void>;
  /** Creates a conversation and opens it; resolves with its id, rejects with an ApiError. */
  createConversation(title?: string): Promise<string>;
  /** "New conversation": reuses the open one when it is still empty, else creates one; then focuses the composer. */
  startNewConversation(): Promise<ApiError | null>;
  renameConversation(id: string, title: string): Promise<ApiError | null>;
  deleteConversation(id: string): Promise<ApiError | null>;
  /** The conversation as a file to save (Markdown or the JSON of its schema), or why it cannot be. */
  exportConversation(id: string, format: 'markdown' | 'json'): Promise<{ fileName: string; content: string } | ApiError>;
}

/** Newest first by last update, then by creation. */
export function sortNewestFirst(list: readonly ConversationSummary[]): readonly ConversationSummary[] {
  return [...list].sort((a, b) => b.updatedAt - a.updatedAt || b.createdAt - a.createdAt);
}

/**
 * The rows the sidebar shows for `search`: every conversation when the query is blank, else those whose
 * title contains it (case-insensitive) or that main's content search found, newest first.
 */
export function visibleConversations(list: readonly ConversationSummary[], search: Readonly<SearchState>): readonly ConversationRow[] {
  const query = search.query.trim().toLocaleLowerCase();
  if (!query) return list.map((summary) => ({ summary }));
  const snippets = new Map<string, string>();
  for (const hit of search.hits ?? []) if (!snippets.has(hit.conversationId)) snippets.set(hit.conversationId, hit.snippet);
  const rows: ConversationRow[] = [];
  for (const summary of list) {
    const snippet = snippets.get(summary.id);
    if (snippet !== undefined) rows.push({ summary, snippet });
    else if (summary.title.toLocaleLowerCase().includes(query)) rows.push({ summary });
  }
  return rows;
}

/** The list row for a conversation just created or opened. */
export function summaryOf(conversation: Readonly<Conversation>): ConversationSummary {
  const last = conversation.messages[conversation.messages.length - 1];
  return {
    id: conversation.id,
    title: conversation.title,
    createdAt: conversation.createdAt,
    updatedAt: conversation.updatedAt,
    messageCount: conversation.messages.length,
    preview: last ? last.content.slice(0, 200) : '',
  };
}

export function createConversationsSlice(deps: StoreDeps): SliceCreator<ConversationsSlice> {
  const { api } = deps;
  return (set, get) => ({
    conversations: [],
    conversationsLoaded: false,
    search: { query: '', hits: null, pending: false },

    async loadConversations() {
      try {
        get().setConversations(await api.invoke('conversations.list', {}));
      } catch (error) {
        get().pushNotice('error', `Could not list conversations: ${toApiError(error).message}`);
      }
    },

    setConversations(list) {
      set({ conversations: sortNewestFirst(list), conversationsLoaded: true });
    },

    setSearchQuery(query) {
      const hasQuery = query.trim().length > 0;
      set((s) => ({ search: { query, hits: s.search.query.trim() === query.trim() ? s.search.hits : null, pending: hasQuery } }));
    },

    async runSearch(query) {
      if (!query.trim()) {
        set({ search: { query: get().search.query, hits: null, pending: false } });
        return;
      }
      try {
        const hits = await api.invoke('conversations.search', { query: query.trim() });
        if (get().search.query.trim() !== query.trim()) return;
        set({ search: { query: get().search.query, hits, pending: false } });
      } catch (error) {
        if (get().search.query.trim() !== query.trim()) return;
        set({ search: { query: get().search.query, hits: [], pending: false } });
        get().pushNotice('warning', `Search failed: ${toApiError(error).message}`);
      }
    },

    async createConversation(title) {
      const conversation = await api.invoke('conversations.create', title ? { title } : {});
      set((s) => ({
        conversations: sortNewestFirst([summaryOf(conversation), ...s.conversations.filter((c) => c.id !== conversation.id)]),
      }));
      get().showConversation(conversation);
      return conversation.id;
    },

    async startNewConversation() {
      const s = get();
      s.showView('chat');
      if (s.activeId !== null && s.messages.length === 0 && s.stream?.conversationId !== s.activeId) {
        s.focusComposer();
        return null;
      }
      try {
        await get().createConversation();
        get().focusComposer();
        return null;
      } catch (error) {
        return toApiError(error);
      }
    },

    async exportConversation(id, format) {
      try {
        return await api.invoke('conversations.export', { conversationId: id, format });
      } catch (error) {
        return toApiError(error);
      }
    },

    async renameConversation(id, title) {
      const before = get().conversations.find((c) => c.id === id);
      const retitle = (t: string) =>
        set((s) => ({
          conversations: s.conversations.map((c) => (c.id === id ? { ...c, title: t } : c)),
          active: s.active?.id === id ? { ...s.active, title: t } : s.active,
        }));
      retitle(title);
      try {
        await api.invoke('conversations.rename', { conversationId: id, title });
        return null;
      } catch (error) {
        if (before) retitle(before.title);
        return toApiError(error);
      }
    },

    async deleteConversation(id) {
      try {
        await api.invoke('conversations.delete', { conversationId: id });
      } catch (error) {
        return toApiError(error);
      }
      set((s) => ({ conversations: s.conversations.filter((c) => c.id !== id) }));
      if (get().activeId === id) get().closeConversation();
      get().setDraft(id, '');
      return null;
    },
  });
}
