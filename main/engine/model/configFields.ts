// Typed reads of Hugging Face config.json fields under their several family-specific names.
// Runs wherever a model folder is read (engine host); pure functions over parsed JSON.

import { ModelError } from '../errors';

/** A parsed JSON object. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The decoder's own config: multimodal / wrapper configs (Gemma 3, Llava, ...) nest it under
 * `text_config` or `llm_config` and keep only glue at the top.
 */
export function textConfigOf(raw: JsonObject): JsonObject {
  if (raw.num_hidden_layers !== undefined || raw.n_layer !== undefined || raw.num_layers !== undefined) return raw;
  for (const key of ['text_config', 'llm_config']) {
    const inner = raw[key];
    if (isJsonObject(inner)) return inner;
  }
  return raw;
}

/** The first of `names` present with a finite number value, or undefined. Null counts as absent. */
export function numberField(obj: JsonObject, names: readonly string[], file: string): number | undefined {
  for (const name of names) {
    const v = obj[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ModelError('invalid-config', file, `"${name}" must be a number, got ${JSON.stringify(v)}`);
    }
    return v;
  }
  return undefined;
}

/** Like numberField, but the value must be a positive integer and must be present. */
export function requiredPositiveInt(obj: JsonObject, names: readonly string[], file: string): number {
  const v = numberField(obj, names, file);
  if (v === undefined) {
    throw new ModelError('invalid-config', file, `lacks "${names[0]}"; is this a decoder-only language model config?`);
  }
  if (!Number.isInteger(v) || v <= 0) {
    throw new ModelError('invalid-config', file, `"${names[0]}" must be a positive integer, got ${v}`);
  }
  return v;
}

/** A token id or list of token ids (eos_token_id takes both forms); null/absent gives []. */
export function tokenIdList(v: unknown, name: string, file: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new ModelError('invalid-config', file, `"${name}" must be a token id or a list of them, got ${JSON.stringify(v)}`);
    }
  }
  return list as number[];
}

/** A single token id or null; a list keeps its first entry (some configs list several BOS ids). */
export function tokenIdOrNull(v: unknown, name: string, file: string): number | null {
  const list = tokenIdList(v, name, file);
  return list.length > 0 ? list[0] : null;
}

/** Head dim as transformers derives it: `head_dim` when set, else hidden_size / num_attention_heads. */
export function headDimOf(cfg: JsonObject, file: string): { numHeads: number; hiddenSize: number; headDim: number } {
  const numHeads = requiredPositiveInt(cfg, ['num_attention_heads', 'n_head', 'num_heads'], file);
  const hiddenSize = requiredPositiveInt(cfg, ['hidden_size', 'n_embd', 'd_model'], file);
  const explicit = numberField(cfg, ['head_dim'], file);
  if (explicit !== undefined) {
    if (!Number.isInteger(explicit) || explicit <= 0) {
      throw new ModelError('invalid-config', file, `"head_dim" must be a positive integer, got ${explicit}`);
    }
    return { numHeads, hiddenSize, headDim: explicit };
  }
  if (hiddenSize % numHeads !== 0) {
    throw new ModelError(
      'invalid-config',
      file,
      `hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads} and there is no "head_dim"`,
    );
  }
  return { numHeads, hiddenSize, headDim: hiddenSize / numHeads };
}
