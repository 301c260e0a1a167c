// Remembered window bounds: what to restore (only where a display still shows it) and what to save.
// Pure functions (no electron import) so they are unit-tested. Runs in main.
import type { WindowBounds } from '../../common/settingsSchema';

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export const DEFAULT_SIZE = { width: 1100, height: 760 } as const;
/** How much of the title bar must be on a display for a saved position to be reused. */
const MIN_VISIBLE = 64;

/**
 * The bounds to open the window with: the saved size (capped to the largest display) and the saved
 * position only if enough of the window's top lies on some display (a monitor may have been unplugged).
 */
export function boundsToRestore(saved: Readonly<WindowBounds> | null, workAreas: readonly Rect[]): { x?: number; y?: number; width: number; height: number; maximized: boolean } {
  if (!saved) return { ...DEFAULT_SIZE, maximized: false };
  const maxWidth = Math.max(...workAreas.map((a) => a.width), 200);
  const maxHeight = Math.max(...workAreas.map((a) => a.height), 200);
  const width = Math.min(saved.width, maxWidth);
  const height = Math.min(saved.height, maxHeight);
  const maximized = saved.maximized === true;
  if (saved.x === undefined || saved.y === undefined) return { width, height, maximized };
  const { x, y } = saved;
  const visible = workAreas.some((a) => overlap(x, x + width, a.x, a.x + a.width) >= MIN_VISIBLE && y >= a.y && y < a.y + a.height - MIN_VISIBLE / 2);
  return visible ? { x, y, width, height, maximized } : { width, height, maximized };
}

/** What to store for a window: its normal (unmaximised) bounds, rounded, and whether it is maximised. */
export function boundsToSave(normal: Readonly<Rect>, maximized: boolean): WindowBounds {
  return {
    x: Math.round(normal.x),
    y: Math.round(normal.y),
    width: Math.max(200, Math.round(normal.width)),
    height: Math.max(200, Math.round(normal.height)),
    maximized,
  };
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}
