// Shared bits of the command-line tools: option parsing helpers and one way to report errors. Plain Node.
import type { PositionsMode } from '../../common/cacheGeometry';
import { CacheConfigError, parseCacheConfig } from '../engine/cache/cacheConfig';
import type { CacheSettings } from '../engine/chatTypes';
import type { Q4Compute } from '../../common/settingsSchema';

/** A usage or input error: printed without a stack trace, exit code 2. */
export class CliError extends Error {}

export function intOption(name: string, value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new CliError(`${name} must be an integer, got '${value}'`);
  return n;
}

export function numberOption(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new CliError(`${name} must be a number, got '${value}'`);
  return n;
}

/** Checks an "S,W" cache config, turning its error into a usage error. */
export function cacheConfigOption(value: string): { sink: number; window: number } {
  try {
    return parseCacheConfig(value);
  } catch (err) {
    if (err instanceof CacheConfigError) throw new CliError(err.message);
    throw err;
  }
}

/** The engine's cache settings from --sink (a number or auto), --window and --positions. */
export function cacheSettingsOptions(sinkValue: string, windowValue: string | undefined, positionsValue: string): CacheSettings {
  const positions = positionsOption(positionsValue);
  const sink = sinkValue === 'auto' ? 'auto' : intOption('--sink', sinkValue);
  const window = windowValue === undefined ? undefined : intOption('--window', windowValue);
  // The same rules as the "S,W" cache config string (non-negative S, W >= 1).
  if (sink !== 'auto' || window !== undefined) cacheConfigOption(`${sink === 'auto' ? 4 : sink},${window ?? 1}`);
  // Nothing pins from a command line: no pin slots (each would cost memory and attention for nothing).
  return { sink, window, positions, pinBudget: 0 };
}

/** --q4-compute: how 4-bit weights multiply on CPU (the app's setting of the same name). */
export function q4ComputeOption(value: string): Q4Compute {
  if (value !== 'int8' && value !== 'exact') throw new CliError(`--q4-compute must be int8 or exact, got '${value}'`);
  return value;
}

/** The --q4-compute line of each tool's usage. */
export const Q4_COMPUTE_USAGE = `  --q4-compute int8|exact   4-bit models on CPU: int8 activations per block of 32, as llama.cpp
                            multiplies Q4_0 (default, faster), or exact fp32 activations`;

export function positionsOption(value: string): PositionsMode {
  if (value !== 'cache' && value !== 'original') throw new CliError(`--positions must be cache or original, got '${value}'`);
  return value;
}

/**
 * The start every tool shares: prints `usage` and returns false for --help; throws a usage error naming
 * the required options missing; true when the tool should run.
 */
export function shouldRun<V extends Readonly<Record<string, unknown>>, K extends keyof V & string>(
  values: V,
  usage: string,
  required: readonly K[],
): values is V & { readonly [P in K]-?: NonNullable<V[P]> } {
  if (values.help) {
    console.log(usage);
    return false;
  }
  if (required.some((name) => values[name] === undefined)) {
    const names = required.map((name) => `--${name}`);
    throw new CliError(`${names.length === 1 ? `${names[0]} is` : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are`} required\n${usage}`);
  }
  return true;
}

/** Runs a CLI main: usage errors exit 2, anything else prints its message and exits 1. */
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`error: ${message}`);
    process.exitCode = err instanceof CliError ? 2 : 1;
  }
}
