// Test helpers for the renderer's store: a scripted OuroApi, a hand-cranked frame scheduler and message
// builders. Runs under Vitest in Node.
import type { ApiError, AppEvent, GenerationStats, Message, OuroApi, Verb, VerbArgs, VerbResult } from '../../common/contract';
import { createAppStore, type AppStore } from '../../renderer/state/appStore';
import { createEventRouter } from '../../renderer/state/eventRouter';
import type { FrameScheduler } from '../../renderer/state/streamPump';

export type Handlers = { [V in Verb]?: (args: VerbArgs<V>) => VerbResult<V> | Promise<VerbResult<V>> };

/** An OuroApi answering from `handlers`; an unscripted verb rejects with a not-found ApiError. */
export function scriptedApi(handlers: Handlers): OuroApi & { calls: { verb: Verb; args: unknown }[]; emit(event: AppEvent): void } {
  const calls: { verb: Verb; args: unknown }[] = [];
  const listeners = new Set<(event: AppEvent) => void>();
  return {
    calls,
    invoke<V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>> {
      calls.push({ verb, args });
      const handler = handlers[verb] as ((a: VerbArgs<V>) => VerbResult<V> | Promise<VerbResult<V>>) | undefined;
      if (!handler) return Promise.reject({ code: 'not-found', message: `no handler for ${verb}` } satisfies ApiError);
      try {
        return Promise.resolve(handler(args));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(event) {
      for (const l of listeners) l(event);
    },
  };
}

/** A scheduler whose frames run only when the test says so. */
export function manualFrames(): FrameScheduler & { runFrame(): void; readonly pending: number } {
  const queue = new Map<number, () => void>();
  let next = 1;
  return {
    request(callback) {
      const id = next++;
      queue.set(id, callback);
      return id;
    },
    cancel(handle) {
      queue.delete(handle as number);
    },
    runFrame() {
      const callbacks = [...queue.values()];
      queue.clear();
      for (const cb of callbacks) cb();
    },
    get pending() {
      return queue.size;
    },
  };
}

let clock = 1_000;
/** A message with defaults filled in. */
export function msg(id: string, role: Message['role'], content: string, extra: Partial<Message> = {}): Message {
  return { id, role, content, createdAt: clock++, status: 'complete', ...extra };
}

export function stats(extra: Partial<GenerationStats> = {}): GenerationStats {
  return {
    loadMs: 0,
    prefillTokens: 12,
    promptTokens: 12,
    prefillMs: 30,
    prefillTokPerSec: 400,
    decodeTokens: 3,
    decodeMs: 60,
    decodeTokPerSec: 50,
    timeToFirstTokenMs: 42,
    reprocessedTokens: 0,
    tokensSeen: 15,
    tokensEvicted: 0,
    kvBytes: 1024,
    ...extra,
  };
}

/** A store over `api` with manual frames, its event router and an open conversation `c1` holding `messages`. */
export function storeWith(api: OuroApi, messages: readonly Message[] = []) {
  const frames = manualFrames();
  const store: AppStore = createAppStore({ api, scheduler: frames, now: () => 5_000 });
  const route = createEventRouter(store);
  store.getState().showConversation({ id: 'c1', title: 'Chat', createdAt: 1, updatedAt: 1, messages: [...messages] });
  return { store, frames, route };
}
