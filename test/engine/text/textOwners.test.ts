// The cache visualizer's token-to-message map: message contents located in the fed text, each token's
// fed-text offset decoded from the nearest anchor (and snapped at later ones), and attribution with
// the characters the sinks pin. Uses the fixture's byte-fallback tokenizer. Runs under Vitest (Node).
import { describe, expect, it } from 'vitest';
import { encodeContinuation } from '../../../main/engine/text/continuation';
import { locateContents, textOwners, tokenCharStarts } from '../../../main/engine/text/textOwners';
import { TextTokenizer } from '../../../main/engine/text/tokenizer';
import { buildFixtureTokenizer } from '../../fixtures/fixtureTokenizer';

const fixture = buildFixtureTokenizer();
const tok = TextTokenizer.fromObjects(fixture.tokenizerJson, fixture.tokenizerConfig);

const messages = [
  { role: 'system', content: 'The assistant is kind.' },
  { role: 'user', content: 'What is the name of the dog?\nTell me.' },
  { role: 'assistant', content: 'The little dog was called Max.' },
  { role: 'user', content: '  she had an idea  ' },
] as const;

/** A ChatML rendering fed turn by turn, as ChatSession feeds it: ids, fed text and one anchor per turn. */
function feedTurns() {
  const turns = [
    `<|im_start|>system\n${messages[0].content}<|im_end|>\n<|im_start|>user\n${messages[1].content}<|im_end|>\n<|im_start|>assistant\n`,
    `${messages[2].content}<|im_end|>\n<|im_start|>user\n${messages[3].content.trim()}<|im_end|>\n<|im_start|>assistant\n`,
  ];
  const ids: number[] = [];
  let text = '';
  const anchors = [{ tokens: 0, chars: 0 }];
  for (const turn of turns) {
    ids.push(...(ids.length === 0 ? tok.encode(turn, { addSpecialTokens: false }) : encodeContinuation(tok, turn)));
    text += turn;
    anchors.push({ tokens: ids.length, chars: text.length });
  }
  return { ids, text, anchors, source: { length: ids.length, slice: (a: number, b?: number) => ids.slice(a, b) } };
}

describe('locateContents', () => {
  it('finds each message in order, after the previous one, and trimmed contents by their trimmed text', () => {
    const { text } = feedTurns();
    const ranges = locateContents(text, messages.map((m) => m.content));
    expect(text.slice(ranges[0].start, ranges[0].end)).toBe(messages[0].content);
    expect(text.slice(ranges[1].start, ranges[1].end)).toBe(messages[1].content);
    expect(text.slice(ranges[2].start, ranges[2].end)).toBe(messages[2].content);
    // The template trimmed the last message: its range is the trimmed text, 2 stored characters ahead.
    expect(text.slice(ranges[3].start, ranges[3].end)).toBe('she had an idea');
    expect(ranges[3].lead).toBe(2);
  });

  it('finds the last message when its final token was never fed', () => {
    const fed = '<u>hi</u><a>The little dog';
    expect(locateContents(fed, ['hi', 'The little dog was'])).toEqual([
      { start: 3, end: 5, lead: 0 },
      // The range runs to the content's end: a token whose text was still pending at the end counts in it.
      { start: fed.indexOf('The'), end: fed.indexOf('The') + 'The little dog was'.length, lead: 0 },
    ]);
    // Only the last message gets this: an earlier one that is cut short is not found.
    expect(locateContents(fed, ['hi there', 'x'])[0]).toEqual({ start: -1, end: -1, lead: 0 });
  });

  it('gives -1 for an empty or missing message and keeps looking after the last found one', () => {
    const ranges = locateContents('<a>hello</a><b>hello</b>', ['hello', '', 'nope', 'hello']);
    expect(ranges).toEqual([
      { start: 3, end: 8, lead: 0 },
      { start: -1, end: -1, lead: 0 },
      { start: -1, end: -1, lead: 0 },
      { start: 15, end: 20, lead: 0 },
    ]);
  });
});

describe('tokenCharStarts', () => {
  const piece = (id: number) => tok.decode([id], { skipSpecialTokens: false, cleanUpSpaces: false });

  it('puts every token where its text begins in the fed text, though the decoder spells specials differently', () => {
    const { ids, text, anchors, source } = feedTurns();
    // The fixture (sentencepiece, legacy) decodes `<|im_start|>system` as `<|im_start|> system`: lengths alone drift.
    expect(tok.decode(ids, { skipSpecialTokens: false, cleanUpSpaces: false })).not.toBe(text);
    const starts = tokenCharStarts(tok, source, anchors, ids.map((_, i) => i), text);
    expect(starts[0]).toBe(0);
    for (const a of anchors.slice(1, -1)) expect(starts[a.tokens]).toBe(a.chars);
    for (let p = 0; p < ids.length; p++) {
      if (p > 0) expect(starts[p]).toBeGreaterThanOrEqual(starts[p - 1]);
      const t = piece(ids[p]);
      if (!t.trim()) continue;
      // A lone piece decodes without its word-start space; in the stream it has one.
      expect(text.startsWith(t, starts[p]) || text.startsWith(` ${t}`, starts[p])).toBe(true);
    }
    expect(text.slice(starts[ids.length - 1])).toBe('\n');
  });

  it('answers runs asked out of order, far apart or outside the stream like one full pass', () => {
    const { ids, text, anchors, source } = feedTurns();
    const full = tokenCharStarts(tok, source, anchors, ids.map((_, i) => i), text);
    const asked = [ids.length - 3, 1, ids.length - 1, 0, -1, ids.length, 2, anchors[1].tokens + 70];
    expect(tokenCharStarts(tok, source, anchors, asked, text)).toEqual(asked.map((p) => full[p] ?? -1));
  });

  it('snaps to an anchor it passes, so an error before it does not carry over', () => {
    const { ids, text, anchors, source } = feedTurns();
    const after = anchors[1].tokens;
    const plain = tokenCharStarts(tok, source, anchors, [after - 1, after, after + 1], text);
    const moved = anchors.map((a, i) => (i === 1 ? { tokens: a.tokens, chars: a.chars + 3 } : a));
    const snapped = tokenCharStarts(tok, source, moved, [after - 1, after, after + 1], text);
    expect(snapped[0]).toBe(plain[0]);
    expect(snapped[1]).toBe(plain[1] + 3);
    expect(ids.length).toBeGreaterThan(after + 1);
  });
});

describe('textOwners', () => {
  it('names the message and the offset where each content token begins; markup tokens name none', () => {
    const { ids, text, anchors, source } = feedTurns();
    const ranges = locateContents(text, messages.map((m) => m.content));
    const positions = ids.map((_, i) => i);
    const starts = tokenCharStarts(tok, source, anchors, positions, text);
    const sink = 9;
    const owners = textOwners(ranges, starts, starts[sink]);
    let owned = 0;
    for (const p of positions) {
      const m = owners.message[p];
      if (m < 0) {
        expect(owners.char[p]).toBe(-1);
        continue;
      }
      owned++;
      // The offset points at the token's own first character in the stored message.
      const at = owners.char[p];
      expect(at).toBeGreaterThanOrEqual(0);
      expect(at).toBeLessThan(messages[m].content.length);
      expect(messages[m].content[at]).toBe(text[starts[p]]);
    }
    expect(owned).toBeGreaterThan(30);
    // `<|im_start|>` and the role names are markup.
    expect(owners.message[0]).toBe(-1);
    expect(owners.message[ids.indexOf(tok.pieceToId('<|im_end|>')!)]).toBe(-1);
    // Nine sink tokens hold `<|im_start|>system\n` and the system prompt's first characters, `The as`.
    expect(owners.pinnedChars[0]).toBe(starts[sink] - ranges[0].start);
    expect(owners.pinnedChars[0]).toBe("The as".length);
    expect(owners.pinnedChars.slice(1)).toEqual([0, 0, 0]);
  });

  it('pins a whole message when the sinks end after it', () => {
    const owners = textOwners(
      [
        { start: 2, end: 5, lead: 0 },
        { start: 8, end: 12, lead: 1 },
        { start: 12, end: 14, lead: 0 },
      ],
      [],
      10,
    );
    expect(owners.pinnedChars).toEqual([3, 3, 0]);
    expect(owners.located).toEqual([true, true, true]);
    expect(textOwners([{ start: -1, end: -1, lead: 0 }], [], 10).located).toEqual([false]);
  });
});
