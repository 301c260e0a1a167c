// Rotary position embedding math shared by the cache (key re-rotation) and the load-time probe.
// Runs in the engine host. Plain numbers, no onnxruntime.

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
 * Rotates one head row `buf[offset .. offset + headDim)` in place by a position delta: the key of a
 * token at position p becomes the key it would have at p + delta. Angles are `delta * invFreq[i]` in
 * double precision, pairing dim i with i + rotaryDim/2 (rotate_half); dims past rotaryDim are left as
 * they are. Allocates nothing, so the cache can call it per sink row per step.
 */
export function rotateHeadRow(buf: Float32Array, offset: number, spec: RopeSpec, delta: number): void {
  if (delta === 0) return;
  const half = spec.rotaryDim >> 1;
  const invFreq = spec.invFreq;
  for (let i = 0; i < half; i++) {
    const angle = delta * invFreq[i];
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const a = offset + i;
    const b = a + half;
    const x1 = buf[a];
    const x2 = buf[b];
    buf[a] = x1 * c - x2 * s;
    buf[b] = x2 * c + x1 * s;
  }
}
