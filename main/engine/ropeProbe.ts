// Load-time check (DESIGN §3) that cached keys can be re-rotated: the model's key for a token at p,
// rotated by d with our RopeSpec, must equal its key at p + d. Runs in the engine host, on the session.

import { allocKv } from './cache/kvStorage';
import { halvesToFloats } from './half';
import type { ModelConfig } from './model/modelConfig';
import type { ModelIO } from './model/modelIO';
import type { DecoderSession, TensorData } from './onnxSession';
import { rotateHeadRow } from './rope';

/** Probe result; on failure the engine falls back to `original` positions with a visible warning. */
export type RopeProbeResult = { ok: true; maxError: number } | { ok: false; reason: string; maxError: number };

/** Probe knobs; the defaults exercise angles of several hundred radians on the fastest frequency. */
export interface RopeProbeOptions {
  /** First position (default 3). */
  readonly p?: number;
  /** Position delta (default min(411, maxPos - 1 - p)). */
  readonly d?: number;
  /** Token to probe with (default: a mid-vocabulary id; the next ids are tried if its keys are ~0). */
  readonly tokenId?: number;
  /**
   * Absolute tolerance per unit of key magnitude (default 1e-4 for fp32 keys; 4e-3 for fp16 keys, whose
   * two roundings alone differ by up to 2^-11 each: a wrong RoPE still misses by O(1)).
   */
  readonly tolerance?: number;
}

type Keys = Float32Array[];

async function keysAt(session: Pick<DecoderSession, 'run'>, io: ModelIO, config: ModelConfig, tokenId: number, pos: number): Promise<Keys> {
  const emptyPast: TensorData = { type: io.kvDtype, data: allocKv(io.kvDtype, 0), dims: [1, config.numKvHeads, 0, config.headDim] };
  const feeds: Record<string, TensorData> = {
    [io.inputIds]: { type: 'int64', data: BigInt64Array.of(BigInt(tokenId)), dims: [1, 1] },
    [io.attentionMask]: { type: 'int64', data: BigInt64Array.of(1n), dims: [1, 1] },
    [io.positionIds]: { type: 'int64', data: BigInt64Array.of(BigInt(pos)), dims: [1, 1] },
  };
  for (const name of [...io.pastKeys, ...io.pastValues]) feeds[name] = emptyPast;
  for (const extra of io.extraInputs) feeds[extra.name] = extra.value;
  const out = await session.run(feeds, io.presentKeys);
  return io.presentKeys.map((name) => {
    const t = out[name];
    if (t.type !== io.kvDtype) throw new Error(`${name} is ${t.type}, expected ${io.kvDtype}`);
    if (t.data.length !== config.numKvHeads * config.headDim) {
      throw new Error(`${name} has ${t.data.length} values for one token, expected ${config.numKvHeads} heads × ${config.headDim}`);
    }
    if (t.data instanceof Float32Array) return t.data;
    const keys = new Float32Array(t.data.length);
    halvesToFloats(t.data as Uint16Array, 0, keys, 0, keys.length);
    return keys;
  });
}

function maxAbs(keys: Keys): number {
  let m = 0;
  for (const k of keys) for (let i = 0; i < k.length; i++) m = Math.max(m, Math.abs(k[i]));
  return m;
}

/**
 * Runs the model on one token at positions p and p + d (fresh, empty past each time), rotates every
 * layer's key from p by d with `config.rope` and compares with the key at p + d. Passes when the largest
 * difference is within `tolerance × max(1, max |key|)`.
 */
export async function probeRope(
  session: Pick<DecoderSession, 'run'>,
  io: ModelIO,
  config: ModelConfig,
  opts: RopeProbeOptions = {},
): Promise<RopeProbeResult> {
  const p = opts.p ?? 3;
  const d = opts.d ?? Math.min(411, config.maxPos - 1 - p);
  const tolerance = opts.tolerance ?? (io.kvDtype === 'float16' ? 4e-3 : 1e-4);
  if (!(p >= 0 && d > 0 && p + d < config.maxPos)) {
    return { ok: false, reason: `cannot probe: positions ${p} and ${p + d} do not fit below maxPos ${config.maxPos}`, maxError: Infinity };
  }
  const { numKvHeads, headDim, vocabSize } = config;

  let tokenId = opts.tokenId ?? Math.floor(vocabSize / 2) + 7;
  let base: Keys | null = null;
  let moved: Keys | null = null;
  // A token whose embedding is zero (padding rows) gives zero keys, which any rotation "matches".
  for (let attempt = 0; attempt < 4; attempt++, tokenId++) {
    const id = tokenId % vocabSize;
    const k = await keysAt(session, io, config, id, p);
    if (maxAbs(k) > 1e-3) {
      base = k;
      moved = await keysAt(session, io, config, id, p + d);
      break;
    }
  }
  if (base === null || moved === null) {
    return { ok: false, reason: 'cannot probe: the model gives near-zero keys for every probe token', maxError: Infinity };
  }

  const scale = Math.max(1, maxAbs(base), maxAbs(moved));
  let maxError = 0;
  let worst = '';
  for (let l = 0; l < base.length; l++) {
    const rotated = Float32Array.from(base[l]);
    for (let h = 0; h < numKvHeads; h++) {
      rotateHeadRow(rotated, h * headDim, config.rope, d);
      for (let i = 0; i < headDim; i++) {
        const err = Math.abs(rotated[h * headDim + i] - moved[l][h * headDim + i]);
        if (err > maxError || Number.isNaN(err)) {
          maxError = Number.isNaN(err) ? Infinity : err;
          worst = `layer ${l}, kv head ${h}, dim ${i}`;
        }
      }
    }
  }
  if (maxError <= tolerance * scale) return { ok: true, maxError };
  return {
    ok: false,
    maxError,
    reason:
      `a key at position ${p} rotated by ${d} differs from the model's key at ${p + d} by ${maxError.toExponential(2)} ` +
      `(${worst}; allowed ${(tolerance * scale).toExponential(2)}): the model's RoPE is not the one config.json describes ` +
      '(interleaved pairs, other scaling, or positions the graph ignores), so cached keys cannot be moved',
  };
}
