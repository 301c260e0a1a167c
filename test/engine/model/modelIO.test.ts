// inspectModelIO: the standard decoder interface is named in layer order; graphs the sink cache cannot
// drive are rejected with their own code, on synthetic metadata and on real sessions.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseModelConfig } from '../../../main/engine/model/modelConfig';
import { inspectModelIO, loadModelFolder, type ModelIOContext } from '../../../main/engine/modelFolder';
import { openSession, type ValueInfo } from '../../../main/engine/onnxSession';
import { ensureFixture } from '../../fixtures/llamaFixture';
import { cleanupTemp, copyFolder, editJson, expectModelError, sharedModel } from './modelTestKit';

const context: ModelIOContext = {
  onnxFile: 'onnx/model.onnx',
  config: parseModelConfig({ model_type: 'llama', num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, hidden_size: 32, vocab_size: 400, max_position_embeddings: 2048 }),
};

interface Graph {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

/** A standard transformers.js decoder interface with `layers` layers, before edits. */
function graph(layers = 3, kv: Partial<ValueInfo> = {}): Graph {
  const ids = (name: string): ValueInfo => ({ name, type: 'int64', shape: ['batch_size', 'sequence_length'] });
  const kvInfo = (name: string): ValueInfo => ({ name, type: 'float32', shape: ['batch_size', 2, 'past_sequence_length', 8], ...kv });
  const inputs = [ids('input_ids'), ids('attention_mask'), ids('position_ids')];
  const outputs: ValueInfo[] = [{ name: 'logits', type: 'float32', shape: ['batch_size', 'sequence_length', 400] }];
  for (let l = 0; l < layers; l++) {
    inputs.push(kvInfo(`past_key_values.${l}.key`), kvInfo(`past_key_values.${l}.value`));
    outputs.push(kvInfo(`present.${l}.key`), kvInfo(`present.${l}.value`));
  }
  return { inputs, outputs };
}

function without(g: Graph, name: string): Graph {
  return { inputs: g.inputs.filter((i) => i.name !== name), outputs: g.outputs.filter((o) => o.name !== name) };
}

afterAll(cleanupTemp);

describe('inspectModelIO on synthetic metadata', () => {
  test('names every layer in order, even when the graph lists them out of order', () => {
    const g = graph(12);
    const ctx = { ...context, config: { ...context.config, numLayers: 12 } };
    const io = inspectModelIO(ctx, { inputs: [...g.inputs].reverse(), outputs: [...g.outputs].sort((a, b) => a.name.localeCompare(b.name)) });
    expect(io.pastKeys).toEqual(Array.from({ length: 12 }, (_, l) => `past_key_values.${l}.key`));
    expect(io.presentValues[10]).toBe('present.10.value');
    expect(io).toMatchObject({ inputIds: 'input_ids', attentionMask: 'attention_mask', positionIds: 'position_ids', logits: 'logits', kvDtype: 'float32', extraInputs: [] });
  });

  test('use_cache_branch and num_logits_to_keep become constant extra inputs', () => {
    const g = graph();
    g.inputs.push({ name: 'use_cache_branch', type: 'bool', shape: [1] }, { name: 'num_logits_to_keep', type: 'int64', shape: [] });
    const io = inspectModelIO(context, g);
    expect(io.extraInputs).toEqual([
      { name: 'use_cache_branch', value: { type: 'bool', data: Uint8Array.of(1), dims: [1] } },
      { name: 'num_logits_to_keep', value: { type: 'int64', data: BigInt64Array.of(1n), dims: [] } },
    ]);
  });

  test('rejections', async () => {
    const f = 'onnx/model.onnx';
    await expectModelError(() => inspectModelIO(context, without(graph(), 'position_ids')), 'no-position-ids', f, /derives positions itself/);
    const noKv = graph(0);
    await expectModelError(() => inspectModelIO(context, noKv), 'no-kv-cache', f);
    await expectModelError(() => inspectModelIO(context, graph(2)), 'layer-mismatch', f, /2 layers but config.json says num_hidden_layers = 3/);
    await expectModelError(() => inspectModelIO(context, without(graph(), 'past_key_values.1.value')), 'layer-mismatch', f, /past_key_values\.1\.value/);
    await expectModelError(() => inspectModelIO(context, without(graph(), 'present.2.key')), 'no-kv-cache', f, /present\.2\.key/);
    await expectModelError(() => inspectModelIO(context, graph(3, { type: 'bfloat16' })), 'unsupported-kv-dtype', f, /is bfloat16; the cache holds float32 or float16/);
    // fp16 past fed back from fp32 presents (or the reverse) cannot work: refused before anything runs.
    const mixed = graph(3, { type: 'float16' });
    mixed.outputs = mixed.outputs.map((o) => (o.name === 'present.1.value' ? { ...o, type: 'float32' } : o));
    await expectModelError(
      () => inspectModelIO(context, mixed),
      'unsupported-kv-dtype',
      f,
      /mixes KV dtypes: "past_key_values\.0\.key" is float16 but "present\.1\.value" is float32/,
    );
    await expectModelError(() => inspectModelIO(context, graph(3, { shape: ['batch_size', 3, 'past_sequence_length', 8] })), 'head-mismatch', f, /3 KV heads/);
    await expectModelError(() => inspectModelIO(context, graph(3, { shape: ['batch_size', 2, 'past_sequence_length', 16] })), 'head-mismatch', f, /head dim 16/);
    await expectModelError(() => inspectModelIO(context, graph(3, { shape: ['batch_heads', 'past_sequence_length', 8] })), 'unsupported-kv-layout', f, /rank 3/);
    await expectModelError(() => inspectModelIO(context, without(graph(), 'logits')), 'no-logits', f);
    const extra = graph();
    extra.inputs.push({ name: 'token_type_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] });
    await expectModelError(() => inspectModelIO(context, extra), 'unknown-input', f, /token_type_ids/);
    const int32Ids = graph();
    int32Ids.inputs[0] = { name: 'input_ids', type: 'int32', shape: ['batch_size', 'sequence_length'] };
    await expectModelError(() => inspectModelIO(context, int32Ids), 'unsupported-input', f, /input_ids/);
    const intLogits = graph();
    intLogits.outputs[0] = { name: 'logits', type: 'int32', shape: ['batch_size', 'sequence_length', 400] };
    await expectModelError(() => inspectModelIO(context, intLogits), 'unsupported-logits-dtype', f);
  });

  test('an fp16 KV cache with fp16 logits (model_fp16 / model_q4f16 exports) is accepted as float16', () => {
    const g = graph(3, { type: 'float16' });
    g.outputs[0] = { name: 'logits', type: 'float16', shape: ['batch_size', 'sequence_length', 400] };
    expect(inspectModelIO(context, g).kvDtype).toBe('float16');
  });
});

describe('inspectModelIO on real sessions', () => {
  let tiny = '';
  beforeAll(async () => {
    tiny = (await ensureFixture('tiny')).dir;
  });

  async function inspectFolder(dir: string): Promise<ReturnType<typeof inspectModelIO>> {
    const folder = await loadModelFolder(dir);
    const session = await openSession(folder.onnxPath, { intraOpThreads: 1 });
    try {
      return inspectModelIO(folder, session);
    } finally {
      await session.release();
    }
  }

  test('the tiny fixture passes', async () => {
    const io = await inspectFolder(tiny);
    expect(io.pastKeys).toEqual(['past_key_values.0.key', 'past_key_values.1.key']);
    expect(io.presentValues).toEqual(['present.0.value', 'present.1.value']);
  });

  test('config claiming more layers than the graph has', async () => {
    const dir = copyFolder(tiny);
    editJson(join(dir, 'config.json'), (c) => (c.num_hidden_layers = 3));
    await expectModelError(inspectFolder(dir), 'layer-mismatch', 'onnx/model.onnx');
  });

  test('config claiming other KV heads than the graph has', async () => {
    const dir = copyFolder(tiny);
    editJson(join(dir, 'config.json'), (c) => (c.num_key_value_heads = 4));
    await expectModelError(inspectFolder(dir), 'head-mismatch', 'onnx/model.onnx', /2 KV heads/);
  });

  const genai32 = sharedModel('tiny-random-llama-genai-fp32');
  test.skipIf(genai32 === null)('onnxruntime-genai export without position_ids (GroupQueryAttention)', async () => {
    await expectModelError(inspectFolder(genai32 as string), 'no-position-ids', 'onnx/model.onnx', /use an Optimum \/ transformers\.js export/);
  });

  const genai16 = sharedModel('tiny-random-llama-genai-fp16');
  test.skipIf(genai16 === null)('onnxruntime-genai fp16 export: an fp16 KV cache the engine drives', async () => {
    const io = await inspectFolder(genai16 as string);
    expect(io.kvDtype).toBe('float16');
    expect(io.pastKeys).toEqual(['past_key_values.0.key', 'past_key_values.1.key']);
  });
});
