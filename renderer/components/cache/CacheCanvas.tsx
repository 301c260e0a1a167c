// The cache slots on one <canvas>: painted from a store subscription in the frame the cache slice
// publishes a change in (a token never renders React here), hover for a tooltip, click to inspect, and
// keyboard navigation with each slot announced through a live region. Renderer.
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { AppState } from '../../state/appState';
import { useAppStoreShallow, useStoreApi } from '../../state/storeContext';
import { layoutCache, moveSlot, slotAt } from './cacheLayout';
import { heatPalette } from './attentionScale';
import { agePalette, themeColors, type ColorMode, type OwnerRole } from './cachePalette';
import { paintCache } from './paintCache';
import { paintTimes } from './renderProbe';
import { describeSlot, slotDetails } from './slotDetails';
import { SlotInspector } from './SlotInspector';

export interface CacheCanvasProps {
  readonly mode: ColorMode;
  /** The slot shown in the inspector (-1: none). */
  readonly selected: number;
  onSelect(slot: number): void;
}

const selectGeometry = (s: AppState) => [s.cacheMirror.sink, s.cacheMirror.window] as const;
const NAV_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End']);

export function CacheCanvas({ mode, selected, onSelect }: CacheCanvasProps) {
  const store = useStoreApi();
  const model = store.getState().cacheMirror;
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(288);
  const [focus, setFocus] = useState(-1);
  const [hover, setHover] = useState<{ slot: number; x: number; y: number } | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [sink, ring] = useAppStoreShallow(selectGeometry);
  const layout = useMemo(() => layoutCache(sink, ring, width), [sink, ring, width]);

  // The latest paint inputs, read by the frame callback (which outlives renders).
  const inputs = useRef({ layout, mode, focus: focus >= 0 ? focus : selected, hover: hover?.slot ?? -1 });
  inputs.current = { layout, mode, focus: focus >= 0 ? focus : selected, hover: hover?.slot ?? -1 };
  const frame = useRef<number | null>(null);
  const schedule = useRef<() => void>(() => {});

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    let roles = new Map<string, OwnerRole>();
    let rolesOf: AppState['messages'] | null = null;
    let palette: { key: string; ages: string[]; heat: string[] } = { key: '', ages: [], heat: [] };
    const paint = (): void => {
      frame.current = null;
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      const state = store.getState();
      if (state.messages !== rolesOf) {
        rolesOf = state.messages;
        roles = new Map(state.messages.map((m) => [m.id, m.role]));
        roles.set('', 'system');
      }
      const theme = themeColors(canvas);
      if (palette.key !== theme.accent + theme.bg) palette = { key: theme.accent + theme.bg, ages: agePalette(theme), heat: heatPalette(theme) };
      const { layout: l, mode: m, focus: f, hover: h } = inputs.current;
      const dpr = window.devicePixelRatio || 1;
      const w = Math.round(l.width * dpr);
      const hgt = Math.max(1, Math.round(l.height * dpr));
      if (canvas.width !== w || canvas.height !== hgt) {
        canvas.width = w;
        canvas.height = hgt;
      }
      const cache = state.cacheMirror;
      const times = paintTimes();
      const started = times ? performance.now() : 0;
      paintCache(ctx, cache, l, {
        mode: m,
        theme,
        ages: palette.ages,
        heat: palette.heat,
        roleOf: (k) => roles.get(cache.ownerIds[k]) ?? null,
        focus: f,
        hover: h,
        dpr,
      });
      times?.push(performance.now() - started);
    };
    schedule.current = () => {
      if (frame.current === null) frame.current = requestAnimationFrame(paint);
    };
    schedule.current();
    // The slice publishes a new cache once per frame: paint in that frame, not in a second one behind it.
    const unsubscribe = store.subscribe((s, prev) => {
      if (s.cacheVersion === prev.cacheVersion && s.messages === prev.messages && s.settings?.theme === prev.settings?.theme) return;
      if (frame.current !== null) cancelAnimationFrame(frame.current);
      paint();
    });
    return () => {
      unsubscribe();
      if (frame.current !== null) cancelAnimationFrame(frame.current);
      frame.current = null;
    };
  }, [store]);

  // Local changes (size, mode, focus, hover) repaint too; the slot arrays never pass through React.
  useEffect(() => schedule.current(), [layout, mode, focus, hover, selected]);

  useLayoutEffect(() => {
    const wrap = wrapRef.current;
    if (!wrap) return;
    const measure = () => setWidth(Math.max(40, Math.floor(wrap.clientWidth)));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(wrap);
    return () => observer.disconnect();
  }, []);

  const announce = (slot: number) => {
    const messages = store.getState().messages;
    setAnnouncement(slot >= 0 && slot < model.capacity ? describeSlot(slotDetails(model, slot, messages), model.capacity) : '');
  };

  const onKeyDown = (event: KeyboardEvent<HTMLCanvasElement>) => {
    if (model.capacity === 0) return;
    const from = focus >= 0 ? focus : selected;
    if (NAV_KEYS.has(event.key)) {
      event.preventDefault();
      const next = moveSlot(layout, from, event.key as Parameters<typeof moveSlot>[2]);
      setFocus(next);
      announce(next);
    } else if ((event.key === 'Enter' || event.key === ' ') && from >= 0) {
      event.preventDefault();
      onSelect(from);
    } else if (event.key === 'Escape' && selected >= 0) {
      event.preventDefault();
      onSelect(-1);
    }
  };

  return (
    <div className="cache-canvas-wrap" ref={wrapRef}>
      <canvas
        ref={canvasRef}
        className="cache-canvas"
        data-testid="cache-canvas"
        style={{ width: layout.width, height: layout.height }}
        tabIndex={0}
        // An application: screen readers pass the arrow keys through, and the live region speaks each slot.
        role="application"
        aria-roledescription="cache slots"
        aria-label={`Cache slots: ${sink} sinks and a ring of ${ring}. Arrow keys move between slots; Enter inspects one.`}
        aria-describedby="cache-legend"
        onKeyDown={onKeyDown}
        onFocus={() => {
          if (focus >= 0 || model.capacity === 0) return;
          const start = selected >= 0 ? selected : Math.min(model.head, model.capacity - 1);
          setFocus(start);
          announce(start);
        }}
        onBlur={() => setFocus(-1)}
        onPointerMove={(e) => {
          const slot = slotAt(layout, e.nativeEvent.offsetX, e.nativeEvent.offsetY);
          if (slot !== (hover?.slot ?? -1)) setHover(slot >= 0 ? { slot, x: e.nativeEvent.offsetX, y: e.nativeEvent.offsetY } : null);
        }}
        onPointerLeave={() => setHover(null)}
        onClick={(e) => {
          const slot = slotAt(layout, e.nativeEvent.offsetX, e.nativeEvent.offsetY);
          onSelect(slot === selected ? -1 : slot);
        }}
      />
      {hover && hover.slot !== selected && (
        <div
          className="cache-tooltip"
          role="tooltip"
          style={{ left: Math.min(hover.x + 12, Math.max(0, layout.width - 220)), top: hover.y + 14 }}
        >
          <SlotInspector slot={hover.slot} compact showAttention={mode === 'attention'} />
        </div>
      )}
      <div className="visually-hidden" aria-live="polite" data-testid="cache-announcer">
        {announcement}
      </div>
    </div>
  );
}
