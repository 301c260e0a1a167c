// Tests of the "S,W" cache setting parser and the position-to-slot map (DESIGN §3).
import { slotOf } from '../../../common/cacheGeometry';
import { describe, expect, it } from 'vitest';
import { CacheConfigError, parseCacheConfig } from '../../../main/engine/cache/cacheConfig';

describe('parseCacheConfig', () => {
  it('reads two non-negative integers', () => {
    expect(parseCacheConfig('4,2048')).toEqual({ sink: 4, window: 2048 });
    expect(parseCacheConfig('0,1')).toEqual({ sink: 0, window: 1 });
    expect(parseCacheConfig(' 4 , 64 ')).toEqual({ sink: 4, window: 64 });
  });

  const cases: [string, RegExp][] = [
    ['4', /has 1 comma-separated value, not 2/],
    ['4,2048,1024', /has 3 comma-separated values, not 2/],
    ['a,b', /the sink size "a" is not a non-negative integer/],
    ['4,b', /the window size "b" is not a non-negative integer/],
    ['-1,4', /the sink size "-1" is not a non-negative integer/],
    ['4,0', /the window size must be at least 1/],
    ['4.5,8', /the sink size "4.5" is not a non-negative integer/],
    [' ', /it is empty/],
    ['', /it is empty/],
    [',8', /the sink size is missing/],
    ['4,99999999999999999999', /the window size 99999999999999999999 is too large/],
  ];
  for (const [input, problem] of cases) {
    it(`rejects ${JSON.stringify(input)} saying what is wrong and the expected form`, () => {
      let error: unknown;
      try {
        parseCacheConfig(input);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CacheConfigError);
      const message = (error as Error).message;
      expect(message).toMatch(problem);
      expect(message).toContain(`Invalid cache setting ${JSON.stringify(input)}`);
      expect(message).toContain('expected "S,W"');
      expect(message).toContain('"4,2048"');
    });
  }
});

describe('slotOf', () => {
  it('maps sinks to themselves and the rest around the ring', () => {
    expect([0, 1, 2, 3].map((p) => slotOf(p, 4, 3))).toEqual([0, 1, 2, 3]);
    expect([4, 5, 6, 7, 8, 9, 10].map((p) => slotOf(p, 4, 3))).toEqual([4, 5, 6, 4, 5, 6, 4]);
    expect([0, 1, 2, 3, 4].map((p) => slotOf(p, 0, 3))).toEqual([0, 1, 2, 0, 1]);
    expect(slotOf(1_000_000_007, 4, 2048)).toBe(4 + ((1_000_000_007 - 4) % 2048));
  });
});
