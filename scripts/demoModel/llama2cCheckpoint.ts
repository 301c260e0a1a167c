// Reads a llama2.c checkpoint (the legacy "v0" export: a 7×int32 header, then fp32 weights) into the weights
// the ONNX graph builder takes, with wq/wk rows permuted from llama2.c's interleaved RoPE pairs to HF's
// rotate_half halves. Runs in Node at build time (and in the tests that check it).
import { transposeMatrix as transpose } from '../../test/fixtures/fixtureQuant';
import type { LlamaLayerWeights, LlamaWeights } from '../onnx/llamaGraph';

/** The checkpoint header. */
export interface Llama2cHeader {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly vocab: number;
  /** The training context length (max_position_embeddings). */
  readonly seqLen: number;
  /** False when the classifier has its own weights (a negative vocab size in the header). */
  readonly sharedClassifier: boolean;
}

/** A checkpoint's weights, ready for `buildLlamaGraph`, and its header. */
export interface Llama2cModel {
  readonly header: Llama2cHeader;
  readonly weights: LlamaWeights;
}

const HEADER_BYTES = 7 * 4;
/** llama2.c's model.py: RMSNorm eps and the RoPE base it trains with. */
export const LLAMA2C_RMS_EPS = 1e-5;
export const LLAMA2C_ROPE_THETA = 10000;

/** Parses `bytes` (a whole `.bin`); throws naming the number that does not fit. */
export function readLlama2cCheckpoint(bytes: Uint8Array): Llama2cModel {
  if (bytes.length < HEADER_BYTES) throw new Error(`llama2.c checkpoint is ${bytes.length} bytes, shorter than its 28-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [dim, hiddenDim, layers, heads, kvHeads, signedVocab, seqLen] = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  const header: Llama2cHeader = { dim, hiddenDim, layers, heads, kvHeads, vocab: Math.abs(signedVocab), seqLen, sharedClassifier: signedVocab > 0 };
  for (const [key, value] of Object.entries(header)) {
    if (typeof value === 'number' && (!Number.isInteger(value) || value <= 0)) throw new Error(`llama2.c checkpoint header ${key} is ${value}; expected a positive integer`);
  }
  if (dim % heads !== 0 || heads % kvHeads !== 0 || (dim / heads) % 2 !== 0) {
    throw new Error(`llama2.c checkpoint: dim ${dim}, ${heads} heads and ${kvHeads} kv heads do not make even, grouped heads`);
  }
  const headDim = dim / heads;
  const kvDim = kvHeads * headDim;
  const V = header.vocab;
  const L = layers;
  const floatsNeeded =
    V * dim + L * dim + L * dim * dim + 2 * L * kvDim * dim + L * dim * dim + L * dim + 3 * L * hiddenDim * dim + dim + seqLen * headDim + (header.sharedClassifier ? 0 : V * dim);
  const floats = (bytes.length - HEADER_BYTES) / 4;
  if (floats !== floatsNeeded) {
    throw new Error(`llama2.c checkpoint holds ${floats} floats after its header; its header (dim ${dim}, ${L} layers, vocab ${V}, seq_len ${seqLen}) needs ${floatsNeeded}`);
  }
  // Copied out (a Node Buffer's slice would be a view) so the weights are 4-byte aligned.
  const all = new Float32Array(Uint8Array.prototype.slice.call(bytes, HEADER_BYTES).buffer);
  let at = 0;
  const take = (n: number): Float32Array => all.subarray(at, (at += n));
  const perLayer = (n: number): Float32Array[] => Array.from({ length: L }, () => take(n));

  const embed = take(V * dim);
  const attnNorm = perLayer(dim);
  const wq = perLayer(dim * dim);
  const wk = perLayer(kvDim * dim);
  const wv = perLayer(kvDim * dim);
  const wo = perLayer(dim * dim);
  const ffnNorm = perLayer(dim);
  const w1 = perLayer(hiddenDim * dim);
  const w2 = perLayer(dim * hiddenDim);
  const w3 = perLayer(hiddenDim * dim);
  const norm = take(dim);
  take(seqLen * headDim); // freq_cis_real and _imag: RoPE tables the graph computes itself
  const lmHead = header.sharedClassifier ? embed : take(V * dim);

  // PyTorch Linear weights are [out, in]; the graph multiplies by [in, out].
  const layerWeights: LlamaLayerWeights[] = Array.from({ length: L }, (_, i) => ({
    inputNorm: attnNorm[i],
    wq: transpose(rotateHalfRows(wq[i], heads, headDim, dim), dim, dim),
    wk: transpose(rotateHalfRows(wk[i], kvHeads, headDim, dim), kvDim, dim),
    wv: transpose(wv[i], kvDim, dim),
    wo: transpose(wo[i], dim, dim),
    postNorm: ffnNorm[i],
    wGate: transpose(w1[i], hiddenDim, dim),
    wUp: transpose(w3[i], hiddenDim, dim),
    wDown: transpose(w2[i], dim, hiddenDim),
  }));
  const invFreq = Float64Array.from({ length: headDim / 2 }, (_, i) => 1 / Math.pow(LLAMA2C_ROPE_THETA, (2 * i) / headDim));
  return {
    header,
    weights: {
      spec: { layers: L, hidden: dim, heads, kvHeads, headDim, intermediate: hiddenDim, vocab: V },
      embed,
      layers: layerWeights,
      norm,
      lmHead,
      rope: { rotaryDim: headDim, invFreq },
      rmsNormEps: LLAMA2C_RMS_EPS,
    },
  };
}

/**
 * llama2.c rotates the pairs (2i, 2i+1) of each head; HF's rotate_half rotates (i, i + D/2). Reordering
 * each head's output rows to [even rows, odd rows] turns one into the other (transformers'
 * convert_llama_weights_to_hf.py `permute`), so q·k and hence attention are unchanged.
 */
function rotateHalfRows(w: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const from = (h * headDim + 2 * i + j) * cols;
        out.set(w.subarray(from, from + cols), (h * headDim + j * half + i) * cols);
      }
    }
  }
  return out;
}
