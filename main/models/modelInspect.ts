// A model folder's summary for the Models page: shape from config.json, weights size and format,
// parameter count, KV memory per 1K tokens, and where a download came from. Runs in main; no onnxruntime.

import type { ModelSummary, WeightFormat } from '../../common/modelSummary';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isJsonObject, textConfigOf, type JsonObject } from '../engine/model/configFields';
import { listVariants, loadModelFolder } from '../engine/modelFolder';
import { DOWNLOAD_MANIFEST } from './downloadJob';

/** The weight format a variant name (`model_q4`, `decoder_model_merged_fp16`) implies. */
export function weightFormatOf(variant: string): WeightFormat {
  const m = /_(fp16|q4f16|q4|bnb4|int8|uint8|quantized|q8|fp32)$/.exec(variant);
  if (m === null) return /^(model|decoder_model_merged)$/.test(variant) ? 'fp32' : 'unknown';
  const s = m[1];
  return s === 'int8' || s === 'uint8' || s === 'quantized' ? 'q8' : (s as WeightFormat);
}

// Rough bytes per weight on disk, for folders whose family the config formula does not cover.
// q4 exports keep embeddings in fp32, so their average sits well above half a byte.
const BYTES_PER_WEIGHT: Readonly<Record<WeightFormat, number>> = { fp32: 4, fp16: 2, q8: 1.1, q4: 1, q4f16: 0.7, bnb4: 1, unknown: 4 };

function num(cfg: JsonObject, name: string): number | null {
  const v = cfg[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Parameters of a Llama-style decoder (Llama, Mistral, Qwen2, SmolLM, Phi-3, Gemma): embeddings, per
 * layer q/k/v/o + gated MLP + two norms, final norm, untied head; q/k/v biases when the config says so.
 * Null when a needed field is missing or the family is not one of these.
 */
export function llamaStyleParameters(cfg: JsonObject, s: { layers: number; heads: number; kvHeads: number; headDim: number; hidden: number; vocab: number }): number | null {
  const type = typeof cfg.model_type === 'string' ? cfg.model_type : '';
  if (!/^(llama|mistral|qwen2|qwen3|phi3|gemma|gemma2|granite|olmo2)$/.test(type)) return null;
  const inter = num(cfg, 'intermediate_size');
  if (inter === null) return null;
  const { layers, heads, kvHeads, headDim, hidden, vocab } = s;
  const qkvBias = type === 'qwen2' || cfg.attention_bias === true ? heads * headDim + 2 * kvHeads * headDim : 0;
  const attn = hidden * heads * headDim + 2 * hidden * kvHeads * headDim + heads * headDim * hidden + qkvBias;
  const mlp = 3 * hidden * inter;
  const perLayer = attn + mlp + 2 * hidden;
  // transformers' default when the config is silent: tied for Gemma, untied for the others.
  const tied = typeof cfg.tie_word_embeddings === 'boolean' ? cfg.tie_word_embeddings : type.startsWith('gemma');
  return vocab * hidden * (tied ? 1 : 2) + layers * perLayer + hidden;
}

async function readJsonObject(path: string): Promise<JsonObject | null> {
  try {
    const parsed: unknown = JSON.parse((await readFile(path, 'utf8')).replace(/^\uFEFF/, ''));
    return isJsonObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** Validates `dir` with the engine's ModelFolder (throws its ModelError) and summarises it. */
export async function inspectModel(dir: string, options: { variant?: string } = {}): Promise<ModelSummary> {
  const folder = await loadModelFolder(dir, options);
  const c = folder.config;
  const raw = (await readJsonObject(join(folder.dir, 'config.json'))) ?? {};
  const cfg = textConfigOf(raw);
  const weightFormat = weightFormatOf(folder.variant);
  const fromConfig = llamaStyleParameters(cfg, {
    layers: c.numLayers,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    hidden: c.hiddenSize,
    vocab: c.vocabSize,
  });
  const kvBytesPerToken = c.numLayers * 2 * c.numKvHeads * c.headDim * 4;
  const architectures = Array.isArray(raw.architectures) && typeof raw.architectures[0] === 'string' ? raw.architectures[0] : null;
  return {
    dir: folder.dir,
    variant: folder.variant,
    variants: await listVariants(folder.dir),
    onnxFile: folder.onnxFile,
    modelType: c.modelType,
    architecture: architectures,
    layers: c.numLayers,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    hiddenSize: c.hiddenSize,
    vocabSize: c.vocabSize,
    contextLength: c.maxPositionEmbeddings,
    ropeScaling: c.ropeScalingType,
    weightsBytes: folder.weightsBytes,
    weightFormat,
    parameters: fromConfig ?? Math.round(folder.weightsBytes / BYTES_PER_WEIGHT[weightFormat]),
    parametersFrom: fromConfig === null ? 'weights' : 'config',
    kvBytesPerToken,
    kvBytesPer1kTokens: kvBytesPerToken * 1024,
    hasChatTemplate: typeof folder.tokenizerConfig.chat_template === 'string' || Array.isArray(folder.tokenizerConfig.chat_template),
    warnings: folder.warnings,
    download: await readJsonObject(join(folder.dir, DOWNLOAD_MANIFEST)),
  };
}
