// Runs a painter once per animation frame after the store changed in a way it cares about: the way the
// cache panel's canvas, counters and data attributes follow a stream without rendering React. Renderer.
import { useEffect, useRef } from 'react';
import type { AppState } from '../../state/appState';
import { useStoreApi } from '../../state/storeContext';

/**
 * Calls `paint(state)` now and then at most once per frame whenever `changed(state, previous)` says so.
 * `paint` may change between renders; the latest one runs.
 */
export function useFramePainter(paint: (state: AppState) => void, changed: (s: AppState, prev: AppState) => boolean): void {
  const store = useStoreApi();
  const latest = useRef({ paint, changed });
  latest.current = { paint, changed };
  useEffect(() => {
    let frame: number | null = null;
    const run = () => {
      frame = null;
      latest.current.paint(store.getState());
    };
    run();
    const unsubscribe = store.subscribe((s, prev) => {
      if (frame === null && latest.current.changed(s, prev)) frame = requestAnimationFrame(run);
    });
    return () => {
      unsubscribe();
      if (frame !== null) cancelAnimationFrame(frame);
    };
  }, [store]);
}
