// rotateHeadRow against RoPE applied from scratch (rotate_half pairing), on full and partial heads.
import { describe, expect, test } from 'vitest';
import { rotateHeadRow, type RopeSpec } from '../../../main/engine/rope';

/** HF apply_rotary_pos_emb on one head, in double: x·cos + rotate_half(x)·sin on the first rotaryDim dims. */
function ropeAt(x: readonly number[], spec: RopeSpec, pos: number): number[] {
  const half = spec.rotaryDim / 2;
  const out = [...x];
  for (let j = 0; j < spec.rotaryDim; j++) {
    const angle = pos * spec.invFreq[j % half];
    const rotated = j < half ? -x[j + half] : x[j - half];
    out[j] = x[j] * Math.cos(angle) + rotated * Math.sin(angle);
  }
  return out;
}

function specOf(headDim: number, rotaryDim: number, theta: number): RopeSpec {
  const invFreq = new Float64Array(rotaryDim / 2);
  for (let i = 0; i < invFreq.length; i++) invFreq[i] = theta ** ((-2 * i) / rotaryDim);
  return { headDim, rotaryDim, invFreq };
}

const raw = [0.3, -1.2, 0.7, 2.1, -0.4, 0.9, 1.5, -0.8, 0.25, -0.6, 1.1, 0.05, -1.7, 0.45, 0.8, -0.35];

describe('rotateHeadRow', () => {
  test.each([
    ['full head', specOf(8, 8, 10000)],
    ['partial head', specOf(16, 8, 10000)],
  ])('%s: key at p rotated by d equals the key computed at p + d', (_, spec) => {
    const x = raw.slice(0, spec.headDim);
    for (const [p, d] of [[3, 411], [0, 1], [1000, -997], [5, 30000]]) {
      const buf = Float32Array.from(ropeAt(x, spec, p));
      rotateHeadRow(buf, 0, spec, d);
      const want = ropeAt(x, spec, p + d);
      for (let i = 0; i < spec.headDim; i++) expect(Math.abs(buf[i] - want[i])).toBeLessThan(2e-6);
    }
  });

  test('dims past rotaryDim and rows outside [offset, offset + headDim) are untouched', () => {
    const spec = specOf(8, 4, 10000);
    const buf = Float32Array.from(raw);
    rotateHeadRow(buf, 8, spec, 123);
    expect(Array.from(buf.subarray(0, 8))).toEqual(Array.from(Float32Array.from(raw.slice(0, 8))));
    expect(Array.from(buf.subarray(12, 16))).toEqual(Array.from(Float32Array.from(raw.slice(12, 16))));
    expect(Array.from(buf.subarray(8, 12))).not.toEqual(Array.from(Float32Array.from(raw.slice(8, 12))));
  });

  test('a rotation by d then -d restores the row; delta 0 changes nothing', () => {
    const spec = specOf(16, 16, 500000);
    const buf = Float32Array.from(raw);
    rotateHeadRow(buf, 0, spec, 0);
    expect(Array.from(buf)).toEqual(Array.from(Float32Array.from(raw)));
    rotateHeadRow(buf, 0, spec, 4097);
    rotateHeadRow(buf, 0, spec, -4097);
    for (let i = 0; i < 16; i++) expect(Math.abs(buf[i] - raw[i])).toBeLessThan(1e-6);
  });
});
