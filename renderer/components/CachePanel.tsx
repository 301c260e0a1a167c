// The cache panel (toggled by the Cache panel button, the View menu or its shortcut): every sink and ring
// slot of the model's cache live on a canvas, its counters, colour modes, legend, a slot inspector and an
// accessible slot table. Follows the stream transiently: a token never re-renders these components.
// Renderer.
import { useEffect, useRef, useState } from 'react';
import type { AttentionAvailability } from '../../common/attentionView';
import { PROVIDER_LABELS } from '../../common/providers';
import type { AppState } from '../state/appState';
import { selectCacheStatus, selectCurrentModel } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { AttentionSummary } from './cache/AttentionSummary';
import { CacheCanvas } from './cache/CacheCanvas';
import { CacheCounters } from './cache/CacheCounters';
import { CacheLegend } from './cache/CacheLegend';
import { CacheSlotTable } from './cache/CacheSlotTable';
import type { ColorMode } from './cache/cachePalette';
import { SlotInspector } from './cache/SlotInspector';
import { useStorePainter } from './cache/useStorePainter';
import { CloseIcon } from './icons';

const MODES: readonly { mode: ColorMode; label: string }[] = [
  { mode: 'age', label: 'Age' },
  { mode: 'message', label: 'Message' },
  { mode: 'role', label: 'Role' },
  { mode: 'attention', label: 'Attention' },
];

const STATUS_TEXT: Readonly<Record<AppState['cacheStatus'], string | null>> = {
  none: 'No conversation is in the model’s cache yet: send a message to fill it.',
  loading: 'Reading the cache…',
  ready: null,
  waiting: 'Part of this reply’s cache changes were missed; the panel catches up when the reply ends.',
  failed: 'The cache could not be read. It is read again after the next reply.',
};

/** The panel root's data attributes: what the canvas shows, for tests and tools (written per frame). */
function writeDataset(el: HTMLElement | null, s: AppState): void {
  if (!el) return;
  const m = s.cacheMirror;
  const data: Record<string, string> = {
    capacity: String(m.capacity),
    sink: String(m.sink),
    window: String(m.window),
    head: String(m.head),
    nextPos: String(m.nextPos),
    firstVisible: String(m.firstVisible),
    evicted: String(m.evicted),
    version: String(s.cacheVersion),
  };
  for (const [k, v] of Object.entries(data)) if (el.dataset[k] !== v) el.dataset[k] = v;
}

export function CachePanel() {
  const store = useStoreApi();
  const model = useAppStore(selectCurrentModel);
  const status = useAppStore(selectCacheStatus);
  const [mode, setMode] = useState<ColorMode>('age');
  const [selected, setSelected] = useState(-1);
  const [layer, setLayer] = useState<number | null>(null);
  const [availability, setAvailability] = useState<AttentionAvailability | null>(null);
  const root = useRef<HTMLElement>(null);
  const attention = mode === 'attention';
  // The engine fetches attention only while this mode is open (DESIGN §3): open on entry and on a layer or
  // model change, closed on leaving the mode or the panel.
  useEffect(() => {
    if (!attention || !model) return;
    let live = true;
    void store
      .getState()
      .showAttention(layer)
      .then((a) => live && setAvailability(a));
    return () => {
      live = false;
      void store.getState().showAttention(undefined);
    };
  }, [attention, layer, model, store]);
  useStorePainter(
    (s) => writeDataset(root.current, s),
    (s, p) => s.cacheVersion !== p.cacheVersion,
  );
  const message = STATUS_TEXT[status];
  return (
    <aside className="side-panel cache-panel" aria-label="Cache panel" data-testid="cache-panel" data-status={status} ref={root}>
      <header className="side-panel-header">
        <h2>Context cache</h2>
        <button type="button" className="icon-button" aria-label="Close panel" onClick={() => store.getState().toggleCachePanel()}>
          <CloseIcon />
        </button>
      </header>
      <div className="cache-panel-body">
        <CacheCounters />
        {model && (
          <p className="cache-model-line" title={model.providerNote ?? undefined}>{`${model.name} · ${PROVIDER_LABELS[model.provider]}`}</p>
        )}
        <div className="segmented" role="radiogroup" aria-label="Colour slots by">
          {MODES.map(({ mode: m, label }) => (
            <button key={m} type="button" role="radio" aria-checked={mode === m} className={mode === m ? 'is-active' : ''} onClick={() => setMode(m)}>
              {label}
            </button>
          ))}
        </div>
        {message && (
          <p className="cache-status" role="status">
            {message}
          </p>
        )}
        {attention && <AttentionSummary availability={availability} layer={layer} onLayer={setLayer} />}
        <CacheCanvas mode={mode} selected={selected} onSelect={setSelected} />
        <CacheLegend mode={mode} />
        {selected >= 0 && (
          <section className="cache-inspector" aria-label="Selected slot">
            <header>
              <h3>Slot {selected}</h3>
              <button type="button" className="icon-button" aria-label="Close the slot details" onClick={() => setSelected(-1)}>
                <CloseIcon />
              </button>
            </header>
            <SlotInspector slot={selected} showAttention={attention} />
          </section>
        )}
        <CacheSlotTable />
      </div>
    </aside>
  );
}
