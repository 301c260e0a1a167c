// Sidebar state: newest-first order, search by title (local) and content (main's hits), stale search
// answers dropped, rename rollback and delete of the open conversation. Runs under Vitest in Node.
import { describe, expect, it } from 'vitest';
import type { ConversationSummary } from '../../common/contract';
import { sortNewestFirst, visibleConversations } from '../../renderer/state/conversationsSlice';
import { scriptedApi, storeWith } from './rendererTestKit';

const summary = (id: string, title: string, updatedAt: number): ConversationSummary => ({
  id,
  title,
  createdAt: 1,
  updatedAt,
  messageCount: 2,
  preview: '',
});

const list = sortNewestFirst([summary('a', 'Rust lifetimes', 10), summary('b', 'Trip to Lisbon', 30), summary('c', 'Sourdough', 20)]);

describe('conversation list', () => {
  it('is newest first', () => {
    expect(list.map((c) => c.id)).toEqual(['b', 'c', 'a']);
  });

  it('shows everything for a blank query', () => {
    expect(visibleConversations(list, { query: '  ', hits: null, pending: false }).map((r) => r.summary.id)).toEqual(['b', 'c', 'a']);
  });

  it('filters by title at once, case-insensitively', () => {
    const rows = visibleConversations(list, { query: 'LISBON', hits: null, pending: true });
    expect(rows).toEqual([{ summary: list[0] }]);
  });

  it('adds content hits with their snippet and keeps newest-first order', () => {
    const rows = visibleConversations(list, {
      query: 'starter',
      hits: [
        { conversationId: 'a', title: 'Rust lifetimes', snippet: '…the starter borrow…' },
        { conversationId: 'c', title: 'Sourdough', snippet: '…feed the starter…' },
        { conversationId: 'gone', title: 'Deleted', snippet: '…' },
      ],
      pending: false,
    });
    expect(rows.map((r) => [r.summary.id, r.snippet])).toEqual([
      ['c', '…feed the starter…'],
      ['a', '…the starter borrow…'],
    ]);
  });
});

describe('conversations slice', () => {
  it('drops a search answer that arrives after the query changed', async () => {
    let answer: (hits: { conversationId: string; title: string; snippet: string }[]) => void = () => {};
    const api = scriptedApi({ 'conversations.search': () => new Promise((resolve) => (answer = resolve)) });
    const { store } = storeWith(api);
    store.getState().setSearchQuery('lis');
    const pending = store.getState().runSearch('lis');
    store.getState().setSearchQuery('lisbon');
    answer([{ conversationId: 'b', title: 'Trip', snippet: 'x' }]);
    await pending;
    expect(store.getState().search).toEqual({ query: 'lisbon', hits: null, pending: true });
  });

  it('keeps a search answer for the current query', async () => {
    const api = scriptedApi({ 'conversations.search': () => [{ conversationId: 'b', title: 'Trip', snippet: 'in Lisbon' }] });
    const { store } = storeWith(api);
    store.getState().setSearchQuery('Lisbon ');
    await store.getState().runSearch('Lisbon ');
    expect(api.calls.at(-1)?.args).toEqual({ query: 'Lisbon' });
    expect(store.getState().search).toEqual({ query: 'Lisbon ', hits: [{ conversationId: 'b', title: 'Trip', snippet: 'in Lisbon' }], pending: false });
  });

  it('puts the old title back when a rename fails', async () => {
    const api = scriptedApi({ 'conversations.rename': () => Promise.reject({ code: 'storage', message: 'disk full' }) });
    const { store } = storeWith(api);
    store.getState().setConversations([summary('c1', 'Chat', 5)]);
    const error = await store.getState().renameConversation('c1', 'Renamed');
    expect(error).toEqual({ code: 'storage', message: 'disk full' });
    expect(store.getState().conversations[0].title).toBe('Chat');
    expect(store.getState().active?.title).toBe('Chat');
  });

  it('closes the open conversation when it is deleted', async () => {
    const api = scriptedApi({ 'conversations.delete': () => null });
    const { store } = storeWith(api);
    store.getState().setConversations([summary('c1', 'Chat', 5), summary('c2', 'Other', 4)]);
    store.getState().setDraft('c1', 'half-typed');
    expect(await store.getState().deleteConversation('c1')).toBeNull();
    const state = store.getState();
    expect(state.activeId).toBeNull();
    expect(state.messages).toEqual([]);
    expect(state.conversations.map((c) => c.id)).toEqual(['c2']);
    expect(state.drafts).toEqual({});
  });

  it('moves a conversation to the top when a reply starts in it', () => {
    const { store } = storeWith(scriptedApi({}));
    store.getState().setConversations([summary('c2', 'Other', 4_000), summary('c1', 'Chat', 3_000)]);
    store.getState().beginStream({ seq: 1, conversationId: 'c1', reply: { id: 'r', role: 'assistant', content: '', createdAt: 1, status: 'streaming' } }, 'regenerate');
    expect(store.getState().conversations.map((c) => [c.id, c.updatedAt])).toEqual([
      ['c1', 5_000],
      ['c2', 4_000],
    ]);
  });
});
