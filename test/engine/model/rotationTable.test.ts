// RotationTable + applyRotation: a table reused and refilled across rows and deltas gives the same bits as a fresh rotation (rotateHeadRow).
import { describe, expect, test } from 'vitest';
import { applyRotation, rotateHeadRow, RotationTable, type RopeSpec } from '../../../main/engine/rope';

function specOf(headDim: number, rotaryDim: number, theta: number): RopeSpec {
  const invFreq = new Float64Array(rotaryDim / 2);
  for (let i = 0; i < invFreq.length; i++) invFreq[i] = theta ** ((-2 * i) / rotaryDim);
  return { headDim, rotaryDim, invFreq };
}

describe('RotationTable', () => {
  test.each([
    ['full head', specOf(64, 64, 100000)],
    ['partial head', specOf(16, 8, 10000)],
  ])('%s: bit-identical to rotateHeadRow for many rows and deltas, table reused and refilled', (_, spec) => {
    const rows = 5;
    const a = Float32Array.from({ length: rows * spec.headDim }, (_, i) => Math.sin(i * 1.7) * 3);
    const b = Float32Array.from(a);
    const table = new RotationTable(spec.headDim >> 1);
    for (const delta of [1, 1, -3, 4097, 123456, -8191]) {
      table.set(spec, delta);
      for (let r = 0; r < rows; r++) {
        applyRotation(a, r * spec.headDim, spec, table);
        rotateHeadRow(b, r * spec.headDim, spec, delta);
      }
      expect(Array.from(a)).toEqual(Array.from(b));
    }
    // Dims past rotaryDim never move.
    if (spec.rotaryDim < spec.headDim) expect(a[spec.headDim - 1]).toBe(Float32Array.from([Math.sin((spec.headDim - 1) * 1.7) * 3])[0]);
  });

  test('refuses a spec with more pairs than it was sized for', () => {
    expect(() => new RotationTable(2).set(specOf(8, 8, 10000), 1)).toThrow(RangeError);
  });
});
