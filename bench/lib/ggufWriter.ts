// Writes a fixture's weights as a llama.cpp GGUF (v3, `llama` architecture) in F32, Q8_0 or Q4_0, quantized
// the way llama.cpp's reference quantizers do it, so llama.cpp runs the same model as the ONNX fixture.
// Benchmark (and test) process only.
import { closeSync, openSync, writeSync } from 'node:fs';
import { f32ToF16, q4Block, transposeMatrix } from '../../test/fixtures/fixtureQuant';
import type { FixtureWeights } from '../../test/fixtures/llamaFixture';

/** The tensor types this writer encodes (ggml_type values). */
export const GGML_TYPE = { F32: 0, Q4_0: 2, Q8_0: 8 } as const;
export type GgufTensorType = keyof typeof GGML_TYPE;

const ALIGNMENT = 32;
const QK = 32;
/** llama_ftype of a file whose 2-D weights are all of one type. */
const FILE_TYPE: Readonly<Record<GgufTensorType, number>> = { F32: 0, Q4_0: 2, Q8_0: 7 };
const BLOCK_BYTES: Readonly<Record<GgufTensorType, number>> = { F32: 4 * QK, Q4_0: 2 + QK / 2, Q8_0: 2 + QK };

type MetaValue =
  | { t: 'u32'; v: number }
  | { t: 'f32'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'str'; v: string }
  | { t: 'strs'; v: readonly string[] }
  | { t: 'f32s'; v: Float32Array }
  | { t: 'i32s'; v: Int32Array };

// gguf_type values.
const T_U32 = 4;
const T_I32 = 5;
const T_F32 = 6;
const T_BOOL = 7;
const T_STRING = 8;
const T_ARRAY = 9;

/** Little-endian byte builder for the header. */
class Bytes {
  private chunks: Buffer[] = [];
  length = 0;
  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  private fixed(size: number, write: (b: Buffer) => unknown): void {
    const b = Buffer.alloc(size);
    write(b);
    this.push(b);
  }
  u32(v: number): void {
    this.fixed(4, (b) => b.writeUInt32LE(v));
  }
  u64(v: number): void {
    this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  }
  f32(v: number): void {
    this.fixed(4, (b) => b.writeFloatLE(v));
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  raw(b: Buffer): void {
    this.push(b);
  }
  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeMeta(out: Bytes, key: string, value: MetaValue): void {
  out.str(key);
  switch (value.t) {
    case 'u32':
      out.u32(T_U32);
      out.u32(value.v);
      break;
    case 'f32':
      out.u32(T_F32);
      out.f32(value.v);
      break;
    case 'bool':
      out.u32(T_BOOL);
      out.raw(Buffer.of(value.v ? 1 : 0));
      break;
    case 'str':
      out.u32(T_STRING);
      out.str(value.v);
      break;
    case 'strs':
      out.u32(T_ARRAY);
      out.u32(T_STRING);
      out.u64(value.v.length);
      for (const s of value.v) out.str(s);
      break;
    case 'f32s':
      out.u32(T_ARRAY);
      out.u32(T_F32);
      out.u64(value.v.length);
      out.raw(Buffer.from(value.v.buffer, value.v.byteOffset, value.v.byteLength));
      break;
    case 'i32s':
      out.u32(T_ARRAY);
      out.u32(T_I32);
      out.u64(value.v.length);
      out.raw(Buffer.from(value.v.buffer, value.v.byteOffset, value.v.byteLength));
      break;
  }
}

/** `rows` rows of `cols` values (ggml ne = [cols, rows]) encoded as `type`. */
export function encodeRows(values: Float32Array, cols: number, type: GgufTensorType): Buffer {
  if (type === 'F32') return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  if (cols % QK !== 0) throw new Error(`${type} needs rows of a multiple of ${QK} values, got ${cols}`);
  const blocks = values.length / QK;
  const out = Buffer.alloc(blocks * BLOCK_BYTES[type]);
  for (let b = 0; b < blocks; b++) {
    const block = values.subarray(b * QK, (b + 1) * QK);
    const at = b * BLOCK_BYTES[type];
    if (type === 'Q8_0') {
      // ggml quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d) (half away from zero).
      let amax = 0;
      for (const v of block) amax = Math.max(amax, Math.abs(v));
      const d = Math.fround(amax / 127);
      const id = d !== 0 ? Math.fround(1 / d) : 0;
      out.writeUInt16LE(f32ToF16(d), at);
      for (let j = 0; j < QK; j++) {
        const x = Math.fround(block[j] * id);
        out.writeInt8(Math.sign(x) * Math.round(Math.abs(x)), at + 2 + j);
      }
    } else {
      // ggml quantize_row_q4_0_ref: low nibbles hold elements 0..15, high nibbles 16..31.
      const { d, q } = q4Block(block);
      out.writeUInt16LE(f32ToF16(d), at);
      for (let j = 0; j < QK / 2; j++) out[at + 2 + j] = q[j] | (q[j + QK / 2] << 4);
    }
  }
  return out;
}

/**
 * llama.cpp's rotary embedding for the `llama` architecture pairs dims (2i, 2i+1); HF's rotate_half pairs
 * (i, i + D/2). convert_hf_to_gguf.py reorders the rows of q_proj and k_proj per head to match; so do we.
 */
function permuteHeads(w: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * headDim + j * half + i) * cols;
        out.set(w.subarray(from, from + cols), (h * headDim + 2 * i + j) * cols);
      }
    }
  }
  return out;
}

/** A synthetic SentencePiece vocabulary of `size` ids (unk, bos, eos, 256 byte tokens, fillers): ids only matter here. */
function vocabulary(size: number): { tokens: string[]; scores: Float32Array; types: Int32Array } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256 && tokens.length < size; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  while (tokens.length < size) {
    tokens.push(`▁t${tokens.length}`);
    types.push(1);
  }
  return { tokens, scores: new Float32Array(size), types: Int32Array.from(types) };
}

interface TensorEntry {
  readonly name: string;
  /** ggml ne: fastest-varying first. */
  readonly ne: readonly number[];
  readonly type: GgufTensorType;
  readonly data: () => Buffer;
}

/**
 * Writes `weights` (rotate_half RoPE without scaling, as the bench fixture) to `path` with every 2-D weight
 * as `type` (norms stay F32, as llama-quantize leaves them; the tied embedding is also the output, in
 * `type` too, i.e. llama-quantize --pure). `embedding` overrides the type of `token_embd` alone: F32 with an
 * untied head matches a transformers.js q4 export, whose Gather keeps fp32 rows. Returns the bytes written.
 */
export function writeLlamaGguf(path: string, weights: FixtureWeights, type: GgufTensorType, embedding: GgufTensorType = type): number {
  const s = weights.spec;
  if (weights.quantized.size > 0) throw new Error('write the GGUF from the fp32 weights (spec.weights fp32)');
  if (s.ropeScaling || (s.partialRotaryFactor ?? 1) !== 1) throw new Error('the GGUF writer handles plain full-dimension RoPE only');
  const { hidden: H, heads, kvHeads, headDim: D, intermediate: I, vocab: V } = s;
  // ONNX [in, out] → GGUF rows of `in` values, one per output (HF [out, in]).
  const rows = (w: Float32Array, inDim: number, outDim: number) => transposeMatrix(w, inDim, outDim);
  const tensors: TensorEntry[] = [{ name: 'token_embd.weight', ne: [H, V], type: embedding, data: () => encodeRows(weights.embed, H, embedding) }];
  weights.layers.forEach((L, i) => {
    const p = `blk.${i}.`;
    const f32 = (name: string, v: Float32Array): TensorEntry => ({ name: p + name, ne: [v.length], type: 'F32', data: () => encodeRows(v, v.length, 'F32') });
    const mat = (name: string, build: () => Float32Array, inDim: number, outDim: number): TensorEntry => ({
      name: p + name,
      ne: [inDim, outDim],
      type,
      data: () => encodeRows(build(), inDim, type),
    });
    tensors.push(
      f32('attn_norm.weight', L.inputNorm),
      mat('attn_q.weight', () => permuteHeads(rows(L.wq, H, heads * D), heads, D, H), H, heads * D),
      mat('attn_k.weight', () => permuteHeads(rows(L.wk, H, kvHeads * D), kvHeads, D, H), H, kvHeads * D),
      mat('attn_v.weight', () => rows(L.wv, H, kvHeads * D), H, kvHeads * D),
      mat('attn_output.weight', () => rows(L.wo, heads * D, H), heads * D, H),
      f32('ffn_norm.weight', L.postNorm),
      mat('ffn_gate.weight', () => rows(L.wGate, H, I), H, I),
      mat('ffn_up.weight', () => rows(L.wUp, H, I), H, I),
      mat('ffn_down.weight', () => rows(L.wDown, I, H), I, H),
    );
  });
  tensors.push({ name: 'output_norm.weight', ne: [H], type: 'F32', data: () => encodeRows(weights.norm, H, 'F32') });
  if (weights.lmHead !== weights.embed) tensors.push({ name: 'output.weight', ne: [H, V], type, data: () => encodeRows(weights.lmHead, H, type) });

  const vocab = vocabulary(V);
  const meta: Array<[string, MetaValue]> = [
    ['general.architecture', { t: 'str', v: 'llama' }],
    ['general.name', { t: 'str', v: 'ouro-fixture' }],
    ['general.file_type', { t: 'u32', v: FILE_TYPE[type] }],
    ['general.alignment', { t: 'u32', v: ALIGNMENT }],
    ['llama.context_length', { t: 'u32', v: s.maxPositions }],
    ['llama.embedding_length', { t: 'u32', v: H }],
    ['llama.block_count', { t: 'u32', v: s.layers }],
    ['llama.feed_forward_length', { t: 'u32', v: I }],
    ['llama.attention.head_count', { t: 'u32', v: heads }],
    ['llama.attention.head_count_kv', { t: 'u32', v: kvHeads }],
    ['llama.attention.key_length', { t: 'u32', v: D }],
    ['llama.attention.value_length', { t: 'u32', v: D }],
    ['llama.rope.dimension_count', { t: 'u32', v: D }],
    ['llama.rope.freq_base', { t: 'f32', v: s.ropeTheta }],
    ['llama.attention.layer_norm_rms_epsilon', { t: 'f32', v: weights.rmsNormEps }],
    ['llama.vocab_size', { t: 'u32', v: V }],
    ['tokenizer.ggml.model', { t: 'str', v: 'llama' }],
    ['tokenizer.ggml.tokens', { t: 'strs', v: vocab.tokens }],
    ['tokenizer.ggml.scores', { t: 'f32s', v: vocab.scores }],
    ['tokenizer.ggml.token_type', { t: 'i32s', v: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { t: 'u32', v: 0 }],
    ['tokenizer.ggml.bos_token_id', { t: 'u32', v: 1 }],
    ['tokenizer.ggml.eos_token_id', { t: 'u32', v: 2 }],
    ['tokenizer.ggml.add_bos_token', { t: 'bool', v: false }],
    ['tokenizer.ggml.add_eos_token', { t: 'bool', v: false }],
  ];

  const header = new Bytes();
  header.raw(Buffer.from('GGUF', 'ascii'));
  header.u32(3);
  header.u64(tensors.length);
  header.u64(meta.length);
  for (const [key, value] of meta) writeMeta(header, key, value);
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    header.str(t.name);
    header.u32(t.ne.length);
    for (const n of t.ne) header.u64(n);
    header.u32(GGML_TYPE[t.type]);
    header.u64(offset);
    offsets.push(offset);
    const elements = t.ne.reduce((a, b) => a * b, 1);
    const bytes = t.type === 'F32' ? elements * 4 : (elements / QK) * BLOCK_BYTES[t.type];
    offset += Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;
  }
  const head = header.finish();
  const dataStart = Math.ceil(head.length / ALIGNMENT) * ALIGNMENT;

  const fd = openSync(path, 'w');
  try {
    let at = 0;
    const put = (b: Buffer) => {
      let done = 0;
      while (done < b.length) done += writeSync(fd, b, done, b.length - done, at + done);
      at += b.length;
    };
    put(head);
    put(Buffer.alloc(dataStart - head.length));
    tensors.forEach((t, i) => {
      const bytes = t.data();
      if (at !== dataStart + offsets[i]) throw new Error(`GGUF writer misplaced ${t.name}`);
      put(bytes);
      put(Buffer.alloc(Math.ceil(bytes.length / ALIGNMENT) * ALIGNMENT - bytes.length));
    });
    return at;
  } finally {
    closeSync(fd);
  }
}
