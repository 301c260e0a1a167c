// V8 heap sizing for the engine host's isolate, whichever way it runs (worker thread or Electron utility
// process). Imported by the transports in main and by the memory benchmark, so all three run alike.

/**
 * Semi-space cap in MB. The host's garbage is small and short-lived (a few KB per token), yet V8's default
 * sizing grows the young generation towards 16 MB semi-spaces under a steady allocation rate: +10–25% RSS
 * over a long chat with no live data behind it (bench `memory`). 1 MB keeps RSS flat at no measurable
 * cost in tokens per second.
 */
export const HOST_SEMI_SPACE_MB = 1;

/** The same cap as process flags (utility process, benchmark children). */
export const HOST_V8_FLAGS: readonly string[] = [`--max-semi-space-size=${HOST_SEMI_SPACE_MB}`];

/** The same cap as worker `resourceLimits`: V8's young generation is two semi-spaces plus an equal new large-object space. */
export const HOST_WORKER_LIMITS = { maxYoungGenerationSizeMb: 3 * HOST_SEMI_SPACE_MB } as const;
