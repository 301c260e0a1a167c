// The Attention mode's controls and counters: which layer the canvas shows (all, or 1..L), the share of
// the last step's attention on the sinks and on the window, the most-attended slots, and a sparkline of
// the sinks' share over the conversation. Counters and sparkline are written from the store once per
// frame, never a React render per token. Renderer.
import { useRef } from 'react';
import { formatShare, type AttentionAvailability } from '../../../common/attentionView';
import type { CacheMirror } from '../../state/cacheMirror';
import { useStorePainter } from './useStorePainter';

export interface AttentionSummaryProps {
  readonly availability: AttentionAvailability | null;
  /** 0-based layer shown, null: the mean over layers. */
  readonly layer: number | null;
  onLayer(layer: number | null): void;
}

const SPARK_WIDTH = 240;
const SPARK_HEIGHT = 36;

/** The counters' texts for the mirror's latest attention (pure: the painter writes them, tests read them). */
export function attentionCounters(m: Pick<CacheMirror, 'attention' | 'texts' | 'sinkShares'>): { sinks: string; window: string; top: string } {
  const a = m.attention;
  if (!a) return { sinks: '–', window: '–', top: '–' };
  const top = a.top.map((t) => `slot ${t.slot} “${(m.texts[t.slot] ?? '').replaceAll(' ', '␣')}” ${formatShare(t.mass)}`).join(' · ');
  return { sinks: formatShare(a.sinkShare), window: formatShare(1 - a.sinkShare), top: top || '–' };
}

/** Sparkline points of the sinks' share (0 at the bottom, 1 at the top), one per step, spread over the width. */
export function sparkPoints(shares: readonly number[]): string {
  if (shares.length === 0) return '';
  const dx = shares.length > 1 ? SPARK_WIDTH / (shares.length - 1) : 0;
  return shares.map((v, i) => `${(i * dx).toFixed(1)},${(SPARK_HEIGHT - v * SPARK_HEIGHT).toFixed(1)}`).join(' ');
}

export function AttentionSummary({ availability, layer, onLayer }: AttentionSummaryProps) {
  const sinks = useRef<HTMLElement>(null);
  const windowShare = useRef<HTMLElement>(null);
  const top = useRef<HTMLElement>(null);
  const line = useRef<SVGPolylineElement>(null);
  useStorePainter(
    (s) => {
      const c = attentionCounters(s.cacheMirror);
      for (const [el, text] of [[sinks.current, c.sinks], [windowShare.current, c.window], [top.current, c.top]] as const) {
        if (el && el.textContent !== text) el.textContent = text;
      }
      line.current?.setAttribute('points', sparkPoints(s.cacheMirror.sinkShares));
    },
    (s, p) => s.cacheVersion !== p.cacheVersion,
  );
  if (availability?.unavailable) {
    return (
      <p className="cache-status" role="status" data-testid="attention-unavailable">
        This model’s attention cannot be shown: {availability.unavailable}.
      </p>
    );
  }
  const layers = availability?.layers ?? 0;
  return (
    <section className="attention-summary" aria-label="Attention" data-testid="attention-summary">
      <label className="attention-layer">
        Layer{' '}
        <select data-testid="attention-layer" value={layer === null ? 'all' : String(layer)} onChange={(e) => onLayer(e.target.value === 'all' ? null : Number(e.target.value))}>
          <option value="all">All (mean)</option>
          {Array.from({ length: layers }, (_, l) => (
            <option key={l} value={l}>
              {l + 1}
            </option>
          ))}
        </select>
      </label>
      <dl className="stat-list cache-counters">
        <div title="Share of the last step's attention on the sink slots">
          <dt>To sinks</dt>
          <dd data-counter="attention-sinks" ref={sinks}>
            –
          </dd>
        </div>
        <div title="Share of the last step's attention on the window (ring slots and the new token)">
          <dt>To window</dt>
          <dd data-counter="attention-window" ref={windowShare}>
            –
          </dd>
        </div>
        <div title="The slots that received the most attention at the last step">
          <dt>Most attended</dt>
          <dd data-counter="attention-top" ref={top}>
            –
          </dd>
        </div>
      </dl>
      <figure className="attention-spark">
        <svg width={SPARK_WIDTH} height={SPARK_HEIGHT} viewBox={`0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`} role="img" aria-label="Sinks' share of attention over the conversation">
          <polyline ref={line} data-testid="attention-spark" fill="none" stroke="currentColor" strokeWidth="1.5" points="" />
        </svg>
        <figcaption>Sinks’ share per step, this conversation (0–100%)</figcaption>
      </figure>
    </section>
  );
}
