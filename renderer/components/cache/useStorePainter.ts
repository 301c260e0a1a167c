// Runs a painter whenever the store changed in a way it cares about: the way the cache panel's counters
// and data attributes follow a stream without rendering React. Renderer.
import { useEffect, useRef } from 'react';
import type { AppState } from '../../state/appState';
import { useStoreApi } from '../../state/storeContext';

/**
 * Calls `paint(state)` now and then, in the same call, whenever `changed(state, previous)` says so. The
 * changes worth painting (`cacheVersion`) are published once per animation frame already, so painting
 * at once puts a token's pixels in that frame instead of queueing a second one behind it. `paint` may
 * change between renders; the latest one runs.
 */
export function useStorePainter(paint: (state: AppState) => void, changed: (s: AppState, prev: AppState) => boolean): void {
  const store = useStoreApi();
  const latest = useRef({ paint, changed });
  latest.current = { paint, changed };
  useEffect(() => {
    latest.current.paint(store.getState());
    return store.subscribe((s, prev) => {
      if (latest.current.changed(s, prev)) latest.current.paint(s);
    });
  }, [store]);
}
