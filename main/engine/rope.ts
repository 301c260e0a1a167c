// Rotary position embedding math shared by the cache (key re-rotation) and the load-time probe.
// Runs in the engine host. Plain numbers, no onnxruntime.
import { fromHalf, toHalf } from './half';

/**
 * The model's RoPE as the cache needs it: rotate_half pairing (dim i pairs with i + rotaryDim/2 for
 * i < rotaryDim/2), the rotated prefix of each head, and the inverse frequencies after rope_scaling.
 * Attention scaling factors (yarn/longrope mscale) are left out on purpose: they scale cos and sin
 * at every position alike, so rotating an already-rotated key by a delta must not apply them again.
 */
export interface RopeSpec {
  readonly headDim: number;
  /** Number of leading dims of each head that are rotated (headDim * partial_rotary_factor). */
  readonly rotaryDim: number;
  /** Length rotaryDim / 2, in double precision. */
  readonly invFreq: Float64Array;
}

/**
 * cos and sin of `delta * invFreq[i]` (double precision) for each rotated pair: one rotation by `delta`,
 * computed once and applied to any number of head rows with {@link applyRotation}.
 */
export class RotationTable {
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  private spec: RopeSpec | null = null;
  private delta = 0;

  constructor(readonly half: number) {
    this.cos = new Float64Array(half);
    this.sin = new Float64Array(half);
  }

  /** Fills the table for `delta` (a no-op when it already holds it); returns itself. */
  set(spec: RopeSpec, delta: number): this {
    if (spec === this.spec && delta === this.delta) return this;
    const half = spec.rotaryDim >> 1;
    if (half > this.half) throw new RangeError(`rotation table of ${this.half} pairs cannot hold ${half}`);
    const invFreq = spec.invFreq;
    for (let i = 0; i < half; i++) {
      const angle = delta * invFreq[i];
      this.cos[i] = Math.cos(angle);
      this.sin[i] = Math.sin(angle);
    }
    this.spec = spec;
    this.delta = delta;
    return this;
  }
}

/**
 * Rotates one head row `buf[offset .. offset + headDim)` in place by the table's rotation, pairing dim i
 * with i + rotaryDim/2 (rotate_half); dims past rotaryDim are left as they are.
 */
export function applyRotation(buf: Float32Array | Float64Array, offset: number, spec: RopeSpec, table: RotationTable): void {
  const half = spec.rotaryDim >> 1;
  const { cos, sin } = table;
  for (let i = 0; i < half; i++) {
    const c = cos[i];
    const s = sin[i];
    const a = offset + i;
    const b = a + half;
    const x1 = buf[a];
    const x2 = buf[b];
    buf[a] = x1 * c - x2 * s;
    buf[b] = x2 * c + x1 * s;
  }
}

/**
 * {@link applyRotation} on a row of halves (fp16 bits), through `scratch` (at least rotaryDim doubles):
 * each pair is rotated in double precision and rounded to half once, so rotating a pristine key adds one
 * rounding, never an accumulating drift (a float32 detour would round twice).
 */
export function applyRotationHalf(buf: Uint16Array, offset: number, spec: RopeSpec, table: RotationTable, scratch: Float64Array): void {
  const rotary = spec.rotaryDim;
  for (let i = 0; i < rotary; i++) scratch[i] = fromHalf(buf[offset + i]);
  applyRotation(scratch, 0, spec, table);
  for (let i = 0; i < rotary; i++) buf[offset + i] = toHalf(scratch[i]);
}

/**
 * Rotates one head row `buf[offset .. offset + headDim)` in place by a position delta: the key of a
 * token at position p becomes the key it would have at p + delta. A one-off convenience (the load-time
 * probe); rotating many rows by one delta, fill a {@link RotationTable} once and use {@link applyRotation}.
 */
export function rotateHeadRow(buf: Float32Array, offset: number, spec: RopeSpec, delta: number): void {
  if (delta === 0) return;
  applyRotation(buf, offset, spec, new RotationTable(spec.rotaryDim >> 1).set(spec, delta));
}
