// Ouro's app icon, drawn procedurally: a ring of cache slots on a rounded navy tile — three amber sink
// slots pinned at the top, then the ring's slots fading from the newest token back to the oldest.
// Pure arithmetic (no canvas), so every size renders identically on any machine. Runs in Node.

/** A square RGBA image, 8 bits per channel, straight (not premultiplied) alpha, rows top to bottom. */
export interface RgbaImage {
  readonly size: number;
  readonly pixels: Uint8Array;
}

type Rgb = readonly [number, number, number];

const SLOTS = 12;
const SINKS = 3;
const SINK_COLOR: Rgb = [255, 181, 71];
const RING_NEW: Rgb = [80, 232, 204];
const RING_OLD: Rgb = [58, 110, 170];
const TILE_TOP: Rgb = [38, 58, 104];
const TILE_BOTTOM: Rgb = [15, 23, 48];

/** Tile inset and corner radius, ring radius and width, the gap between slots: fractions of the size. */
const TILE_INSET = 0.07;
const TILE_RADIUS = 0.2;
const RING_RADIUS = 0.285;
const RING_WIDTH = 0.12;
const SLOT_GAP = 0.03;

/** Signed distance (in icon units) to the rounded tile; negative inside. */
function tileDistance(x: number, y: number): number {
  const half = 0.5 - TILE_INSET;
  const qx = Math.abs(x - 0.5) - (half - TILE_RADIUS);
  const qy = Math.abs(y - 0.5) - (half - TILE_RADIUS);
  const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0));
  return outside + Math.min(Math.max(qx, qy), 0) - TILE_RADIUS;
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/**
 * The colour of the ring at (x, y), or null off the ring. Slot 0 starts at 12 o'clock and slots run
 * clockwise: sinks first, then ring slots from the oldest token (dim) to the newest (bright), which
 * sits just before the sinks, like a snake biting its tail.
 */
function ringColor(x: number, y: number): Rgb | null {
  const dx = x - 0.5;
  const dy = y - 0.5;
  const rho = Math.hypot(dx, dy);
  if (Math.abs(rho - RING_RADIUS) > RING_WIDTH / 2) return null;
  const turn = (Math.atan2(dx, -dy) / (2 * Math.PI) + 1) % 1;
  const slot = Math.min(SLOTS - 1, Math.floor(turn * SLOTS));
  const within = turn * SLOTS - slot;
  const arcToEdge = (Math.min(within, 1 - within) / SLOTS) * 2 * Math.PI * rho;
  if (arcToEdge < SLOT_GAP / 2) return null;
  if (slot < SINKS) return SINK_COLOR;
  return mix(RING_OLD, RING_NEW, (slot - SINKS) / (SLOTS - SINKS - 1));
}

/**
 * Renders the icon at `size`×`size` with `samples`² supersampling per pixel for smooth edges (more for
 * the small sizes, where one pixel spans a large part of a slot gap).
 */
export function renderIcon(size: number, samples = size <= 64 ? 8 : 4): RgbaImage {
  const pixels = new Uint8Array(size * size * 4);
  const n = samples * samples;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let covered = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = (px + (sx + 0.5) / samples) / size;
          const y = (py + (sy + 0.5) / samples) / size;
          if (tileDistance(x, y) > 0) continue;
          const color = ringColor(x, y) ?? mix(TILE_TOP, TILE_BOTTOM, y);
          r += color[0];
          g += color[1];
          b += color[2];
          covered++;
        }
      }
      const at = (py * size + px) * 4;
      if (covered === 0) continue;
      // Averaging only covered samples is the straight-alpha colour; coverage becomes alpha.
      pixels[at] = Math.round(r / covered);
      pixels[at + 1] = Math.round(g / covered);
      pixels[at + 2] = Math.round(b / covered);
      pixels[at + 3] = Math.round((255 * covered) / n);
    }
  }
  return { size, pixels };
}
