// Routes every AppEvent from the bridge into the store: token-rate events through the stream pump, the
// rest to their slice. Renderer.
import type { AppEvent, CacheViewEvent } from '../../common/contract';
import type { AppStore } from './appStore';

export interface EventRouterOptions {
  /** Takes cache view ops instead of the store's cache slice (tests, tools). */
  readonly onCacheView?: (event: CacheViewEvent) => void;
}

/** The listener to pass to `api.subscribe`. */
export function createEventRouter(store: AppStore, options: EventRouterOptions = {}): (event: AppEvent) => void {
  const { pump } = store;
  return (event) => {
    const s = store.getState();
    switch (event.type) {
      case 'token':
        pump.token(event.seq, event.text);
        s.noteStreamToken(event);
        return;
      case 'cacheView':
        if (options.onCacheView) options.onCacheView(event);
        else s.applyCacheEvent(event);
        return;
      case 'progress':
        s.setProgress(event);
        return;
      case 'done':
        pump.end(event.seq, { kind: 'done', reason: event.reason, stats: event.stats });
        return;
      case 'error':
        pump.end(event.seq, { kind: 'error', message: event.error.message });
        return;
      case 'message':
        s.applyMessage(event.conversationId, event.message);
        return;
      case 'conversations':
        s.setConversations(event.conversations);
        return;
      case 'models':
        s.setModels(event.models, event.current);
        return;
      case 'download':
        s.applyDownloadEvent(event.event);
        return;
      case 'settings':
        s.setSettings(event.settings);
        return;
      case 'server':
        s.setServerStatus(event.status);
        return;
      case 'notice':
        s.pushNotice(event.level, event.text);
        return;
      case 'repairs':
        s.setRepairs(event.repairs);
        return;
      case 'command':
        s.handleCommand(event.command);
        return;
      default: {
        const unknown: never = event;
        void unknown;
      }
    }
  };
}
