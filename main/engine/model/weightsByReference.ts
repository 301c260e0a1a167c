// The .onnx protobuf with its inline weights replaced by references into the same file (ONNX external
// data: location = the file itself, offset and length of each tensor's raw bytes), built by reading only
// the fields around the weights. onnxruntime then reads every weight once, from the file, into the
// initializer it keeps. Loading the bytes of the whole file instead cost the weights three times at the
// peak: the engine's buffer, the protobuf onnxruntime parses from it, and the initializers (1.5 GB of RSS
// for a 540 MB fp32 model). Runs in the engine host at model load.
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { readField, Window } from './onnxScan';
import {
  DATA_LOCATION_EXTERNAL,
  ENTRY_KEY,
  ENTRY_VALUE,
  GRAPH_INITIALIZER,
  MODEL_GRAPH,
  TENSOR_DATA_LOCATION,
  TENSOR_EXTERNAL_DATA,
  TENSOR_RAW_DATA,
} from './onnxFields';
import { WireWriter } from './protoWire';

/** Raw data at least this long is referenced; smaller tensors (shapes, scalars) stay inline. */
const MIN_REFERENCED_BYTES = 1024;

/** Bytes of a message under construction, kept as pieces: no piece is copied twice. */
class Pieces {
  readonly parts: Uint8Array[] = [];
  length = 0;

  push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  /** These pieces as the payload of a length-delimited field `no`, appended to `to`. */
  wrapInto(to: Pieces, no: number): void {
    to.push(new WireWriter().lengthHeader(no, this.length).finish());
    for (const p of this.parts) to.push(p);
  }
}

function entry(key: string, value: string): WireWriter {
  return new WireWriter().stringField(ENTRY_KEY, key).stringField(ENTRY_VALUE, value);
}

/**
 * The model at `modelPath` with every initializer's inline raw data of at least 1 KiB replaced by an
 * external-data reference into `modelPath` itself (which onnxruntime resolves in the model's folder), and
 * how many bytes were referenced. Everything else is copied as it is. Throws onnxScan's `Corrupt` for bytes that are
 * not protobuf.
 */
export async function readWeightsByReference(modelPath: string): Promise<{ bytes: Uint8Array; referencedBytes: number }> {
  const fh = await open(modelPath, 'r');
  try {
    const size = (await fh.stat()).size;
    const w = new Window(fh, size);
    const location = basename(modelPath);
    let referencedBytes = 0;

    const tensor = async (start: number, end: number, into: Pieces): Promise<void> => {
      const out = new Pieces();
      let raw: { offset: number; length: number } | null = null;
      for (let pos = start; pos < end; ) {
        const f = await readField(w, pos, end);
        if (f.field === TENSOR_RAW_DATA && f.wire === 2 && f.value >= MIN_REFERENCED_BYTES) raw = { offset: f.at, length: f.value };
        else out.push(await w.copy(pos, f.next - pos));
        pos = f.next;
      }
      if (raw !== null) {
        const ref = new WireWriter()
          .messageField(TENSOR_EXTERNAL_DATA, entry('location', location))
          .messageField(TENSOR_EXTERNAL_DATA, entry('offset', String(raw.offset)))
          .messageField(TENSOR_EXTERNAL_DATA, entry('length', String(raw.length)))
          .varintField(TENSOR_DATA_LOCATION, DATA_LOCATION_EXTERNAL);
        out.push(ref.finish());
        referencedBytes += raw.length;
      }
      out.wrapInto(into, GRAPH_INITIALIZER);
    };

    const graph = async (start: number, end: number, into: Pieces): Promise<void> => {
      const out = new Pieces();
      for (let pos = start; pos < end; ) {
        const f = await readField(w, pos, end);
        if (f.field === GRAPH_INITIALIZER && f.wire === 2) await tensor(f.at, f.next, out);
        else out.push(await w.copy(pos, f.next - pos));
        pos = f.next;
      }
      out.wrapInto(into, MODEL_GRAPH);
    };

    const model = new Pieces();
    for (let pos = 0; pos < size; ) {
      const f = await readField(w, pos, size);
      if (f.field === MODEL_GRAPH && f.wire === 2) await graph(f.at, f.next, model);
      else model.push(await w.copy(pos, f.next - pos));
      pos = f.next;
    }
    const bytes = new Uint8Array(model.length);
    let at = 0;
    for (const p of model.parts) {
      bytes.set(p, at);
      at += p.length;
    }
    return { bytes, referencedBytes };
  } finally {
    await fh.close();
  }
}
