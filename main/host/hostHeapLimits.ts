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

/**
 * V8's memory reducer off: it reads the host's low allocation rate (~20 KB a decoded token) as idleness and,
 * seconds after a full GC, runs three more to shrink a heap of ~10 MB, with incremental marking steps of up to
 * 8 ms and final pauses of 6–28 ms on the thread that runs the model, so inside decode steps (3 per episode
 * in 1,200 steps after a prompt; none with it off: bench/README section 20). What it would give back is a
 * few MB of a heap that is not where the host's memory is.
 */
const HOST_NO_MEMORY_REDUCER = '--no-memory-reducer';

/**
 * The semi-space cap and the memory reducer off as process flags (utility process, benchmark children), with
 * {@link NODE_PARITY_FLAGS}. A worker thread shares its process's flags: only the cap applies there, as
 * {@link HOST_WORKER_LIMITS}.
 */
export const HOST_V8_FLAGS: readonly string[] = [`--max-semi-space-size=${HOST_SEMI_SPACE_MB}`, HOST_NO_MEMORY_REDUCER, ...NODE_PARITY_FLAGS];

/** The same cap as worker `resourceLimits`: V8's young generation is two semi-spaces plus an equal new large-object space. */
export const HOST_WORKER_LIMITS = { maxYoungGenerationSizeMb: 3 * HOST_SEMI_SPACE_MB } as const;
