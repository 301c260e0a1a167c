// fp16 conversion (main/engine/half.ts): every half decodes to its exact value and encodes back to itself;
// doubles between halves round to the nearest, ties to even, straight from double precision.
import { describe, expect, it } from 'vitest';
import { fromHalf, halvesToFloats, toHalf } from '../../main/engine/half';

describe('half conversion', () => {
  it('decodes known bit patterns exactly', () => {
    expect(fromHalf(0x3c00)).toBe(1);
    expect(fromHalf(0xc000)).toBe(-2);
    expect(fromHalf(0x7bff)).toBe(65504);
    expect(fromHalf(0x0001)).toBe(2 ** -24);
    expect(fromHalf(0x0400)).toBe(2 ** -14);
    expect(fromHalf(0x3555)).toBe(0.333251953125);
    expect(fromHalf(0x7c00)).toBe(Infinity);
    expect(fromHalf(0xfc00)).toBe(-Infinity);
    expect(fromHalf(0x7e00)).toBeNaN();
    expect(Object.is(fromHalf(0x8000), -0)).toBe(true);
  });

  it('round-trips every finite half and rounds each midpoint to the even neighbour', () => {
    let bad = 0;
    for (let h = 0; h < 0x10000; h++) {
      const exp = (h >> 10) & 0x1f;
      if (exp === 31) continue;
      if (toHalf(fromHalf(h)) !== h) bad++;
      // The midpoint to the next half up (same sign) goes to whichever of the two has an even mantissa.
      const next = h + 1;
      if ((next & 0x7fff) >= 0x7c00 || (h & 0x7fff) === 0x7fff) continue;
      const mid = (fromHalf(h) + fromHalf(next)) / 2;
      const even = (h & 1) === 0 ? h : next;
      if (toHalf(mid) !== even) bad++;
      // Just past the midpoint (in double precision) is nearer the next half.
      const past = mid + (fromHalf(next) - fromHalf(h)) * 2 ** -20;
      if (toHalf(past) !== next) bad++;
    }
    expect(bad).toBe(0);
  });

  it('rounds once from double precision (no detour through float32)', () => {
    // 1 + 2^-11 + 2^-40 is just above the midpoint between halves 1 and 1 + 2^-10; float32 would round it to
    // the midpoint itself, and the tie would then go down to 1.
    const x = 1 + 2 ** -11 + 2 ** -40;
    expect(Math.fround(x)).toBe(1 + 2 ** -11);
    expect(toHalf(x)).toBe(0x3c01);
  });

  it('saturates to infinity past the largest half, keeps signs, NaN stays NaN', () => {
    expect(toHalf(65519.99)).toBe(0x7bff);
    expect(toHalf(65520)).toBe(0x7c00);
    expect(toHalf(-1e9)).toBe(0xfc00);
    expect(toHalf(-0)).toBe(0x8000);
    expect(toHalf(2 ** -26)).toBe(0);
    expect(toHalf(-3 * 2 ** -26)).toBe(0x8001);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
  });

  it('decodes a run of halves into floats', () => {
    const src = Uint16Array.of(0, 0x3c00, 0xc000, 0x3800);
    const dst = new Float32Array(5).fill(9);
    halvesToFloats(src, 1, dst, 2, 3);
    expect(Array.from(dst)).toEqual([9, 9, 1, -2, 0.5]);
  });
});
