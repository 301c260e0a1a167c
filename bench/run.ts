// `npm run bench`: runs the benchmark sections of issue 6, each in a fresh Node process, prints markdown
// tables and writes bench/results/<section>.json (+ SVG charts). Benchmark process, never part of npm test.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RESULTS_DIR, type BenchContext } from './lib/benchContext';
import { describeMachine, machineInfo } from './lib/machine';
import { fmt, mdTable } from './lib/stats';
import { SECTIONS } from './sections/index';

const USAGE = `usage: npm run bench -- [--quick] [--sections ${SECTIONS.map((s) => s.name).join(',')}] [--threads N]
                       [--set section.param=value ...] [--list]
  --quick      small sizes (minutes, not an hour); results are marked "quick"
  --sections   comma-separated subset, run in the order --list shows (default: all)
  --threads    intraOpNumThreads of every session (default: logical cores)
  --set        override one size, e.g. --set latency.tokens=6000 (see each section's params in bench/README.md)`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sections: { type: 'string' },
    threads: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.list) {
  for (const s of SECTIONS) console.log(`${s.name.padEnd(11)} item ${s.item}: ${s.summary}`);
  process.exit(0);
}

const wanted = values.sections ? values.sections.split(',').map((s) => s.trim()).filter(Boolean) : SECTIONS.map((s) => s.name);
const unknown = wanted.filter((w) => !SECTIONS.some((s) => s.name === w));
if (unknown.length > 0) {
  console.error(`unknown section(s) ${unknown.join(', ')}\n${USAGE}`);
  process.exit(2);
}
const overrides: Record<string, number> = {};
for (const kv of values.set ?? []) {
  const m = /^([\w.-]+)=(-?[\d.]+)$/.exec(kv);
  if (!m) {
    console.error(`--set needs section.param=number, got '${kv}'`);
    process.exit(2);
  }
  overrides[m[1]] = Number(m[2]);
}
const threads = values.threads ? Number(values.threads) : os.availableParallelism();
if (!Number.isInteger(threads) || threads < 1) {
  console.error('--threads must be a positive integer');
  process.exit(2);
}
const ctx: BenchContext = { quick: values.quick, threads, overrides };

console.log(`# Ouro benchmarks (${ctx.quick ? 'quick' : 'full'})\n\n${describeMachine(machineInfo())}; ${threads} ORT threads\n`);
const sectionScript = fileURLToPath(new URL('./section.ts', import.meta.url));
const failed: string[] = [];
for (const s of SECTIONS.filter((x) => wanted.includes(x.name))) {
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', sectionScript, s.name, JSON.stringify(ctx)], { stdio: 'inherit' });
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) failed.push(s.name);
}

// The targets of issue 6, from whatever results exist now.
const rows: string[][] = [];
for (const s of SECTIONS.filter((x) => wanted.includes(x.name) && !failed.includes(x.name))) {
  try {
    const r = JSON.parse(readFileSync(join(RESULTS_DIR, `${s.name}.json`), 'utf8')) as {
      targets: { name: string; value: number; target: string; met: boolean }[];
    };
    for (const t of r.targets) rows.push([String(s.item), t.name, fmt(t.value, 3), t.target, t.met ? 'met' : '**missed**']);
  } catch {
    // a section without results: reported in `failed`
  }
}
if (rows.length > 0) console.log(`## Targets\n\n${mdTable(['item', 'measure', 'value', 'target', ''], rows)}\n`);
if (failed.length > 0) {
  console.error(`sections that failed: ${failed.join(', ')}`);
  process.exit(1);
}
