// StreamingDetokenizer: multi-byte characters split across byte tokens, sentencepiece leading
// spaces, special tokens, equality with a full decode, bounded per-token work, and stories260K.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StreamingDetokenizer } from '../../../main/engine/text/detokenizer';
import type { StreamDecoder } from '../../../main/engine/text/detokenizer';
import { TextTokenizer } from '../../../main/engine/text/tokenizer';
import { Xoshiro128 } from '../../../main/engine/sampling/xoshiro128';
import { buildFixtureTokenizer } from '../../fixtures/fixtureTokenizer';

const fixture = buildFixtureTokenizer();
const tok = TextTokenizer.fromObjects(fixture.tokenizerJson, fixture.tokenizerConfig);
const { imEnd } = fixture.specialTokens;
const byte = (b: number): number => tok.pieceToId(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!;

function streamAll(t: StreamDecoder, ids: readonly number[], skipSpecialTokens = true, context?: number[]): string[] {
  const d = new StreamingDetokenizer(t, { skipSpecialTokens, context });
  const out = ids.map((id) => d.push(id));
  out.push(d.flush());
  return out;
}

function hasLoneSurrogate(s: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

describe('StreamingDetokenizer', () => {
  it('emits a multi-byte character only when its last byte token arrives', () => {
    expect(streamAll(tok, [byte(0xe2), byte(0x82), byte(0xac)])).toEqual(['', '', '€', '']);
    // An emoji (4 bytes) after a word: the word goes out at once, the emoji at its 4th byte.
    const ids = [...tok.encode('the', { addSpecialTokens: false }), ...[0xf0, 0x9f, 0x98, 0x80].map(byte)];
    expect(streamAll(tok, ids).join('|')).toBe('the||||😀|');
  });

  it('emits what precedes an incomplete character at once and holds only the incomplete tail', () => {
    // A lone continuation byte is invalid for good (U+FFFD); the E2 after it is still incomplete.
    const out = streamAll(tok, [byte(0x80), byte(0xe2), byte(0x82), byte(0xac), byte(0x41)]);
    expect(out).toEqual(['', '\uFFFD', '', '€', 'A', '']);
    expect(streamAll(tok, [byte(0xe2)])).toEqual(['', '\uFFFD']); // flush shows an unfinished character
  });

  it('strips the first token\'s leading space like a full decode and keeps later ones', () => {
    const ids = tok.encode('the little girl', { addSpecialTokens: false });
    const out = streamAll(tok, ids);
    expect(out.slice(0, 3)).toEqual(['the', ' little', ' girl']);
    expect(out.join('')).toBe(tok.decode(ids, { skipSpecialTokens: true }));
  });

  it('keeps the first token\'s leading space when seeded with context', () => {
    const prompt = tok.encodeRawPrompt('Once upon a time,');
    const all = tok.encodeRawPrompt('Once upon a time, the girl');
    expect(all.slice(0, prompt.length)).toEqual(prompt);
    const out = streamAll(tok, all.slice(prompt.length), true, prompt);
    expect(out.join('')).toBe(' the girl');
    expect(out[0].startsWith(' ')).toBe(true);
  });

  it('skips special tokens, or spells them when asked', () => {
    const ids = [...tok.encode('the sea', { addSpecialTokens: false }), imEnd];
    expect(streamAll(tok, ids).join('')).toBe('the sea');
    expect(streamAll(tok, ids, false).join('')).toBe('the sea<|im_end|>');
    expect(new StreamingDetokenizer(tok).push(imEnd)).toBe(''); // default: skip special tokens
  });

  it('equals a full decode for mixed-script text, emitting no broken characters', () => {
    const texts = [
      'Once upon a time, Zoë said: "héllo wörld" 😀👍🏽 日本語テキスト\nnew  line\ttab 123\r\n end ',
      '€€€ ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🇫🇷 – done.',
      '  leading spaces and trailing  ',
    ];
    for (const text of texts) {
      const ids = tok.encode(text, { addSpecialTokens: true });
      const out = streamAll(tok, ids);
      expect(out.join('')).toBe(text);
      for (const piece of out) {
        expect(piece).not.toContain('\uFFFD');
        expect(hasLoneSurrogate(piece)).toBe(false);
      }
    }
  });

  it('equals a full decode for random id sequences, invalid bytes and specials included', () => {
    const rng = new Xoshiro128(7);
    for (let t = 0; t < 200; t++) {
      const n = 1 + (rng.nextUint32() % 60);
      const ids = Array.from({ length: n }, () => rng.nextUint32() % fixture.vocabSize);
      for (const skip of [true, false]) {
        const full = tok.decode(ids, { skipSpecialTokens: skip, cleanUpSpaces: false });
        expect(streamAll(tok, ids, skip).join(''), JSON.stringify(ids)).toBe(full);
      }
    }
  });

  it('decodes a bounded window per token, however long the stream', () => {
    let longest = 0;
    const counting: StreamDecoder = {
      specialIds: tok.specialIds,
      decode: (ids, opts) => {
        longest = Math.max(longest, ids.length);
        return tok.decode(ids, opts);
      },
    };
    const text = 'the little girl and her dog went to the water. '.repeat(100);
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(ids.length).toBeGreaterThan(1000);
    expect(streamAll(counting, ids).join('')).toBe(tok.decode(ids, { skipSpecialTokens: true }));
    expect(longest).toBeLessThanOrEqual(4);
    // A long run of invalid bytes never completes a character; the window still stays bounded.
    longest = 0;
    const junk = Array.from({ length: 300 }, () => byte(0x80));
    expect(streamAll(counting, junk).join('')).toBe('\uFFFD'.repeat(300));
    expect(longest).toBeLessThanOrEqual(65);
  });

  it('continues correctly after flush and after reset', () => {
    const d = new StreamingDetokenizer(tok, { skipSpecialTokens: true });
    const a = tok.encode('the sea', { addSpecialTokens: false });
    const b = tok.encode(' and the dog', { addSpecialTokens: false });
    const first = a.map((id) => d.push(id)).join('') + d.flush();
    const second = b.map((id) => d.push(id)).join('') + d.flush();
    expect(first + second).toBe(tok.decode([...a, ...b], { skipSpecialTokens: true }));
    d.reset();
    expect(a.map((id) => d.push(id)).join('')).toBe('the sea');
  });
});

const SAMPLES = '/work/shared/models/reference/stories260K.greedy-samples.json';
const STORIES = '/work/shared/models/stories260K';
const haveStories = existsSync(SAMPLES) && existsSync(`${STORIES}/tokenizer.json`);

describe.skipIf(!haveStories)('StreamingDetokenizer on stories260K (skipped: /work/shared/models absent)', () => {
  it('streams the reference greedy samples exactly as a full decode', () => {
    const read = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));
    const stories = TextTokenizer.fromObjects(read(`${STORIES}/tokenizer.json`), read(`${STORIES}/tokenizer_config.json`));
    const { samples } = read(SAMPLES) as { samples: { prompt_ids: number[]; new_ids: number[] }[] };
    expect(samples.length).toBeGreaterThan(0);
    for (const { prompt_ids: prompt, new_ids: generated } of samples) {
      expect(generated.length).toBeGreaterThan(10);
      const ids = [...prompt, ...generated];
      const full = stories.decode(ids, { skipSpecialTokens: true });
      expect(streamAll(stories, ids).join('')).toBe(full);
      // Streaming only the reply after the prompt continues the prompt's text exactly.
      const promptText = stories.decode(prompt, { skipSpecialTokens: true });
      expect(streamAll(stories, generated, true, prompt).join('')).toBe(full.slice(promptText.length));
    }
    // Byte-fallback characters the 512-piece vocabulary lacks, split across byte tokens.
    const text = 'Once upon a time, Zoë ate 🍰 and said “wow”.';
    const ids = stories.encodeRawPrompt(text);
    expect(ids.filter((id) => id >= 3 && id <= 258).length).toBeGreaterThan(4);
    expect(streamAll(stories, ids).join('')).toBe(text);
  });
});
