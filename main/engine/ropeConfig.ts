// The model's RoPE (rotary dim, theta, inv_freq after rope_scaling) read from config.json, computed the
// way transformers' modeling_rope_utils does it. Runs in the engine host; pure math, no onnxruntime.

import { ModelError } from './errors';
import { headDimOf, isJsonObject, numberField, textConfigOf, type JsonObject } from './model/configFields';
import type { RopeSpec } from './rope';

/** DESIGN §3: positions fed to the model never reach this, whatever the config allows. */
export const MAX_POS_CAP = 32768;

/** What the cache needs to know about the model's rotary embedding. */
export interface RopeFromConfig {
  readonly spec: RopeSpec;
  /** rope_scaling type as transformers names it (`linear`, `llama3`, `yarn`, ...), null for plain RoPE. */
  readonly scalingType: string | null;
  /**
   * DESIGN §3 rebase bound: min(max_position_embeddings, original_max_position_embeddings when the model
   * has rope scaling, 32768). Below it dynamic NTK and longrope use their unscaled / short tables.
   */
  readonly maxPos: number;
}

const SUPPORTED_SCALING = ['default', 'linear', 'dynamic', 'yarn', 'longrope', 'llama3'] as const;

/**
 * Reads the RoPE parameters of a config.json object (the decoder's `text_config` when nested).
 * Accepts transformers v4 `rope_scaling` and v5 `rope_parameters`, GPT-NeoX's `rotary_pct` /
 * `rotary_emb_base`. Throws ModelError `unsupported-rope-scaling` or `invalid-config`.
 */
export function ropeSpecFromConfig(raw: JsonObject, file = 'config.json'): RopeFromConfig {
  const cfg = textConfigOf(raw);
  const { headDim } = headDimOf(cfg, file);
  const maxPositionEmbeddings = numberField(cfg, ['max_position_embeddings', 'n_positions', 'max_sequence_length', 'seq_length'], file);
  if (maxPositionEmbeddings === undefined || !Number.isInteger(maxPositionEmbeddings) || maxPositionEmbeddings <= 1) {
    throw new ModelError('invalid-config', file, 'lacks a valid "max_position_embeddings"');
  }

  const scalingRaw = cfg.rope_scaling ?? cfg.rope_parameters ?? null;
  if (scalingRaw !== null && !isJsonObject(scalingRaw)) {
    throw new ModelError('invalid-config', file, `"rope_scaling" must be an object or null, got ${JSON.stringify(scalingRaw)}`);
  }
  const scaling: JsonObject = scalingRaw ?? {};
  const typeRaw = scaling.rope_type ?? scaling.type ?? 'default';
  const perLayerType = Object.keys(scaling).length > 0 && Object.values(scaling).every(isJsonObject);
  if (typeof typeRaw !== 'string' || perLayerType) {
    // transformers v5 nests one parameter set per layer type (e.g. Gemma 3 sliding/full attention).
    throw new ModelError('unsupported-rope-scaling', file, 'rope parameters per layer type are not supported; the cache needs one RoPE for every layer');
  }
  // Phi-3's first configs named longrope "su"; transformers renames it on load.
  const type = typeRaw === 'su' ? 'longrope' : typeRaw;
  if (!(SUPPORTED_SCALING as readonly string[]).includes(type)) {
    throw new ModelError(
      'unsupported-rope-scaling',
      file,
      `rope scaling "${typeRaw}" is not supported (supported: ${SUPPORTED_SCALING.join(', ')}); the cache could not re-rotate its keys`,
    );
  }

  const theta =
    numberField(cfg, ['rope_theta'], file) ??
    numberField(scaling, ['rope_theta'], file) ??
    numberField(cfg, ['rotary_emb_base'], file) ??
    10000;
  if (!(theta > 1)) throw new ModelError('invalid-config', file, `"rope_theta" must be greater than 1, got ${theta}`);
  const partial =
    numberField(cfg, ['partial_rotary_factor'], file) ??
    numberField(scaling, ['partial_rotary_factor'], file) ??
    numberField(cfg, ['rotary_pct'], file) ??
    1;
  if (!(partial > 0 && partial <= 1)) {
    throw new ModelError('invalid-config', file, `"partial_rotary_factor" must be in (0, 1], got ${partial}`);
  }
  // Python's int() truncates, as transformers does.
  const dim = Math.trunc(headDim * partial);
  if (dim < 2 || dim % 2 !== 0) {
    throw new ModelError('invalid-config', file, `rotary dim head_dim × partial_rotary_factor = ${dim} must be even and at least 2`);
  }
  const half = dim / 2;
  const posFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) posFreq[i] = theta ** ((2 * i) / dim);
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / posFreq[i];

  const num = (name: string, fallback?: number): number => {
    const v = numberField(scaling, [name], file) ?? fallback;
    if (v === undefined || !(v > 0)) {
      throw new ModelError('invalid-config', file, `rope scaling "${type}" needs a positive "${name}"`);
    }
    return v;
  };
  const originalMax = numberField(scaling, ['original_max_position_embeddings'], file) ?? numberField(cfg, ['original_max_position_embeddings'], file);

  switch (type) {
    case 'default':
    case 'dynamic':
      // Dynamic NTK only changes theta past max_position_embeddings, which maxPos keeps us below.
      break;
    case 'linear': {
      const factor = num('factor');
      for (let i = 0; i < half; i++) invFreq[i] /= factor;
      break;
    }
    case 'llama3': {
      const factor = num('factor');
      const lowFreqFactor = num('low_freq_factor');
      const highFreqFactor = num('high_freq_factor');
      const oldContext = num('original_max_position_embeddings');
      if (highFreqFactor <= lowFreqFactor) {
        throw new ModelError('invalid-config', file, 'llama3 rope scaling needs high_freq_factor > low_freq_factor');
      }
      const lowFreqWavelen = oldContext / lowFreqFactor;
      const highFreqWavelen = oldContext / highFreqFactor;
      for (let i = 0; i < half; i++) {
        const inv = invFreq[i];
        const wavelen = (2 * Math.PI) / inv;
        if (wavelen < highFreqWavelen) continue;
        if (wavelen > lowFreqWavelen) {
          invFreq[i] = inv / factor;
        } else {
          const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
          invFreq[i] = ((1 - smooth) * inv) / factor + smooth * inv;
        }
      }
      break;
    }
    case 'yarn': {
      const factor = num('factor');
      const yarnOriginal = originalMax ?? maxPositionEmbeddings;
      const betaFast = numberField(scaling, ['beta_fast'], file) || 32;
      const betaSlow = numberField(scaling, ['beta_slow'], file) || 1;
      const truncate = scaling.truncate !== false;
      const correctionDim = (rotations: number): number =>
        (dim * Math.log(yarnOriginal / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
      let low = correctionDim(betaFast);
      let high = correctionDim(betaSlow);
      if (truncate) {
        low = Math.floor(low);
        high = Math.ceil(high);
      }
      low = Math.max(low, 0);
      high = Math.min(high, dim - 1);
      if (low === high) high += 0.001;
      for (let i = 0; i < half; i++) {
        const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
        const extrapolation = 1 - ramp;
        invFreq[i] = (1 / (factor * posFreq[i])) * (1 - extrapolation) + (1 / posFreq[i]) * extrapolation;
      }
      break;
    }
    case 'longrope': {
      const short = scaling.short_factor;
      if (!Array.isArray(short) || short.length !== half || !short.every((v) => typeof v === 'number' && v > 0)) {
        throw new ModelError('invalid-config', file, `longrope "short_factor" must list ${half} positive numbers (rotary dim / 2)`);
      }
      for (let i = 0; i < half; i++) invFreq[i] = 1 / ((short[i] as number) * posFreq[i]);
      break;
    }
  }

  const bounds = [maxPositionEmbeddings, MAX_POS_CAP];
  if (type !== 'default' && originalMax !== undefined && originalMax > 1) bounds.push(originalMax);
  return {
    spec: { headDim, rotaryDim: dim, invFreq },
    scalingType: type === 'default' ? null : type,
    maxPos: Math.floor(Math.min(...bounds)),
  };
}
