// Runs one benchmark section in this (fresh) process: prints its markdown, writes results/<name>.json.
// Started by bench/run.ts; `node --import tsx --expose-gc bench/section.ts <name> '<context json>'`.
import os from 'node:os';
import type { BenchContext } from './lib/benchContext';
import { writeResult } from './lib/benchContext';
import { SECTIONS } from './sections/index';

const [name, json] = process.argv.slice(2);
const section = SECTIONS.find((s) => s.name === name);
if (!section || json === undefined) {
  console.error(`usage: bench/section.ts <${SECTIONS.map((s) => s.name).join('|')}> '<context json>'`);
  process.exit(2);
}
const ctx = JSON.parse(json) as BenchContext;
const started = performance.now();
const loadAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
const { run } = await section.load();
const result = await run(ctx);
const seconds = (performance.now() - started) / 1000;
const file = writeResult(section.name, ctx, result, seconds, loadAtStart);
const loadNow = os.loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`\n## ${section.item}. ${result.title}\n\n${result.markdown}\n\n_${seconds.toFixed(0)} s, load average ${loadAtStart.join(' ')} → ${loadNow}; written to ${file}_\n`);
process.exit(0);
