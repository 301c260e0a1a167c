// Paints the cache model onto the panel's canvas: one cell per slot, coloured by age, message, role or
// attention received,
// with the sinks, the write head, the last step's writes, empty and out-of-view slots marked. Called from
// a requestAnimationFrame callback, never from React rendering. Renderer.
import type { CacheMirror } from '../../state/cacheMirror';
import { cellOrigin, type CacheLayout } from './cacheLayout';
import { heatStep } from './attentionScale';
import { AGE_STEPS, messageColor, mix, ROLE_COLORS, type ColorMode, type OwnerRole, type ThemeColors } from './cachePalette';

export interface PaintOptions {
  readonly mode: ColorMode;
  readonly theme: ThemeColors;
  /** From `agePalette(theme)`. */
  readonly ages: readonly string[];
  /** From `heatPalette(theme)` (attention mode). */
  readonly heat: readonly string[];
  /** Role of the message with owner index `k`, null when unknown. */
  readonly roleOf: (k: number) => OwnerRole | null;
  /** Slot with keyboard focus or selected, and the one under the pointer (-1: none). */
  readonly focus: number;
  readonly hover: number;
  /** Device pixels per CSS pixel. */
  readonly dpr: number;
}

/** Cells at least this large show the start of their token's text. */
const TEXT_CELL = 22;

/** Fill colour of slot `j` (held) in `mode`. */
export function slotColor(model: CacheMirror, j: number, o: Pick<PaintOptions, 'mode' | 'theme' | 'ages' | 'heat' | 'roleOf'>, messageColors: string[]): string {
  const owner = model.owner[j];
  if (o.mode === 'attention') return o.heat[heatStep(model.attention?.mass[j] ?? 0)];
  if (o.mode === 'age') {
    if (j < model.sink) return o.theme.sink;
    const age = model.nextPos - 1 - model.pos[j];
    return o.ages[Math.min(AGE_STEPS - 1, Math.max(0, Math.floor((age * AGE_STEPS) / Math.max(1, model.window))))];
  }
  if (owner < 0) return ROLE_COLORS.markup;
  if (o.mode === 'role') return ROLE_COLORS[o.roleOf(owner) ?? 'assistant'];
  return (messageColors[owner] ??= messageColor(owner));
}

/** Repaints the whole canvas (O(C)); `ctx` belongs to a canvas sized `layout.width × layout.height × dpr`. */
export function paintCache(ctx: CanvasRenderingContext2D, model: CacheMirror, layout: CacheLayout, o: PaintOptions): void {
  const { cell } = layout;
  ctx.setTransform(o.dpr, 0, 0, o.dpr, 0, 0);
  ctx.clearRect(0, 0, layout.width, layout.height);
  ctx.font = '600 11px system-ui, sans-serif';
  ctx.textBaseline = 'alphabetic';
  ctx.fillStyle = o.theme.muted;
  if (model.sink > 0) ctx.fillText(`Sinks · ${model.sink} pinned`, 0, layout.sinkCaption);
  ctx.fillText(`Window · ring of ${model.window}`, 0, layout.ringCaption);

  const empty = mix(o.theme.bg, o.theme.border, 0.35);
  const outOfView = mix(o.theme.border, o.theme.bg, 0.2);
  const messageColors: string[] = [];
  const showText = cell >= TEXT_CELL;
  const inset = cell >= 8 ? 1.5 : 0.5;
  if (showText) {
    ctx.font = `${Math.min(11, cell / 2.4)}px ui-monospace, monospace`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
  }

  for (let j = 0; j < model.capacity; j++) {
    const { x, y } = cellOrigin(layout, j);
    const held = model.pos[j] >= 0;
    const visible = held && model.visible(j);
    ctx.fillStyle = !held ? empty : visible ? slotColor(model, j, o, messageColors) : outOfView;
    ctx.fillRect(x, y, cell, cell);
    if (!held && cell >= 6) {
      ctx.strokeStyle = o.theme.border;
      ctx.lineWidth = 1;
      ctx.setLineDash([2, 2]);
      ctx.strokeRect(x + 0.5, y + 0.5, cell - 1, cell - 1);
      ctx.setLineDash([]);
    }
    if (held && !visible && cell >= 6) hatch(ctx, x, y, cell, o.theme.muted);
    // Sinks keep an amber frame in every colour mode.
    if (j < model.sink && o.mode !== 'age' && cell >= 4) {
      ctx.strokeStyle = o.theme.sink;
      ctx.lineWidth = Math.max(1, cell / 8);
      ctx.strokeRect(x + ctx.lineWidth / 2, y + ctx.lineWidth / 2, cell - ctx.lineWidth, cell - ctx.lineWidth);
    }
    if (model.writtenLast(j)) {
      ctx.strokeStyle = o.theme.text;
      ctx.lineWidth = cell >= 8 ? 2 : 1;
      ctx.strokeRect(x + inset, y + inset, cell - 2 * inset, cell - 2 * inset);
    }
    if (showText && held) {
      ctx.fillStyle = visible ? '#ffffff' : o.theme.text;
      ctx.fillText(cellText(model.texts[j]), x + cell / 2, y + cell / 2 + 0.5, cell - 3);
    }
  }

  if (model.capacity > 0 && model.head >= model.sink) marker(ctx, layout, model.head, o.theme.head, 2.5);
  if (o.hover >= 0 && o.hover < model.capacity) marker(ctx, layout, o.hover, o.theme.text, 1.5);
  if (o.focus >= 0 && o.focus < model.capacity) marker(ctx, layout, o.focus, o.theme.accent, 2.5, true);
  ctx.textAlign = 'start';
}

/** At most three characters of a token, spaces shown as `·` so a leading space stays visible. */
export function cellText(text: string): string {
  const chars = [...text.replaceAll(' ', '·')];
  return chars.length <= 3 ? chars.join('') : `${chars.slice(0, 2).join('')}…`;
}

function hatch(ctx: CanvasRenderingContext2D, x: number, y: number, cell: number, color: string): void {
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, cell, cell);
  ctx.clip();
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let d = -cell; d < cell; d += 5) {
    ctx.moveTo(x + d, y + cell);
    ctx.lineTo(x + d + cell, y);
  }
  ctx.stroke();
  ctx.restore();
}

/** An outline around slot `j`'s cell, drawn outside it so the cell's own marks stay visible. */
function marker(ctx: CanvasRenderingContext2D, layout: CacheLayout, j: number, color: string, width: number, dashed = false): void {
  const { x, y } = cellOrigin(layout, j);
  const pad = Math.max(1, width / 2);
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  if (dashed) ctx.setLineDash([3, 2]);
  ctx.strokeRect(x - pad, y - pad, layout.cell + 2 * pad, layout.cell + 2 * pad);
  ctx.setLineDash([]);
}
