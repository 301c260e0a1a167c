// config.json → the few numbers the engine needs, with the architecture checks that reject models
// the sink cache cannot drive. Runs in the engine host; pure, no onnxruntime.

import { ModelError } from '../errors';
import type { RopeSpec } from '../rope';
import { ropeSpecFromConfig } from '../ropeConfig';
import { headDimOf, numberField, requiredPositiveInt, textConfigOf, tokenIdList, tokenIdOrNull, type JsonObject } from './configFields';

/** The decoder's shape and positions as config.json states them. */
export interface ModelConfig {
  readonly modelType: string;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly maxPositionEmbeddings: number;
  /** DESIGN §3 rebase bound: min(max_position_embeddings, original_max_position_embeddings when rope_scaling, 32768). */
  readonly maxPos: number;
  readonly rope: RopeSpec;
  readonly ropeScalingType: string | null;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
}

// Families whose positions are learned tables, sinusoids or ALiBi: a key carries no rotation a cache
// could shift, so moving sinks (or rebasing) would change what the model sees.
const NON_ROPE_TYPES: Readonly<Record<string, string>> = {
  gpt2: 'learned absolute positions',
  gpt_bigcode: 'learned absolute positions',
  opt: 'learned absolute positions',
  gpt_neo: 'learned absolute positions',
  biogpt: 'learned absolute positions',
  xglm: 'sinusoidal absolute positions',
  bloom: 'ALiBi positions',
  mpt: 'ALiBi positions',
  jais: 'ALiBi positions',
};

// Not decoder-only transformers with a KV cache of the standard shape.
const UNSUPPORTED_TYPES: Readonly<Record<string, string>> = {
  mamba: 'a state-space model (no KV cache)',
  mamba2: 'a state-space model (no KV cache)',
  rwkv: 'a recurrent model (no KV cache)',
  t5: 'an encoder-decoder model',
  bart: 'an encoder-decoder model',
  mbart: 'an encoder-decoder model',
  marian: 'an encoder-decoder model',
  whisper: 'an encoder-decoder model',
  m2m_100: 'an encoder-decoder model',
  bert: 'an encoder-only model',
  roberta: 'an encoder-only model',
};

/** Parses config.json (already JSON-decoded). Throws ModelError naming `file`. */
export function parseModelConfig(raw: JsonObject, file = 'config.json'): ModelConfig {
  const cfg = textConfigOf(raw);
  const modelType = typeof cfg.model_type === 'string' ? cfg.model_type : typeof raw.model_type === 'string' ? raw.model_type : '';
  if (modelType === '') throw new ModelError('invalid-config', file, 'lacks "model_type"');

  const nonRope = NON_ROPE_TYPES[modelType];
  if (nonRope !== undefined) {
    throw new ModelError(
      'learned-positions',
      file,
      `model_type "${modelType}" uses ${nonRope}, not RoPE; the attention-sink cache needs a RoPE model (Llama, Qwen, Mistral, Phi-3, SmolLM, Gemma, ...)`,
    );
  }
  if (modelType === 'falcon' && cfg.alibi === true) {
    throw new ModelError('learned-positions', file, 'this Falcon config uses ALiBi positions, not RoPE; the attention-sink cache needs a RoPE model');
  }
  const unsupported = UNSUPPORTED_TYPES[modelType];
  if (unsupported !== undefined || cfg.is_encoder_decoder === true) {
    throw new ModelError('unsupported-architecture', file, `model_type "${modelType}" is ${unsupported ?? 'an encoder-decoder model'}; Ouro runs decoder-only language models`);
  }

  const numLayers = requiredPositiveInt(cfg, ['num_hidden_layers', 'n_layer', 'num_layers'], file);
  const { numHeads, hiddenSize, headDim } = headDimOf(cfg, file);
  const kvRaw = numberField(cfg, ['num_key_value_heads', 'num_kv_heads', 'n_head_kv'], file);
  const numKvHeads = kvRaw ?? (cfg.multi_query === true ? 1 : numHeads);
  if (!Number.isInteger(numKvHeads) || numKvHeads <= 0 || numHeads % numKvHeads !== 0) {
    throw new ModelError('invalid-config', file, `num_key_value_heads ${numKvHeads} must be a positive divisor of num_attention_heads ${numHeads}`);
  }
  const vocabSize = requiredPositiveInt(cfg, ['vocab_size', 'padded_vocab_size'], file);
  const maxPositionEmbeddings = requiredPositiveInt(cfg, ['max_position_embeddings', 'n_positions', 'max_sequence_length', 'seq_length'], file);
  const rope = ropeSpecFromConfig(raw, file);

  return {
    modelType,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    hiddenSize,
    vocabSize,
    maxPositionEmbeddings,
    maxPos: rope.maxPos,
    rope: rope.spec,
    ropeScalingType: rope.scalingType,
    bosTokenId: tokenIdOrNull(cfg.bos_token_id ?? raw.bos_token_id, 'bos_token_id', file),
    eosTokenIds: tokenIdList(cfg.eos_token_id ?? raw.eos_token_id, 'eos_token_id', file),
  };
}
