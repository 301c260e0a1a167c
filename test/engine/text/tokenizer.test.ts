// TextTokenizer: special ids, BOS/EOS rules (config vs post-processor), the raw prompt, display text
// of tokens (sentencepiece, byte fallback, GPT-2 byte-level), error messages, and stories260K parity.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextTokenizer, TokenizerError } from '../../../main/engine/text/tokenizer';
import { buildFixtureTokenizer } from '../../fixtures/fixtureTokenizer';

const fixture = buildFixtureTokenizer();
const { bos, eos, imStart, imEnd, unk } = fixture.specialTokens;
const tok = TextTokenizer.fromObjects(fixture.tokenizerJson, fixture.tokenizerConfig);

function withConfig(over: Record<string, unknown>, json: Record<string, unknown> = fixture.tokenizerJson): TextTokenizer {
  return TextTokenizer.fromObjects(json, { ...fixture.tokenizerConfig, ...over });
}

function thrown(fn: () => unknown): TokenizerError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TokenizerError);
    return e as TokenizerError;
  }
  throw new Error('expected a TokenizerError');
}

describe('TextTokenizer on the fixture tokenizer', () => {
  it('exposes vocabulary size, BOS/EOS and the special ids', () => {
    expect(tok.vocabSize).toBe(fixture.vocabSize);
    expect(tok.bosTokenId).toBe(bos);
    expect(tok.eosTokenId).toBe(imEnd); // eos_token of tokenizer_config is <|im_end|>
    expect([...tok.specialIds].sort((a, b) => a - b)).toEqual([unk, bos, eos, imStart, imEnd]);
    expect(tok.addBosToken).toBe(true);
    expect(tok.addEosToken).toBe(false);
    expect(tok.pieceToId('<|im_start|>')).toBe(imStart);
    expect(tok.idToPiece(bos)).toBe('<s>');
    expect(tok.pieceToId('no such piece')).toBeNull();
  });

  it('encodes with and without special tokens and round-trips through decode', () => {
    const text = 'the little girl said: "héllo" 😀\nbye';
    const plain = tok.encode(text, { addSpecialTokens: false });
    expect(plain[0]).not.toBe(bos);
    expect(tok.encode(text, { addSpecialTokens: true })).toEqual([bos, ...plain]);
    expect(tok.decode([bos, ...plain], { skipSpecialTokens: true })).toBe(text);
    expect(tok.decode([bos, ...plain, imEnd], { skipSpecialTokens: false })).toBe(`<s> ${text}<|im_end|>`);
    expect(tok.decode([], { skipSpecialTokens: true })).toBe('');
  });

  it('feeds a raw prompt with BOS as the config says and never EOS', () => {
    const plain = tok.encode('Once upon a time', { addSpecialTokens: false });
    expect(tok.encodeRawPrompt('Once upon a time')).toEqual([bos, ...plain]);
    const noBos = withConfig({ add_bos_token: false });
    expect(noBos.addBosToken).toBe(false);
    expect(noBos.encodeRawPrompt('Once upon a time')).toEqual(plain);
    const withEos = withConfig({ add_eos_token: true, eos_token: '</s>' });
    expect(withEos.encodeRawPrompt('Once upon a time')).toEqual([bos, ...plain]);
  });

  it('lets add_bos_token / add_eos_token override the post-processor', () => {
    const plain = tok.encode('the sea', { addSpecialTokens: false });
    expect(withConfig({ add_bos_token: false }).encode('the sea', { addSpecialTokens: true })).toEqual(plain);
    const eosOn = withConfig({ add_eos_token: true, eos_token: '</s>' });
    expect(eosOn.addEosToken).toBe(true);
    expect(eosOn.encode('the sea', { addSpecialTokens: true })).toEqual([bos, ...plain, eos]);
    // No post-processor: BOS comes from the config flag alone, or not at all without it.
    const bare = { ...fixture.tokenizerJson, post_processor: null };
    expect(withConfig({}, bare).encode('the sea', { addSpecialTokens: true })).toEqual([bos, ...plain]);
    const noFlag = withConfig({ add_bos_token: undefined }, bare);
    expect(noFlag.addBosToken).toBe(false);
    expect(noFlag.encode('the sea', { addSpecialTokens: true })).toEqual(plain);
    // No flag but a BOS-adding post-processor: the post-processor decides.
    expect(withConfig({ add_bos_token: undefined }).addBosToken).toBe(true);
  });

  it('shows readable token text for the cache view', () => {
    const piece = (p: string): number => tok.pieceToId(p)!;
    expect(tok.tokenText(piece('▁the'))).toBe(' the');
    expect(tok.tokenText(piece('<0x0A>'))).toBe('↵');
    expect(tok.tokenText(piece('<0x09>'))).toBe('⇥');
    expect(tok.tokenText(piece('<0x41>'))).toBe('A');
    expect(tok.tokenText(piece('<0x00>'))).toBe('<0x00>');
    expect(tok.tokenText(piece('<0xE2>'))).toBe('<0xE2>'); // part of a multi-byte character
    expect(tok.tokenText(imStart)).toBe('<|im_start|>');
    expect(tok.tokenText(bos)).toBe('<s>');
    expect(tok.tokenText(fixture.vocabSize + 10)).toBe('');
    expect(tok.tokenText(-1)).toBe('');
  });
});

/** A tiny GPT-2 style byte-level BPE: every byte as a piece plus " the" built by merges. */
function byteLevelJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    if (printable) vocab[String.fromCodePoint(b)] = n++;
  }
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    if (!printable) vocab[String.fromCodePoint(256 + extra++)] = n++;
  }
  for (const p of ['Ġt', 'Ġth', 'Ġthe', 'âĤ¬']) vocab[p] = n++;
  vocab['<|endoftext|>'] = n++;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    added_tokens: [{ id: n - 1, content: '<|endoftext|>', special: true, normalized: false }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      vocab,
      merges: ['Ġ t', 'Ġt h', 'Ġth e', 'â Ĥ', 'âĤ ¬'],
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
    },
  };
}

describe('TextTokenizer on a byte-level (GPT-2 style) tokenizer', () => {
  const bl = TextTokenizer.fromObjects(byteLevelJson(), { eos_token: '<|endoftext|>', bos_token: null });

  it('encodes, decodes and has no BOS', () => {
    const ids = bl.encode('a the €\n', { addSpecialTokens: true });
    expect(ids.map((i) => bl.idToPiece(i))).toEqual(['a', 'Ġthe', 'Ġ', 'âĤ¬', 'Ċ']);
    expect(bl.decode(ids, { skipSpecialTokens: true })).toBe('a the €\n');
    expect(bl.bosTokenId).toBeNull();
    expect(bl.addBosToken).toBe(false);
    expect(bl.encodeRawPrompt('a')).toEqual([bl.pieceToId('a')]);
  });

  it('decodes ids past the vocabulary (padded logits) to nothing instead of failing', () => {
    const ids = bl.encode('a the', { addSpecialTokens: false });
    expect(bl.decode([...ids, bl.vocabSize + 3], { skipSpecialTokens: true })).toBe('a the');
    expect(bl.decode([bl.vocabSize], { skipSpecialTokens: false })).toBe('');
    expect(bl.tokenText(bl.vocabSize + 3)).toBe('');
    // The same with a sentencepiece decoder (Replace/ByteFallback/Fuse/Strip) and no unk_token.
    const model = { ...(fixture.tokenizerJson.model as Record<string, unknown>), unk_token: null };
    const sp = TextTokenizer.fromObjects({ ...fixture.tokenizerJson, model }, fixture.tokenizerConfig);
    const spIds = sp.encode('the sea', { addSpecialTokens: false });
    expect(sp.decode([...spIds, sp.vocabSize + 1], { skipSpecialTokens: true })).toBe('the sea');
  });

  it('maps byte-level pieces back to text, keeping partial characters as bytes', () => {
    const id = (p: string): number => bl.pieceToId(p)!;
    expect(bl.tokenText(id('Ġthe'))).toBe(' the');
    expect(bl.tokenText(id('Ċ'))).toBe('↵');
    expect(bl.tokenText(id('âĤ¬'))).toBe('€');
    expect(bl.tokenText(id('â'))).toBe('<0xE2>');
    expect(bl.tokenText(bl.eosTokenId!)).toBe('<|endoftext|>');
  });
});

describe('TextTokenizer errors', () => {
  it('names tokenizer.json and the problem for invalid JSON contents', () => {
    expect(thrown(() => TextTokenizer.fromObjects('nope', {})).message).toBe('tokenizer.json: expected a JSON object, got string');
    expect(thrown(() => TextTokenizer.fromObjects({}, {})).message).toMatch(/^tokenizer\.json: "model" must be an object/);
    const badAdded = { ...fixture.tokenizerJson, added_tokens: [{ id: 'x', content: '<s>' }] };
    expect(thrown(() => TextTokenizer.fromObjects(badAdded, {})).message).toMatch(/tokenizer\.json: added_tokens\[0\]/);
    const unknownModel = { ...fixture.tokenizerJson, model: { type: 'Mystery' } };
    const e = thrown(() => TextTokenizer.fromObjects(unknownModel, {}));
    expect(e.code).toBe('invalid-tokenizer-json');
    expect(e.message).toMatch(/^tokenizer\.json: cannot build the tokenizer: .*Mystery/);
    const badDecoder = { ...fixture.tokenizerJson, decoder: { type: 'Nonsense' } };
    expect(thrown(() => TextTokenizer.fromObjects(badDecoder, {})).message).toMatch(/tokenizer\.json: .*Nonsense/);
  });

  it('names tokenizer_config.json for an invalid config', () => {
    const e = thrown(() => TextTokenizer.fromObjects(fixture.tokenizerJson, []));
    expect(e.code).toBe('invalid-tokenizer-config');
    expect(e.message).toBe('tokenizer_config.json: expected a JSON object, got an array');
    expect(thrown(() => withConfig({ add_bos_token: 'yes' })).message).toMatch(/tokenizer_config\.json: "add_bos_token" must be true or false/);
  });

  it('accepts a missing tokenizer_config.json and special tokens given as objects', () => {
    const t = TextTokenizer.fromObjects(fixture.tokenizerJson);
    expect(t.bosTokenId).toBeNull();
    expect(t.addBosToken).toBe(false);
    const objects = withConfig({ bos_token: { __type: 'AddedToken', content: '<s>' }, eos_token: { content: '</s>' } });
    expect([objects.bosTokenId, objects.eosTokenId]).toEqual([bos, eos]);
  });
});

const STORIES = '/work/shared/models/stories260K';
const VECTORS = '/work/shared/models/reference/stories260K.tokenizer-vectors.json';
const haveStories = existsSync(join(STORIES, 'tokenizer.json')) && existsSync(VECTORS);

describe.skipIf(!haveStories)('TextTokenizer on stories260K (skipped: /work/shared/models absent)', () => {
  const readJson = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));
  const stories = haveStories
    ? TextTokenizer.fromObjects(readJson(join(STORIES, 'tokenizer.json')), readJson(join(STORIES, 'tokenizer_config.json')))
    : null;

  it('matches llama2.c encode() on all reference vectors and decodes them back', () => {
    const { cases } = readJson(VECTORS) as { cases: { text: string; ids: number[] }[] };
    expect(cases.length).toBeGreaterThan(300);
    for (const c of cases) {
      expect(stories!.encode(c.text, { addSpecialTokens: true }), c.text).toEqual(c.ids);
      expect(stories!.encodeRawPrompt(c.text)).toEqual(c.ids);
      expect(stories!.decode(c.ids, { skipSpecialTokens: true })).toBe(c.text);
    }
  });

  it('has BOS 1, EOS 2 and adds BOS to raw prompts', () => {
    expect([stories!.bosTokenId, stories!.eosTokenId, stories!.vocabSize, stories!.addBosToken]).toEqual([1, 2, 512, true]);
    expect(stories!.encodeRawPrompt('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    expect(stories!.tokenText(403)).toBe(' Once');
    expect(stories!.tokenText(13)).toBe('↵');
  });
});
