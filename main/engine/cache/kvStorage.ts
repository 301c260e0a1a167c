// The seam between the sink-ring cache's bookkeeping and where its K/V rows live: element type (fp32 or
// fp16, the model's past_key_values dtype) and place (host memory fed as past_key_values, or a device).
// Runs in the engine host; types and the few dtype facts every holder of KV rows needs.

import type { RopeSpec } from '../rope';

/** Element type of K/V rows: the model's `past_key_values` / `present` dtype. */
export type KvDtype = 'float32' | 'float16';

/**
 * Where the rows live: `host` memory fed as `past_key_values` (every provider), or `device` memory
 * that the graph writes itself (DESIGN §3 "Storage, dtype and place"; not built yet, see kvRows).
 */
export type KvPlace = 'host' | 'device';

export interface KvFormat {
  readonly dtype: KvDtype;
  readonly place: KvPlace;
}

/** K/V rows of one dtype: float32 values, or fp16 bits in a Uint16Array (Node 20 has no Float16Array). */
export type KvArray = Float32Array | Uint16Array;

export const KV_DTYPES: readonly KvDtype[] = ['float32', 'float16'];

/** Bytes per element. */
export function kvElementBytes(dtype: KvDtype): number {
  return dtype === 'float16' ? 2 : 4;
}

/** A zeroed array of `length` elements of `dtype` (zero bits are +0 in both). */
export function allocKv(dtype: KvDtype, length: number): KvArray {
  return dtype === 'float16' ? new Uint16Array(length) : new Float32Array(length);
}

/** ES2024's ArrayBuffer constructor with a `maxByteLength` (the engine's lib is ES2023; Node 20 has it unflagged). */
const Resizable = ArrayBuffer as unknown as new (bytes: number, options: { maxByteLength: number }) => ArrayBuffer;

/**
 * {@link allocKv} outside malloc's heap, for a buffer freed while the engine runs on (the compact past's
 * mirror): a resizable ArrayBuffer's memory is V8's own mapping, whose pages the kernel zeroes as they are
 * first written and takes back when the buffer is detached (`transfer(0)`) or collected. A plain
 * ArrayBuffer comes from malloc, which after a model load served even the 46 MB mirror from the heap and
 * kept its pages resident after the free (bench/README section 10, group 6). Not for the cache itself: a
 * decode step's writes into a resizable buffer's views cost 1–4% of the step there.
 */
export function allocKvMapped(dtype: KvDtype, length: number): KvArray {
  const bytes = length * kvElementBytes(dtype);
  const buffer = new Resizable(bytes, { maxByteLength: bytes });
  return dtype === 'float16' ? new Uint16Array(buffer) : new Float32Array(buffer);
}

/**
 * Frees the buffer under `view` now rather than when the GC finds it, and returns the bytes freed: detaching
 * it (ES2024's `transfer(0)`; the engine's lib is ES2023) leaves every view of it empty. Only a view over a
 * whole buffer frees it (0 otherwise: another view's bytes may share it). Electron's Node has `transfer`;
 * Node 20 behind a flag (main/host/hostHeapLimits NODE_PARITY_FLAGS), and without it this frees nothing (0)
 * and the GC frees the buffer later.
 */
export function detachNow(view: ArrayBufferView): number {
  const buffer = view.buffer as ArrayBufferLike & { transfer?: (length: number) => ArrayBuffer };
  if (buffer.transfer === undefined || view.byteOffset !== 0 || view.byteLength !== buffer.byteLength) return 0;
  const bytes = buffer.byteLength;
  buffer.transfer(0);
  return bytes;
}

/** Below this many elements a copy is a loop: a typed array's `set` needs a view of the source, one object per copy. */
const COPY_LOOP_MAX = 1024;

/**
 * Copies `length` elements of one dtype (the cache and its callers never mix dtypes: checkCommit refuses
 * that). A decode step's rows (one or a few per layer and head) go element by element, so a step allocates
 * no views (bench/README section 20); a prefill chunk's runs as one block.
 */
export function copyKv(src: KvArray, srcAt: number, dst: KvArray, dstAt: number, length: number): void {
  if (length > COPY_LOOP_MAX) dst.set(src.subarray(srcAt, srcAt + length), dstAt);
  else for (let d = 0; d < length; d++) dst[dstAt + d] = src[srcAt + d];
}

/** Whether `a` is an array of `dtype`'s elements. */
export function isKvArray(a: unknown, dtype: KvDtype): a is KvArray {
  return dtype === 'float16' ? a instanceof Uint16Array : a instanceof Float32Array;
}

/**
 * Where each layer's rows start (an element offset) in the arrays a step's commit gets: the layers share
 * one array when a step fetches the graph's packed new-rows output (model/fastOutputs `packedRows`).
 */
export interface RowsAt {
  readonly keys: readonly number[];
  readonly values: readonly number[];
}

/**
 * Every move on the cache's K/V rows, so the cache's bookkeeping never touches an element. Slot j of head
 * h of a layer is row `h * C + j`; a saved slot is `[layer][head][dim]`, `rowElements` elements per token.
 * Re-rotation computes in double precision from pristine keys and rounds to the dtype once.
 */
export interface KvStorage {
  readonly format: KvFormat;
  /** Per layer `[kvHeads, C, headDim]`, the past fed to the model (host storage); new arrays after {@link splicePins}. */
  readonly keys: readonly KvArray[];
  readonly values: readonly KvArray[];
  /** Per layer `[kvHeads, S + B, headDim]`: sink and pin keys as the model computed them (anchor a: sink a, pin slot W + a). */
  readonly pristine: readonly KvArray[];
  /**
   * Copies a step's new rows (per layer `[kvHeads, past + n, headDim]`, new ones last, from `at` in its
   * array, or from its start when `at` is null) into the slots of P..P+n-1.
   */
  copyPresent(presentKeys: readonly KvArray[], presentValues: readonly KvArray[], P: number, n: number, past: number, at: RowsAt | null): void;
  saveSlot(j: number, keyRows: KvArray, valueRows: KvArray, at: number): void;
  restoreSlot(j: number, keyRows: KvArray, valueRows: KvArray, at: number): void;
  zeroSlot(j: number): void;
  /** Copies new row i of a step (as {@link copyPresent} reads them) into slot j (a pinned span fed again). */
  copyPresentRow(presentKeys: readonly KvArray[], presentValues: readonly KvArray[], i: number, n: number, past: number, at: RowsAt | null, j: number): void;
  copySlot(from: number, to: number): void;
  capturePristine(anchor: number): void;
  placeAnchor(anchor: number, rope: RopeSpec, delta: number): void;
  rotateSlot(j: number, rope: RopeSpec, delta: number): void;
  /** Removes `remove` pin slots at slot `at` and inserts `insert` empty ones there (C changes). */
  splicePins(at: number, remove: number, insert: number): void;
  /**
   * Drops the pin slots and zeroes the rows of the `held` sink and ring slots (every other row is zero
   * already: empty slots hold zeros) and every pristine copy.
   */
  clear(held: readonly number[]): void;
  /** Bytes of the K and V buffers. */
  bytes(): number;
}
