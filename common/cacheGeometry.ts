// Cache geometry every side shares: the positions mode, the position-to-slot map of DESIGN §3 and the
// undo journal's default length. Pure code (the engine, main and the renderer's cache mirror import it).

/**
 * `cache` (default): StreamingLLM positions within the cache, sinks re-rotated to sit just before the
 * oldest visible window token. `original`: every key keeps its original position (ExecuTorch #18753).
 */
export type PositionsMode = 'cache' | 'original';

/** Slot of original position `p` (>= 0) in a cache with `sink` sinks and a ring of `window` slots. */
export function slotOf(p: number, sink: number, window: number): number {
  return p < sink ? p : sink + ((p - sink) % window);
}

/**
 * Default undo journal length in tokens: a typical reply, so regenerate and edit rewind without feeding
 * anything again. Its rows cost as much as that many tokens of KV (45 MiB on SmolLM2-135M, 64 MiB on
 * Llama-3.2-1B); a longer reply's rewind re-feeds the sinks and the window instead.
 */
export const DEFAULT_JOURNAL_TOKENS = 1024;
