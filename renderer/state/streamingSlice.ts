// Streaming slice: the reply being written (its coalesced text and live counters), progress of model
// loads and long prefills, and the last generation's stats. Fed by the stream pump. Renderer.
import type { AppEvent, ConversationSummary, GenerationStats, StreamStart } from '../../common/contract';
import type { AppState, SliceCreator, StoreDeps } from './appState';
import { applyStreamStart, finalizeReply, findMessage, upsertMessage, type StreamKind, type StreamOutcome } from './messageList';

/** The reply streaming now. `text` grows once per animation frame, never per token. */
export interface LiveStream {
  readonly seq: number;
  readonly conversationId: string;
  readonly replyId: string;
  readonly kind: StreamKind;
  readonly text: string;
  /** Token events received. */
  readonly tokens: number;
  /** Wall-clock ms when the stream started and when its first text arrived. */
  readonly startedAt: number;
  readonly firstTokenAt: number | null;
  /** Stop was asked; waiting for the engine's done. */
  readonly stopping: boolean;
}

export type ProgressEvent = Extract<AppEvent, { type: 'progress' }>;

/** One progress bar's state. */
export interface ProgressState {
  readonly seq: number;
  readonly done: number;
  readonly total: number;
}

export interface StreamingSlice {
  stream: LiveStream | null;
  progress: { readonly load: ProgressState | null; readonly prefill: ProgressState | null };
  /** Stats of the last finished generation (cache counters for the side panel). */
  lastStats: GenerationStats | null;
  /** Makes `start` the live stream and updates the open conversation's messages for `kind`. */
  beginStream(start: Readonly<StreamStart>, kind: StreamKind, editedId?: string): void;
  appendStreamText(seq: number, text: string, tokens: number): void;
  finishStream(seq: number, outcome: StreamOutcome): void;
  setProgress(event: Readonly<ProgressEvent>): void;
  clearProgress(phase: ProgressEvent['phase']): void;
}

function touch(list: readonly ConversationSummary[], id: string, now: number): readonly ConversationSummary[] {
  const index = list.findIndex((c) => c.id === id);
  if (index < 0) return list;
  const moved = { ...list[index], updatedAt: Math.max(now, list[index].updatedAt) };
  return [moved, ...list.slice(0, index), ...list.slice(index + 1)];
}

export function createStreamingSlice(deps: StoreDeps): SliceCreator<StreamingSlice> {
  const { pump, now } = deps;
  return (set) => ({
    stream: null,
    progress: { load: null, prefill: null },
    lastStats: null,

    beginStream(start, kind, editedId) {
      const at = now();
      set((s) => ({
        stream: {
          seq: start.seq,
          conversationId: start.conversationId,
          replyId: start.reply.id,
          kind,
          text: start.reply.content,
          tokens: 0,
          startedAt: at,
          firstTokenAt: null,
          stopping: false,
        },
        messages: s.activeId === start.conversationId ? applyStreamStart(s.messages, start, kind, editedId) : s.messages,
        conversations: touch(s.conversations, start.conversationId, at),
      }));
      pump.started(start.seq);
    },

    appendStreamText(seq, text, tokens) {
      set((s) => {
        const live = s.stream;
        if (!live || live.seq !== seq) return {};
        return {
          stream: { ...live, text: live.text + text, tokens: live.tokens + tokens, firstTokenAt: live.firstTokenAt ?? now() },
          progress: s.progress.prefill?.seq === seq ? { ...s.progress, prefill: null } : s.progress,
        };
      });
    },

    finishStream(seq, outcome) {
      set((s) => {
        const live = s.stream;
        if (!live || live.seq !== seq) return {};
        const patch: Partial<AppState> = {
          stream: null,
          progress: s.progress.prefill?.seq === seq ? { ...s.progress, prefill: null } : s.progress,
        };
        if (outcome.kind === 'done') patch.lastStats = outcome.stats;
        if (s.activeId === live.conversationId) {
          const index = findMessage(s.messages, live.replyId);
          const base = index >= 0 ? s.messages[index] : outcome.kind === 'message' ? outcome.message : null;
          if (base) patch.messages = upsertMessage(s.messages, finalizeReply(base, live.text, outcome));
        }
        return patch;
      });
    },

    setProgress(event) {
      const finished = event.total > 0 && event.done >= event.total;
      set((s) => ({
        progress: { ...s.progress, [event.phase]: finished ? null : { seq: event.seq, done: event.done, total: event.total } },
      }));
    },

    clearProgress(phase) {
      set((s) => ({ progress: { ...s.progress, [phase]: null } }));
    },
  });
}
