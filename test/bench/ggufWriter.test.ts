// The bench's GGUF writer: the file reads back with @huggingface/gguf as the fixture it came from, its Q4_0
// blocks decode to exactly the 4-bit ONNX fixture's weights, and llama.cpp (node-llama-cpp's prebuilt binary)
// running the F32 file generates the float64 reference's greedy tokens. Test process.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeRows, GGML_TYPE, writeLlamaGguf } from '../../bench/lib/ggufWriter';
import { f16ToF32, roundToF16, transposeMatrix } from '../fixtures/fixtureQuant';
import { fixtureWeights, TINY, TINY_Q4 } from '../fixtures/llamaFixture';
import { referenceDense } from '../fixtures/referenceLlama';

const scratch = mkdtempSync(join(tmpdir(), 'ouro-gguf-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const weights = fixtureWeights(TINY);

async function tensorBytes(path: string, name: string): Promise<{ bytes: Buffer; dtype: number; shape: number[] }> {
  const { tensorInfos, tensorDataOffset } = await gguf(path, { allowLocalFile: true });
  const info = tensorInfos.find((t) => t.name === name)!;
  const file = readFileSync(path);
  const start = Number(tensorDataOffset + info.offset);
  return { bytes: file.subarray(start), dtype: info.dtype, shape: info.shape.map(Number) };
}

describe('writeLlamaGguf', () => {
  it('writes a llama GGUF whose header describes the fixture', async () => {
    const path = join(scratch, 'tiny-q8.gguf');
    writeLlamaGguf(path, weights, 'Q8_0');
    const { metadata, tensorInfos } = await gguf(path, { allowLocalFile: true });
    expect(metadata).toMatchObject({
      'general.architecture': 'llama',
      'llama.block_count': TINY.layers,
      'llama.embedding_length': TINY.hidden,
      'llama.feed_forward_length': TINY.intermediate,
      'llama.attention.head_count': TINY.heads,
      'llama.attention.head_count_kv': TINY.kvHeads,
      'llama.rope.freq_base': TINY.ropeTheta,
      'tokenizer.ggml.model': 'llama',
    });
    expect((metadata as Record<string, unknown>)['tokenizer.ggml.tokens']).toHaveLength(TINY.vocab);
    // Untied: an output tensor; norms F32, every matrix Q8_0 with ggml's [in, out] dims.
    expect(tensorInfos).toHaveLength(3 + 9 * TINY.layers);
    const byName = new Map(tensorInfos.map((t) => [t.name, t]));
    expect(byName.get('blk.0.ffn_down.weight')).toMatchObject({ shape: [BigInt(TINY.intermediate), BigInt(TINY.hidden)], dtype: GGML_TYPE.Q8_0 });
    expect(byName.get('blk.1.attn_norm.weight')).toMatchObject({ shape: [BigInt(TINY.hidden)], dtype: GGML_TYPE.F32 });
    expect(byName.get('output.weight')?.dtype).toBe(GGML_TYPE.Q8_0);
  });

  it('stores Q4_0 blocks that decode to exactly the 4-bit ONNX fixture weights', async () => {
    const path = join(scratch, 'tiny-q4.gguf');
    writeLlamaGguf(path, weights, 'Q4_0');
    const onnxQ4 = fixtureWeights(TINY_Q4);
    const { bytes, dtype, shape } = await tensorBytes(path, 'blk.1.ffn_down.weight');
    expect(dtype).toBe(GGML_TYPE.Q4_0);
    const [cols, rows] = shape;
    const decoded = new Float32Array(cols * rows);
    for (let b = 0; b < decoded.length / 32; b++) {
      const d = f16ToF32(bytes.readUInt16LE(b * 18));
      for (let j = 0; j < 16; j++) {
        const byte = bytes[b * 18 + 2 + j];
        decoded[b * 32 + j] = ((byte & 15) - 8) * d;
        decoded[b * 32 + j + 16] = ((byte >> 4) - 8) * d;
      }
    }
    expect(Array.from(decoded)).toEqual(Array.from(transposeMatrix(onnxQ4.layers[1].wDown, cols, rows)));
  });

  it('encodes Q8_0 as ggml does: d = max|x| / 127 in fp16, codes rounded half away from zero', () => {
    const block = Float32Array.from({ length: 32 }, (_, i) => (i - 16) * 0.25 + 0.125);
    const bytes = encodeRows(block, 32, 'Q8_0');
    const d = f16ToF32(bytes.readUInt16LE(0));
    expect(d).toBe(roundToF16(3.875 / 127));
    // Codes from the unrounded scale: x / d0 rounded half away from zero (0.125 / d0 = 4.097 → 4; -3.875 → -127).
    const codes = Array.from({ length: 32 }, (_, j) => bytes.readInt8(2 + j));
    expect(codes[0]).toBe(-127);
    expect(codes[16]).toBe(4);
    for (let j = 0; j < 32; j++) expect(Math.abs(codes[j] * d - block[j])).toBeLessThanOrEqual(0.6 * d);
    expect(() => encodeRows(new Float32Array(48), 48, 'Q4_0')).toThrow(/multiple of 32/);
  });

  it('llama.cpp runs the F32 file to the reference greedy tokens', async (ctx) => {
    const path = join(scratch, 'tiny-f32.gguf');
    writeLlamaGguf(path, weights, 'F32');
    let llama;
    try {
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
    } catch (e) {
      return ctx.skip(`node-llama-cpp's prebuilt binary does not load here: ${e instanceof Error ? e.message : String(e)}`);
    }
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    const context = await model.createContext({ contextSize: 128, threads: 1, flashAttention: true });
    const prompt = [5, 17, 33, 60, 99];
    const got: number[] = [];
    for await (const token of context.getSequence().evaluate(prompt as never, { temperature: 0 })) {
      got.push(token as number);
      if (got.length === 12) break;
    }
    await context.dispose();
    await model.dispose();
    const ids = [...prompt];
    for (let i = 0; i < 12; i++) {
      const last = referenceDense(weights, ids).at(-1)!;
      ids.push(last.indexOf(Math.max(...last)));
    }
    expect(got).toEqual(ids.slice(prompt.length));
  }, 60_000);
});
