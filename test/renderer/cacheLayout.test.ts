// The cache canvas's geometry: every slot from C = 8 to 8,192 has its own cell that hit-testing finds
// again, sinks sit above the ring, and arrow keys walk the grid. Vitest (Node).
import { describe, expect, it } from 'vitest';
import { cellOrigin, layoutCache, moveSlot, slotAt } from '../../renderer/components/cache/cacheLayout';
import { cellText } from '../../renderer/components/cache/paintCache';

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
