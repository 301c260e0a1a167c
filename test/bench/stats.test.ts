// The bench's ratio of means over interleaved rounds: the value pools every step, the interval comes from
// resampling whole rounds, and the per-round spread is reported as measured.
import { expect, test } from 'vitest';
import { ratioOfMeans } from '../../bench/lib/stats';

test('rounds that all show the same ratio give that ratio with no spread', () => {
  const r = ratioOfMeans([[2, 2], [4, 4]], [[1, 1], [2, 2]]);
  expect(r).toEqual({ value: 2, low: 2, high: 2, roundMin: 2, roundMax: 2 });
});

test('the value pools every step; the interval and the per-round range span the rounds’ ratios', () => {
  const r = ratioOfMeans([[1, 1], [3, 3], [2, 2]], [[1, 1], [1, 1], [1, 1]]);
  expect(r.value).toBe(2);
  expect([r.roundMin, r.roundMax]).toEqual([1, 3]);
  expect(r.low).toBeGreaterThanOrEqual(1);
  expect(r.low).toBeLessThan(2);
  expect(r.high).toBeGreaterThan(2);
  expect(r.high).toBeLessThanOrEqual(3);
  // A fixed seed: the same data, the same interval.
  expect(ratioOfMeans([[1, 1], [3, 3], [2, 2]], [[1, 1], [1, 1], [1, 1]])).toEqual(r);
});

test('both sides need the same rounds', () => {
  expect(() => ratioOfMeans([[1]], [[1], [1]])).toThrow(RangeError);
});
