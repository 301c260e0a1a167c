// validateSamplingParams: accepted ranges, every problem reported at once, messages naming the field.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SAMPLING,
  SamplingParamsError,
  isGreedy,
  validateSamplingParams,
} from '../../../main/engine/sampling/samplingParams';
import type { SamplingParams } from '../../../main/engine/sampling/samplingParams';

function problemsOf(over: Record<string, unknown>): readonly string[] {
  try {
    validateSamplingParams({ ...DEFAULT_SAMPLING, ...over } as SamplingParams);
  } catch (e) {
    expect(e).toBeInstanceOf(SamplingParamsError);
    return (e as SamplingParamsError).problems;
  }
  return [];
}

describe('validateSamplingParams', () => {
  it('accepts the defaults and the "off" value of every filter, returning a plain copy', () => {
    const ok = validateSamplingParams(DEFAULT_SAMPLING);
    expect(ok).toEqual({ ...DEFAULT_SAMPLING, greedy: false });
    expect(ok).not.toBe(DEFAULT_SAMPLING);
    const off = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, repetitionWindow: 0, seed: 0 };
    expect(validateSamplingParams(off)).toEqual({ ...off, greedy: false });
    expect(validateSamplingParams({ ...off, seed: Number.MAX_SAFE_INTEGER }).seed).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([
    [{ temperature: -0.1 }, /temperature must be a number >= 0, got -0.1/],
    [{ temperature: NaN }, /temperature .* got NaN/],
    [{ topK: 2.5 }, /topK must be a whole number >= 0/],
    [{ topK: -1 }, /topK/],
    [{ topP: 0 }, /topP must be in \(0, 1\]/],
    [{ topP: 1.01 }, /topP/],
    [{ minP: -0.01 }, /minP must be in \[0, 1\]/],
    [{ minP: 2 }, /minP/],
    [{ repetitionPenalty: 0 }, /repetitionPenalty must be a number > 0/],
    [{ repetitionWindow: -3 }, /repetitionWindow/],
    [{ seed: -1 }, /seed must be a whole number/],
    [{ seed: 0.5 }, /seed/],
    [{ greedy: 'yes' }, /greedy must be true or false, got "yes"/],
    [{ temperature: '0.7' }, /temperature .* got "0.7"/],
    [{ topP: undefined }, /topP .* got undefined/],
  ])('rejects %o', (over, pattern) => {
    const problems = problemsOf(over);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(pattern);
  });

  it('reports every problem in one error', () => {
    expect(() => validateSamplingParams({ ...DEFAULT_SAMPLING, temperature: -1, topP: 0 })).toThrow(
      /invalid sampling parameters: temperature .*; topP/,
    );
    expect(problemsOf({ temperature: -1, topK: -1, minP: 3 })).toHaveLength(3);
  });

  it('isGreedy: greedy flag or temperature 0', () => {
    expect(isGreedy({ ...DEFAULT_SAMPLING, greedy: true })).toBe(true);
    expect(isGreedy({ ...DEFAULT_SAMPLING, temperature: 0 })).toBe(true);
    expect(isGreedy(DEFAULT_SAMPLING)).toBe(false);
  });
});
