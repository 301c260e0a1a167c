// The visible legend of the cache canvas for the current colour mode (the canvas's aria-describedby).
// Renderer.
import { ROLE_COLORS, ROLE_LABELS, type ColorMode } from './cachePalette';

interface Entry {
  readonly key: string;
  readonly label: string;
  /** CSS class of the swatch (styles/cache.css). */
  readonly swatch: string;
  readonly color?: string;
}

const COMMON: readonly Entry[] = [
  { key: 'head', label: 'Write head (next token goes here)', swatch: 'swatch-head' },
  { key: 'last', label: 'Written in the last step', swatch: 'swatch-last' },
  { key: 'out', label: 'Held but out of view (overwritten next)', swatch: 'swatch-out' },
  { key: 'empty', label: 'Empty', swatch: 'swatch-empty' },
];

/** The entries shown for `mode` (mode-specific first). */
export function legendEntries(mode: ColorMode): readonly Entry[] {
  const sink: Entry = { key: 'sink', label: 'Sink (pinned, never overwritten)', swatch: 'swatch-sink' };
  if (mode === 'attention') {
    return [{ key: 'attention', label: 'Attention received at the last step: 0.01% → 100% (log scale)', swatch: 'swatch-heat' }, sink, ...COMMON];
  }
  if (mode === 'age') return [{ key: 'age', label: 'Newest → oldest token', swatch: 'swatch-age' }, sink, ...COMMON];
  if (mode === 'message') {
    return [{ key: 'message', label: 'One colour per message', swatch: 'swatch-messages' }, { key: 'markup', label: ROLE_LABELS.markup, swatch: 'swatch-solid', color: ROLE_COLORS.markup }, sink, ...COMMON];
  }
  const roles = (['system', 'user', 'assistant', 'markup'] as const).map((r) => ({ key: r, label: ROLE_LABELS[r], swatch: 'swatch-solid', color: ROLE_COLORS[r] }));
  return [...roles, sink, ...COMMON];
}

export function CacheLegend({ mode }: { readonly mode: ColorMode }) {
  return (
    <ul className="cache-legend" id="cache-legend" aria-label="Legend">
      {legendEntries(mode).map((e) => (
        <li key={e.key}>
          <span className={`swatch ${e.swatch}`} style={e.color ? { background: e.color } : undefined} aria-hidden="true" />
          {e.label}
        </li>
      ))}
    </ul>
  );
}
