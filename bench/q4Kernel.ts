// MatMulNBits against MatMul on one SmolLM2-135M layer's seven projections (q, k, v, o, gate, up, down), all
// in one graph: the same random weights as fp32 MatMul and as the 4-bit fixture's blocks of 32, in each
// onnxruntime variant a load-time rewrite or session option could reach. One process, every variant its own
// session, rounds alternating; medians of process CPU time per run (what the load on a shared machine
// inflates least). `npx tsx bench/q4Kernel.ts [rows M] [threads] [rounds] [--model]`; bench/README section
// 10b. --model: all 30 layers' projections (distinct weights, so they stream from memory as a decode step's
// do) and the LM head, fp32 and level 0 / 4 only: what a whole step's matrix products cost in each.
// Benchmark process only.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { onnx } from 'onnx-proto';
import { openSession, type DecoderSession, type TensorData } from '../main/engine/onnxSession';
import { bytesOf, writeOnnxModel, type RawInitializer } from '../scripts/onnx/onnxModelWriter';
import { Q4_BLOCK, quantizeInt8, quantizeQ4, type Q4Matrix } from '../test/fixtures/fixtureQuant';
import { WORK_DIR } from './lib/benchContext';
import { median } from './lib/stats';

const wholeModel = process.argv.includes('--model');
const [M = 256, threads = 1, rounds = 8] = process.argv.slice(2).filter((a) => !a.startsWith('--')).map(Number);
const HIDDEN = 576;
const FFN = 1536;
const VOCAB = 49152;
const LAYER: ReadonlyArray<readonly [string, number, number]> = [
  ['q', HIDDEN, HIDDEN], ['k', HIDDEN, 192], ['v', HIDDEN, 192], ['o', HIDDEN, HIDDEN],
  ['gate', HIDDEN, FFN], ['up', HIDDEN, FFN], ['down', FFN, HIDDEN],
];
/** Every product in the graph: [name, K, N]. */
const PROJECTIONS: ReadonlyArray<readonly [string, number, number]> = wholeModel
  ? [...Array.from({ length: 30 }, (_, l) => LAYER.map(([p, k, n]) => [`${p}${l}`, k, n] as const)).flat(), ['head', HIDDEN, VOCAB]]
  : LAYER;

interface Variant {
  readonly name: string;
  /** MatMulNBits `accuracy_level`; absent: the fp32 MatMul. */
  readonly level?: number;
  /** How the 4-bit blocks of 32 are written; every layout decodes to the same weights. */
  readonly layout?: 'q4' | 'q4+zero-points' | 'q4-blocks-of-16' | 'q8' | 'int8-per-tensor';
  readonly config?: Readonly<Record<string, string>>;
}

const ALL_VARIANTS: readonly Variant[] = [
  { name: 'fp32 MatMul' },
  { name: '4-bit level 0 (as exported)', level: 0, layout: 'q4' },
  { name: '4-bit level 4 (int8 compute)', level: 4, layout: 'q4' },
  { name: 'level 4, explicit zero points 8', level: 4, layout: 'q4+zero-points' },
  { name: 'level 4, blocks of 16 (split)', level: 4, layout: 'q4-blocks-of-16' },
  { name: 'level 4, as 8-bit blocks', level: 4, layout: 'q8' },
  { name: 'level 4, mlas.use_lut_gemm=1', level: 4, layout: 'q4', config: { 'mlas.use_lut_gemm': '1' } },
  { name: 'level 4, mlas.qnbit.force_fp32=1', level: 4, layout: 'q4', config: { 'mlas.qnbit.force_fp32': '1' } },
  // Not the same weights: the int8 fixture's quantize_dynamic pattern, for what onnxruntime's u8s8 GEMM does.
  { name: 'reference: int8 MatMulInteger', layout: 'int8-per-tensor' },
];
const VARIANTS = wholeModel ? ALL_VARIANTS.slice(0, 3) : ALL_VARIANTS;

let seed = 1;
function random(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff - 0.5;
}
const weights = PROJECTIONS.map(([, k, n]) => Float32Array.from({ length: k * n }, () => random() * 0.1));
const quantized = PROJECTIONS.map(([, k, n], i) => quantizeQ4(weights[i], k, n).matrix);

/** The MatMulNBits inputs for `q` in `layout`: B as [N, blocks, bytes], its scales, optional zero points. */
function nBitsInputs(q: Q4Matrix, layout: Exclude<Variant['layout'], undefined | 'int8-per-tensor'>): { bits: number; block: number; b: Uint8Array; scales: Float32Array; zeroPoints?: Uint8Array } {
  const blocks = q.k / Q4_BLOCK;
  if (layout === 'q4') return { bits: 4, block: Q4_BLOCK, b: q.packed, scales: q.scales };
  // Symmetric 4-bit blocks read zero point 8 when none is given; writing it out changes nothing but the path.
  if (layout === 'q4+zero-points') return { bits: 4, block: Q4_BLOCK, b: q.packed, scales: q.scales, zeroPoints: new Uint8Array(q.n * Math.ceil(blocks / 2)).fill(0x88) };
  // Each block of 32 as two of 16 with the same scale: the bytes stay in order.
  if (layout === 'q4-blocks-of-16') return { bits: 4, block: 16, b: q.packed, scales: Float32Array.from({ length: 2 * q.scales.length }, (_, i) => q.scales[i >> 1]) };
  // 8-bit codes q - 8 + 128 (8-bit blocks default to zero point 128): the same values, twice the bytes.
  const b = new Uint8Array(q.packed.length * 2);
  q.packed.forEach((byte, i) => {
    b[2 * i] = (byte & 15) + 120;
    b[2 * i + 1] = (byte >> 4) + 120;
  });
  return { bits: 8, block: Q4_BLOCK, b, scales: q.scales };
}

function rowsInfo(name: string, cols: number): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'm' }, { dimValue: cols }] } } } };
}

function buildModel(variant: Variant, path: string): void {
  const nodes: onnx.INodeProto[] = [];
  const initializers: RawInitializer[] = [];
  PROJECTIONS.forEach(([p, k, n], i) => {
    const input = k === HIDDEN ? 'x' : 'h';
    if (variant.layout === undefined) {
      initializers.push({ name: `${p}_w`, dataType: 1, dims: [k, n], bytes: bytesOf(weights[i]) });
      nodes.push({ opType: 'MatMul', input: [input, `${p}_w`], output: [`${p}_y`] });
      return;
    }
    if (variant.layout === 'int8-per-tensor') {
      const { matrix } = quantizeInt8(weights[i]);
      initializers.push({ name: `${p}_q`, dataType: 3, dims: [k, n], bytes: bytesOf(matrix.q) });
      initializers.push({ name: `${p}_zero`, dataType: 3, dims: [], bytes: bytesOf(Int8Array.of(0)) });
      initializers.push({ name: `${p}_scale`, dataType: 1, dims: [], bytes: bytesOf(Float32Array.of(matrix.scale)) });
      const [xq, xs, xz] = [`${p}_xq`, `${p}_xs`, `${p}_xz`];
      nodes.push({ opType: 'DynamicQuantizeLinear', input: [input], output: [xq, xs, xz] });
      nodes.push({ opType: 'MatMulInteger', input: [xq, `${p}_q`, xz, `${p}_zero`], output: [`${p}_i32`] });
      nodes.push({ opType: 'Cast', input: [`${p}_i32`], output: [`${p}_f`], attribute: [{ name: 'to', i: 1, type: 2 }] });
      nodes.push({ opType: 'Mul', input: [xs, `${p}_scale`], output: [`${p}_s`] });
      nodes.push({ opType: 'Mul', input: [`${p}_f`, `${p}_s`], output: [`${p}_y`] });
      return;
    }
    const { bits, block, b, scales, zeroPoints } = nBitsInputs(quantized[i], variant.layout);
    initializers.push({ name: `${p}_b`, dataType: 2, dims: [n, k / block, (block * bits) / 8], bytes: b });
    initializers.push({ name: `${p}_scales`, dataType: 1, dims: [scales.length], bytes: bytesOf(scales) });
    const inputs = [input, `${p}_b`, `${p}_scales`];
    if (zeroPoints) {
      initializers.push({ name: `${p}_zero_points`, dataType: 2, dims: [zeroPoints.length], bytes: zeroPoints });
      inputs.push(`${p}_zero_points`);
    }
    const ints: Array<[string, number]> = [['K', k], ['N', n], ['bits', bits], ['block_size', block], ['accuracy_level', variant.level ?? 0]];
    nodes.push({ opType: 'MatMulNBits', domain: 'com.microsoft', input: inputs, output: [`${p}_y`], attribute: ints.map(([name, v]) => ({ name, i: v, type: 2 })) });
  });
  const graph = { name: 'projections', node: nodes, input: [rowsInfo('x', HIDDEN), rowsInfo('h', FFN)], output: PROJECTIONS.map(([p, , n]) => rowsInfo(`${p}_y`, n)) };
  writeOnnxModel(path, { irVersion: 8, opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }], graph }, initializers);
}

const dir = join(WORK_DIR, 'q4kernel');
mkdirSync(dir, { recursive: true });
const sessions: DecoderSession[] = [];
for (const [i, variant] of VARIANTS.entries()) {
  const path = join(dir, `variant-${i}.onnx`);
  buildModel(variant, path);
  // As the engine opens models (its session options), without its decoder rewrites.
  sessions.push(await openSession(path, { intraOpThreads: threads, fastOutputs: false, tuning: { config: variant.config } }));
}
const feeds: Record<string, TensorData> = {
  x: { type: 'float32', data: Float32Array.from({ length: M * HIDDEN }, random), dims: [M, HIDDEN] },
  h: { type: 'float32', data: Float32Array.from({ length: M * FFN }, random), dims: [M, FFN] },
};
const fetches = PROJECTIONS.map(([p]) => `${p}_y`);

// Which compute path ran shows in the outputs: int8 activations move them off level 0's.
const exported = await sessions[1].run(feeds, fetches);
const offExported = await Promise.all(sessions.map(async (s) => {
  const out = await s.run(feeds, fetches);
  let max = 0;
  for (const [p] of PROJECTIONS) {
    const a = exported[`${p}_y`].data as Float32Array;
    const b = out[`${p}_y`].data as Float32Array;
    for (let j = 0; j < a.length; j++) max = Math.max(max, Math.abs(a[j] - b[j]));
  }
  return max;
}));

const runsPerSample = Math.max(1, Math.round((wholeModel ? 32 : 1024) / M));
const cpuMs: number[][] = VARIANTS.map(() => []);
for (let round = 0; round < rounds; round++) {
  for (let v = 0; v < VARIANTS.length; v++) {
    const i = round % 2 === 0 ? v : VARIANTS.length - 1 - v;
    const before = process.cpuUsage();
    for (let r = 0; r < runsPerSample; r++) await sessions[i].run(feeds, fetches);
    const used = process.cpuUsage(before);
    cpuMs[i].push((used.user + used.system) / 1000 / runsPerSample);
  }
}
for (const s of sessions) await s.release();

const flops = 2 * M * PROJECTIONS.reduce((sum, [, k, n]) => sum + k * n, 0);
const base = median(cpuMs[0]);
console.log(`${wholeModel ? "30 layers' projections and the LM head" : "one layer's projections"}, M=${M}, ${threads} thread(s), ${rounds} rounds × ${runsPerSample} runs`);
for (const [i, variant] of VARIANTS.entries()) {
  const ms = median(cpuMs[i]);
  console.log(`  ${variant.name.padEnd(34)} ${ms.toFixed(3).padStart(8)} ms CPU  ÷ fp32 ${(ms / base).toFixed(2)}  ${(flops / ms / 1e6).toFixed(0).padStart(4)} GFLOP/s  max |Δ| vs level 0 ${offExported[i].toExponential(1)}`);
}
