// Issue 14: Ouro against llama.cpp (node-llama-cpp's prebuilt binary) on the same weights: the SmolLM2-shaped
// fixture as ONNX (fp32, int8, 4-bit MatMulNBits) and as GGUF (F32, Q8_0, Q4_0) written from the same
// values. Engines alternate in fresh processes; a GGUF or llama.cpp failure reports "skipped: <reason>".
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gguf } from '@huggingface/gguf';
import { HOST_V8_FLAGS } from '../../main/host/hostHeapLimits';
import { fixtureWeights } from '../../test/fixtures/llamaFixture';
import type { WeightFormat } from '../../test/fixtures/fixtureQuant';
import { param, WORK_DIR, type BenchContext, type SectionResult } from '../lib/benchContext';
import { benchSpec, builderStamp, ensureBenchFixture } from '../lib/benchFixture';
import { runScript } from '../lib/childProcess';
import { GGML_TYPE, writeLlamaGguf, type GgufTensorType } from '../lib/ggufWriter';
import { fmt, mdTable, mean, median, quantile, round } from '../lib/stats';

const CHILD = fileURLToPath(new URL('./llamaCppChild.ts', import.meta.url));
const FLOOR = fileURLToPath(new URL('../stepFloor.ts', import.meta.url));
const WRITER = new URL('../lib/ggufWriter.ts', import.meta.url);
const FORMATS: ReadonlyArray<{ onnx: WeightFormat; gguf: GgufTensorType; label: string }> = [
  { onnx: 'fp32', gguf: 'F32', label: 'fp32 / F32' },
  { onnx: 'int8', gguf: 'Q8_0', label: 'int8 / Q8_0' },
  { onnx: 'q4', gguf: 'Q4_0', label: '4-bit MatMulNBits / Q4_0' },
];

interface AtDepth {
  readonly depth: number;
  readonly prefillMs: number;
  readonly tokens: number;
  readonly stepsMs: number[];
}

interface Run {
  readonly engine: 'ouro' | 'llamacpp';
  readonly format: WeightFormat;
  readonly round: number;
  readonly threads: number;
  readonly loadMs: number;
  readonly ttftMs: number;
  readonly tokens: number[];
  readonly firstStepsMs: number[];
  readonly depth0StepsMs: number[];
  readonly atDepth: AtDepth[];
  readonly maxRssMiB: number;
}

/**
 * The GGUF of the bench fixture's fp32 weights in `type` (cached by the builder's and writer's sources),
 * checked by reading its header back with @huggingface/gguf.
 */
async function ensureGguf(type: GgufTensorType): Promise<string> {
  const spec = benchSpec('fp32');
  const path = join(WORK_DIR, `smollm2-135m-shapes-${type}.gguf`);
  const stampFile = `${path}.stamp`;
  const want = builderStamp(spec, [WRITER]);
  if (!existsSync(path) || !existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== want) {
    mkdirSync(WORK_DIR, { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    writeLlamaGguf(tmp, fixtureWeights(spec), type);
    renameSync(tmp, path);
    writeFileSync(stampFile, want);
  }
  const { metadata, tensorInfos, tensorDataOffset } = await gguf(path, { allowLocalFile: true });
  const meta = metadata as Record<string, unknown>;
  const size = statSync(path).size;
  const blocks = tensorInfos.filter((t) => t.shape.length === 2);
  const problems = [
    meta['general.architecture'] === 'llama' ? null : `architecture ${String(meta['general.architecture'])}`,
    meta['llama.block_count'] === spec.layers ? null : `block_count ${String(meta['llama.block_count'])}`,
    tensorInfos.length === 2 + 9 * spec.layers ? null : `${tensorInfos.length} tensors`,
    blocks.every((t) => t.dtype === GGML_TYPE[type]) ? null : `a 2-D tensor is not ${type}`,
    tensorInfos.every((t) => Number(tensorDataOffset + t.offset) < size) ? null : 'a tensor lies past the end of the file',
  ].filter((p) => p !== null);
  if (problems.length > 0) throw new Error(`the GGUF read back wrong: ${problems.join(', ')}`);
  return path;
}

const tokPerSec = (ms: readonly number[]): number => 1000 / mean(ms);

type Spread = { median: number; min: number; max: number };

/** Median over rounds of a per-run value, with min and max. */
function spread(xs: readonly number[]): Spread {
  return { median: round(median(xs), 3), min: round(Math.min(...xs), 3), max: round(Math.max(...xs), 3) };
}

function cellSpread(x: Spread | null, digits: number): string {
  return x === null ? '–' : `${fmt(x.median, digits)} (${fmt(x.min, digits)}–${fmt(x.max, digits)})`;
}

/**
 * The tail of a cell: p95 of every step of every run, each step divided by its own run's p50 (one run's p95
 * of 32 steps is its 2nd–3rd slowest step, too few to compare; dividing per run keeps a run that was slower
 * throughout from counting as tail). NaN without runs.
 */
function pooledTail(runs: ReadonlyArray<readonly number[]>): number {
  return round(quantile(runs.flatMap((ms) => ms.map((x) => x / median(ms))), 0.95), 3);
}

/** One row of the decode table: a format at a depth. */
interface DecodeCell {
  readonly format: WeightFormat;
  readonly depth: number;
  readonly ouroTokPerSec: Spread | null;
  readonly llamaTokPerSec: Spread | null;
  readonly ratio: Spread | null;
  readonly ouroP95OverP50: number;
  readonly llamaP95OverP50: number;
}

/** Decode at one thread each, and each engine at its faster thread count (median tok/s). */
interface OneThreadCell extends DecodeCell {
  readonly ouroBest: Best | null;
  readonly llamaBest: Best | null;
  /** Ouro's best median ÷ llama.cpp's. */
  readonly bestRatio: number;
}

type Best = { threads: number; tokPerSec: number };

/** The thread count with the highest median, or null when none has runs. */
function best(at: ReadonlyArray<{ threads: number; tokPerSec: Spread | null }>): Best | null {
  let top: Best | null = null;
  for (const { threads, tokPerSec } of at) {
    if (tokPerSec !== null && (top === null || tokPerSec.median > top.tokPerSec)) top = { threads, tokPerSec: tokPerSec.median };
  }
  return top;
}

/** The number of leading tokens two greedy streams share. */
function agreed(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const rounds = param(ctx, 'llamacpp.rounds', 3, 1);
  const steps = param(ctx, 'llamacpp.steps', 32, 16);
  const depths = ctx.quick ? [512] : [512, 2048];
  // Full runs also time both engines at one thread: on a machine whose cores are all in use, a
  // two-thread engine can lose more to waiting for its other thread than that thread gives it
  // (llama.cpp's quantized decode here), so the fair comparison is each engine at its best count.
  const threadCounts = ctx.quick || ctx.threads === 1 ? [ctx.threads] : [ctx.threads, 1];
  const args = (threads: number) => ['--threads', String(threads), '--steps', String(steps), '--depths', depths.join(',')];
  const runs: Run[] = [];
  const skipped: Record<string, string> = {};
  const note = (key: string, e: unknown) => {
    skipped[key] = (e instanceof Error ? e.message : String(e)).split('\n').slice(0, 4).join(' ').slice(0, 400);
    console.log(`${key}: skipped: ${skipped[key]}`);
  };

  const models: Array<{ format: WeightFormat; label: string; onnx: string | null; gguf: string | null }> = [];
  for (const f of FORMATS) {
    let onnx: string | null = null;
    let file: string | null = null;
    try {
      onnx = ensureBenchFixture(f.onnx);
    } catch (e) {
      note(`ouro ${f.onnx}`, e);
    }
    try {
      file = await ensureGguf(f.gguf);
    } catch (e) {
      note(`llama.cpp ${f.gguf}`, e);
    }
    models.push({ format: f.onnx, label: f.label, onnx, gguf: file });
  }

  // Per round, the machine's own tail for a two-thread step with no engine in it (bench/stepFloor.ts), the
  // same number of steps as a cell: what the ≤ 1.15 tail target is to be read against.
  const floorRuns: number[][] = [];
  for (let r = 0; r < rounds; r++) {
    try {
      const [out] = await runScript(FLOOR, ['--rounds', '1', '--threads', String(Math.min(ctx.threads, 2)), '--steps', String(steps)]);
      if (!Array.isArray(out?.ms)) throw new Error('the floor child printed no steps');
      floorRuns.push(out.ms as number[]);
    } catch (e) {
      note('machine floor', e);
    }
    for (const m of models) {
      for (const threads of threadCounts) {
        const jobs: Array<['ouro' | 'llamacpp', string | null]> = [['ouro', m.onnx], ['llamacpp', m.gguf]];
        if ((r + models.indexOf(m)) % 2 === 1) jobs.reverse();
        for (const [engine, model] of jobs) {
          const key = `${engine === 'ouro' ? 'ouro' : 'llama.cpp'} ${m.format}`;
          if (model === null || skipped[key] !== undefined) continue;
          try {
            const [out] = await runScript(CHILD, ['--engine', engine, '--model', model, ...args(threads)], { nodeFlags: HOST_V8_FLAGS });
            if (out === undefined) throw new Error('the child printed no result');
            runs.push({ ...(out as unknown as Run), format: m.format, round: r, threads });
          } catch (e) {
            note(key, e);
          }
        }
      }
    }
  }

  /** One engine's runs of a format at a thread count (the section's own by default). */
  const of = (engine: Run['engine'], format: WeightFormat, threads = ctx.threads) =>
    runs.filter((x) => x.engine === engine && x.format === format && x.threads === threads);
  /** Per round, Ouro's value ÷ llama.cpp's, over the rounds where both ran. */
  const ratio = (format: WeightFormat, value: (x: Run) => number, threads = ctx.threads) => {
    const pairs = [...new Set(runs.map((x) => x.round))].flatMap((rd) => {
      const o = of('ouro', format, threads).find((x) => x.round === rd);
      const l = of('llamacpp', format, threads).find((x) => x.round === rd);
      return o && l ? [value(o) / value(l)] : [];
    });
    return pairs.length > 0 ? spread(pairs) : null;
  };
  const per = (engine: Run['engine'], format: WeightFormat, value: (x: Run) => number, threads = ctx.threads) => {
    const xs = of(engine, format, threads).map(value);
    return xs.length > 0 ? spread(xs) : null;
  };
  const depthSteps = (d: number) => (x: Run) => (d === 0 ? x.depth0StepsMs : x.atDepth.find((a) => a.depth === d)!.stepsMs);
  const allDepths = [0, ...depths];

  const decodeTokPerSec = (d: number) => (x: Run) => tokPerSec(depthSteps(d)(x));
  const decodeCell = (format: WeightFormat, d: number, threads = ctx.threads): DecodeCell => ({
    format,
    depth: d,
    ouroTokPerSec: per('ouro', format, decodeTokPerSec(d), threads),
    llamaTokPerSec: per('llamacpp', format, decodeTokPerSec(d), threads),
    ratio: ratio(format, decodeTokPerSec(d), threads),
    ouroP95OverP50: pooledTail(of('ouro', format, threads).map(depthSteps(d))),
    llamaP95OverP50: pooledTail(of('llamacpp', format, threads).map(depthSteps(d))),
  });
  const decodeColumns = (c: DecodeCell) => [cellSpread(c.ouroTokPerSec, 1), cellSpread(c.llamaTokPerSec, 1), cellSpread(c.ratio, 2), `${fmt(c.ouroP95OverP50, 2)} / ${fmt(c.llamaP95OverP50, 2)}`];
  const decodeRows: string[][] = [];
  const data: DecodeCell[] = [];
  for (const m of models) {
    for (const d of allDepths) {
      const cell = decodeCell(m.format, d);
      decodeRows.push([m.label, String(d), ...decodeColumns(cell)]);
      data.push(cell);
    }
  }

  const oneThreadRows: string[][] = [];
  const oneThread: OneThreadCell[] = [];
  if (threadCounts.length > 1) {
    for (const m of models) {
      for (const d of allDepths) {
        const bestOf = (engine: Run['engine']) => best(threadCounts.map((t) => ({ threads: t, tokPerSec: per(engine, m.format, decodeTokPerSec(d), t) })));
        const [ouroBest, llamaBest] = [bestOf('ouro'), bestOf('llamacpp')];
        const cell: OneThreadCell = {
          ...decodeCell(m.format, d, 1),
          ouroBest,
          llamaBest,
          bestRatio: ouroBest && llamaBest ? round(ouroBest.tokPerSec / llamaBest.tokPerSec, 3) : NaN,
        };
        oneThread.push(cell);
        const bestText = (b: Best | null) => (b === null ? '–' : `${fmt(b.tokPerSec, 1)} (${b.threads})`);
        oneThreadRows.push([m.label, String(d), ...decodeColumns(cell), bestText(ouroBest), bestText(llamaBest), fmt(cell.bestRatio, 2)]);
      }
    }
  }

  const other = models.map((m) => {
    const prefill = (x: Run) => (x.atDepth[0].tokens / x.atDepth[0].prefillMs) * 1000;
    const deepest = depths[depths.length - 1];
    const rss = (x: Run) => x.maxRssMiB;
    const ttft = (x: Run) => x.ttftMs;
    const warm = (x: Run) => mean(x.depth0StepsMs) / mean(x.firstStepsMs);
    return {
      format: m.format,
      prefill512: { ouro: per('ouro', m.format, prefill), llama: per('llamacpp', m.format, prefill), ratio: ratio(m.format, prefill) },
      peakRssMiB: { ouro: per('ouro', m.format, rss), llama: per('llamacpp', m.format, rss), ratio: ratio(m.format, rss), atDepth: deepest },
      ttftAfterLoadMs: { ouro: per('ouro', m.format, ttft), llama: per('llamacpp', m.format, ttft) },
      firstStepsSpeedOverSteady: { ouro: per('ouro', m.format, warm), llama: per('llamacpp', m.format, warm) },
      loadMs: { ouro: per('ouro', m.format, (x) => x.loadMs), llama: per('llamacpp', m.format, (x) => x.loadMs) },
    };
  });
  const otherRows = other.map((row, i) => [
    models[i].label,
    cellSpread(row.prefill512.ouro, 0),
    cellSpread(row.prefill512.llama, 0),
    cellSpread(row.prefill512.ratio, 2),
    cellSpread(row.peakRssMiB.ouro, 0),
    cellSpread(row.peakRssMiB.llama, 0),
    cellSpread(row.ttftAfterLoadMs.ouro, 1),
    cellSpread(row.ttftAfterLoadMs.llama, 1),
    `${fmt(row.firstStepsSpeedOverSteady.ouro?.median, 2)} / ${fmt(row.firstStepsSpeedOverSteady.llama?.median, 2)}`,
    `${fmt(row.loadMs.ouro?.median, 0)} / ${fmt(row.loadMs.llama?.median, 0)}`,
  ]);

  // Cross-engine sanity at fp32: the same greedy stream from the same first token, for how long.
  const agreement = [...new Set(runs.map((x) => x.round))].flatMap((rd) => {
    const o = of('ouro', 'fp32').find((x) => x.round === rd);
    const l = of('llamacpp', 'fp32').find((x) => x.round === rd);
    return o && l ? [{ round: rd, agreed: agreed(o.tokens, l.tokens), of: Math.min(o.tokens.length, l.tokens.length), ouro: o.tokens, llama: l.tokens }] : [];
  });

  const machineFloor = floorRuns.length > 0 ? { p95OverP50: pooledTail(floorRuns), p50Ms: spread(floorRuns.map((ms) => median(ms))) } : null;
  const floorText = machineFloor === null
    ? '_Machine floor: not measured._'
    : `**Machine floor**: a step with no engine in it (\`bench/stepFloor.ts\`: a pass over a weights-sized buffer split between ${Math.min(ctx.threads, 2)} threads that meet at its end, ${fmt(machineFloor.p50Ms.median, 1)} ms at the median), ${steps} steps a round, pooled as the cells: p95 ÷ p50 ${fmt(machineFloor.p95OverP50, 2)}.`;
  const skippedText = Object.entries(skipped).map(([k, v]) => `- ${k}: skipped: ${v}`).join('\n');
  const agreementText = agreement.length === 0
    ? '_Greedy agreement: not measured (an fp32 run is missing)._'
    : `**Greedy agreement at fp32** (the same first token, then ${agreement[0].of - 1} greedy steps): the engines agree on the first ${agreement.map((a) => a.agreed).join(' / ')} of ${agreement[0].of} tokens per round.`;
  const markdown = [
    mdTable(['weights (Ouro / llama.cpp)', 'depth', 'Ouro tok/s', 'llama.cpp tok/s', 'Ouro ÷ llama.cpp', 'p95 ÷ p50 step, Ouro / llama.cpp'], decodeRows),
    '',
    mdTable(['weights', 'prefill 512 tok/s Ouro', 'llama.cpp', 'ratio', `peak RSS MiB Ouro`, 'llama.cpp', 'TTFT after load ms Ouro', 'llama.cpp', 'first steps speed ÷ steady, Ouro / llama.cpp', 'load ms Ouro / llama.cpp'], otherRows),
    '',
    `Cells: median over ${rounds} round(s) of fresh processes (min–max); engines alternate within each round. Decode tok/s = 1000 ÷ mean step over ${steps} greedy steps after a prompt of \`depth\` tokens (depth 0: steps ${steps + 1}–${2 * steps} after a one-token prompt; "first steps" are steps 1–${steps} right after load). p95 ÷ p50: the 95th percentile of all rounds' steps, each divided by its own run's median step. Ouro: S=4, W=2048, chunks of 256, ${ctx.threads} threads; llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU binary): flash attention, f16 KV, batch 512, ${ctx.threads} threads. Peak RSS: the child's high-water mark (VmHWM) after reaching depth ${depths[depths.length - 1]}.`,
    '',
    ...(oneThreadRows.length > 0
      ? [
          mdTable(['weights', 'depth', 'Ouro tok/s, 1 thread', 'llama.cpp, 1 thread', 'Ouro ÷ llama.cpp, 1 thread', 'p95 ÷ p50 step, 1 thread, Ouro / llama.cpp', `Ouro's best tok/s (threads)`, `llama.cpp's best (threads)`, 'best ÷ best'], oneThreadRows),
          '',
          `The same children at one thread each, in the same rounds (alternating with the ${ctx.threads}-thread runs): "best" is each engine's higher median over ${threadCounts.join(' and ')} threads, so neither engine is held to a thread count that slows it down on this machine.`,
          '',
        ]
      : []),
    floorText,
    '',
    agreementText,
    ...(skippedText ? ['', skippedText] : []),
  ].join('\n');

  // The goals: decode ≥ 1.0× (fp32, int8) and ≥ 0.9× (4-bit) at every depth, p95 ≤ 1.15 × p50,
  // peak RSS ≤ 1.3× llama.cpp's, the first steps after a load as fast as steady state (within 5%).
  const targets = models.flatMap(({ format }, i) => {
    const minDecode = format === 'q4' ? 0.9 : 1;
    const cells = data.filter((x) => x.format === format);
    const bestCells = oneThread.filter((x) => x.format === format);
    const rss = other[i].peakRssMiB.ratio?.median ?? NaN;
    const warm = other[i].firstStepsSpeedOverSteady.ouro?.median ?? NaN;
    return [
      ...cells.map((c) => ({ name: `decode ${format} depth ${c.depth}, Ouro ÷ llama.cpp`, value: c.ratio?.median ?? NaN, target: `≥ ${minDecode}`, met: (c.ratio?.median ?? NaN) >= minDecode })),
      ...cells.map((c) => ({ name: `decode ${format} depth ${c.depth}, Ouro p95 ÷ p50 step`, value: c.ouroP95OverP50, target: '≤ 1.15', met: c.ouroP95OverP50 <= 1.15 })),
      ...bestCells.map((c) => ({ name: `decode ${format} depth ${c.depth}, each engine at its best thread count, Ouro ÷ llama.cpp`, value: c.bestRatio, target: `≥ ${minDecode}`, met: c.bestRatio >= minDecode })),
      { name: `peak RSS ${format}, Ouro ÷ llama.cpp`, value: rss, target: '≤ 1.3', met: rss <= 1.3 },
      { name: `first ${steps} steps ${format} ÷ steady, Ouro`, value: warm, target: '≥ 0.95', met: warm >= 0.95 },
    ];
  });
  return {
    title: 'Against llama.cpp on the same weights (fixture; fp32, int8 / Q8_0, 4-bit / Q4_0)',
    markdown,
    data: { rounds, steps, depths: allDepths, threadCounts, decode: data, oneThread, other, machineFloor, floorRuns, agreement, skipped, runs },
    targets: targets.filter((t) => Number.isFinite(t.value)),
  };
}
