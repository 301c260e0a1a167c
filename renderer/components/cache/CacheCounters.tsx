// The counters above the cache canvas: tokens seen, evicted, window fill, KV bytes, positions offset
// after rebases, decode rate and the write head. Written into the DOM once per frame from the store
// (never a React render per token). Renderer.
import { useRef } from 'react';
import { formatBytes, formatCount, formatRate } from '../../format';
import type { AppState } from '../../state/appState';
import { useStorePainter } from './useStorePainter';

/** The counters' texts for a state (pure: the painter writes them, tests read them). */
export function cacheCounters(s: Pick<AppState, 'cacheMirror' | 'currentModel' | 'lastStats' | 'cacheLiveRate'>): Record<CounterKey, string> {
  const m = s.cacheMirror;
  const perToken = s.currentModel?.kvBytesPerToken ?? 0;
  const held = m.sink > 0 || m.window > 0 ? m.ringFill() + countHeld(m.pos, m.sink) + m.pinFill() : 0;
  const rate = s.cacheLiveRate() ?? s.lastStats?.decodeTokPerSec ?? null;
  if (!m.loaded) {
    return { seen: '–', evicted: '–', fill: '–', pinned: '–', kv: '–', offset: '–', rate: rate === null ? '–' : `${formatRate(rate)} tok/s`, head: '–' };
  }
  return {
    seen: formatCount(m.nextPos),
    evicted: formatCount(m.evicted),
    fill: `${formatCount(m.ringFill())} / ${formatCount(m.window)}`,
    pinned: m.pinBudget > 0 ? `${formatCount(m.pinFill())} / ${formatCount(m.pinBudget)}` : '–',
    kv: perToken > 0 ? `${formatBytes(held * perToken)} of ${formatBytes(m.capacity * perToken)}` : '–',
    offset: formatCount(m.offset),
    rate: rate === null ? '–' : `${formatRate(rate)} tok/s`,
    head: m.capacity > 0 ? `slot ${m.head} · next position ${formatCount(m.nextPos)}` : '–',
  };
}

function countHeld(pos: Int32Array, sink: number): number {
  let n = 0;
  for (let j = 0; j < sink; j++) if (pos[j] >= 0) n++;
  return n;
}

export type CounterKey = 'seen' | 'evicted' | 'fill' | 'pinned' | 'kv' | 'offset' | 'rate' | 'head';

const ROWS: readonly { key: CounterKey; label: string; hint: string }[] = [
  { key: 'seen', label: 'Tokens seen', hint: 'Every token fed to the model in this conversation' },
  { key: 'evicted', label: 'Evicted', hint: 'Tokens no longer held in any slot' },
  { key: 'fill', label: 'Window fill', hint: 'Ring slots holding a token' },
  { key: 'pinned', label: 'Pinned memory', hint: 'Pin slots holding a pinned token, of the pin budget' },
  { key: 'kv', label: 'KV cache', hint: 'Key/value memory of the slots in use, of all slots' },
  { key: 'offset', label: 'Positions offset', hint: 'Subtracted from every position by rebases' },
  { key: 'rate', label: 'Decode', hint: 'Tokens per second while a reply streams (else the last reply)' },
  { key: 'head', label: 'Write head', hint: 'The slot the next token goes to' },
];

export function CacheCounters() {
  const cells = useRef<Partial<Record<CounterKey, HTMLElement | null>>>({});
  useStorePainter(
    (s) => {
      const values = cacheCounters(s);
      for (const { key } of ROWS) {
        const el = cells.current[key];
        if (el && el.textContent !== values[key]) el.textContent = values[key];
      }
    },
    (s, p) => s.cacheVersion !== p.cacheVersion || s.lastStats !== p.lastStats || s.currentModel !== p.currentModel || s.stream !== p.stream,
  );
  return (
    <dl className="stat-list cache-counters" data-testid="cache-counters">
      {ROWS.map(({ key, label, hint }) => (
        <div key={key} title={hint}>
          <dt>{label}</dt>
          <dd data-counter={key} ref={(el) => void (cells.current[key] = el)}>
            –
          </dd>
        </div>
      ))}
    </dl>
  );
}
