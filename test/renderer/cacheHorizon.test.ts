// The pure parts of the horizon and the panel's texts: how a message splits into pinned, out-of-view and
// visible text, markdown blocks (so a moving horizon re-parses one block), the slot sentence screen
// readers hear, the counters and the legend. Vitest (Node).
import { describe, expect, it } from 'vitest';
import { cacheCounters } from '../../renderer/components/cache/CacheCounters';
import { legendEntries } from '../../renderer/components/cache/CacheLegend';
import { horizonParts, markdownBlocks } from '../../renderer/components/cache/HorizonText';
import { wordCut } from '../../renderer/components/cache/wordCut';
import { pinState } from '../../renderer/components/cache/SystemPromptRow';
import { describeSlot, messageOf, slotDetails } from '../../renderer/components/cache/slotDetails';
import { CacheMirror } from '../../renderer/state/cacheMirror';
import { msg, stats } from './rendererTestKit';

describe('horizonParts', () => {
  it('splits a message at the horizon, pinned text counting only above it', () => {
    expect(horizonParts(100, 'visible', -1, 30)).toEqual({ pinned: 0, cut: 0 });
    expect(horizonParts(100, 'hidden', -1, 30)).toEqual({ pinned: 30, cut: 100 });
    expect(horizonParts(100, 'split', 40, 30)).toEqual({ pinned: 30, cut: 40 });
    expect(horizonParts(100, 'split', 10, 30)).toEqual({ pinned: 10, cut: 10 });
    expect(horizonParts(100, 'split', 250, 0)).toEqual({ pinned: 0, cut: 100 });
  });

  it('draws a horizon that splits a word before that word, naming the part out of view', () => {
    const text = 'We must go.';
    // "We mu|st go.": the line goes before "must"; the model no longer sees its "mu".
    expect(wordCut(text, 5)).toEqual({ start: 3, hidden: 'mu', word: 'must' });
    expect(wordCut(text, 3)).toBeNull(); // at the start of a word
    expect(wordCut(text, 2)).toBeNull(); // at a space
    expect(wordCut(text, 0)).toBeNull();
    expect(wordCut(text, text.length)).toBeNull();
    expect(wordCut(text, 10)).toEqual({ start: 8, hidden: 'go', word: 'go.' });
    // Never back into the pinned text; very long words are quoted shortened.
    expect(wordCut('Pinnedword', 8, 6)).toEqual({ start: 6, hidden: 'wo', word: 'word' });
    const long = `see ${'x'.repeat(40)}`;
    expect(wordCut(long, 30)).toEqual({ start: 4, hidden: 'x'.repeat(23) + '…', word: 'x'.repeat(23) + '…' });
  });

  it('tells a system prompt wholly, partly or not pinned', () => {
    expect(pinState(28, 28)).toBe('all');
    expect(pinState(28, 5)).toBe('part');
    expect(pinState(28, 0)).toBe('none');
  });
});

describe('markdownBlocks', () => {
  it('splits at blank lines, keeps fenced code whole, and the blocks spell the text', () => {
    const text = 'First paragraph\nstill first.\n\nSecond.\n\n```ts\nconst a = 1;\n\nconst b = 2;\n```\n\nLast';
    const blocks = markdownBlocks(text);
    expect(blocks.map((b) => b.text).join('')).toBe(text);
    expect(blocks.map((b) => b.start)).toEqual([0, text.indexOf('Second'), text.indexOf('```'), text.indexOf('Last')]);
    expect(blocks[2].text).toContain('const b = 2;');
    expect(markdownBlocks('')).toEqual([]);
    expect(markdownBlocks('one line')).toEqual([{ start: 0, text: 'one line' }]);
  });
});

describe('slot texts', () => {
  const messages = [msg('u1', 'user', 'Hello there'), msg('a1', 'assistant', 'General Kenobi')];

  function model(): CacheMirror {
    const m = new CacheMirror();
    m.load({
      sink: 1,
      window: 3,
      capacity: 4,
      pinBudget: 0,
      pins: [],
      sinkRopeShift: 0,
      positions: 'cache',
      nextPos: 6,
      offset: 0,
      evicted: 2,
      head: 3,
      firstVisible: 4,
      seq: 1,
      stream: 'c1',
      slots: [
        { slot: 0, kind: 'sink', pos: 0, ropePos: 2, tokenId: 1, visible: true },
        { slot: 1, kind: 'ring', pos: 4, ropePos: 4, tokenId: 40, visible: true },
        { slot: 2, kind: 'ring', pos: 5, ropePos: 5, tokenId: 41, visible: true },
        { slot: 3, kind: 'ring', pos: 3, ropePos: 3, tokenId: 30, visible: false },
      ],
      texts: ['<s>', ' Gen', 'eral', ' there'],
      owners: { message: [-1, 1, 1, 0], char: [-1, 0, 3, 5], pinnedChars: [0, 0], located: [true, true], ids: ['u1', 'a1'] },
    });
    return m;
  }

  it('names messages by their place in the transcript; the system prompt by name', () => {
    expect(messageOf('', messages)).toEqual({ role: 'system', label: 'System prompt' });
    expect(messageOf('a1', messages)).toEqual({ role: 'assistant', label: 'Message 2 (reply)' });
    expect(messageOf('gone', messages)).toBeNull();
  });

  it('describes a slot in one sentence for screen readers', () => {
    const m = model();
    expect(describeSlot(slotDetails(m, 2, messages), 4)).toBe('Slot 3 of 4, ring: token “eral”, id 41, position 5, RoPE sees 5, in Message 2 (reply); in view.');
    expect(describeSlot(slotDetails(m, 3, messages), 4)).toBe(
      'Slot 4 of 4, ring, write head: token “ there”, id 30, position 3, RoPE sees 3, in Message 1 (you); out of view.',
    );
    expect(describeSlot(slotDetails(m, 0, messages), 4)).toBe('Slot 1 of 4, sink: token “<s>”, id 1, position 0, RoPE sees 2, template markup; pinned.');
  });

  it('fills the counters from the model, the model info and the live or last decode rate', () => {
    const m = model();
    const counters = cacheCounters({
      cacheMirror: m,
      currentModel: { kvBytesPerToken: 1024 } as never,
      lastStats: stats({ decodeTokPerSec: 12.34 }),
      cacheLiveRate: () => null,
    });
    expect(counters).toEqual({
      seen: '6',
      evicted: '2',
      fill: '3 / 3',
      pinned: '–',
      kv: '4.0 KB of 4.0 KB',
      offset: '0',
      rate: '12.3 tok/s',
      head: 'slot 3 · next position 6',
    });
    expect(cacheCounters({ cacheMirror: new CacheMirror(), currentModel: null, lastStats: null, cacheLiveRate: () => 50 }).rate).toBe('50.0 tok/s');
  });

  it('lists the marks of every colour mode in its legend', () => {
    for (const mode of ['age', 'message', 'role'] as const) {
      const keys = legendEntries(mode).map((e) => e.key);
      expect(keys).toEqual(expect.arrayContaining(['sink', 'head', 'last', 'out', 'empty']));
    }
    expect(legendEntries('role').map((e) => e.key).slice(0, 4)).toEqual(['system', 'user', 'assistant', 'markup']);
  });
});
