// Colours of the cache canvas and its legend: by age (newest strongest), by message (one hue each), by
// role or by attention received (./attentionScale); sinks, the write head, the last step's writes, empty and out-of-view slots. Renderer.

export type ColorMode = 'age' | 'message' | 'role' | 'attention';
export type OwnerRole = 'system' | 'user' | 'assistant';

/** The theme colours the painter needs (read once per theme from CSS variables). */
export interface ThemeColors {
  readonly bg: string;
  readonly text: string;
  readonly muted: string;
  readonly border: string;
  readonly accent: string;
  readonly sink: string;
  readonly head: string;
}

/** Age buckets: age colours are precomputed strings, so a frame allocates none. */
export const AGE_STEPS = 24;

export const ROLE_COLORS: Readonly<Record<OwnerRole | 'markup', string>> = {
  system: '#a259d9',
  user: '#3b7be0',
  assistant: '#1f9d6b',
  markup: '#9a9aa3',
};

export const ROLE_LABELS: Readonly<Record<OwnerRole | 'markup', string>> = {
  system: 'System prompt',
  user: 'Your messages',
  assistant: 'Replies',
  markup: 'Template markup',
};

export const LIGHT: ThemeColors = {
  bg: '#f5f5f3',
  text: '#1c1c1f',
  muted: '#96969d',
  border: '#d2d2cd',
  accent: '#4c57d6',
  sink: '#c98200',
  head: '#c6372d',
};

/** The theme's colours from the page's CSS variables, with light defaults for what is missing. */
export function themeColors(element: Element): ThemeColors {
  const style = getComputedStyle(element);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    bg: read('--bg-sidebar', LIGHT.bg),
    text: read('--text', LIGHT.text),
    muted: read('--text-faint', LIGHT.muted),
    border: read('--border-strong', LIGHT.border),
    accent: read('--accent', LIGHT.accent),
    sink: read('--cache-sink', LIGHT.sink),
    head: read('--danger', LIGHT.head),
  };
}

function parseHex(color: string): [number, number, number] | null {
  const m = /^#([0-9a-f]{6})$/i.exec(color.trim());
  if (!m) return null;
  const n = parseInt(m[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** `a` blended toward `b` by t in [0, 1], as `rgb()`; non-hex inputs give `a`. */
export function mix(a: string, b: string, t: number): string {
  const x = parseHex(a);
  const y = parseHex(b);
  if (!x || !y) return a;
  const c = x.map((v, i) => Math.round(v + (y[i] - v) * t));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** AGE_STEPS colours from newest (the accent) to oldest (faded toward the background). */
export function agePalette(theme: ThemeColors): string[] {
  return Array.from({ length: AGE_STEPS }, (_, i) => mix(theme.accent, theme.bg, 0.08 + (0.72 * i) / (AGE_STEPS - 1)));
}

/** A distinct hue for owner index `k` (golden-angle steps), readable on light and dark panels. */
export function messageColor(k: number): string {
  const hue = Math.round((k * 137.508 + 210) % 360);
  return `hsl(${hue}, 58%, 56%)`;
}
