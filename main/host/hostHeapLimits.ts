// V8 heap sizing for the engine host's isolate, whichever way it runs (worker thread or Electron utility
// process). Imported by the transports in main and by the memory benchmark, so all three run alike.

/**
 * Semi-space cap in MB. The host's garbage is small and short-lived (a few KB per token), yet V8's default
 * sizing grows the young generation towards 16 MB semi-spaces under a steady allocation rate: +10–25% RSS
 * over a long chat with no live data behind it (bench `memory`). 1 MB keeps RSS flat at no measurable
 * cost in tokens per second.
 */
export const HOST_SEMI_SPACE_MB = 1;

/**
 * What Node 20 needs to run the engine as Electron's Node (≥ 21) does: ArrayBuffer.prototype.transfer, with
 * which the compact past frees its mirror at once (compactPast.ts). Empty on Node ≥ 21, which has it (and
 * rejects the flag once the feature ships). For the engine's processes under Node: benchmark children, tests.
 */
export const NODE_PARITY_FLAGS: readonly string[] = Number(process.versions.node.split('.')[0]) < 21 ? ['--harmony-rab-gsab-transfer'] : [];

/** The same cap as process flags (utility process, benchmark children), with {@link NODE_PARITY_FLAGS}. */
export const HOST_V8_FLAGS: readonly string[] = [`--max-semi-space-size=${HOST_SEMI_SPACE_MB}`, ...NODE_PARITY_FLAGS];

/** The same cap as worker `resourceLimits`: V8's young generation is two semi-spaces plus an equal new large-object space. */
export const HOST_WORKER_LIMITS = { maxYoungGenerationSizeMb: 3 * HOST_SEMI_SPACE_MB } as const;
