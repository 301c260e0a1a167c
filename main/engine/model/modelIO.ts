// Checks an opened graph's inputs/outputs against what the sink cache drives (DESIGN §3, §4) and names
// them for the runner. Runs in the engine host; reads session metadata only, runs nothing.

import type { KvDtype } from '../cache/kvStorage';
import { ModelError } from '../errors';
import type { DecoderSession, TensorData, ValueInfo } from '../onnxSession';
import type { ModelConfig } from './modelConfig';

/** The graph's tensor names, in layer order, and the constant inputs the runner must add to every run. */
export interface ModelIO {
  readonly inputIds: string;
  readonly attentionMask: string;
  readonly positionIds: string;
  readonly pastKeys: string[];
  readonly pastValues: string[];
  readonly presentKeys: string[];
  readonly presentValues: string[];
  readonly logits: string;
  /** Inputs with a fixed value (e.g. use_cache_branch = true, num_logits_to_keep = 1). */
  readonly extraInputs: { name: string; value: TensorData }[];
  /** Element type of every past_key_values input and present output (one dtype, checked). */
  readonly kvDtype: KvDtype;
}

/** What inspectModelIO needs of a model folder. */
export interface ModelIOContext {
  readonly config: ModelConfig;
  /** The .onnx file relative to the model folder, for messages. */
  readonly onnxFile: string;
}

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;
const PRESENT = /^(?:present|present_key_values)\.(\d+)\.(key|value)$/;

function constantInput(info: ValueInfo, file: string): TensorData | null {
  const scalar = info.shape !== null && info.shape.length === 0;
  const dims = scalar ? [] : [1];
  switch (info.name) {
    case 'use_cache_branch':
      // Optimum's merged decoders: true selects the with-past branch, which also accepts an empty past.
      if (info.type !== 'bool') throw new ModelError('unsupported-input', file, `input "use_cache_branch" is ${info.type}, expected bool`);
      return { type: 'bool', data: Uint8Array.of(1), dims };
    case 'num_logits_to_keep':
    case 'logits_to_keep':
      // The runner samples from the last position only; keeping one row saves the rest of the vocab matmul.
      if (info.type !== 'int64') throw new ModelError('unsupported-input', file, `input "${info.name}" is ${info.type}, expected int64`);
      return { type: 'int64', data: BigInt64Array.of(1n), dims };
    default:
      return null;
  }
}

function layerMap(infos: readonly ValueInfo[], pattern: RegExp): { keys: Map<number, ValueInfo>; values: Map<number, ValueInfo> } {
  const keys = new Map<number, ValueInfo>();
  const values = new Map<number, ValueInfo>();
  for (const info of infos) {
    const m = pattern.exec(info.name);
    if (m === null) continue;
    (m[2] === 'key' ? keys : values).set(Number(m[1]), info);
  }
  return { keys, values };
}

function checkKv(info: ValueInfo, config: ModelConfig, file: string): void {
  if (info.type !== 'float32' && info.type !== 'float16') {
    throw new ModelError('unsupported-kv-dtype', file, `"${info.name}" is ${info.type}; the cache holds float32 or float16 keys and values`);
  }
  const shape = info.shape;
  if (shape === null || shape.length === 0) return;
  if (shape.length !== 4) {
    throw new ModelError(
      'unsupported-kv-layout',
      file,
      `"${info.name}" has rank ${shape.length}; the cache expects [batch, kv_heads, past_sequence_length, head_dim]`,
    );
  }
  const [, heads, , dim] = shape;
  if (typeof heads === 'number' && heads !== config.numKvHeads) {
    throw new ModelError('head-mismatch', file, `"${info.name}" has ${heads} KV heads but config.json says num_key_value_heads = ${config.numKvHeads}`);
  }
  if (typeof dim === 'number' && dim !== config.headDim) {
    throw new ModelError('head-mismatch', file, `"${info.name}" has head dim ${dim} but config.json gives head_dim = ${config.headDim}`);
  }
}

function requireInput(byName: ReadonlyMap<string, ValueInfo>, name: string, file: string, rank: number | null): void {
  const info = byName.get(name);
  if (info === undefined) {
    throw new ModelError('unsupported-input', file, `has no "${name}" input; it is not a standard decoder export`);
  }
  if (info.type !== 'int64') {
    throw new ModelError('unsupported-input', file, `input "${name}" is ${info.type}; the runner feeds int64`);
  }
  if (rank !== null && info.shape !== null && info.shape.length > 0 && info.shape.length !== rank) {
    throw new ModelError('unsupported-input', file, `input "${name}" has rank ${info.shape.length}, expected ${rank}`);
  }
}

/**
 * Matches the session's inputs/outputs to the standard decoder interface and config.json. Throws
 * ModelError: no-position-ids, no-kv-cache, layer-mismatch, unsupported-kv-dtype, head-mismatch,
 * unsupported-kv-layout, unsupported-input, unknown-input, no-logits.
 */
export function inspectModelIO(folder: ModelIOContext, session: Pick<DecoderSession, 'inputs' | 'outputs'>): ModelIO {
  const file = folder.onnxFile;
  const config = folder.config;
  const inputs = new Map(session.inputs.map((i) => [i.name, i]));

  requireInput(inputs, 'input_ids', file, 2);
  requireInput(inputs, 'attention_mask', file, 2);
  if (!inputs.has('position_ids')) {
    throw new ModelError(
      'no-position-ids',
      file,
      'no position_ids input — this export derives positions itself (e.g. GroupQueryAttention), so the sink cache cannot drive it; use an Optimum / transformers.js export',
    );
  }
  requireInput(inputs, 'position_ids', file, 2);

  const past = layerMap(session.inputs, PAST);
  const present = layerMap(session.outputs, PRESENT);
  if (past.keys.size === 0 && past.values.size === 0) {
    throw new ModelError('no-kv-cache', file, 'has no past_key_values inputs; export it with use_cache / "-with-past" so the cache can be fed back');
  }
  const layers = Math.max(past.keys.size, past.values.size);
  if (layers !== config.numLayers) {
    throw new ModelError(
      'layer-mismatch',
      file,
      `has past_key_values for ${layers} layers but config.json says num_hidden_layers = ${config.numLayers}; the config and the graph come from different models`,
    );
  }

  let first: ValueInfo | undefined;
  const io = { pastKeys: [] as string[], pastValues: [] as string[], presentKeys: [] as string[], presentValues: [] as string[] };
  for (let l = 0; l < layers; l++) {
    const pk = past.keys.get(l);
    const pv = past.values.get(l);
    if (pk === undefined || pv === undefined) {
      throw new ModelError('layer-mismatch', file, `lacks past_key_values.${l}.${pk === undefined ? 'key' : 'value'}; past inputs must cover layers 0..${layers - 1}`);
    }
    const qk = present.keys.get(l);
    const qv = present.values.get(l);
    if (qk === undefined || qv === undefined) {
      throw new ModelError('no-kv-cache', file, `has past_key_values.${l} but no present.${l}.${qk === undefined ? 'key' : 'value'} output to read the new keys from`);
    }
    for (const info of [pk, pv, qk, qv]) {
      checkKv(info, config, file);
      first ??= info;
      // The cache feeds back what the model returns: one dtype for every past and present, or nothing fits.
      if (info.type !== first.type) {
        throw new ModelError(
          'unsupported-kv-dtype',
          file,
          `mixes KV dtypes: "${first.name}" is ${first.type} but "${info.name}" is ${info.type}; ` +
            'the cache feeds each present back as the next past, so every past_key_values input and present output must share one dtype (a broken or hand-edited export)',
        );
      }
    }
    io.pastKeys.push(pk.name);
    io.pastValues.push(pv.name);
    io.presentKeys.push(qk.name);
    io.presentValues.push(qv.name);
  }

  const logits = session.outputs.find((o) => o.name === 'logits');
  if (logits === undefined) throw new ModelError('no-logits', file, 'has no "logits" output');
  if (logits.type !== 'float32' && logits.type !== 'float16') {
    throw new ModelError('unsupported-logits-dtype', file, `"logits" is ${logits.type}; the sampler reads float32 or float16 logits`);
  }

  const known = new Set(['input_ids', 'attention_mask', 'position_ids']);
  const extraInputs: { name: string; value: TensorData }[] = [];
  for (const info of session.inputs) {
    if (known.has(info.name) || PAST.test(info.name)) continue;
    const value = constantInput(info, file);
    if (value === null) {
      throw new ModelError('unknown-input', file, `has an input "${info.name}" (${info.type}) that Ouro does not know how to feed`);
    }
    extraInputs.push({ name: info.name, value });
  }

  return {
    inputIds: 'input_ids',
    attentionMask: 'attention_mask',
    positionIds: 'position_ids',
    ...io,
    logits: 'logits',
    extraInputs,
    kvDtype: first!.type as KvDtype,
  };
}
