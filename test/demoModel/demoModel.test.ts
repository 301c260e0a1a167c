// The embedded demo model (TinyStories 260K converted from llama2.c's checkpoint by scripts/demoModel): its
// files, and greedy replies equal to llama2.c's reference samples (../shared/models/reference; skipped where
// it is absent). Runs under Vitest (Node).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatSession } from '../../main/engine/chatSession';
import { loadModel, type LoadedModel } from '../../main/engine/loadedModel';
import { loadModelFolder } from '../../main/engine/modelFolder';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import { DEMO_SOURCES_DIR, ensureDemoModel, writeDemoModel } from '../../scripts/demoModel/buildDemoModel';
import { readLlama2cCheckpoint } from '../../scripts/demoModel/llama2cCheckpoint';
import { readLlama2cTokenizer, sentencePieceMerges } from '../../scripts/demoModel/llama2cTokenizer';

const REFERENCE = fileURLToPath(new URL('../../../shared/models/', import.meta.url));
const SAMPLES = join(REFERENCE, 'reference', 'stories260K.greedy-samples.json');
const hasShared = existsSync(SAMPLES);

let dir: string;
let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ouro-demo-'));
  dir = ensureDemoModel(join(scratch, 'demo')).dir;
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('demo model conversion', () => {
  it('reads the checkpoint header and tokenizer llama2.c wrote', () => {
    const { header } = readLlama2cCheckpoint(readFileSync(join(DEMO_SOURCES_DIR, 'stories260K.bin')));
    expect(header).toEqual({ dim: 64, hiddenDim: 172, layers: 5, heads: 8, kvHeads: 4, vocab: 512, seqLen: 512, sharedClassifier: true });
    const pieces = readLlama2cTokenizer(readFileSync(join(DEMO_SOURCES_DIR, 'tok512.bin')), 512);
    expect(pieces.slice(0, 4).map((p) => p.piece)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(pieces[259]).toEqual({ piece: '▁t', score: -0 });
    // Merges ordered by score, as transformers' SentencePieceExtractor orders them.
    expect(sentencePieceMerges(pieces).slice(0, 3)).toEqual([['▁', 't'], ['h', 'e'], ['▁', 'a']]);
  });

  it('rejects a truncated checkpoint with the numbers that disagree', () => {
    const bytes = readFileSync(join(DEMO_SOURCES_DIR, 'stories260K.bin')).subarray(0, 4096);
    expect(() => readLlama2cCheckpoint(bytes)).toThrow(/holds 1017 floats after its header; its header \(dim 64, 5 layers, vocab 512, seq_len 512\) needs 264128/);
  });

  it('is a folder the engine accepts, and rebuilds only when it changed', async () => {
    const folder = await loadModelFolder(dir);
    expect(folder.config.maxPositionEmbeddings).toBe(512);
    expect(ensureDemoModel(dir).built).toBe(false);
    writeFileSync(join(dir, 'demo-build.json'), '{"hash":"stale"}');
    expect(ensureDemoModel(dir).built).toBe(true);
  });

  it('converts byte for byte the same on every run', async () => {
    const again = join(scratch, 'again');
    writeDemoModel(again);
    for (const file of ['onnx/model.onnx', 'tokenizer.json', 'config.json']) expect(readFileSync(join(again, file)).equals(readFileSync(join(dir, file)))).toBe(true);
  });
});

describe.skipIf(!hasShared)('demo model against the reference conversion (../shared/models; skipped where absent)', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModel(dir, { threads: 1 });
  });
  afterAll(async () => {
    await model?.release();
  });

  it('writes the reference tokenizer.json byte for byte and the same configs', () => {
    const ref = join(REFERENCE, 'stories260K');
    expect(readFileSync(join(dir, 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(ref, 'tokenizer.json'), 'utf8'));
    for (const file of ['config.json', 'generation_config.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
      expect(JSON.parse(readFileSync(join(dir, file), 'utf8'))).toEqual(JSON.parse(readFileSync(join(ref, file), 'utf8')));
    }
  });

  it('greedy replies equal llama2.c’s reference samples, ids and text', async () => {
    const { samples } = JSON.parse(readFileSync(SAMPLES, 'utf8')) as { samples: { prompt: string; new_ids: number[]; text: string }[] };
    expect(samples.length).toBe(4);
    for (const sample of samples) {
      const session = new ChatSession(model, { sink: 4, window: 252, positions: 'cache' });
      const ids: number[] = [];
      const result = await session.generate(
        { kind: 'raw', text: sample.prompt },
        { sampling: { ...DEFAULT_SAMPLING, greedy: true, repetitionPenalty: 1 }, maxTokens: sample.new_ids.length },
        { onToken: (t) => t.id >= 0 && ids.push(t.id) },
      );
      expect(ids, sample.prompt).toEqual(sample.new_ids);
      // A reply is decoded on its own, so the Llama decoder strips its leading space.
      expect(result.text).toBe(sample.text.slice(sample.prompt.length).replace(/^ /, ''));
    }
  });
});
