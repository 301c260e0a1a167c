// Shapes and options of the sink-ring cache, and their validation (shared by the cache and its snapshots).
// Runs in the engine host; pure, no buffers.

import type { RopeSpec } from '../rope';
import { DEFAULT_JOURNAL_TOKENS, type PositionsMode } from '../../../common/cacheGeometry';
import { CacheConfigError } from './cacheConfig';
import { KV_DTYPES, type KvDtype } from './kvStorage';

/** KV tensor shape per layer: `[1, kvHeads, slots, headDim]`, in the options' {@link KvDtype}. */
export interface KvGeometry {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

/** Options of a {@link SinkRingCache}; see DESIGN §3. */
export interface SinkRingOptions {
  /** S, sinks kept forever (>= 0). */
  readonly sink: number;
  /** W, ring slots for the most recent tokens (>= 1). */
  readonly window: number;
  /** Default `cache`. */
  readonly positions?: PositionsMode;
  /** Rebase bound: positions fed to the model stay below it. */
  readonly maxPos: number;
  /** Tokens the undo journal covers (default {@link DEFAULT_JOURNAL_TOKENS}; 0 disables rewind). */
  readonly journalTokens?: number;
  /** Largest step (tokens per forward pass), for preallocating the mask and position buffers; default W. */
  readonly maxChunk?: number;
  /** Element type of the K/V rows, the model's past_key_values dtype; default float32. */
  readonly kvDtype?: KvDtype;
  /**
   * Most tokens that may be pinned (0..W; default 0: nothing can be pinned). A limit, not an allocation:
   * the pin slots after the ring hold exactly what is pinned.
   */
  readonly pinBudget?: number;
}

/** {@link SinkRingOptions} with every default filled in. */
export interface ResolvedCacheOptions {
  readonly sink: number;
  readonly window: number;
  readonly positions: PositionsMode;
  readonly maxPos: number;
  readonly journalTokens: number;
  readonly maxChunk: number;
  readonly kvDtype: KvDtype;
  readonly pinBudget: number;
}

/**
 * Fills defaults and validates geometry, RoPE and options together. Throws {@link CacheConfigError}
 * with an actionable message, notably when S + W + maxChunk does not fit in the model's positions.
 */
export function resolveCacheOptions(
  geometry: Readonly<KvGeometry>,
  rope: RopeSpec | null,
  options: Readonly<SinkRingOptions>,
): ResolvedCacheOptions {
  for (const key of ['layers', 'kvHeads', 'headDim'] as const) {
    const v = geometry[key];
    if (!Number.isSafeInteger(v) || v < 1) throw new CacheConfigError(`KV geometry ${key} must be a positive integer, got ${v}`);
  }
  const { sink, window } = options;
  if (!Number.isSafeInteger(sink) || sink < 0) throw new CacheConfigError(`sink size must be a non-negative integer, got ${sink}`);
  if (!Number.isSafeInteger(window) || window < 1) throw new CacheConfigError(`window size must be a positive integer, got ${window}`);
  const positions = options.positions ?? 'cache';
  if (positions !== 'cache' && positions !== 'original') {
    throw new CacheConfigError(`positions mode must be "cache" or "original", got ${JSON.stringify(positions)}`);
  }
  const { maxPos } = options;
  if (!Number.isSafeInteger(maxPos) || maxPos < 1 || maxPos > 0x7fffffff) {
    throw new CacheConfigError(`maxPos must be a positive 32-bit integer, got ${maxPos}`);
  }
  const journalTokens = options.journalTokens ?? DEFAULT_JOURNAL_TOKENS;
  if (!Number.isSafeInteger(journalTokens) || journalTokens < 0) {
    throw new CacheConfigError(`journalTokens must be a non-negative integer, got ${journalTokens}`);
  }
  const maxChunk = options.maxChunk ?? window;
  if (!Number.isSafeInteger(maxChunk) || maxChunk < 1) throw new CacheConfigError(`maxChunk must be a positive integer, got ${maxChunk}`);
  const kvDtype = options.kvDtype ?? 'float32';
  if (!KV_DTYPES.includes(kvDtype)) throw new CacheConfigError(`KV dtype must be one of ${KV_DTYPES.join(', ')}, got ${JSON.stringify(kvDtype)}`);
  const pinBudget = checkPinBudget(options.pinBudget ?? 0, window);
  const capacity = sink + window;
  if (capacity + maxChunk > maxPos) {
    // After a rebase the positions fed reach S + W + n - 2, so the cache plus one step must fit.
    const most = options.maxChunk === undefined ? Math.floor((maxPos - sink) / 2) : maxPos - sink - maxChunk;
    throw new CacheConfigError(
      `window too large for this model's positions: sink ${sink} + window ${window} + chunk ${maxChunk} = ` +
        `${capacity + maxChunk} exceeds the ${maxPos} positions it handles; ` +
        (most >= 1 ? `use a window of at most ${most}` : 'use a smaller sink or chunk size'),
    );
  }
  if (rope === null) {
    if (positions === 'cache') {
      throw new CacheConfigError('positions mode "cache" re-rotates sink keys and needs the model\'s RoPE; use "original"');
    }
  } else {
    const { headDim, rotaryDim, invFreq } = rope;
    if (headDim !== geometry.headDim) {
      throw new CacheConfigError(`RoPE head dim ${headDim} differs from the KV head dim ${geometry.headDim}`);
    }
    if (!Number.isInteger(rotaryDim) || rotaryDim < 2 || rotaryDim % 2 !== 0 || rotaryDim > headDim) {
      throw new CacheConfigError(`RoPE rotary dim must be even and within 2..${headDim}, got ${rotaryDim}`);
    }
    if (invFreq.length !== rotaryDim / 2) {
      throw new CacheConfigError(`RoPE has ${invFreq.length} inverse frequencies, rotary dim ${rotaryDim} needs ${rotaryDim / 2}`);
    }
  }
  return { sink, window, positions, maxPos, journalTokens, maxChunk, kvDtype, pinBudget };
}

/** Returns `budget` when it is a valid pin budget for a window of W, else throws {@link CacheConfigError}. */
export function checkPinBudget(budget: number, window: number): number {
  if (!Number.isSafeInteger(budget) || budget < 0 || budget > window) {
    throw new CacheConfigError(`pin budget must be a whole number of tokens from 0 to the window (${window}), got ${budget}`);
  }
  return budget;
}
