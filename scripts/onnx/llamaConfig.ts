// config.json for a Llama model folder written from weights (the test fixtures, the demo model). Runs in
// Node (tests, build).

import type { LlamaShape } from './llamaGraph';

/** The shape and position fields config.json carries. */
export interface LlamaConfigSpec extends LlamaShape {
  /** config.max_position_embeddings. */
  maxPositions: number;
  ropeTheta: number;
  /** Default 1 (all of each head rotates). */
  partialRotaryFactor?: number;
  /** Written as rope_scaling; a graph builder bakes linear and llama3 scaling into its inv_freq. */
  ropeScaling?: Record<string, unknown> | null;
  /** Default false. */
  tieEmbeddings?: boolean;
}

/**
 * config.json of a LlamaForCausalLM in transformers' key order, as Optimum exports carry it
 * (`partial_rotary_factor` only when it is not 1).
 */
export function llamaConfig(spec: Readonly<LlamaConfigSpec>, eps: number, bos: number, eos: number): Record<string, unknown> {
  const config: Record<string, unknown> = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    attention_bias: false,
    attention_dropout: 0,
    bos_token_id: bos,
    eos_token_id: eos,
    head_dim: spec.headDim,
    hidden_act: 'silu',
    hidden_size: spec.hidden,
    initializer_range: 0.02,
    intermediate_size: spec.intermediate,
    max_position_embeddings: spec.maxPositions,
    mlp_bias: false,
    num_attention_heads: spec.heads,
    num_hidden_layers: spec.layers,
    num_key_value_heads: spec.kvHeads,
  };
  if ((spec.partialRotaryFactor ?? 1) !== 1) config.partial_rotary_factor = spec.partialRotaryFactor;
  Object.assign(config, {
    pretraining_tp: 1,
    rms_norm_eps: eps,
    rope_scaling: spec.ropeScaling ?? null,
    rope_theta: spec.ropeTheta,
    tie_word_embeddings: spec.tieEmbeddings ?? false,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: spec.vocab,
  });
  return config;
}
