// The options every benchmark section gets, where results go, and how a section reports (benchmark process).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './machine';

export const BENCH_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const RESULTS_DIR = join(BENCH_ROOT, 'results');
export const WORK_DIR = join(BENCH_ROOT, '.work');
const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));

/** Options of one `npm run bench` invocation, as each section sees them. */
export interface BenchContext {
  readonly quick: boolean;
  /** intraOpNumThreads for every session (ours, bare and transformers.js alike). */
  readonly threads: number;
  /** Per-section overrides from `--set key=value` (e.g. `latency.tokens=6000`). */
  readonly overrides: Readonly<Record<string, number>>;
}

/** A parameter: the override when given, else the quick or full default. */
export function param(ctx: BenchContext, key: string, full: number, quick: number): number {
  return ctx.overrides[key] ?? (ctx.quick ? quick : full);
}

/** ../shared/models/stories260K, or null when this machine lacks it. */
export function storiesDir(): string | null {
  const dir = join(SHARED, 'models', 'stories260K');
  return existsSync(join(dir, 'config.json')) ? dir : null;
}

/** ../shared/data/tinystories-valid-head.txt, or null. */
export function tinyStoriesText(): string | null {
  const file = join(SHARED, 'data', 'tinystories-valid-head.txt');
  return existsSync(file) ? file : null;
}

/** What a section hands back: markdown for the console and README, data for the JSON file. */
export interface SectionResult {
  readonly title: string;
  readonly markdown: string;
  readonly data: unknown;
  /** Targets of the issue and whether they were met, for the summary. */
  readonly targets?: readonly { readonly name: string; readonly value: number; readonly target: string; readonly met: boolean }[];
}

/** Writes `results/<name>.json` with the machine and options, and returns its path. */
export function writeResult(name: string, ctx: BenchContext, result: SectionResult, wallSeconds: number, loadAtStart: readonly number[]): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  const body = {
    section: name,
    title: result.title,
    mode: ctx.quick ? 'quick' : 'full',
    threads: ctx.threads,
    overrides: ctx.overrides,
    wallSeconds: Math.round(wallSeconds),
    // Load average at the start and (in machine) at the end: other work on the machine shows up here.
    loadAverageAtStart: loadAtStart,
    machine: machineInfo(),
    targets: result.targets ?? [],
    data: result.data,
    markdown: result.markdown,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
