// Turns llama2.c's exported sentencepiece vocabulary (`tok512.bin`: max piece length, then per piece a
// float32 score, an int32 length and the bytes) into a Hugging Face Llama-2-style BPE `tokenizer.json` and
// its config files. Runs in Node at build time (and in the tests that check it).

/** One vocabulary entry as sentencepiece names it (`▁` for a space, `<0xNN>` for byte pieces). */
export interface SentencePiece {
  readonly piece: string;
  readonly score: number;
}

/** The three special pieces llama2.c's `tokenizer.py` export writes as `<unk>`, `\n<s>\n` and `\n</s>\n`. */
export const SPECIAL_PIECES = ['<unk>', '<s>', '</s>'] as const;

/** Parses `bytes` (a whole tokenizer `.bin`) holding `vocabSize` pieces. */
export function readLlama2cTokenizer(bytes: Uint8Array, vocabSize: number): SentencePiece[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const pieces: SentencePiece[] = [];
  let at = 4; // max_token_length: only sizes run.c's buffers
  for (let id = 0; id < vocabSize; id++) {
    if (at + 8 > bytes.length) throw new Error(`llama2.c tokenizer ends at piece ${id} of ${vocabSize}`);
    const score = view.getFloat32(at, true);
    const length = view.getInt32(at + 4, true);
    if (length < 0 || at + 8 + length > bytes.length) throw new Error(`llama2.c tokenizer piece ${id} has length ${length}, past the end of the file`);
    const text = decoder.decode(bytes.subarray(at + 8, at + 8 + length));
    at += 8 + length;
    // The export spelled the specials out and turned sentencepiece's `▁` into a space; undo both.
    pieces.push({ piece: id < SPECIAL_PIECES.length ? SPECIAL_PIECES[id] : text.replaceAll(' ', '▁'), score });
  }
  if (at !== bytes.length) throw new Error(`llama2.c tokenizer has ${bytes.length - at} bytes after its ${vocabSize} pieces`);
  return pieces;
}

/**
 * BPE merges from piece scores as transformers' SentencePieceExtractor derives them: every split of a
 * piece into two known pieces, ordered by the pair's ids within a piece, then by the piece's score
 * (highest first; the sort is stable, so ties keep vocabulary order).
 */
export function sentencePieceMerges(pieces: readonly SentencePiece[]): Array<[string, string]> {
  const ids = new Map(pieces.map((p, id) => [p.piece, id]));
  const merges: Array<{ left: string; right: string; score: number }> = [];
  for (const { piece, score } of pieces) {
    const chars = Array.from(piece);
    const local = [];
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join('');
      const right = chars.slice(i).join('');
      if (ids.has(left) && ids.has(right)) local.push({ left, right, score });
    }
    local.sort((a, b) => ids.get(a.left)! - ids.get(b.left)! || ids.get(a.right)! - ids.get(b.right)!);
    merges.push(...local);
  }
  merges.sort((a, b) => b.score - a.score);
  return merges.map((m) => [m.left, m.right]);
}

/** Llama-2's tokenizer.json decoder: `▁` back to spaces, byte pieces to bytes, the leading space dropped. */
export const LLAMA2_DECODER = {
  type: 'Sequence',
  decoders: [
    { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
    { type: 'Strip', content: ' ', start: 1, stop: 0 },
  ],
};

function addedToken(id: number, content: string): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/**
 * A Llama-2 sentencepiece-BPE tokenizer.json (byte fallback, `▁` normalizer, `<s>` post-processor); its
 * vocabulary is a Map: write it with `jsonText`.
 */
export function llamaTokenizerJson(pieces: readonly SentencePiece[]): Record<string, unknown> {
  const [unk, bos] = SPECIAL_PIECES;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_PIECES.map((content, id) => addedToken(id, content)),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: bos, type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { [bos]: { id: bos, ids: [1], tokens: [bos] } },
    },
    decoder: LLAMA2_DECODER,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      // A Map keeps vocabulary order where an object would move the pieces "0".."9" first.
      vocab: new Map(pieces.map((p, id) => [p.piece, id])),
      merges: sentencePieceMerges(pieces),
    },
  };
}

/**
 * The story-continuing chat template (ours, not upstream's: the model has no chat format): `<s>`, then
 * every non-system message trimmed and joined by single spaces, as one story to continue.
 */
export const STORY_CHAT_TEMPLATE =
  "{{ bos_token }}{% set ns = namespace(first=true) %}{% for message in messages %}{% if message['role'] != 'system' %}{% if not ns.first %}{{ ' ' }}{% endif %}{{ message['content'] | trim }}{% set ns.first = false %}{% endif %}{% endfor %}";

/** tokenizer_config.json for a Llama tokenizer with the story template and `maxLength` positions. */
export function llamaTokenizerConfig(maxLength: number): Record<string, unknown> {
  const [unk, bos, eos] = SPECIAL_PIECES;
  return {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(SPECIAL_PIECES.map((content, id) => {
      const { id: _, ...rest } = addedToken(id, content);
      return [String(id), rest];
    })),
    bos_token: bos,
    chat_template: STORY_CHAT_TEMPLATE,
    eos_token: eos,
    unk_token: unk,
    pad_token: null,
    clean_up_tokenization_spaces: false,
    legacy: true,
    model_max_length: maxLength,
    sp_model_kwargs: {},
    spaces_between_special_tokens: false,
    tokenizer_class: 'LlamaTokenizer',
    use_default_system_prompt: false,
  };
}

/** JSON.stringify(value, null, 2), except that a Map is written as an object in its insertion order. */
export function jsonText(value: unknown, indent = ''): string {
  const inner = `${indent}  `;
  if (value instanceof Map || (typeof value === 'object' && value !== null && !Array.isArray(value))) {
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(String(k))}: ${jsonText(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + jsonText(v, inner)).join(',\n')}\n${indent}]`;
  }
  return JSON.stringify(value);
}
