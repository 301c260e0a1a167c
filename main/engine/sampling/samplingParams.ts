// Sampling parameters: the shape, the defaults and a dependency-free validator with messages a user
// can act on. Runs wherever settings are checked (engine host, CLI).

/**
 * How the next token is chosen. Each filter has a value that turns it off: temperature 0 (or
 * `greedy`) → argmax; topK 0; topP 1; minP 0; repetitionPenalty 1 or repetitionWindow 0.
 */
export interface SamplingParams {
  /** Always take the most likely token (same as temperature 0). */
  greedy?: boolean;
  /** Softmax temperature, >= 0. */
  temperature: number;
  /** Keep only the k most likely tokens; 0 = no limit. */
  topK: number;
  /** Nucleus: keep the smallest set of most likely tokens whose mass reaches topP, in (0, 1]. */
  topP: number;
  /** Drop tokens whose probability is below minP times the most likely token's, in [0, 1]. */
  minP: number;
  /** HF/CTRL repetition penalty (> 0; 1 = off): positive logits divided by it, negative multiplied. */
  repetitionPenalty: number;
  /** How many of the most recent tokens the penalty looks at; 0 = off. */
  repetitionWindow: number;
  /** Seed of the sampler's PRNG: a non-negative safe integer. Same seed, same logits → same tokens. */
  seed: number;
}

/** Conservative chat defaults (llama.cpp-like filters, a mild penalty); seed 0 is fixed on purpose. */
export const DEFAULT_SAMPLING: Readonly<SamplingParams> = Object.freeze({
  greedy: false,
  temperature: 0.7,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repetitionPenalty: 1.1,
  repetitionWindow: 64,
  seed: 0,
});

/** Sampling parameters that break a rule; `problems` lists each one, the message joins them. */
export class SamplingParamsError extends Error {
  override readonly name = 'SamplingParamsError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid sampling parameters: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

function isNum(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/**
 * Checks every field and returns a plain copy; throws SamplingParamsError listing all problems
 * (e.g. "temperature must be a number >= 0, got -1; topP must be in (0, 1], got 0").
 */
export function validateSamplingParams(params: Readonly<SamplingParams>): SamplingParams {
  const p = params as unknown as Record<string, unknown>;
  const problems: string[] = [];
  const got = (key: string): string => {
    const v = p[key];
    return `got ${typeof v === 'number' || v === undefined ? String(v) : JSON.stringify(v)}`;
  };
  if (p.greedy !== undefined && typeof p.greedy !== 'boolean') problems.push(`greedy must be true or false, ${got('greedy')}`);
  if (!isNum(p.temperature) || p.temperature < 0) problems.push(`temperature must be a number >= 0, ${got('temperature')}`);
  if (!Number.isSafeInteger(p.topK) || (p.topK as number) < 0) {
    problems.push(`topK must be a whole number >= 0 (0 = off), ${got('topK')}`);
  }
  if (!isNum(p.topP) || p.topP <= 0 || p.topP > 1) problems.push(`topP must be in (0, 1] (1 = off), ${got('topP')}`);
  if (!isNum(p.minP) || p.minP < 0 || p.minP > 1) problems.push(`minP must be in [0, 1] (0 = off), ${got('minP')}`);
  if (!isNum(p.repetitionPenalty) || p.repetitionPenalty <= 0) {
    problems.push(`repetitionPenalty must be a number > 0 (1 = off), ${got('repetitionPenalty')}`);
  }
  if (!Number.isSafeInteger(p.repetitionWindow) || (p.repetitionWindow as number) < 0) {
    problems.push(`repetitionWindow must be a whole number >= 0, ${got('repetitionWindow')}`);
  }
  if (!Number.isSafeInteger(p.seed) || (p.seed as number) < 0) {
    problems.push(`seed must be a whole number between 0 and ${Number.MAX_SAFE_INTEGER}, ${got('seed')}`);
  }
  if (problems.length > 0) throw new SamplingParamsError(problems);
  return {
    greedy: params.greedy ?? false,
    temperature: params.temperature,
    topK: params.topK,
    topP: params.topP,
    minP: params.minP,
    repetitionPenalty: params.repetitionPenalty,
    repetitionWindow: params.repetitionWindow,
    seed: params.seed,
  };
}

/** True when the parameters pick the argmax (no randomness is drawn). */
export function isGreedy(params: Readonly<SamplingParams>): boolean {
  return params.greedy === true || params.temperature === 0;
}
