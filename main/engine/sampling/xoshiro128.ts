// xoshiro128** pseudo-random generator with a savable 128-bit state, so a snapshot of a conversation
// resumes the exact same sampling. Runs in the engine host.

/** splitmix32 (Vigna's mixing constants): spreads one seed word over the four state words. */
function splitmix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * xoshiro128** 1.1 (Blackman & Vigna, 2018): 32-bit outputs, period 2^128 - 1, integer-only, so every
 * platform draws the same numbers. Seeded from a non-negative safe integer through splitmix32.
 */
export class Xoshiro128 {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    this.seed(seed);
  }

  /** Restarts the stream from `seed` (a non-negative safe integer; higher bits are mixed in too). */
  seed(seed: number): void {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 0x1_0000_0000) >>> 0;
    let x = (lo ^ Math.imul(hi, 0x27d4eb2d)) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      this.s[i] = splitmix32(x ^ hi);
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** The next 32-bit unsigned output. */
  nextUint32(): number {
    const s = this.s;
    const r = Math.imul(s[1], 5);
    const result = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 11) | (s[3] >>> 21);
    return result;
  }

  /** A uniform float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** A copy of the 4-word state. */
  getState(): Uint32Array {
    return this.s.slice();
  }

  /** Restores a state from getState; rejects anything but 4 uint32 words not all zero. */
  setState(state: ArrayLike<number>): void {
    if (state.length !== 4) throw new RangeError(`sampler state must have 4 words, got ${state.length}`);
    for (let i = 0; i < 4; i++) {
      const w = state[i];
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new RangeError(`sampler state word ${i} is not a uint32: ${w}`);
    }
    if ((state[0] | state[1] | state[2] | state[3]) === 0) throw new RangeError('sampler state must not be all zero');
    for (let i = 0; i < 4; i++) this.s[i] = state[i];
  }
}
