// The "S,W" cache setting and the position-to-slot map of DESIGN §3.
// Runs in the engine host (and wherever settings are validated); pure functions, no buffers.

/** A cache setting or option a user can get wrong; the message names the problem and the expected form. */
export class CacheConfigError extends Error {
  override readonly name = 'CacheConfigError';
}

/** Sink and window sizes as parsed from `"S,W"`. */
export interface CacheConfig {
  /** S: leading tokens kept forever (>= 0). */
  readonly sink: number;
  /** W: most recent tokens kept (>= 1). */
  readonly window: number;
}

const EXPECTED =
  'expected "S,W": two non-negative integers, S sink tokens kept forever and W >= 1 most recent tokens, e.g. "4,2048"';

/**
 * Parses the cache setting `"S,W"` (spaces around each number are allowed). Anything else, one or three
 * numbers, signs, fractions, W = 0, throws a {@link CacheConfigError} saying what is wrong.
 */
export function parseCacheConfig(text: string): CacheConfig {
  const fail = (problem: string): never => {
    throw new CacheConfigError(`Invalid cache setting ${JSON.stringify(text)}: ${problem}; ${EXPECTED}.`);
  };
  if (text.trim() === '') fail('it is empty');
  const parts = text.split(',');
  if (parts.length !== 2) {
    fail(`it has ${parts.length} comma-separated ${parts.length === 1 ? 'value' : 'values'}, not 2`);
  }
  const sink = parseCount(parts[0], 'the sink size', fail);
  const window = parseCount(parts[1], 'the window size', fail);
  if (window < 1) fail('the window size must be at least 1');
  return { sink, window };
}

function parseCount(raw: string, what: string, fail: (problem: string) => never): number {
  const s = raw.trim();
  if (s === '') return fail(`${what} is missing`);
  if (!/^\d+$/.test(s)) return fail(`${what} ${JSON.stringify(s)} is not a non-negative integer`);
  const value = Number(s);
  if (!Number.isSafeInteger(value) || value > 0x3fffffff) return fail(`${what} ${s} is too large`);
  return value;
}
