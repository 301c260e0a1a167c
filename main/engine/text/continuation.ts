// Tokenizing text that continues a stream (engine host thread): the next turn of a chat is tokenized
// on its own, without the start-of-input effects of a fresh encode call.
import type { TextTokenizer } from './tokenizer';

/** Anchors tried in order: text that tokenizes on its own and does not merge with what follows it. */
const ANCHORS = ['\n', '\n\n', ' '];

/**
 * Tokens of `text` as they would appear after earlier text: no BOS, and no word-start marker such as the
 * `▁` that sentencepiece-style normalizers prepend to every encode call. Encodes `anchor + text` and
 * drops the anchor's tokens, checking by decoding that the cut falls exactly after the anchor.
 */
export function encodeContinuation(tokenizer: TextTokenizer, text: string): number[] {
  const opts = { addSpecialTokens: false } as const;
  for (const anchor of ANCHORS) {
    const ids = tokenizer.encode(anchor + text, opts);
    for (let k = 1; k <= Math.min(ids.length, 4); k++) {
      if (tokenizer.decode(ids.slice(0, k), { skipSpecialTokens: false }) === anchor) return ids.slice(k);
    }
  }
  return tokenizer.encode(text, opts);
}
