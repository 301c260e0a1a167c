// Helpers for the model-folder tests: temp copies of good folders to break, the shared real models,
// an external-data rewrite of a fixture graph, a ModelError matcher, and one step's feeds and the kernels
// it ran (onnxruntime's profile). Test process only.

import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { expect } from 'vitest';
import { ModelError, type ModelErrorCode } from '../../../main/engine/errors';
import { openSession, type DecoderSession } from '../../../main/engine/onnxSession';

const { onnx } = onnxProto;

/** ../shared/models next to the repository (absent on CI machines without the shared data). */
export const SHARED_MODELS = fileURLToPath(new URL('../../../../shared/models/', import.meta.url));

/** Path of a shared model folder, or null (tests skip) when it is not on this machine. */
export function sharedModel(name: string): string | null {
  const dir = join(SHARED_MODELS, name);
  return existsSync(join(dir, 'config.json')) ? dir : null;
}

const made: string[] = [];

/** A fresh temp folder, removed by `cleanupTemp`. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ouro-${label}-`));
  made.push(dir);
  return dir;
}

/** Removes every folder `tempDir` made. */
export function cleanupTemp(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function makeWritable(path: string): void {
  const st = statSync(path);
  chmodSync(path, st.isDirectory() ? 0o755 : 0o644);
  if (st.isDirectory()) for (const name of readdirSync(path)) makeWritable(join(path, name));
}

/** A writable temp copy of `src` (shared models are read-only). */
export function copyFolder(src: string, label = 'model'): string {
  const dir = join(tempDir(label), 'folder');
  cpSync(src, dir, { recursive: true });
  makeWritable(dir);
  return dir;
}

/** Reads, edits and rewrites a JSON file in place. */
export function editJson(path: string, edit: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(json);
  writeFileSync(path, JSON.stringify(json, null, 2));
}

/**
 * Moves every initializer's raw_data of 1 KiB or more of `onnxPath` into `dataName` beside it (ONNX external data,
 * as Optimum writes model.onnx_data), so tests can delete or truncate the weights file.
 */
export function externalizeWeights(onnxPath: string, dataName: string): { dataPath: string; bytes: number } {
  const model = onnx.ModelProto.decode(readFileSync(onnxPath));
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph?.initializer ?? []) {
    const raw = t.rawData;
    // Like onnx.save_model(size_threshold=1024): small tensors stay inline, where shape inference reads them.
    if (raw === null || raw === undefined || raw.length < 1024) continue;
    t.externalData = [
      { key: 'location', value: dataName },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.length) },
    ];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
    chunks.push(Uint8Array.from(raw));
    offset += raw.length;
  }
  const dataPath = join(onnxPath, '..', dataName);
  writeFileSync(dataPath, Buffer.concat(chunks));
  writeFileSync(onnxPath, onnx.ModelProto.encode(model).finish());
  return { dataPath, bytes: offset };
}

/** Awaits `work` and asserts it fails with a ModelError of `code` whose message names `file`. */
export async function expectModelError(
  work: Promise<unknown> | (() => unknown),
  code: ModelErrorCode,
  file: string | null,
  message?: RegExp,
): Promise<ModelError> {
  let caught: unknown = null;
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ModelError ${code}`).toBeInstanceOf(ModelError);
  const err = caught as ModelError;
  expect({ code: err.code, file: err.file }).toEqual({ code, file });
  if (file !== null) expect(err.message).toContain(file);
  if (message !== undefined) expect(err.message).toMatch(message);
  return err;
}

/** A node onnxruntime ran: its name and the bytes of its outputs (the profile's `output_size`). */
export interface KernelRun {
  readonly name: string;
  readonly outputBytes: number;
}

/**
 * The nodes onnxruntime ran, in order (its profile's kernel events, `<node name>_kernel_time`), in one
 * session on `modelPath` (load-time rewrite included) that does what `run` does.
 */
export async function kernelsRun(modelPath: string, run: (session: DecoderSession) => Promise<unknown>): Promise<KernelRun[]> {
  const dir = tempDir('profile');
  const session = await openSession(modelPath, { intraOpThreads: 1, tuning: { profileFilePrefix: join(dir, 'run') } });
  try {
    await run(session);
  } finally {
    await session.release();
  }
  const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8')) as { cat: string; name: string; args: { output_size: string } }[];
  return events
    .filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'))
    .map((e) => ({ name: e.name.slice(0, -'_kernel_time'.length), outputBytes: Number(e.args.output_size) }));
}
