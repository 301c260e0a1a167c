// IEEE 754 binary16 ("fp16") conversion for fp16 KV caches and logits: Node 20 has no Float16Array, so fp16
// data lives in Uint16Arrays as raw bits. Runs in the engine host; pure.

let decodeTable: Float32Array | null = null;

/** Every half's value as a float32 (exact: binary16 ⊂ binary32), built on first use (256 KiB). */
function table(): Float32Array {
  if (decodeTable !== null) return decodeTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac === 0 ? sign * Infinity : NaN;
    else t[h] = sign * (1024 + frac) * 2 ** (exp - 25);
  }
  decodeTable = t;
  return t;
}

/** The value of the half with bits `h`. */
export function fromHalf(h: number): number {
  return table()[h & 0xffff];
}

/** Decodes `count` halves of `src` from `srcAt` into `dst` at `dstAt`. */
export function halvesToFloats(src: Uint16Array, srcAt: number, dst: Float32Array, dstAt: number, count: number): void {
  const t = table();
  for (let i = 0; i < count; i++) dst[dstAt + i] = t[src[srcAt + i]];
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  return r > 0.5 || (r === 0.5 && (f & 1) === 1) ? f + 1 : f;
}

/**
 * The bits of the half nearest to `x` (ties to even), rounding the double directly: converting through
 * float32 first would round twice, which is what re-rotation from pristine keys must avoid.
 */
export function toHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // 65504 is the largest half; from the midpoint to the next power (65520) up, the nearest is infinity.
  if (a >= 65520) return sign | 0x7c00;
  // Subnormals (and the smallest normal, which 1024 units of 2^-24 spell the same way).
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  // a / 2^e * 1024 is exact in double; a mantissa rounding up to 2048 carries into the exponent.
  const m = roundHalfEven((a / 2 ** e) * 1024);
  return sign | (((e + 15) << 10) + m - 1024);
}
