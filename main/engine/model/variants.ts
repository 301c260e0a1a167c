// Finds the ONNX variants of a model folder (model.onnx, model_q4.onnx, ...) and picks one.
// Runs in the engine host and in main (model picker); file-system reads only.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../errors';

/** One loadable .onnx file; `variant` is its file stem (`model_q4`). */
export interface VariantFile {
  readonly variant: string;
  /** Path relative to the model folder, with forward slashes (`onnx/model_q4.onnx`). */
  readonly rel: string;
}

// transformers.js puts graphs in onnx/ as model[_suffix].onnx; Optimum's older merged exports are
// decoder_model_merged[_suffix].onnx. Some exports keep them in the folder root.
const STEM = /^(model|decoder_model_merged)(_[A-Za-z0-9]+)?$/;

async function onnxFilesIn(dir: string, sub: string): Promise<VariantFile[]> {
  let names: string[];
  try {
    names = await readdir(join(dir, sub));
  } catch {
    return [];
  }
  const out: VariantFile[] = [];
  for (const name of names) {
    if (!name.endsWith('.onnx')) continue;
    const stem = name.slice(0, -'.onnx'.length);
    if (STEM.test(stem)) out.push({ variant: stem, rel: sub === '' ? name : `${sub}/${name}` });
  }
  return out.sort((a, b) => a.variant.localeCompare(b.variant));
}

/** The variants in `dir/onnx/`, else in `dir` itself; sorted by name. */
export async function listVariantFiles(dir: string): Promise<VariantFile[]> {
  const inOnnx = await onnxFilesIn(dir, 'onnx');
  return inOnnx.length > 0 ? inOnnx : onnxFilesIn(dir, '');
}

/** Variant names (`model`, `model_q4`, `model_fp16`, ...) of the folder's ONNX files. */
export async function listVariants(dir: string): Promise<string[]> {
  return (await listVariantFiles(dir)).map((v) => v.variant);
}

// Without an explicit choice and without a plain model.onnx: smallest fp32-KV weights first (q4, then
// q8, then fp32); fp16 variants last because their KV cache is fp16, which the cache cannot hold yet.
const SUFFIX_RANK: Readonly<Record<string, number>> = {
  '': 0,
  _q4: 1,
  _quantized: 2,
  _int8: 2,
  _uint8: 2,
  _q8: 2,
  _fp32: 3,
  _bnb4: 4,
  _q4f16: 6,
  _fp16: 7,
};
const OTHER_RANK = 5;

function rank(variant: string): [number, number] {
  const m = STEM.exec(variant);
  const base = m?.[1] === 'model' ? 0 : 1;
  return [SUFFIX_RANK[m?.[2] ?? ''] ?? OTHER_RANK, base];
}

/**
 * Picks a variant: the requested one (`model_q4`, or the short `q4`); else `model`; else the only one;
 * else by preference q4 < q8 (quantized/int8/uint8) < fp32 < other < q4f16 < fp16.
 * Throws ModelError `no-onnx-file` or `variant-not-found`.
 */
export function chooseVariant(files: readonly VariantFile[], requested?: string): VariantFile {
  if (files.length === 0) {
    throw new ModelError('no-onnx-file', 'onnx/', 'the model folder has no onnx/model*.onnx file; download an ONNX export (e.g. from onnx-community)');
  }
  if (requested !== undefined && requested !== '') {
    const wanted = requested.endsWith('.onnx') ? requested.slice(0, -5) : requested;
    const hit = files.find((f) => f.variant === wanted || f.variant === `model_${wanted}`);
    if (hit === undefined) {
      throw new ModelError(
        'variant-not-found',
        `onnx/${wanted}.onnx`,
        `variant "${requested}" is not in this folder; available: ${files.map((f) => f.variant).join(', ')}`,
      );
    }
    return hit;
  }
  if (files.length === 1) return files[0];
  return [...files].sort((a, b) => {
    const [ra, ba] = rank(a.variant);
    const [rb, bb] = rank(b.variant);
    return ra - rb || ba - bb || a.variant.localeCompare(b.variant);
  })[0];
}
