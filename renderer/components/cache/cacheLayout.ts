// Where each cache slot sits on the panel's canvas: the sink block on top, the pin slots (pinned memory)
// next to it, the ring below in slot order, square cells as large as the slot count allows (8 to 8,192
// slots). Pure geometry. Renderer.

export interface CacheLayout {
  readonly sink: number;
  readonly window: number;
  /** Pin slots (slots sink + window .. capacity - 1), shown between the sinks and the ring. */
  readonly pins: number;
  /** Cell side and the gap between cells, CSS pixels. */
  readonly cell: number;
  readonly gap: number;
  readonly cols: number;
  /** Top of the sink block's and the ring block's first row (each follows its caption). */
  readonly sinkTop: number;
  readonly pinTop: number;
  readonly ringTop: number;
  /** Caption baselines. */
  readonly sinkCaption: number;
  readonly pinCaption: number;
  readonly ringCaption: number;
  readonly width: number;
  readonly height: number;
}

/** Caption height above each block and the space between the blocks. */
export const CAPTION = 16;
const BLOCK_GAP = 10;
const MAX_CELL = 30;
const MIN_CELL = 2;

/**
 * The largest cells (up to 30 px) whose grid fits `width` and stays under `maxHeight`; at the smallest
 * size the grid may be taller (the panel scrolls).
 */
export function layoutCache(sink: number, window: number, width: number, maxHeight = 440, pins = 0): CacheLayout {
  const w = Math.max(40, Math.floor(width));
  let best: CacheLayout | null = null;
  for (let cell = MAX_CELL; cell >= MIN_CELL; cell--) {
    best = gridFor(sink, window, pins, w, cell, cell >= 8 ? 2 : cell >= 4 ? 1 : 0);
    if (best.height <= maxHeight) break;
  }
  return best!;
}

function gridFor(sink: number, window: number, pins: number, width: number, cell: number, gap: number): CacheLayout {
  const cols = Math.max(1, Math.floor((width + gap) / (cell + gap)));
  const rows = (n: number) => Math.ceil(n / cols);
  const blockHeight = (n: number) => (n > 0 ? rows(n) * (cell + gap) - gap : 0);
  // Each block that exists follows the previous one: its caption, then its rows.
  const sinkTop = sink > 0 ? CAPTION : 0;
  const afterSinks = sink > 0 ? sinkTop + blockHeight(sink) + BLOCK_GAP : 0;
  const pinTop = pins > 0 ? afterSinks + CAPTION : afterSinks;
  const afterPins = pins > 0 ? pinTop + blockHeight(pins) + BLOCK_GAP : afterSinks;
  const ringTop = afterPins + CAPTION;
  return {
    sink,
    window,
    pins,
    cell,
    gap,
    cols,
    sinkTop,
    pinTop,
    ringTop,
    sinkCaption: sinkTop - 4,
    pinCaption: pinTop - 4,
    ringCaption: ringTop - 4,
    width,
    height: ringTop + blockHeight(window),
  };
}

/** Top-left corner of slot `j`'s cell. */
export function cellOrigin(layout: CacheLayout, j: number): { x: number; y: number } {
  const { cell, gap, cols, sink, window } = layout;
  const [k, top] = j < sink ? [j, layout.sinkTop] : j < sink + window ? [j - sink, layout.ringTop] : [j - sink - window, layout.pinTop];
  return { x: (k % cols) * (cell + gap), y: top + Math.floor(k / cols) * (cell + gap) };
}

/** The slot under point (x, y) in CSS pixels, or -1 (a gap, a caption, outside). */
export function slotAt(layout: CacheLayout, x: number, y: number): number {
  const { cell, gap, cols } = layout;
  const pitch = cell + gap;
  if (x < 0 || x >= cols * pitch) return -1;
  const col = Math.floor(x / pitch);
  if (x - col * pitch >= cell) return -1;
  const hit = (top: number, count: number, base: number): number => {
    if (y < top) return -1;
    const row = Math.floor((y - top) / pitch);
    if (y - top - row * pitch >= cell) return -1;
    const k = row * cols + col;
    return k < count ? base + k : -1;
  };
  if (layout.sink > 0 && y < (layout.pins > 0 ? layout.pinTop : layout.ringTop) - CAPTION) return hit(layout.sinkTop, layout.sink, 0);
  if (layout.pins > 0 && y < layout.ringTop - CAPTION) return hit(layout.pinTop, layout.pins, layout.sink + layout.window);
  return hit(layout.ringTop, layout.window, layout.sink);
}

/**
 * The slot an arrow key moves to from `j`: left/right step by one, up/down by a row, crossing between
 * the sink and the ring blocks at their edges; clamped to [0, C).
 */
export function moveSlot(layout: CacheLayout, j: number, key: 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown' | 'Home' | 'End'): number {
  const capacity = layout.sink + layout.window + layout.pins;
  if (capacity === 0) return -1;
  if (j < 0) return 0;
  switch (key) {
    case 'ArrowLeft':
      return Math.max(0, j - 1);
    case 'ArrowRight':
      return Math.min(capacity - 1, j + 1);
    case 'Home':
      return 0;
    case 'End':
      return capacity - 1;
    case 'ArrowUp':
    case 'ArrowDown': {
      const { x, y } = cellOrigin(layout, j);
      const step = (layout.cell + layout.gap) * (key === 'ArrowUp' ? -1 : 1);
      let next = slotAt(layout, x, y + step);
      // Into the other block: its nearest row in the same column, else its last/first slot.
      if (next < 0 && key === 'ArrowDown' && j < layout.sink) next = Math.min(capacity - 1, layout.sink + (j % layout.cols));
      if (next < 0 && key === 'ArrowUp' && j >= layout.sink && layout.sink > 0) {
        const col = (j - layout.sink) % layout.cols;
        const lastRow = Math.floor((layout.sink - 1) / layout.cols) * layout.cols;
        next = Math.min(layout.sink - 1, lastRow + col);
      }
      return next < 0 ? j : next;
    }
  }
}
