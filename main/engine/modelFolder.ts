// ModelFolder: reads and validates a Hugging Face / transformers.js model folder (DESIGN §2) with
// file-level checks only (no onnxruntime). Runs in the engine host; main may call it to vet a download.

import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { ModelError } from './errors';
import { isJsonObject, numberField, tokenIdList, tokenIdOrNull, type JsonObject } from './model/configFields';
import { parseModelConfig, type ModelConfig } from './model/modelConfig';
import { jsonErrorAt } from './model/jsonErrorAt';
import { scanOnnxFile } from './model/onnxScan';
import { chooseVariant, listVariantFiles } from './model/variants';
import { TextTokenizer, TokenizerError } from './text/tokenizer';

export type { ModelConfig } from './model/modelConfig';
export type { ModelIO, ModelIOContext } from './model/modelIO';
export { inspectModelIO } from './model/modelIO';
export { listVariants } from './model/variants';

/** EOS/BOS and the sampling defaults generation_config.json states (absent fields stay undefined). */
export interface GenerationDefaults {
  readonly eosTokenIds: number[];
  readonly bosTokenId: number | null;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
  readonly doSample?: boolean;
  readonly maxNewTokens?: number;
}

/** A validated model folder. Holds parsed JSON only; the session is opened separately (onnxSession). */
export interface ModelFolder {
  /** Absolute folder path. */
  readonly dir: string;
  /** Absolute path of the chosen .onnx file. */
  readonly onnxPath: string;
  /** The .onnx file relative to `dir` (`onnx/model_q4.onnx`), for messages. */
  readonly onnxFile: string;
  /** The chosen variant (`model`, `model_q4`, ...). */
  readonly variant: string;
  /** Absolute paths of the external weight files the graph references (may be empty). */
  readonly externalData: string[];
  /** Bytes of the .onnx file plus its external data. */
  readonly weightsBytes: number;
  readonly config: ModelConfig;
  readonly generation: GenerationDefaults;
  /** tokenizer.json as parsed JSON, for the tokenizer to build from. */
  readonly tokenizerJson: unknown;
  /** tokenizer_config.json (chat_template, special tokens, ...). */
  readonly tokenizerConfig: Record<string, unknown>;
  /** Things worth telling the user that do not stop the model from loading. */
  readonly warnings: string[];
}

function jsonErrorWhere(text: string, e: unknown): string {
  const at = jsonErrorAt(text);
  if (at === null) return e instanceof Error ? e.message : String(e);
  return `${at.problem} at line ${at.line}, column ${at.column}`;
}

async function readJson(dir: string, rel: string, required: boolean): Promise<JsonObject | null> {
  let text: string;
  try {
    text = await readFile(join(dir, rel), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return null;
    if (code === 'ENOENT') throw new ModelError('missing-file', rel, `model folder lacks ${rel}`, { cause: e });
    throw new ModelError('missing-file', rel, `cannot be read (${code ?? String(e)})`, { cause: e });
  }
  let parsed: unknown;
  try {
    // Some editors save a byte-order mark, which JSON.parse rejects.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new ModelError('invalid-json', rel, `is not valid JSON: ${jsonErrorWhere(text, e)}`, { cause: e });
  }
  if (!isJsonObject(parsed)) throw new ModelError('invalid-json', rel, 'must hold a JSON object');
  return parsed;
}

function generationDefaults(gen: JsonObject | null, config: ModelConfig, warnings: string[]): GenerationDefaults {
  const file = 'generation_config.json';
  if (gen === null) {
    warnings.push('generation_config.json is missing; using bos/eos token ids from config.json and default sampling settings');
  }
  const g = gen ?? {};
  const eos = g.eos_token_id !== undefined && g.eos_token_id !== null ? tokenIdList(g.eos_token_id, 'eos_token_id', file) : config.eosTokenIds;
  const bos = g.bos_token_id !== undefined && g.bos_token_id !== null ? tokenIdOrNull(g.bos_token_id, 'bos_token_id', file) : config.bosTokenId;
  if (eos.length === 0) warnings.push('no eos_token_id in generation_config.json or config.json; replies end only at the token limit or a stop string');
  const out: { -readonly [K in keyof GenerationDefaults]: GenerationDefaults[K] } = { eosTokenIds: [...eos], bosTokenId: bos };
  const num = (name: string): number | undefined => numberField(g, [name], file);
  const temperature = num('temperature');
  const topK = num('top_k');
  const topP = num('top_p');
  const minP = num('min_p');
  const repetitionPenalty = num('repetition_penalty');
  const maxNewTokens = num('max_new_tokens');
  if (temperature !== undefined) out.temperature = temperature;
  if (topK !== undefined) out.topK = topK;
  if (topP !== undefined) out.topP = topP;
  if (minP !== undefined) out.minP = minP;
  if (repetitionPenalty !== undefined) out.repetitionPenalty = repetitionPenalty;
  if (maxNewTokens !== undefined) out.maxNewTokens = maxNewTokens;
  if (typeof g.do_sample === 'boolean') out.doSample = g.do_sample;
  return out;
}

/** Checks every external weights file exists inside the model folder and is long enough. */
async function checkExternalData(dir: string, onnxFile: string, onnxPath: string): Promise<{ files: string[]; bytes: number }> {
  const scan = await scanOnnxFile(onnxPath, onnxFile);
  const onnxDir = resolve(onnxPath, '..');
  const needed = new Map<string, number>();
  for (const ref of scan.externalData) {
    const end = ref.offset + (ref.length ?? 0);
    needed.set(ref.location, Math.max(needed.get(ref.location) ?? 0, end));
  }
  const files: string[] = [];
  let bytes = 0;
  for (const [location, end] of needed) {
    const abs = resolve(onnxDir, location);
    const rel = relative(dir, abs).split(sep).join('/');
    if (isAbsolute(location) || rel.startsWith('..') || normalize(location).startsWith('..')) {
      throw new ModelError('corrupt-onnx', onnxFile, `keeps weights in "${location}", outside its own folder; onnxruntime refuses such paths`);
    }
    let size: number;
    try {
      const st = await stat(abs);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch (e) {
      throw new ModelError('missing-external-data', rel, `is missing; ${onnxFile} keeps its weights there — download it into the same folder`, { cause: e });
    }
    if (size < end) {
      throw new ModelError('missing-external-data', rel, `is truncated (${size} bytes, ${onnxFile} needs ${end}); download it again`);
    }
    files.push(abs);
    bytes += size;
  }
  return { files, bytes };
}

/**
 * Reads and validates a model folder: config.json, generation_config.json (optional: bos/eos then come
 * from config.json, with a warning), tokenizer.json, tokenizer_config.json, the chosen onnx variant and
 * its external data. No onnxruntime; run `inspectModelIO` once the session is open. Throws ModelError.
 */
export async function loadModelFolder(dir: string, options: { variant?: string } = {}): Promise<ModelFolder> {
  const abs = resolve(dir);
  let dirStat;
  try {
    dirStat = await stat(abs);
  } catch (e) {
    throw new ModelError('missing-file', null, `model folder ${abs} does not exist`, { cause: e });
  }
  if (!dirStat.isDirectory()) throw new ModelError('missing-file', null, `${abs} is not a folder; pick the model's folder, not a file in it`);

  const warnings: string[] = [];
  const rawConfig = (await readJson(abs, 'config.json', true)) as JsonObject;
  const config = parseModelConfig(rawConfig, 'config.json');
  const generation = generationDefaults(await readJson(abs, 'generation_config.json', false), config, warnings);
  const tokenizerJson = await readJson(abs, 'tokenizer.json', true);
  const tokenizerConfig = (await readJson(abs, 'tokenizer_config.json', true)) as Record<string, unknown>;

  const chosen = chooseVariant(await listVariantFiles(abs), options.variant);
  const onnxPath = join(abs, chosen.rel);
  const onnxStat = await stat(onnxPath).catch((e: unknown) => {
    throw new ModelError('missing-file', chosen.rel, 'cannot be read', { cause: e });
  });
  const external = await checkExternalData(abs, chosen.rel, onnxPath);

  return {
    dir: abs,
    onnxPath,
    onnxFile: chosen.rel,
    variant: chosen.variant,
    externalData: external.files,
    weightsBytes: onnxStat.size + external.bytes,
    config,
    generation,
    tokenizerJson,
    tokenizerConfig,
    warnings,
  };
}

/**
 * Builds the folder's tokenizer, so that a tokenizer.json of the wrong shape (`"added_tokens": 42`, a
 * model the library cannot read) is refused where a folder is vetted (import, download) with the file
 * and the problem, not found at load. Costs one build (~0.2 s for a 49K vocabulary); `loadModelFolder`
 * leaves it out because most of its callers do not need it. Throws ModelError `invalid-tokenizer`.
 */
export function folderTokenizer(folder: Pick<ModelFolder, 'tokenizerJson' | 'tokenizerConfig'>): TextTokenizer {
  try {
    return TextTokenizer.fromObjects(folder.tokenizerJson, folder.tokenizerConfig);
  } catch (e) {
    if (e instanceof TokenizerError) throw new ModelError('invalid-tokenizer', e.file, e.message, { cause: e });
    throw e;
  }
}
