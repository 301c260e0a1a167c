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

/**
 * `num` ÷ `den` by mean over all their values, where both come in rounds (one list per round, measured
 * interleaved within it), with a 95% bootstrap interval over rounds (`resamples` resamples of the rounds,
 * a fixed-seed generator so a run's report is reproducible from its data) and the ratio's min–max over rounds.
 */
export function ratioOfMeans(num: readonly (readonly number[])[], den: readonly (readonly number[])[], resamples = 2000): { value: number; low: number; high: number; roundMin: number; roundMax: number } {
  if (num.length !== den.length || num.length === 0) throw new RangeError('ratioOfMeans needs the same positive number of rounds on both sides');
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const rounds = num.map((xs, r) => ({ num: sum(xs), numN: xs.length, den: sum(den[r]), denN: den[r].length }));
  const ratio = (picked: readonly (typeof rounds)[number][]) => {
    const total = picked.reduce((a, p) => ({ num: a.num + p.num, numN: a.numN + p.numN, den: a.den + p.den, denN: a.denN + p.denN }));
    return total.num / total.numN / (total.den / total.denN);
  };
  let seed = 0x9e3779b9;
  // mulberry32: small, seeded, good enough to resample rounds.
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const boot: number[] = [];
  for (let i = 0; i < resamples; i++) boot.push(ratio(rounds.map(() => rounds[Math.floor(random() * rounds.length)])));
  const perRound = rounds.map((r) => ratio([r]));
  return { value: ratio(rounds), low: quantile(boot, 0.025), high: quantile(boot, 0.975), roundMin: Math.min(...perRound), roundMax: Math.max(...perRound) };
}
