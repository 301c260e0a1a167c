// The renderer's one door to main: `window.ouro` from the Electron preload when present, otherwise the
// WebSocket test transport. Every call rejects with an ApiError. Runs in the renderer.
import type { ApiError, OuroApi, Verb, VerbArgs, VerbResult } from '../common/contract';
import { BRIDGE_KEY_PARAM, BRIDGE_PATH, isApiError } from '../common/contract';
import { createWebSocketApi, type ConnectionState } from './webSocketApi';

export type { ConnectionState };

declare global {
  interface Window {
    /** Set by the Electron preload (contextBridge); absent in a plain browser. */
    readonly ouro?: OuroApi;
  }
}

/** The transport the renderer talks through, with its connection state. */
export interface Bridge {
  readonly api: OuroApi;
  readonly transport: 'electron' | 'websocket';
  /** Current connection state (always `open` under Electron). */
  readonly state: () => ConnectionState;
  onState(listener: (state: ConnectionState) => void): () => void;
}

/** Normalises anything a call can throw into an ApiError a user can read. */
export function toApiError(error: unknown): ApiError {
  if (isApiError(error)) {
    return error.detail === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, detail: error.detail };
  }
  if (error instanceof Error) {
    // Electron wraps handler rejections as "Error invoking remote method 'x': <message>".
    const message = error.message.replace(/^Error invoking remote method '[^']*': (Error: )?/, '');
    return { code: 'internal', message };
  }
  return { code: 'internal', message: String(error) };
}

/** Wraps an OuroApi so that `invoke` always rejects with an ApiError. */
export function withApiErrors(api: OuroApi): OuroApi {
  return {
    invoke<V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>> {
      let call: Promise<VerbResult<V>>;
      try {
        call = api.invoke(verb, args);
      } catch (error) {
        return Promise.reject(toApiError(error));
      }
      return call.catch((error: unknown) => {
        throw toApiError(error);
      });
    },
    subscribe: (listener) => api.subscribe(listener),
    ...(api.pickFolder && { pickFolder: api.pickFolder.bind(api) }),
  };
}

/** The WebSocket endpoint of the bridge server that served this page. */
export function bridgeSocketUrl(loc: Pick<Location, 'protocol' | 'host'>): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}${BRIDGE_PATH}`;
}

/** Where the page keeps the bridge key once it has left the address bar (this tab only, survives a reload). */
export const BRIDGE_KEY_STORAGE = 'ouro.bridgeKey';

/** The parts of a window the key hand-over touches. */
export type KeyWindow = {
  readonly location: Pick<Location, 'hash' | 'pathname' | 'search'>;
  readonly history: Pick<History, 'replaceState' | 'state'>;
  readonly sessionStorage: Pick<Storage, 'getItem' | 'setItem'>;
};

/**
 * The bridge key: taken from the address's `#key=…` (then removed from the address bar and history, so
 * it is not bookmarked, shared or shown, and kept in this tab's sessionStorage), or the one kept by an
 * earlier load of this tab; null when neither exists.
 */
export function takeBridgeKey(win: KeyWindow): string | null {
  const fromAddress = new URLSearchParams(win.location.hash.replace(/^#/, '')).get(BRIDGE_KEY_PARAM);
  if (fromAddress) {
    win.sessionStorage.setItem(BRIDGE_KEY_STORAGE, fromAddress);
    win.history.replaceState(win.history.state, '', `${win.location.pathname}${win.location.search}`);
    return fromAddress;
  }
  return win.sessionStorage.getItem(BRIDGE_KEY_STORAGE);
}

/** Picks the transport: the preload's API under Electron, else a WebSocket to BRIDGE_PATH on this page's host. */
export function connectBridge(win: Window = window): Bridge {
  if (win.ouro) {
    return {
      api: withApiErrors(win.ouro),
      transport: 'electron',
      state: () => 'open',
      onState: () => () => {},
    };
  }
  const ws = createWebSocketApi({ url: bridgeSocketUrl(win.location), key: takeBridgeKey(win) });
  return {
    api: withApiErrors(ws),
    transport: 'websocket',
    state: () => ws.state,
    onState: (listener) => ws.onState(listener),
  };
}
