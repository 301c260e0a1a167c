// Builds the embedded demo model, TinyStories 260K, from llama2.c's checkpoint and tokenizer (models/demo/,
// MIT) into a transformers.js-layout folder: the build and `npm run web` / `npm test` run it, and the
// packaged app carries the result. Rebuilds only when a source or this converter changed. Runs in Node.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { llamaConfig } from '../onnx/llamaConfig';
import { buildLlamaGraph } from '../onnx/llamaGraph';
import { writeOnnxModel } from '../onnx/onnxModelWriter';
import { readLlama2cCheckpoint } from './llama2cCheckpoint';
import { jsonText, llamaTokenizerConfig, llamaTokenizerJson, readLlama2cTokenizer, SPECIAL_PIECES } from './llama2cTokenizer';

/** The checked-in sources: llama2.c's `stories260K.bin` and `tok512.bin`. */
export const DEMO_SOURCES_DIR = fileURLToPath(new URL('../../models/demo', import.meta.url));
/** Where the build writes the folder (git-ignored; electron-builder copies it into the app's resources). */
export const DEMO_MODEL_OUT = fileURLToPath(new URL('../../out/demo-model', import.meta.url));

const CHECKPOINT = 'stories260K.bin';
const TOKENIZER = 'tok512.bin';
const STAMP = 'demo-build.json';
const CONVERTER_SOURCES = [
  new URL('./buildDemoModel.ts', import.meta.url),
  new URL('./llama2cCheckpoint.ts', import.meta.url),
  new URL('./llama2cTokenizer.ts', import.meta.url),
  new URL('../onnx/llamaGraph.ts', import.meta.url),
  new URL('../onnx/llamaConfig.ts', import.meta.url),
  new URL('../onnx/onnxModelWriter.ts', import.meta.url),
];

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${jsonText(value)}\n`);
}

/** Converts the sources in `sourcesDir` into a model folder at `dir` (config, tokenizer, onnx/model.onnx). */
export function writeDemoModel(dir: string, sourcesDir = DEMO_SOURCES_DIR): void {
  const { header, weights } = readLlama2cCheckpoint(readFileSync(join(sourcesDir, CHECKPOINT)));
  const pieces = readLlama2cTokenizer(readFileSync(join(sourcesDir, TOKENIZER)), header.vocab);
  const [, bos, eos] = SPECIAL_PIECES.map((_, id) => id);
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const spec = { ...weights.spec, maxPositions: header.seqLen, ropeTheta: 10000, tieEmbeddings: header.sharedClassifier };
  writeJson(join(dir, 'config.json'), llamaConfig(spec, weights.rmsNormEps, bos, eos));
  // llama2.c stories end by starting the next one: BOS stops a reply as EOS does (run.c stops on it).
  writeJson(join(dir, 'generation_config.json'), { bos_token_id: bos, eos_token_id: [bos, eos], max_length: header.seqLen, do_sample: false });
  writeJson(join(dir, 'tokenizer.json'), llamaTokenizerJson(pieces));
  writeJson(join(dir, 'tokenizer_config.json'), llamaTokenizerConfig(header.seqLen));
  writeJson(join(dir, 'special_tokens_map.json'), { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' });
  const { graph, initializers } = buildLlamaGraph(weights);
  writeOnnxModel(
    join(dir, 'onnx', 'model.onnx'),
    { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'ouro-demo-model', producerVersion: '1', graph },
    initializers,
  );
}

function buildHash(sourcesDir: string): string {
  const hash = createHash('sha256');
  for (const file of [join(sourcesDir, CHECKPOINT), join(sourcesDir, TOKENIZER), ...CONVERTER_SOURCES]) hash.update(readFileSync(file));
  return hash.digest('hex');
}

/**
 * Returns `dir` holding the converted demo model, converting only when it is missing or was built from
 * other sources (hash in demo-build.json). Builds beside it and renames into place, so a concurrent or
 * interrupted build never leaves a half-written folder.
 */
export function ensureDemoModel(dir = DEMO_MODEL_OUT, sourcesDir = DEMO_SOURCES_DIR): { dir: string; built: boolean } {
  const hash = buildHash(sourcesDir);
  const stampFile = join(dir, STAMP);
  if (existsSync(stampFile) && existsSync(join(dir, 'onnx', 'model.onnx'))) {
    const stored = (JSON.parse(readFileSync(stampFile, 'utf8')) as { hash?: unknown }).hash;
    if (stored === hash) return { dir, built: false };
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  writeDemoModel(tmp, sourcesDir);
  writeJson(join(tmp, STAMP), { hash });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, built: true };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { dir, built } = ensureDemoModel();
  console.log(built ? `Demo model (TinyStories 260K) converted into ${dir}` : `Demo model up to date in ${dir}`);
}
