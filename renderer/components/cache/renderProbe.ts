// Probes for browser tests and benchmarks: a page defines `window.__ouroRenderCounts = {}` (or
// `__ouroCachePaintMs = []`) before the app loads (Playwright `addInitScript`) and reads how often each
// watched component rendered (or how long each cache canvas paint took). Without those objects (the app
// as shipped) a probe is one property read. Renderer.

declare global {
  interface Window {
    /** Set only by a test page: component name → renders counted. */
    __ouroRenderCounts?: Record<string, number>;
    /** Set only by a test or benchmark page: milliseconds of each cache canvas paint. */
    __ouroCachePaintMs?: number[];
  }
}

/** Counts one render of `name` when a test asked for counts; call it in the component's body. */
export function countRender(name: string): void {
  const counts = typeof window === 'undefined' ? undefined : window.__ouroRenderCounts;
  if (counts) counts[name] = (counts[name] ?? 0) + 1;
}

/** The paint timer when a page asked for paint times, else null. */
export function paintTimes(): number[] | null {
  return typeof window === 'undefined' ? null : (window.__ouroCachePaintMs ?? null);
}
