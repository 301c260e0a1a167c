// Chat slice: the open conversation and its messages, and the verbs that start or stop a reply
// (send, regenerate, edit-and-resend, stop). Renderer.
import type { ApiError, CharSpan, Conversation, Message } from '../../common/contract';
import { toApiError } from '../bridge';
import type { SliceCreator, StoreDeps } from './appState';
import { titleFromMessage, UNTITLED, upsertMessage, versionsAfterRegenerate, type StreamKind } from './messageList';

/** The open conversation's header fields (its messages live in `messages`). */
export type ActiveConversation = Omit<Conversation, 'messages'>;

export interface ChatSlice {
  activeId: string | null;
  active: ActiveConversation | null;
  messages: readonly Message[];
  /** Why the open conversation cannot be changed (its file is damaged), or null. */
  readOnly: string | null;
  /** Id of the conversation being loaded, while `conversations.open` runs. */
  opening: string | null;
  /** The verb that is starting a stream, until its StreamStart arrives. */
  pending: StreamKind | null;
  openConversation(id: string): Promise<void>;
  /** Shows `conversation` as the open one (after create or open); `readOnly` says why it cannot be changed. */
  showConversation(conversation: Readonly<Conversation>, readOnly?: string | null): void;
  closeConversation(): void;
  /** A `message` event: replaces or appends the message when its conversation is open. */
  applyMessage(conversationId: string, message: Message): void;
  /** Sends `content` to the open conversation (creating one when none is open). */
  send(content: string): Promise<ApiError | null>;
  /** Answers the last user message again; the reply it replaces stays as a version of it. */
  regenerate(): Promise<ApiError | null>;
  /** Shows reply version `messageId` in place of the last reply (the engine's cache follows it). */
  showVersion(messageId: string): Promise<ApiError | null>;
  editAndResend(messageId: string, content: string): Promise<ApiError | null>;
  stop(): Promise<void>;
  /**
   * Pins message `messageId` of the open conversation (or its characters `chars`) to the model's memory,
   * or unpins it (with `chars`: that pinned span; without: every pin of the message).
   */
  setPinned(messageId: string, pinned: boolean, chars?: CharSpan): Promise<ApiError | null>;
  /** The transcript's selection as a span of one message's source text, while it selects one (what "Pin selection" pins). */
  selectionSpan: { readonly messageId: string; readonly chars: CharSpan } | null;
  setSelectionSpan(span: { readonly messageId: string; readonly chars: CharSpan } | null): void;
  /** Pins `selectionSpan` (the shortcut and the floating action); a refusal is shown as a notice. */
  pinSelection(): Promise<void>;
}

const busyError: ApiError = { code: 'busy', message: 'A reply is still being written. Stop it or wait for it to finish.' };
const emptyError: ApiError = { code: 'bad-request', message: 'Type a message first.' };

export function createChatSlice(deps: StoreDeps): SliceCreator<ChatSlice> {
  const { api, pump } = deps;
  return (set, get) => {
    const busy = (): boolean => get().pending !== null || get().stream !== null;

    /** Runs a stream-starting verb with the shared busy guard and pending flag. */
    const startStream = async (kind: StreamKind, run: () => Promise<void>): Promise<ApiError | null> => {
      if (busy()) return busyError;
      const readOnly = get().readOnly;
      if (readOnly !== null) return { code: 'bad-request', message: readOnly };
      set({ pending: kind });
      try {
        await run();
        return null;
      } catch (error) {
        return toApiError(error);
      } finally {
        set({ pending: null });
      }
    };

    return {
      activeId: null,
      active: null,
      messages: [],
      readOnly: null,
      opening: null,
      pending: null,

      async openConversation(id) {
        get().showView('chat');
        if (get().activeId === id) return;
        set({ opening: id });
        try {
          const { conversation, notice, readOnly } = await api.invoke('conversations.open', { conversationId: id });
          if (get().opening !== id) return;
          get().showConversation(conversation, readOnly);
          if (notice) get().pushNotice('info', notice);
        } catch (error) {
          if (get().opening === id) set({ opening: null });
          get().pushNotice('error', `Could not open the conversation: ${toApiError(error).message}`);
        }
      },

      showConversation(conversation, readOnly = null) {
        const { messages, ...header } = conversation;
        set({ activeId: conversation.id, active: header, messages, readOnly, opening: null, editing: null, horizon: null, view: 'chat' });
      },

      closeConversation() {
        set({ activeId: null, active: null, messages: [], readOnly: null, opening: null, editing: null, horizon: null });
      },

      applyMessage(conversationId, message) {
        const live = get().stream;
        if (live && live.replyId === message.id && message.status !== 'streaming') {
          pump.end(live.seq, { kind: 'message', message });
        }
        if (conversationId !== get().activeId) return;
        set((s) => ({ messages: upsertMessage(s.messages, message) }));
      },

      send(content) {
        if (!content.trim()) return Promise.resolve(emptyError);
        return startStream('send', async () => {
          const before = get().active;
          const id = before?.id ?? (await get().createConversation(titleFromMessage(content)));
          const start = await api.invoke('chat.send', { conversationId: id, content });
          get().beginStream(start, 'send');
          // An untitled conversation (or one stored with the old default title) takes its first message's
          // first line as its title.
          if (before && (!before.title.trim() || before.title === UNTITLED) && get().messages.length <= 2) {
            void get().renameConversation(id, titleFromMessage(content));
          }
        });
      },

      regenerate() {
        const id = get().activeId;
        if (!id) return Promise.resolve<ApiError>({ code: 'bad-request', message: 'Open a conversation first.' });
        return startStream('regenerate', async () => {
          const start = await api.invoke('chat.regenerate', { conversationId: id });
          const { active, messages } = get();
          if (active?.id === id) set({ active: { ...active, replyVersions: versionsAfterRegenerate(active.replyVersions, messages, start.reply) } });
          get().beginStream(start, 'regenerate');
        });
      },

      async showVersion(messageId) {
        const id = get().activeId;
        if (!id) return { code: 'bad-request', message: 'Open a conversation first.' };
        if (busy()) return busyError;
        try {
          const { conversation, reprocessedTokens } = await api.invoke('chat.showVersion', { conversationId: id, messageId });
          if (get().activeId !== id) return null;
          get().showConversation(conversation, get().readOnly);
          if (reprocessedTokens > 0) {
            get().pushNotice('info', `The model read this conversation again to follow the version shown (${reprocessedTokens.toLocaleString('en-US')} tokens re-processed).`);
          }
          return null;
        } catch (error) {
          return toApiError(error);
        }
      },

      editAndResend(messageId, content) {
        const id = get().activeId;
        if (!id) return Promise.resolve<ApiError>({ code: 'bad-request', message: 'Open a conversation first.' });
        if (!content.trim()) return Promise.resolve(emptyError);
        return startStream('edit', async () => {
          const start = await api.invoke('chat.edit', { conversationId: id, messageId, content });
          get().cancelEdit();
          get().beginStream(start, 'edit', messageId);
        });
      },

      async setPinned(messageId, pinned, chars) {
        const id = get().activeId;
        if (!id) return { code: 'bad-request', message: 'Open a conversation first.' };
        if (busy()) return busyError;
        try {
          const { pins } = await api.invoke('chat.pin', { conversationId: id, messageId, pinned, ...(chars && { chars }) });
          set((s) => (s.activeId === id && s.active ? { active: { ...s.active, pins } } : {}));
          return null;
        } catch (error) {
          return toApiError(error);
        }
      },

      selectionSpan: null,
      setSelectionSpan(span) {
        set({ selectionSpan: span });
      },

      async pinSelection() {
        const span = get().selectionSpan;
        if (!span) {
          get().pushNotice('info', 'Select text in a message first, then pin it.');
          return;
        }
        const error = await get().setPinned(span.messageId, true, span.chars);
        if (error) get().pushNotice('error', `Could not pin the selection: ${error.message}`);
        else set({ selectionSpan: null });
      },

      async stop() {
        const live = get().stream;
        if (!live || live.stopping) return;
        set({ stream: { ...live, stopping: true } });
        try {
          await api.invoke('chat.stop', { conversationId: live.conversationId });
        } catch (error) {
          const now = get().stream;
          if (now?.seq === live.seq) set({ stream: { ...now, stopping: false } });
          get().pushNotice('error', `Could not stop the reply: ${toApiError(error).message}`);
        }
      },
    };
  };
}
