// V8's events inside decode steps, counted: runs bench/stepTrace.ts (the llama.cpp child's order: load,
// 64 steps, a 512-token prompt and 32 steps, the context grown to 2048 and 32 steps) under
// `node --trace-opt --trace-deopt-verbose --trace-gc` with its stdout unbuffered, and attributes every optimization,
// deoptimization and GC line to the step (or prompt) whose markers it falls between. The count does not
// depend on the machine's load the way step times do (bench/README section 20).
// `npx tsx bench/stepEvents.ts [fp32|int8|q4] [--runs N] [--verbose] [--host-heap] [--unpacked] [--v8 'FLAGS']`;
// --host-heap runs the child with the engine host's V8 flags (HOST_V8_FLAGS: the app's isolate) instead of
// node's default; --unpacked passes on to stepTrace; --v8 adds V8/Node flags to the child's.
// Benchmark process only.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { HOST_V8_FLAGS } from '../main/host/hostHeapLimits';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '1' },
    verbose: { type: 'boolean', default: false },
    'host-heap': { type: 'boolean', default: false },
    unpacked: { type: 'boolean', default: false },
    v8: { type: 'string', default: '' },
  },
});
const format = positionals[0] ?? 'q4';

/** The event kinds counted, by the start of V8's trace line (node 20's V8 11.3 wording). */
const KINDS: ReadonlyArray<readonly [kind: string, test: RegExp]> = [
  ['mark', /^\[marking .* for optimization/],
  ['compile', /^\[compiling method /],
  ['osr', /^\[OSR - compilation started/],
  ['done', /^\[completed compiling /],
  ['deopt', /^\[bailout \(kind: /],
  // Optimized code thrown away while not running (a map or field it assumed changed, an object it held died).
  ['invalidate', /^\[marking dependent code /],
  ['scavenge', /^\[\d+:0x[0-9a-f]+\]\s+\d+ ms: Scavenge/],
  ['markCompact', /^\[\d+:0x[0-9a-f]+\]\s+\d+ ms: Mark-Compact/],
];

interface Where {
  /** 'step <phase> <i>', 'prompt <depth>', 'first token', or 'between' (outside every marked span after the load). */
  readonly span: string;
  readonly kind: string;
  readonly what: string;
}

function events(out: string): Where[] {
  const found: Where[] = [];
  let span: string | null = null;
  let loaded = false;
  for (const line of out.split('\n')) {
    if (line.startsWith('@@ ')) {
      const m = /^@@ (.*) (begin|end)$/.exec(line);
      if (line === '@@ loaded') loaded = true;
      else if (m) span = m[2] === 'begin' ? m[1] : null;
      continue;
    }
    if (!loaded) continue;
    const kind = KINDS.find(([, re]) => re.test(line))?.[0];
    if (kind === undefined) continue;
    const fn =
      /<(?:JSFunction|SharedFunctionInfo) ([^ >]*)/.exec(line)?.[1] ??
      /ms: (?:Scavenge|Mark-Compact).*\) ([^;()]*);\s*(.*)$/.exec(line)?.slice(1).join('; ') ??
      '';
    const reason = kind === 'deopt' || kind === 'invalidate' ? ` (${/reason: ([^)\]]*)/.exec(line)?.[1] ?? ''})` : '';
    found.push({ span: span ?? 'between', kind, what: fn + reason });
  }
  return found;
}

for (let r = 0; r < Number(values.runs); r++) {
  // Into a file: a pipe is non-blocking, and the child's synchronous marks would meet EAGAIN.
  const file = join(mkdtempSync(join(tmpdir(), 'ouro-step-events-')), 'trace.txt');
  const fd = openSync(file, 'w');
  const heap = values['host-heap'] ? HOST_V8_FLAGS : [];
  const extra = values.v8.split(' ').filter((f) => f !== '');
  const args = [format, ...(values.unpacked ? ['--unpacked'] : [])];
  const child = spawnSync('stdbuf', ['-o0', process.execPath, ...heap, ...extra, '--import', 'tsx', '--trace-opt', '--trace-deopt-verbose', '--trace-gc', 'bench/stepTrace.ts', ...args], {
    env: { ...process.env, STEP_MARKS: '1' },
    stdio: ['ignore', fd, 'pipe'],
    encoding: 'utf8',
  });
  closeSync(fd);
  const stdout = readFileSync(file, 'utf8');
  rmSync(dirname(file), { recursive: true });
  if (child.status !== 0) throw new Error(`stepTrace failed (${child.status}): ${child.stderr.slice(-2000)}`);
  const all = events(stdout);
  const inSteps = all.filter((e) => e.span.startsWith('step '));
  const by = (list: Where[], key: (e: Where) => string) => {
    const counts: Record<string, number> = {};
    for (const e of list) counts[key(e)] = (counts[key(e)] ?? 0) + 1;
    return counts;
  };
  const phaseOf = (span: string) => span.replace(/ \d+$/, '');
  const phases = by(inSteps, (e) => phaseOf(e.span));
  const stepsHit = new Set(inSteps.map((e) => e.span)).size;
  const timing = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { phase?: string; ratio?: number })
    .filter((j) => j.phase !== undefined)
    .map((j) => `${j.phase}: ${j.ratio}`);
  console.log(
    JSON.stringify({
      format,
      hostHeap: values['host-heap'],
      unpacked: values.unpacked,
      v8: values.v8,
      run: r + 1,
      inSteps: inSteps.length,
      stepsWithEvents: stepsHit,
      byKind: by(inSteps, (e) => e.kind),
      byPhase: phases,
      outsideSteps: by(
        all.filter((e) => !e.span.startsWith('step ')),
        (e) => `${phaseOf(e.span)} ${e.kind}`,
      ),
      p95OverP50: timing,
    }),
  );
  if (values.verbose) for (const e of all) console.log(`  ${e.span}: ${e.kind} ${e.what}`);
}
