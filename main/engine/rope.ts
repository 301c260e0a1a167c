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
