// loadModelFolder: good folders load with the right numbers; each broken folder is rejected with its own
// code and a message naming the file. File-level checks only (no onnxruntime here).
import { copyFileSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listVariants, loadModelFolder } from '../../../main/engine/modelFolder';
import { ensureFixture } from '../../fixtures/llamaFixture';
import { cleanupTemp, copyFolder, editJson, expectModelError, externalizeWeights, sharedModel, tempDir } from './modelTestKit';

let good = '';
beforeAll(async () => {
  good = (await ensureFixture('tiny')).dir;
});
afterAll(cleanupTemp);

/** A temp copy of the good fixture, changed by `breakIt`. */
function broken(breakIt: (dir: string) => void): string {
  const dir = copyFolder(good, 'broken');
  breakIt(dir);
  return dir;
}

describe('good folders load', () => {
  test('the generated tiny Llama fixture', async () => {
    const f = await loadModelFolder(good);
    expect(f.variant).toBe('model');
    expect(f.onnxFile).toBe('onnx/model.onnx');
    expect(f.onnxPath).toBe(join(good, 'onnx', 'model.onnx'));
    expect(f.externalData).toEqual([]);
    expect(f.config).toMatchObject({ modelType: 'llama', numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8, hiddenSize: 32, maxPositionEmbeddings: 2048, maxPos: 2048, ropeScalingType: null });
    expect(f.config.rope.rotaryDim).toBe(8);
    [1, 0.1, 0.01, 0.001].forEach((v, i) => expect(f.config.rope.invFreq[i]).toBeCloseTo(v, 15));
    const gen = JSON.parse(readFileSync(join(good, 'generation_config.json'), 'utf8')) as { eos_token_id: number[]; bos_token_id: number };
    expect(f.generation.eosTokenIds).toEqual(gen.eos_token_id);
    expect(f.generation.bosTokenId).toBe(gen.bos_token_id);
    expect(f.warnings).toEqual([]);
    expect(f.tokenizerConfig).toHaveProperty('chat_template');
    expect(f.tokenizerJson).toHaveProperty('model');
    expect(f.weightsBytes).toBeGreaterThan(0);
  });

  test.skipIf(sharedModel('stories260K') === null)('shared stories260K (eos list, sampling defaults)', async () => {
    const f = await loadModelFolder(sharedModel('stories260K') as string);
    expect(f.config).toMatchObject({ numLayers: 5, numHeads: 8, numKvHeads: 4, headDim: 8, hiddenSize: 64, vocabSize: 512, maxPos: 512, bosTokenId: 1, eosTokenIds: [2] });
    expect(f.generation).toMatchObject({ eosTokenIds: [1, 2], bosTokenId: 1, doSample: false });
  });

  test('without generation_config.json: bos/eos from config.json and a warning', async () => {
    const dir = broken((d) => rmSync(join(d, 'generation_config.json')));
    const f = await loadModelFolder(dir);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { eos_token_id: number; bos_token_id: number };
    expect(f.generation.eosTokenIds).toEqual([cfg.eos_token_id]);
    expect(f.generation.bosTokenId).toBe(cfg.bos_token_id);
    expect(f.warnings.join('\n')).toMatch(/generation_config\.json is missing/);
  });

  test('weights in external data load and are listed', async () => {
    const dir = broken((d) => externalizeWeights(join(d, 'onnx', 'model.onnx'), 'model.onnx_data'));
    const f = await loadModelFolder(dir);
    expect(f.externalData).toEqual([join(dir, 'onnx', 'model.onnx_data')]);
  });
});

describe('broken folders are rejected, each with its own code and file', () => {
  test('folder does not exist / is a file', async () => {
    const missing = join(tempDir('gone'), 'no-such-model');
    const err = await expectModelError(loadModelFolder(missing), 'missing-file', null);
    expect(err.message).toContain(missing);
    await expectModelError(loadModelFolder(join(good, 'config.json')), 'missing-file', null, /not a folder/);
  });

  test.each(['config.json', 'tokenizer.json', 'tokenizer_config.json'])('missing %s', async (file) => {
    const dir = broken((d) => rmSync(join(d, file)));
    const err = await expectModelError(loadModelFolder(dir), 'missing-file', file);
    expect(err.message).toBe(`model folder lacks ${file}`);
  });

  test('no onnx file', async () => {
    const dir = broken((d) => rmSync(join(d, 'onnx'), { recursive: true }));
    await expectModelError(loadModelFolder(dir), 'no-onnx-file', 'onnx/');
  });

  test('invalid JSON names the file and the place', async () => {
    const dir = broken((d) => writeFileSync(join(d, 'config.json'), '{\n  "model_type": "llama",\n  "hidden_size": ,\n}'));
    await expectModelError(loadModelFolder(dir), 'invalid-json', 'config.json', /line 3/);
    const dir2 = broken((d) => writeFileSync(join(d, 'tokenizer.json'), '{"model": '));
    await expectModelError(loadModelFolder(dir2), 'invalid-json', 'tokenizer.json');
    const bom = broken((d) => writeFileSync(join(d, 'generation_config.json'), '\uFEFF{"eos_token_id": 3}'));
    expect((await loadModelFolder(bom)).generation.eosTokenIds).toEqual([3]);
    const dir3 = broken((d) => writeFileSync(join(d, 'generation_config.json'), '[1, 2]'));
    await expectModelError(loadModelFolder(dir3), 'invalid-json', 'generation_config.json', /JSON object/);
  });

  test('config lacking a required field, or with a non-integral head size', async () => {
    const dir = broken((d) => editJson(join(d, 'config.json'), (c) => delete c.num_hidden_layers));
    await expectModelError(loadModelFolder(dir), 'invalid-config', 'config.json', /num_hidden_layers/);
    const dir2 = broken((d) =>
      editJson(join(d, 'config.json'), (c) => {
        delete c.head_dim;
        c.hidden_size = 30;
      }),
    );
    await expectModelError(loadModelFolder(dir2), 'invalid-config', 'config.json', /not a multiple/);
  });

  test('learned positions (a GPT-2 config)', async () => {
    const dir = broken((d) =>
      writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_layer: 2, n_head: 4, n_embd: 32, n_positions: 1024, vocab_size: 400 })),
    );
    await expectModelError(loadModelFolder(dir), 'learned-positions', 'config.json', /gpt2.*not RoPE/);
  });

  test('encoder-decoder architecture', async () => {
    const dir = broken((d) => editJson(join(d, 'config.json'), (c) => (c.model_type = 't5')));
    await expectModelError(loadModelFolder(dir), 'unsupported-architecture', 'config.json', /encoder-decoder/);
  });

  test('unsupported rope scaling', async () => {
    const dir = broken((d) => editJson(join(d, 'config.json'), (c) => (c.rope_scaling = { rope_type: 'mrope', mrope_section: [2, 1, 1] })));
    await expectModelError(loadModelFolder(dir), 'unsupported-rope-scaling', 'config.json', /"mrope" is not supported/);
  });

  test('truncated onnx (cut in half) and zero-byte onnx', async () => {
    const half = broken((d) => {
      const p = join(d, 'onnx', 'model.onnx');
      truncateSync(p, Math.floor(readFileSync(p).length / 2));
    });
    await expectModelError(loadModelFolder(half), 'corrupt-onnx', 'onnx/model.onnx', /truncated/);
    const empty = broken((d) => writeFileSync(join(d, 'onnx', 'model.onnx'), ''));
    await expectModelError(loadModelFolder(empty), 'corrupt-onnx', 'onnx/model.onnx', /empty/);
  });

  test('missing or truncated external data', async () => {
    let data = '';
    const dir = broken((d) => (data = externalizeWeights(join(d, 'onnx', 'model.onnx'), 'model.onnx_data').dataPath));
    truncateSync(data, 100);
    await expectModelError(loadModelFolder(dir), 'missing-external-data', 'onnx/model.onnx_data', /truncated/);
    rmSync(data);
    await expectModelError(loadModelFolder(dir), 'missing-external-data', 'onnx/model.onnx_data', /onnx\/model\.onnx_data: is missing; onnx\/model\.onnx keeps its weights there/);
  });
});

test('external data outside the .onnx file\'s folder is refused before onnxruntime sees it', async () => {
  const dir = broken((d) => {
    const p = join(d, 'onnx', 'model.onnx');
    externalizeWeights(p, 'model.onnx_data');
    const text = readFileSync(p);
    // Same length as "model.onnx_data", so the protobuf stays well-formed.
    writeFileSync(p, Buffer.from(text.toString('latin1').replaceAll('model.onnx_data', '../model.onnx_d'), 'latin1'));
  });
  await expectModelError(loadModelFolder(dir), 'corrupt-onnx', 'onnx/model.onnx', /outside its own folder/);
});

describe('variants', () => {
  function withVariants(names: readonly string[]): string {
    return broken((d) => {
      for (const n of names) copyFileSync(join(d, 'onnx', 'model.onnx'), join(d, 'onnx', `${n}.onnx`));
      rmSync(join(d, 'onnx', 'model.onnx'));
    });
  }

  test('listVariants lists onnx/model*.onnx', async () => {
    const dir = withVariants(['model_q4', 'model_fp16', 'model_quantized']);
    expect(await listVariants(dir)).toEqual(['model_fp16', 'model_q4', 'model_quantized']);
  });

  test('without model.onnx: q4, then q8, then fp32, fp16 last; a single variant is taken as is', async () => {
    expect((await loadModelFolder(withVariants(['model_fp16', 'model_q4', 'model_quantized']))).variant).toBe('model_q4');
    expect((await loadModelFolder(withVariants(['model_fp16', 'model_int8']))).variant).toBe('model_int8');
    expect((await loadModelFolder(withVariants(['model_fp16', 'model_q4f16', 'model_fp32']))).variant).toBe('model_fp32');
    expect((await loadModelFolder(withVariants(['model_fp16']))).variant).toBe('model_fp16');
  });

  test('model.onnx wins by default; an explicit variant (full or short name) wins over it', async () => {
    const dir = broken((d) => copyFileSync(join(d, 'onnx', 'model.onnx'), join(d, 'onnx', 'model_q4.onnx')));
    expect((await loadModelFolder(dir)).variant).toBe('model');
    expect((await loadModelFolder(dir, { variant: 'q4' })).onnxFile).toBe('onnx/model_q4.onnx');
    expect((await loadModelFolder(dir, { variant: 'model_q4' })).variant).toBe('model_q4');
    await expectModelError(loadModelFolder(dir, { variant: 'fp16' }), 'variant-not-found', 'onnx/fp16.onnx', /available: model, model_q4/);
  });

  test('a root-level model.onnx is found when there is no onnx/ folder', async () => {
    const dir = broken((d) => {
      copyFileSync(join(d, 'onnx', 'model.onnx'), join(d, 'model.onnx'));
      rmSync(join(d, 'onnx'), { recursive: true });
      mkdirSync(join(d, 'onnx'));
    });
    expect((await loadModelFolder(dir)).onnxFile).toBe('model.onnx');
  });
});
