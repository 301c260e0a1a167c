// Reading special-token fields of tokenizer_config.json, which come as strings or as serialized
// AddedToken objects (`{ "content": "<s>", ... }`). Runs in the engine host.

/** The special-token keys transformers exposes as `special_tokens_map` (and to chat templates). */
export const SPECIAL_TOKEN_KEYS = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
] as const;

export type SpecialTokenKey = (typeof SPECIAL_TOKEN_KEYS)[number];

/** The text of a special-token field: a string, `{content}` object, or null when absent/unusable. */
export function specialTokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'content' in value) {
    const content = (value as { content: unknown }).content;
    if (typeof content === 'string') return content;
  }
  return null;
}

/** `additional_special_tokens` as strings (entries that are neither strings nor `{content}` dropped). */
export function additionalSpecialTokens(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  for (const v of value) {
    const t = specialTokenText(v);
    if (t !== null) out.push(t);
  }
  return out;
}
