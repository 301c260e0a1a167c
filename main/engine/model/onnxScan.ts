// Reads just enough of an .onnx protobuf to prove it is whole and to list the external data files its
// tensors live in, without onnxruntime and without loading weights into memory. Runs in the engine host.

import { open, type FileHandle } from 'node:fs/promises';
import { ModelError } from '../errors';
import {
  ATTR_G,
  ATTR_GRAPHS,
  ATTR_SPARSE_TENSOR,
  ATTR_SPARSE_TENSORS,
  ATTR_T,
  ATTR_TENSORS,
  DATA_LOCATION_EXTERNAL,
  ENTRY_KEY,
  ENTRY_VALUE,
  FUNCTION_NODE,
  GRAPH_INITIALIZER,
  GRAPH_NODE,
  GRAPH_SPARSE_INITIALIZER,
  MODEL_FUNCTIONS,
  MODEL_GRAPH,
  NODE_ATTRIBUTE,
  SPARSE_INDICES,
  SPARSE_VALUES,
  TENSOR_DATA_LOCATION,
  TENSOR_EXTERNAL_DATA,
  TENSOR_NAME,
} from './onnxFields';

/** One tensor stored outside the .onnx file (ONNX `data_location: EXTERNAL`). */
export interface ExternalDataRef {
  readonly tensor: string;
  /** Path relative to the .onnx file's folder, as written in the graph. */
  readonly location: string;
  readonly offset: number;
  /** Byte length, or null when the graph leaves it to the end of the file. */
  readonly length: number | null;
}

/** What the scan found. */
export interface OnnxScan {
  readonly externalData: readonly ExternalDataRef[];
}

const WINDOW = 64 * 1024;
const MAX_STRING = 1 << 20;
const MAX_DEPTH = 64;

/** The file is not well-formed protobuf (or changed while read). */
export class Corrupt extends Error {}

/** A sliding window over the file: small reads, so skipping inline weights costs no memory. */
export class Window {
  private buf = Buffer.allocUnsafe(WINDOW);
  private start = 0;
  private end = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  async ensure(pos: number, n: number): Promise<void> {
    const want = Math.min(n, this.size - pos);
    if (pos >= this.start && pos + want <= this.end) return;
    if (want > this.buf.length) this.buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await this.fh.read(this.buf, 0, Math.min(this.buf.length, this.size - pos), pos);
    this.start = pos;
    this.end = pos + bytesRead;
    if (bytesRead < want) throw new Corrupt('the file changed while it was read');
  }

  /** A copy of the file's bytes [pos, pos + n). */
  async copy(pos: number, n: number): Promise<Uint8Array> {
    await this.ensure(pos, n);
    return Uint8Array.from(this.buf.subarray(pos - this.start, pos - this.start + n));
  }

  byte(pos: number): number {
    return this.buf[pos - this.start];
  }

  text(pos: number, len: number): string {
    return this.buf.toString('utf8', pos - this.start, pos - this.start + len);
  }
}

export interface Field {
  readonly field: number;
  readonly wire: number;
  /** Varint value (wire 0) or payload length (wire 2). */
  readonly value: number;
  /** Start of the payload (wire 2) or of the value. */
  readonly at: number;
  readonly next: number;
}

async function readVarint(w: Window, pos: number, end: number): Promise<{ value: number; next: number }> {
  await w.ensure(pos, 10);
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= end) throw new Corrupt('it ends in the middle of a field');
    const b = w.byte(pos + i);
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
    scale *= 128;
  }
  throw new Corrupt('a varint is longer than 10 bytes');
}

export async function readField(w: Window, pos: number, end: number): Promise<Field> {
  const tag = await readVarint(w, pos, end);
  const field = Math.floor(tag.value / 8);
  const wire = tag.value % 8;
  if (field === 0) throw new Corrupt('a field has number 0');
  switch (wire) {
    case 0: {
      const v = await readVarint(w, tag.next, end);
      return { field, wire, value: v.value, at: tag.next, next: v.next };
    }
    case 1:
    case 5: {
      const next = tag.next + (wire === 1 ? 8 : 4);
      if (next > end) throw new Corrupt('it ends in the middle of a field');
      return { field, wire, value: 0, at: tag.next, next };
    }
    case 2: {
      const len = await readVarint(w, tag.next, end);
      const next = len.next + len.value;
      if (len.value > Number.MAX_SAFE_INTEGER || next > end) throw new Corrupt('a field runs past the end of its message (truncated file?)');
      return { field, wire, value: len.value, at: len.next, next };
    }
    default:
      throw new Corrupt(`a field has wire type ${wire}, which ONNX never writes`);
  }
}

/** Calls `visit` for every field of the message in [start, end). */
async function forEachField(w: Window, start: number, end: number, visit: (f: Field) => Promise<void>): Promise<void> {
  let pos = start;
  while (pos < end) {
    const f = await readField(w, pos, end);
    await visit(f);
    pos = f.next;
  }
}

function expectBytes(f: Field, what: string): void {
  if (f.wire !== 2) throw new Corrupt(`${what} has wire type ${f.wire}, expected a length-delimited message`);
}

async function readString(w: Window, f: Field, what: string): Promise<string> {
  expectBytes(f, what);
  if (f.value > MAX_STRING) throw new Corrupt(`${what} is ${f.value} bytes long`);
  await w.ensure(f.at, f.value);
  return w.text(f.at, f.value);
}

class Scanner {
  readonly external: ExternalDataRef[] = [];
  constructor(private readonly w: Window) {}

  async model(start: number, end: number): Promise<boolean> {
    let sawGraph = false;
    await forEachField(this.w, start, end, async (f) => {
      if (f.field === MODEL_GRAPH) {
        expectBytes(f, 'ModelProto.graph');
        sawGraph = true;
        await this.graph(f.at, f.next, 1);
      } else if (f.field === MODEL_FUNCTIONS) {
        expectBytes(f, 'ModelProto.functions');
        await forEachField(this.w, f.at, f.next, async (g) => {
          if (g.field === FUNCTION_NODE) {
            expectBytes(g, 'FunctionProto.node');
            await this.node(g.at, g.next, 2);
          }
        });
      }
    });
    return sawGraph;
  }

  private async graph(start: number, end: number, depth: number): Promise<void> {
    if (depth > MAX_DEPTH) throw new Corrupt('subgraphs nest deeper than any real model');
    await forEachField(this.w, start, end, async (f) => {
      if (f.field === GRAPH_NODE) {
        expectBytes(f, 'GraphProto.node');
        await this.node(f.at, f.next, depth);
      } else if (f.field === GRAPH_INITIALIZER) {
        expectBytes(f, 'GraphProto.initializer');
        await this.tensor(f.at, f.next);
      } else if (f.field === GRAPH_SPARSE_INITIALIZER) {
        expectBytes(f, 'GraphProto.sparse_initializer');
        await this.sparse(f.at, f.next);
      }
    });
  }

  private async node(start: number, end: number, depth: number): Promise<void> {
    await forEachField(this.w, start, end, async (f) => {
      if (f.field !== NODE_ATTRIBUTE) return;
      expectBytes(f, 'NodeProto.attribute');
      await forEachField(this.w, f.at, f.next, async (a) => {
        if (a.field === ATTR_T || a.field === ATTR_TENSORS) {
          expectBytes(a, 'AttributeProto.t');
          await this.tensor(a.at, a.next);
        } else if (a.field === ATTR_G || a.field === ATTR_GRAPHS) {
          expectBytes(a, 'AttributeProto.g');
          await this.graph(a.at, a.next, depth + 1);
        } else if (a.field === ATTR_SPARSE_TENSOR || a.field === ATTR_SPARSE_TENSORS) {
          expectBytes(a, 'AttributeProto.sparse_tensor');
          await this.sparse(a.at, a.next);
        }
      });
    });
  }

  private async sparse(start: number, end: number): Promise<void> {
    await forEachField(this.w, start, end, async (f) => {
      if (f.field === SPARSE_VALUES || f.field === SPARSE_INDICES) {
        expectBytes(f, 'SparseTensorProto.values');
        await this.tensor(f.at, f.next);
      }
    });
  }

  private async tensor(start: number, end: number): Promise<void> {
    let name = '';
    let external = false;
    const entries = new Map<string, string>();
    await forEachField(this.w, start, end, async (f) => {
      if (f.field === TENSOR_NAME) {
        name = await readString(this.w, f, 'TensorProto.name');
      } else if (f.field === TENSOR_DATA_LOCATION) {
        if (f.wire !== 0) throw new Corrupt('TensorProto.data_location is not a varint');
        external = f.value === DATA_LOCATION_EXTERNAL;
      } else if (f.field === TENSOR_EXTERNAL_DATA) {
        expectBytes(f, 'TensorProto.external_data');
        let key = '';
        let value = '';
        await forEachField(this.w, f.at, f.next, async (e) => {
          if (e.field === ENTRY_KEY) key = await readString(this.w, e, 'external_data key');
          else if (e.field === ENTRY_VALUE) value = await readString(this.w, e, 'external_data value');
        });
        entries.set(key, value);
      }
    });
    if (!external) return;
    const location = entries.get('location');
    if (location === undefined || location === '') throw new Corrupt(`tensor "${name}" is stored externally but names no file`);
    const offset = Number(entries.get('offset') ?? '0');
    const lengthRaw = entries.get('length');
    const length = lengthRaw === undefined ? null : Number(lengthRaw);
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== null && (!Number.isSafeInteger(length) || length < 0))) {
      throw new Corrupt(`tensor "${name}" has an invalid external data offset or length`);
    }
    this.external.push({ tensor: name, location, offset, length });
  }
}

/**
 * Walks the protobuf of `path` and returns its external data references. Throws ModelError
 * `corrupt-onnx` (empty, truncated, not ONNX) or `missing-file`, naming `displayName`.
 */
export async function scanOnnxFile(path: string, displayName: string): Promise<OnnxScan> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new ModelError('missing-file', displayName, 'cannot be opened; the model file is missing or unreadable', { cause: e });
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) throw new ModelError('corrupt-onnx', displayName, 'is empty (0 bytes); the download did not finish — download the model again');
    const head = Buffer.alloc(Math.min(size, 64));
    await fh.read(head, 0, head.length, 0);
    if (head.toString('latin1').startsWith('version https://git-lfs')) {
      throw new ModelError('corrupt-onnx', displayName, 'is a Git LFS pointer, not the model; fetch the real file (git lfs pull) or download it again');
    }
    const scanner = new Scanner(new Window(fh, size));
    let sawGraph: boolean;
    try {
      sawGraph = await scanner.model(0, size);
    } catch (e) {
      if (e instanceof Corrupt) {
        throw new ModelError('corrupt-onnx', displayName, `is not a valid ONNX model: ${e.message}; download it again`);
      }
      throw e;
    }
    if (!sawGraph) throw new ModelError('corrupt-onnx', displayName, 'is not a valid ONNX model: it holds no graph; download it again');
    return { externalData: scanner.external };
  } finally {
    await fh.close();
  }
}
