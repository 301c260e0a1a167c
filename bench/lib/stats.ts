// Small statistics and formatting helpers for the benchmark scripts (benchmark process only).

/** The q-quantile (0..1) of `xs` by linear interpolation; NaN for an empty list. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo] + (s[hi] - s[lo]) * (at - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** p50/p95/mean/max/count of a list of milliseconds, rounded for JSON. */
export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly mean: number;
  readonly max: number;
}

export function summarize(xs: readonly number[]): Summary {
  return { n: xs.length, p50: round(median(xs)), p95: round(quantile(xs, 0.95)), mean: round(mean(xs)), max: round(Math.max(...xs)) };
}

export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A number for a table cell: `digits` decimals, or '–' when missing. */
export function fmt(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

/** A markdown table. */
export function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Mebibytes, one decimal. */
export const mib = (bytes: number): number => round(bytes / 2 ** 20, 1);
