// The Attention mode's colour scale: attention mass on a log scale from 0.01% to 100% (a uniform share
// over a 2,048-slot window is 0.05%; a sink can take most of it), precomputed colours so a frame
// allocates none. Renderer.
import { mix, type ThemeColors } from './cachePalette';

/** Colour steps of the scale. */
export const HEAT_STEPS = 24;
/** log10 of the smallest mass the scale tells apart; anything below paints as the first step. */
export const HEAT_FLOOR_LOG = -4;
/** The scale's strong end (orange-red: apart from the accent, the sinks' amber and the head's red). */
export const HEAT_COLOR = '#e4571b';

/** HEAT_STEPS colours from the faintest (mass at or below the floor) to the strongest (mass 1). */
export function heatPalette(theme: ThemeColors): string[] {
  return Array.from({ length: HEAT_STEPS }, (_, i) => mix(theme.bg, HEAT_COLOR, 0.1 + (0.9 * i) / (HEAT_STEPS - 1)));
}

/** The step of `mass` on the log scale: 0 at or below 10^HEAT_FLOOR_LOG (and for 0), HEAT_STEPS - 1 at 1. */
export function heatStep(mass: number): number {
  if (!(mass > 0)) return 0;
  const t = (Math.log10(mass) - HEAT_FLOOR_LOG) / -HEAT_FLOOR_LOG;
  return Math.min(HEAT_STEPS - 1, Math.max(0, Math.round(t * (HEAT_STEPS - 1))));
}
