// A hand-written SVG line chart (no plotting dependency): axes with round ticks, one polyline per series,
// a legend. Benchmark process only.

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
  /** Dashed line (e.g. for p95 next to a solid p50). */
  readonly dashed?: boolean;
}

export interface ChartSpec {
  readonly title: string;
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Force the y axis to start at 0 (default true). */
  readonly yFromZero?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/** About `count` round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function label(v: number): string {
  return Math.abs(v) >= 1000 ? `${Math.round(v / 10) / 100}k` : String(v);
}

/** Renders the chart as a standalone SVG document. */
export function lineChart(spec: ChartSpec): string {
  const W = spec.width ?? 760;
  const H = spec.height ?? 420;
  const m = { left: 64, right: 180, top: spec.subtitle ? 56 : 40, bottom: 48 };
  const pts = spec.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map(([x]) => x);
  const ys = pts.map(([, y]) => y);
  const xLo = Math.min(...xs, 0);
  const xHi = Math.max(...xs, 1);
  const yLo = spec.yFromZero === false ? Math.min(...ys) : Math.min(0, ...ys);
  const yHi = Math.max(...ys, yLo + 1) * 1.08;
  const px = (x: number) => m.left + ((x - xLo) / (xHi - xLo || 1)) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - ((y - yLo) / (yHi - yLo || 1)) * (H - m.top - m.bottom);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${m.left}" y="22" font-size="15" font-weight="600">${escape(spec.title)}</text>`);
  if (spec.subtitle) out.push(`<text x="${m.left}" y="40" fill="#555">${escape(spec.subtitle)}</text>`);
  for (const t of ticks(yLo, yHi, 6)) {
    out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${py(t)}" y2="${py(t)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 6}" y="${py(t) + 4}" text-anchor="end" fill="#333">${label(t)}</text>`);
  }
  for (const t of ticks(xLo, xHi, 8)) {
    out.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${H - m.bottom}" y2="${H - m.bottom + 4}" stroke="#333"/>`);
    out.push(`<text x="${px(t)}" y="${H - m.bottom + 18}" text-anchor="middle" fill="#333">${label(t)}</text>`);
  }
  out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${H - m.bottom}" stroke="#333"/>`);
  out.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 10}" text-anchor="middle">${escape(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const path = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${path.join(' ')}"/>`);
    for (const p of path) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${s.color}"/>`);
    }
    const ly = m.top + 8 + i * 20;
    out.push(`<line x1="${W - m.right + 14}" x2="${W - m.right + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${W - m.right + 46}" y="${ly + 4}">${escape(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
