// Local import through the engine's ModelFolder: a dozen broken folders each refused with its own error,
// copy vs reference, what a copy keeps, inspect's numbers, delete.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelErrorCode } from '../../main/engine/errors';
import { isDownloadError } from '../../main/models/downloadError';
import { deleteModel, folderIdFrom, importFolder } from '../../main/models/modelImport';
import { inspectModel, llamaStyleParameters } from '../../main/models/modelInspect';
import { cleanupTemp, copyFolder, editJson, expectModelError, externalizeWeights, tempDir } from '../engine/model/modelTestKit';
import { ensureFixture, TINY } from '../fixtures/llamaFixture';

let fixture: string;
let modelsDir: string;
beforeAll(async () => {
  fixture = (await ensureFixture('tiny')).dir;
  modelsDir = join(tempDir('models'), 'models');
});
afterAll(() => cleanupTemp());

function broken(edit: (dir: string) => void): string {
  const dir = copyFolder(fixture, 'broken');
  edit(dir);
  return dir;
}

describe('importFolder refuses broken folders, each with its own engine error', () => {
  const onnx = (d: string): string => join(d, 'onnx', 'model.onnx');
  const cases: Array<{ name: string; make: () => string; code: ModelErrorCode; file: string | null; message?: RegExp; variant?: string }> = [
    { name: 'a folder that does not exist', make: () => join(tempDir('gone'), 'nothing-here'), code: 'missing-file', file: null, message: /does not exist/ },
    {
      name: 'a file picked instead of a folder',
      make: () => broken(() => undefined) + '/config.json',
      code: 'missing-file',
      file: null,
      message: /not a folder; pick the model's folder/,
    },
    { name: 'no config.json', make: () => broken((d) => rmSync(join(d, 'config.json'))), code: 'missing-file', file: 'config.json', message: /lacks config\.json/ },
    { name: 'config.json not JSON', make: () => broken((d) => writeFileSync(join(d, 'config.json'), '{"model_type": "llama",')), code: 'invalid-json', file: 'config.json', message: /line 1/ },
    { name: 'config.json without model_type', make: () => broken((d) => editJson(join(d, 'config.json'), (j) => delete j.model_type)), code: 'invalid-config', file: 'config.json' },
    { name: 'learned positions (gpt2)', make: () => broken((d) => editJson(join(d, 'config.json'), (j) => (j.model_type = 'gpt2'))), code: 'learned-positions', file: 'config.json', message: /not RoPE/ },
    { name: 'an encoder-decoder (t5)', make: () => broken((d) => editJson(join(d, 'config.json'), (j) => (j.model_type = 't5'))), code: 'unsupported-architecture', file: 'config.json' },
    { name: 'no tokenizer.json', make: () => broken((d) => rmSync(join(d, 'tokenizer.json'))), code: 'missing-file', file: 'tokenizer.json' },
    {
      name: 'a tokenizer.json of the wrong shape',
      make: () => broken((d) => editJson(join(d, 'tokenizer.json'), (j) => (j.added_tokens = 42))),
      code: 'invalid-tokenizer',
      file: 'tokenizer.json',
      message: /"added_tokens" must be an array/,
    },
    {
      name: 'a tokenizer stage the library does not know',
      make: () => broken((d) => editJson(join(d, 'tokenizer.json'), (j) => (j.pre_tokenizer = { type: 'NoSuchPreTokenizer' }))),
      code: 'invalid-tokenizer',
      file: 'tokenizer.json',
      message: /cannot build the tokenizer: Unknown PreTokenizer type: NoSuchPreTokenizer/,
    },
    { name: 'tokenizer_config.json not JSON', make: () => broken((d) => writeFileSync(join(d, 'tokenizer_config.json'), 'chat_template: nope')), code: 'invalid-json', file: 'tokenizer_config.json' },
    { name: 'no ONNX graph', make: () => broken((d) => rmSync(join(d, 'onnx'), { recursive: true })), code: 'no-onnx-file', file: 'onnx/' },
    { name: 'an empty graph (0 bytes)', make: () => broken((d) => truncateSync(onnx(d), 0)), code: 'corrupt-onnx', file: 'onnx/model.onnx', message: /empty/ },
    {
      name: 'a Git LFS pointer instead of the graph',
      make: () => broken((d) => writeFileSync(onnx(d), 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n')),
      code: 'corrupt-onnx',
      file: 'onnx/model.onnx',
      message: /Git LFS pointer/,
    },
    { name: 'a truncated graph', make: () => broken((d) => truncateSync(onnx(d), 5000)), code: 'corrupt-onnx', file: 'onnx/model.onnx', message: /not a valid ONNX model/ },
    {
      name: 'missing external weights',
      make: () => broken((d) => rmSync(externalizeWeights(onnx(d), 'model.onnx_data').dataPath)),
      code: 'missing-external-data',
      file: 'onnx/model.onnx_data',
      message: /is missing/,
    },
    {
      name: 'truncated external weights',
      make: () => broken((d) => truncateSync(externalizeWeights(onnx(d), 'model.onnx_data').dataPath, 100)),
      code: 'missing-external-data',
      file: 'onnx/model.onnx_data',
      message: /truncated/,
    },
    { name: 'a variant that is not there', make: () => broken(() => undefined), variant: 'q4', code: 'variant-not-found', file: 'onnx/q4.onnx', message: /available: model/ },
  ];

  it('has at least ten distinct failures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
    expect(new Set(cases.map((c) => `${c.code}:${c.file}:${String(c.message)}`)).size).toBe(cases.length);
  });

  for (const c of cases) {
    it(`copy: ${c.name} → ${c.code}, and nothing is installed`, async () => {
      const before = existsSync(modelsDir) ? readdirSync(modelsDir) : [];
      await expectModelError(importFolder(c.make(), { modelsDir, mode: 'copy', id: 'broken', variant: c.variant }), c.code, c.file, c.message);
      expect(existsSync(modelsDir) ? readdirSync(modelsDir) : []).toEqual(before);
    });
  }

  it('reference mode runs the same checks', async () => {
    await expectModelError(importFolder(broken((d) => rmSync(join(d, 'tokenizer.json'))), { modelsDir, mode: 'reference' }), 'missing-file', 'tokenizer.json');
    const badTokenizer = broken((d) => editJson(join(d, 'tokenizer.json'), (j) => (j.added_tokens = 42)));
    await expectModelError(importFolder(badTokenizer, { modelsDir, mode: 'reference' }), 'invalid-tokenizer', 'tokenizer.json');
  });
});

describe('importFolder accepts a good folder', () => {
  it('copy: only the needed files, validated, under <modelsDir>/<id>; a second copy with that id is refused', async () => {
    const src = copyFolder(fixture, 'good');
    // Extra weights in other formats and other graphs stay behind.
    writeFileSync(join(src, 'model.safetensors'), Buffer.alloc(4096));
    mkdirSync(join(src, 'runs'));
    writeFileSync(join(src, 'runs', 'events.log'), 'x');
    const result = await importFolder(src, { modelsDir, mode: 'copy', id: 'tiny-copy' });
    expect(result).toMatchObject({ id: 'tiny-copy', dir: join(modelsDir, 'tiny-copy'), mode: 'copy' });
    expect(readdirSync(result.dir).sort()).toEqual(['config.json', 'fixture-spec.json', 'generation_config.json', 'onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readFileSync(join(result.dir, 'onnx', 'model.onnx')).equals(readFileSync(join(src, 'onnx', 'model.onnx')))).toBe(true);
    expect(readdirSync(modelsDir).filter((n) => n.startsWith('.'))).toEqual([]);

    const again = await importFolder(src, { modelsDir, mode: 'copy', id: 'tiny-copy' }).catch((e: unknown) => e);
    expect(isDownloadError(again, 'already-installed')).toBe(true);
  });

  it('copy keeps external weights next to the graph', async () => {
    const src = broken((d) => externalizeWeights(join(d, 'onnx', 'model.onnx'), 'model.onnx_data'));
    const result = await importFolder(src, { modelsDir, mode: 'copy', id: 'tiny-external' });
    expect(readdirSync(join(result.dir, 'onnx')).sort()).toEqual(['model.onnx', 'model.onnx_data']);
    expect(result.summary.weightsBytes).toBe(readFileSync(join(src, 'onnx', 'model.onnx')).length + readFileSync(join(src, 'onnx', 'model.onnx_data')).length);
  });

  it('copy refuses when the disk is too small', async () => {
    const err = await importFolder(copyFolder(fixture, 'big'), { modelsDir, mode: 'copy', id: 'tiny-big', freeBytes: async () => 1000 }).catch((e: unknown) => e);
    expect(isDownloadError(err, 'disk-full')).toBe(true);
    expect((err as Error).message).toMatch(/import it by reference/);
    expect(existsSync(join(modelsDir, 'tiny-big'))).toBe(false);
  });

  it('reference: leaves the folder where it is', async () => {
    const src = copyFolder(fixture, 'ref');
    const result = await importFolder(src, { modelsDir, mode: 'reference' });
    expect(result).toMatchObject({ id: 'folder', dir: src, mode: 'reference' });
    expect(existsSync(join(modelsDir, 'folder'))).toBe(false);
  });

  it('derives a folder id from a folder name', () => {
    expect(folderIdFrom('SmolLM2 135M (q4)')).toBe('smollm2-135m-q4');
    expect(folderIdFrom('...')).toBe('model');
  });
});

describe('inspectModel', () => {
  it('summarises the fixture: shape, exact parameter count, KV bytes per 1K tokens', async () => {
    const s = await inspectModel(fixture);
    const { layers, hidden, heads, kvHeads, headDim, intermediate, vocab } = TINY;
    const perLayer = hidden * heads * headDim + 2 * hidden * kvHeads * headDim + heads * headDim * hidden + 3 * hidden * intermediate + 2 * hidden;
    expect(s).toMatchObject({
      modelType: 'llama',
      architecture: 'LlamaForCausalLM',
      variant: 'model',
      variants: ['model'],
      weightFormat: 'fp32',
      layers,
      heads,
      kvHeads,
      headDim,
      parametersFrom: 'config',
      parameters: 2 * vocab * hidden + layers * perLayer + hidden,
      kvBytesPerToken: layers * 2 * kvHeads * headDim * 4,
      kvBytesPer1kTokens: layers * 2 * kvHeads * headDim * 4 * 1024,
      hasChatTemplate: true,
      download: null,
    });
    // The count matches the weights actually stored (fp32: 4 bytes each, plus the graph and its RoPE constants).
    expect(s.weightsBytes / 4).toBeGreaterThan(s.parameters);
    expect(s.weightsBytes / 4).toBeLessThan(s.parameters * 1.15);
  });

  it('the config formula gives the published sizes of real models', () => {
    const smol135 = { model_type: 'llama', intermediate_size: 1536, tie_word_embeddings: true };
    expect(llamaStyleParameters(smol135, { layers: 30, heads: 9, kvHeads: 3, headDim: 64, hidden: 576, vocab: 49152 })).toBe(134_515_008);
    const qwen05 = { model_type: 'qwen2', intermediate_size: 4864, tie_word_embeddings: true };
    // Qwen2.5-0.5B: 494M parameters per its model card.
    expect(Math.round((llamaStyleParameters(qwen05, { layers: 24, heads: 14, kvHeads: 2, headDim: 64, hidden: 896, vocab: 151936 }) ?? 0) / 1e6)).toBe(494);
    expect(llamaStyleParameters({ model_type: 'mamba' }, { layers: 1, heads: 1, kvHeads: 1, headDim: 1, hidden: 1, vocab: 1 })).toBeNull();
  });
});

describe('deleteModel', () => {
  it('removes an installed folder and refuses ids that are not one', async () => {
    const src = copyFolder(fixture, 'del');
    await importFolder(src, { modelsDir, mode: 'copy', id: 'to-delete' });
    await deleteModel(modelsDir, 'to-delete');
    expect(existsSync(join(modelsDir, 'to-delete'))).toBe(false);
    expect(readdirSync(modelsDir).filter((n) => n.startsWith('.deleting'))).toEqual([]);
    const missing = await deleteModel(modelsDir, 'to-delete').catch((e: unknown) => e);
    expect(isDownloadError(missing, 'not-found')).toBe(true);
    const escape = await deleteModel(modelsDir, '../outside').catch((e: unknown) => e);
    expect(isDownloadError(escape, 'bad-request')).toBe(true);
    expect(existsSync(src)).toBe(true);
  });
});
