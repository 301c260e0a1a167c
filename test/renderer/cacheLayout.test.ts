// The cache canvas's geometry and the live prompt alignment: every slot from C = 8 to 8,192 has its own
// cell that hit-testing finds again, sinks sit above the ring, arrow keys walk the grid, and a prompt's
// token display texts line up with the message they spell. Vitest (Node).
import { describe, expect, it } from 'vitest';
import { visibleWhitespace } from '../../main/engine/text/tokenDisplay';
import { cellOrigin, layoutCache, moveSlot, slotAt } from '../../renderer/components/cache/cacheLayout';
import { cellText } from '../../renderer/components/cache/paintCache';
import { alignPrompt, displayForm } from '../../renderer/state/promptAlignment';

describe('layoutCache', () => {
  it.each([
    [4, 4],
    [4, 32],
    [4, 4092],
    [4, 8188],
    [0, 64],
  ])('gives each of S=%i + W=%i slots a cell that hit-testing finds again', (sink, window) => {
    const layout = layoutCache(sink, window, 288);
    const capacity = sink + window;
    const seen = new Set<string>();
    for (let j = 0; j < capacity; j++) {
      const { x, y } = cellOrigin(layout, j);
      expect(x + layout.cell).toBeLessThanOrEqual(layout.width);
      expect(y + layout.cell).toBeLessThanOrEqual(layout.height);
      seen.add(`${x},${y}`);
      expect(slotAt(layout, x + layout.cell / 2, y + layout.cell / 2)).toBe(j);
      expect(slotAt(layout, x, y)).toBe(j);
    }
    expect(seen.size).toBe(capacity);
    // Sinks come first, on rows above every ring slot.
    if (sink > 0) expect(cellOrigin(layout, sink - 1).y).toBeLessThan(cellOrigin(layout, sink).y);
    expect(slotAt(layout, -1, 0)).toBe(-1);
    expect(slotAt(layout, 0, layout.height + 5)).toBe(-1);
  });

  it('uses large cells for a small cache and shrinks them so 8,192 slots stay in one panel', () => {
    expect(layoutCache(4, 32, 288).cell).toBeGreaterThanOrEqual(22);
    const big = layoutCache(4, 8188, 288);
    expect(big.cell).toBeLessThanOrEqual(4);
    expect(big.height).toBeLessThanOrEqual(440);
    expect(layoutCache(4, 4092, 288).height).toBeLessThanOrEqual(440);
  });

  it('finds no slot in the gaps between cells', () => {
    const layout = layoutCache(4, 32, 288);
    const { x, y } = cellOrigin(layout, 5);
    expect(layout.gap).toBeGreaterThan(0);
    expect(slotAt(layout, x + layout.cell + layout.gap / 2, y + 1)).toBe(-1);
  });

  it('moves with the arrow keys along rows, between rows and between the sink and ring blocks', () => {
    const layout = layoutCache(4, 32, 288);
    const cols = layout.cols;
    expect(moveSlot(layout, 10, 'ArrowRight')).toBe(11);
    expect(moveSlot(layout, 0, 'ArrowLeft')).toBe(0);
    expect(moveSlot(layout, 35, 'ArrowRight')).toBe(35);
    expect(moveSlot(layout, 4 + 2, 'ArrowDown')).toBe(4 + 2 + cols);
    expect(moveSlot(layout, 4 + 2 + cols, 'ArrowUp')).toBe(4 + 2);
    expect(moveSlot(layout, 2, 'ArrowDown')).toBe(4 + 2); // sink 2 → the ring slot below it
    expect(moveSlot(layout, 4 + 1, 'ArrowUp')).toBe(1); // first ring row → the sink above it
    expect(moveSlot(layout, 4 + 3, 'ArrowUp')).toBe(3);
    expect(moveSlot(layout, 17, 'Home')).toBe(0);
    expect(moveSlot(layout, 17, 'End')).toBe(35);
    expect(moveSlot(layout, -1, 'ArrowRight')).toBe(0);
  });

  it('shows at most three characters of a token, spaces as dots', () => {
    expect(cellText(' the')).toBe('·t…');
    expect(cellText('ab')).toBe('ab');
    expect(cellText('↵')).toBe('↵');
  });
});

describe('alignPrompt', () => {
  const writes = (texts: string[]) => texts.map((text, i) => ({ slot: i, pos: 100 + i, text }));

  it('shows a message the way token display texts do', () => {
    const content = 'a\tb\nc\u0001 d';
    expect(displayForm(content).text).toBe(visibleWhitespace(content));
    expect(displayForm('x\u0001y').source).toEqual([0, 1, 1, 1, 1, 1, 1, 2]);
  });

  it('attributes the tokens that spell the message, with their offsets; markup gets -1', () => {
    const texts = ['<|im_end|>', ' ', '↵', '<|im_start|>', ' us', 'er', '↵', 'What', ' is', ' it', '?', '↵', 'Tell', ' me', '<|im_end|>', '↵', '<|im_start|>', ' assistant', '↵'];
    const content = 'What is it?\nTell me';
    const chars = alignPrompt(writes(texts), content);
    expect(chars).toEqual([-1, -1, -1, -1, -1, -1, -1, 0, 4, 7, 10, 11, 12, 16, -1, -1, -1, -1, -1]);
    for (const [k, c] of chars.entries()) if (c >= 0) expect(visibleWhitespace(content.slice(c)).trimStart().startsWith(texts[k].trim())).toBe(true);
  });

  it('counts a word-start space just before the message as its first token, and finds a message fed only in part', () => {
    expect(alignPrompt(writes(['user', '↵', ' Hello', ' there']), 'Hello there')).toEqual([-1, -1, 0, 5]);
    expect(alignPrompt(writes(['↵', 'Once', ' upon', ' a', ' time', ' there']), 'Once upon a time there was a girl who lived by the sea')).toEqual([-1, 0, 4, 9, 11, 16]);
  });

  it('places nothing when the message is not there', () => {
    expect(alignPrompt(writes(['<0xE4>', '<0xB8>']), '中文')).toEqual([-1, -1]);
    expect(alignPrompt(writes(['a']), '   ')).toEqual([-1]);
  });
});
