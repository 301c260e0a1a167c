// Issue 14: what int8 activations cost a 4-bit model, on a trained one. stories260K (llama2.c's checkpoint)
// quantized to 4 bits with the fixture builder's quantizer, as ONNX (MatMulNBits, block 32) and as GGUF Q4_0
// (the same codes and scales), next to its fp32 self in both engines; Ouro at accuracy level 0 (fp32
// activations) and 4 (int8 activations, the CPU default), llama.cpp's own Q4_0 × Q8_0 path. Quality, not timing.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../main/engine/loadedModel';
import type { AccuracyLevel } from '../../main/engine/model/matMulNBitsAccuracy';
import { readLlama2cCheckpoint } from '../../scripts/demoModel/llama2cCheckpoint';
import { writeDemoModel } from '../../scripts/demoModel/buildDemoModel';
import { buildLlamaGraph, type LlamaLayerWeights, type LlamaWeights } from '../../scripts/onnx/llamaGraph';
import { writeOnnxModel } from '../../scripts/onnx/onnxModelWriter';
import { Q4_BLOCK, quantizeQ4, transposeMatrix, type QuantizedMatrix } from '../../test/fixtures/fixtureQuant';
import type { FixtureWeights } from '../../test/fixtures/llamaFixture';
import { param, tinyStoriesText, WORK_DIR, type BenchContext, type SectionResult } from '../lib/benchContext';
import { makeRunner } from '../lib/benchEngine';
import { writeLlamaGguf } from '../lib/ggufWriter';
import { fmt, mdTable, round } from '../lib/stats';

const SOURCES = fileURLToPath(new URL('../../models/demo', import.meta.url));
const CHUNK = 256;

/** Log-probabilities of one next-token distribution. */
type Dist = Float64Array;

/**
 * stories260K's weights with the MLP widened from 172 to 192 with zero rows and columns (Q4_0 and the
 * fixture quantizer need K a multiple of 32; SiLU(0)·0 = 0, so the function is the same), fp32 and 4-bit.
 */
function storiesWeights(): { fp32: LlamaWeights; q4: LlamaWeights } {
  const { weights } = readLlama2cCheckpoint(readFileSync(join(SOURCES, 'stories260K.bin')));
  const { hidden: H, intermediate: I0, heads, kvHeads, headDim: D, vocab: V } = weights.spec;
  const I = Math.ceil(I0 / Q4_BLOCK) * Q4_BLOCK;
  const widen = (m: Float32Array, rows: number, cols: number, toRows: number, toCols: number) => {
    const out = new Float32Array(toRows * toCols);
    for (let r = 0; r < rows; r++) out.set(m.subarray(r * cols, (r + 1) * cols), r * toCols);
    return out;
  };
  const layers: LlamaLayerWeights[] = weights.layers.map((L) => ({ ...L, wGate: widen(L.wGate, H, I0, H, I), wUp: widen(L.wUp, H, I0, H, I), wDown: widen(L.wDown, I0, H, I, H) }));
  const fp32: LlamaWeights = { ...weights, spec: { ...weights.spec, intermediate: I }, layers };
  const quantized = new Map<Float32Array, QuantizedMatrix>();
  const proj = (w: Float32Array, k: number, n: number) => {
    const { matrix, effective } = quantizeQ4(w, k, n);
    quantized.set(effective, matrix);
    return effective;
  };
  const q4Layers = layers.map((L) => ({
    ...L,
    wq: proj(L.wq, H, heads * D),
    wk: proj(L.wk, H, kvHeads * D),
    wv: proj(L.wv, H, kvHeads * D),
    wo: proj(L.wo, heads * D, H),
    wGate: proj(L.wGate, H, I),
    wUp: proj(L.wUp, H, I),
    wDown: proj(L.wDown, I, H),
  }));
  // The tied head quantized as the MatMul takes it, [H, V]; the embedding's Gather stays fp32 (q4 exports).
  const headT = proj(transposeMatrix(fp32.embed, V, H), H, V);
  const lmHead = transposeMatrix(headT, H, V);
  quantized.set(lmHead, quantized.get(headT)!);
  quantized.delete(headT);
  return { fp32, q4: { ...fp32, layers: q4Layers, lmHead, quantized } };
}

/** Writes the ONNX folders and GGUFs into `dir`. */
function buildModels(dir: string): { fp32: string; q4: string; f32Gguf: string; q4Gguf: string } {
  const { fp32, q4 } = storiesWeights();
  const folder = (name: string, w: LlamaWeights, contrib: boolean) => {
    const out = join(dir, name);
    writeDemoModel(out, SOURCES);
    const { graph, initializers } = buildLlamaGraph(w);
    const opsets = [{ domain: '', version: 17 }, ...(contrib ? [{ domain: 'com.microsoft', version: 1 }] : [])];
    writeOnnxModel(join(out, 'onnx', 'model.onnx'), { irVersion: 8, opsetImport: opsets, producerName: 'ouro-bench', producerVersion: '1', graph }, initializers);
    return out;
  };
  // The GGUF writer quantizes from fp32 itself (the same quantizer): an untied head, so the embedding can
  // stay F32 as in the ONNX q4 while the head is Q4_0.
  const spec = { ...fp32.spec, maxPositions: 512, ropeTheta: 10000, tieEmbeddings: false, seed: 0 };
  const gguf = { ...fp32, spec, lmHead: Float32Array.from(fp32.embed), quantized: new Map(), rope: fp32.rope } as unknown as FixtureWeights;
  const f32Gguf = join(dir, 'stories260K-F32.gguf');
  const q4Gguf = join(dir, 'stories260K-Q4_0.gguf');
  writeLlamaGguf(f32Gguf, gguf, 'F32');
  writeLlamaGguf(q4Gguf, gguf, 'Q4_0', 'F32');
  return { fp32: folder('fp32', fp32, false), q4: folder('q4', q4, true), f32Gguf, q4Gguf };
}

function logSoftmax(logits: ArrayLike<number>, V: number): Dist {
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[i] - max);
  const lse = Math.log(sum) + max;
  return Float64Array.from({ length: V }, (_, i) => logits[i] - lse);
}

/** Ouro, one token at a time: fresh per chunk (`chunks`), or the whole text through the S=4, W=252 ring. */
async function ouro(dir: string, level: AccuracyLevel | undefined, texts: readonly number[][], threads: number): Promise<Dist[]> {
  const model = await loadModel(dir, { threads, tuning: level === undefined ? {} : { matMulNBitsAccuracy: level } });
  try {
    const { cache, runner } = makeRunner(model, { sink: 4, window: 252, chunk: CHUNK });
    const out: Dist[] = [];
    for (const ids of texts) {
      for (let i = 0; i < ids.length - 1; i++) out.push(logSoftmax((await runner.feed([ids[i]]))!, model.config.vocabSize));
      cache.reset();
    }
    return out;
  } finally {
    await model.release();
  }
}

/** llama.cpp through node-llama-cpp: each chunk in one batch, the full next-token distribution at every position. */
async function llamaCpp(file: string, chunks: readonly number[][], V: number, threads: number): Promise<Dist[]> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 512, batchSize: 512, threads: { ideal: threads, min: threads }, flashAttention: true });
  try {
    const sequence = context.getSequence();
    const out: Dist[] = [];
    // Temperature 1 and no truncation: the probabilities are the softmax of the logits.
    const next = { generateNext: { probabilities: true, options: { temperature: 1, topK: V, topP: 1, minP: 0 } } };
    for (const ids of chunks) {
      const results = await sequence.controlledEvaluate(ids.map((t) => [t, next] as [number, typeof next]) as never);
      for (let i = 0; i < ids.length - 1; i++) {
        const probs = (results[i] as { next: { probabilities?: Map<number, number> } } | undefined)?.next.probabilities;
        if (probs === undefined || probs.size !== V) throw new Error(`llama.cpp gave ${probs?.size ?? 0} of ${V} probabilities at position ${i}`);
        const dist = new Float64Array(V);
        for (const [t, p] of probs) dist[t] = Math.log(p);
        out.push(dist);
      }
      await sequence.clearHistory();
    }
    return out;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

interface Score {
  readonly ppl: number;
  /** Mean KL(reference ‖ this) per token, nats. */
  readonly kl: number | null;
  /** Share of positions whose argmax is the reference's. */
  readonly top1: number | null;
}

function score(dists: readonly Dist[], targets: readonly number[], ref?: readonly Dist[]): Score {
  let nll = 0;
  let kl = 0;
  let agree = 0;
  dists.forEach((d, p) => {
    nll -= d[targets[p]];
    if (!ref) return;
    let a = 0;
    let b = 0;
    for (let i = 0; i < d.length; i++) {
      kl += Math.exp(ref[p][i]) * (ref[p][i] - d[i]);
      if (d[i] > d[a]) a = i;
      if (ref[p][i] > ref[p][b]) b = i;
    }
    if (a === b) agree++;
  });
  return { ppl: round(Math.exp(nll / dists.length), 4), kl: ref ? Number((kl / dists.length).toExponential(3)) : null, top1: ref ? round(agree / dists.length, 4) : null };
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const textFile = tinyStoriesText();
  if (textFile === null) return { title: '4-bit compute and perplexity (skipped)', markdown: '_../shared/data is not on this machine; skipped._', data: null };
  const tokens = param(ctx, 'q4ppl.tokens', 8192, 2048);
  const dir = join(WORK_DIR, 'stories260K-q4');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const models = buildModels(dir);
  const probe = await loadModel(models.fp32, { threads: ctx.threads });
  const ids = probe.tokenizer.encode(readFileSync(textFile, 'utf8'), { addSpecialTokens: false }).slice(0, tokens);
  const V = probe.config.vocabSize;
  const bos = probe.tokenizer.bosTokenId ?? 1;
  await probe.release();
  // Chunks of 256 positions from BOS, each scored on its 255 next tokens: both engines, the same contexts.
  const chunks: number[][] = [];
  for (let i = 0; i + CHUNK - 1 <= ids.length; i += CHUNK - 1) chunks.push([bos, ...ids.slice(i, i + CHUNK - 1)]);
  const chunkTargets = chunks.flatMap((c) => c.slice(1));
  const stream = [[bos, ...ids]];

  const of = await ouro(models.fp32, undefined, chunks, ctx.threads);
  const o0 = await ouro(models.q4, 0, chunks, ctx.threads);
  const o4 = await ouro(models.q4, 4, chunks, ctx.threads);
  let llama: { f32: Dist[]; q4: Dist[] } | string;
  try {
    llama = { f32: await llamaCpp(models.f32Gguf, chunks, V, ctx.threads), q4: await llamaCpp(models.q4Gguf, chunks, V, ctx.threads) };
  } catch (e) {
    llama = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
  }
  const sf = await ouro(models.fp32, undefined, stream, ctx.threads);
  const s0 = await ouro(models.q4, 0, stream, ctx.threads);
  const s4 = await ouro(models.q4, 4, stream, ctx.threads);

  const rows: Array<{ engine: string; weights: string; activations: string; protocol: string; vs: string; score: Score }> = [
    { engine: 'Ouro', weights: 'fp32', activations: 'fp32', protocol: 'chunks', vs: '–', score: score(of, chunkTargets) },
    { engine: 'Ouro', weights: '4-bit', activations: 'fp32 (level 0, exact)', protocol: 'chunks', vs: 'Ouro fp32', score: score(o0, chunkTargets, of) },
    { engine: 'Ouro', weights: '4-bit', activations: 'int8 blocks of 32 (level 4, default)', protocol: 'chunks', vs: 'Ouro fp32', score: score(o4, chunkTargets, of) },
    { engine: 'Ouro', weights: '4-bit', activations: 'int8 (level 4)', protocol: 'chunks', vs: 'Ouro 4-bit level 0', score: score(o4, chunkTargets, o0) },
  ];
  if (typeof llama !== 'string') {
    rows.push(
      { engine: 'llama.cpp', weights: 'F32', activations: 'fp32', protocol: 'chunks', vs: 'Ouro fp32', score: score(llama.f32, chunkTargets, of) },
      { engine: 'llama.cpp', weights: 'Q4_0', activations: 'Q8_0 (its only CPU path)', protocol: 'chunks', vs: 'llama.cpp F32', score: score(llama.q4, chunkTargets, llama.f32) },
      { engine: 'llama.cpp', weights: 'Q4_0', activations: 'Q8_0', protocol: 'chunks', vs: 'Ouro 4-bit level 0', score: score(llama.q4, chunkTargets, o0) },
    );
  }
  const streamTargets = ids;
  rows.push(
    { engine: 'Ouro', weights: 'fp32', activations: 'fp32', protocol: 'stream S=4 W=252', vs: '–', score: score(sf, streamTargets) },
    { engine: 'Ouro', weights: '4-bit', activations: 'fp32 (level 0)', protocol: 'stream S=4 W=252', vs: 'Ouro fp32', score: score(s0, streamTargets, sf) },
    { engine: 'Ouro', weights: '4-bit', activations: 'int8 (level 4)', protocol: 'stream S=4 W=252', vs: 'Ouro fp32', score: score(s4, streamTargets, sf) },
  );
  const table = mdTable(
    ['engine', 'weights', 'activations', 'protocol', 'PPL', 'KL vs', 'mean KL (nats)', 'top-1 agreement'],
    rows.map((r) => [r.engine, r.weights, r.activations, r.protocol, fmt(r.score.ppl, 4), r.vs, r.score.kl === null ? '–' : r.score.kl.toExponential(2), r.score.top1 === null ? '–' : fmt(r.score.top1, 4)]),
  );
  const skipped = typeof llama === 'string' ? `\n\nllama.cpp: skipped: ${llama}` : '';
  return {
    title: `4-bit compute and perplexity: stories260K quantized to 4 bits, first ${ids.length} tokens of tinystories-valid-head.txt`,
    markdown: `${table}\n\nchunks: ${chunks.length} chunks of ${CHUNK} positions from BOS, each scored on its ${CHUNK - 1} next tokens, the same in both engines (Ouro one token at a time, llama.cpp one batch per chunk, f16 KV, flash attention); stream: Ouro's streaming eval protocol over the whole text. The MLP is widened 172 → 192 with zeros (Q4_0 needs K a multiple of 32; the function is unchanged); the ONNX 4-bit and the GGUF Q4_0 hold the same codes and scales, the embedding stays fp32 in both.${skipped}`,
    data: { tokens: ids.length, chunk: CHUNK, rows, llamaSkipped: typeof llama === 'string' ? llama : null },
  };
}
