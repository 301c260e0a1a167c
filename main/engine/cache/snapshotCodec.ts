// Binary form of a cache snapshot: magic, version, a JSON header (geometry, options, array sizes), then
// 8-byte-aligned raw little-endian arrays and a checksum. Runs in the engine host; reads validate all.
//
// Layout: "OUROKVC\0" | u32 version | u32 header bytes | f64 total bytes | header JSON | pad to 8 |
// each array, padded to 8 | u32 checksum of everything before it | u32 0.

import { z } from 'zod';
import { CacheSnapshotError, validateCacheSnapshot } from './cacheSnapshot';
import type { CacheSnapshot } from './cacheSnapshot';
import { KV_DTYPES, type KvArray } from './kvStorage';

const MAGIC = 'OUROKVC\0';
/** The format version this build writes; it reads every version from {@link OLDEST_VERSION} on. */
export const SNAPSHOT_VERSION = 3;
/**
 * Version 1 had no pinned memory: it reads as a cache with nothing pinned (and a budget of 0 until the
 * owner sets one). Version 2 allocated `pinSlots` (the budget) pin slots, its spans anywhere in them: it
 * reads as version 3's layout, the slots holding just the pinned tokens back to back.
 */
const OLDEST_VERSION = 1;
const FIXED_PIN_SLOTS_VERSION = 2;
const PREFIX_BYTES = 24;
const TRAILER_BYTES = 8;

type Dtype = 'f16' | 'f32' | 'i32' | 'f64';
const BYTES: Readonly<Record<Dtype, number>> = { f16: 2, f32: 4, i32: 4, f64: 8 };
type StoredArray = KvArray | Int32Array | Float64Array;

interface ArraySpec {
  readonly name: string;
  readonly dtype: Dtype;
  readonly length: number;
}

const count = z.number().int().nonnegative();
const positive = z.number().int().positive();
const headerSchema = z.object({
  geometry: z.object({ layers: positive, kvHeads: positive, headDim: positive }),
  options: z.object({
    sink: count,
    window: positive,
    positions: z.enum(['cache', 'original']),
    maxPos: positive,
    journalTokens: count,
    maxChunk: positive,
    // Version-1 files written before fp16 caches existed hold float32 rows.
    kvDtype: z.enum(KV_DTYPES as ['float32', 'float16']).default('float32'),
    // Version 3: the pin budget; the pin slots are the pinned tokens.
    pinBudget: count.optional(),
    // Version 2: as many pin slots as the budget.
    pinSlots: count.optional(),
  }),
  pins: z.array(z.object({ start: count, end: count })).default([]),
  rope: z.object({ headDim: positive, rotaryDim: positive }).nullable(),
  nextPos: count,
  offset: count,
  evicted: count,
  sinkShift: z.number().int(),
  arrays: z.array(z.object({ name: z.string(), dtype: z.enum(['f16', 'f32', 'i32', 'f64']), length: count })),
});
type Header = z.infer<typeof headerSchema>;

/** Serializes a snapshot (validated first, so what is written can be read back). */
export function encodeSnapshot(s: CacheSnapshot): Uint8Array {
  assertLittleEndian();
  validateCacheSnapshot(s);
  const arrays = arraysOf(s);
  const header: Header = {
    geometry: { ...s.geometry },
    options: { ...s.options },
    rope: s.rope && { headDim: s.rope.headDim, rotaryDim: s.rope.rotaryDim },
    nextPos: s.nextPos,
    offset: s.offset,
    evicted: s.evicted,
    sinkShift: s.sinkShift,
    pins: s.pins.map(({ start, end }) => ({ start, end })),
    arrays: arrays.map(([spec]) => spec),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  let at = align8(PREFIX_BYTES + headerBytes.length);
  const starts: number[] = [];
  for (const [, data] of arrays) {
    starts.push(at);
    at += align8(data.byteLength);
  }
  const total = at + TRAILER_BYTES;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
  dv.setUint32(8, SNAPSHOT_VERSION, true);
  dv.setUint32(12, headerBytes.length, true);
  dv.setFloat64(16, total, true);
  out.set(headerBytes, PREFIX_BYTES);
  arrays.forEach(([, data], i) => out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), starts[i]));
  dv.setUint32(total - TRAILER_BYTES, checksum(out, total - TRAILER_BYTES), true);
  return out;
}

/**
 * Parses and validates bytes written by {@link encodeSnapshot}. Throws {@link CacheSnapshotError}:
 * `truncated`, `corrupt` (bad magic, checksum, header), `version`, or `mismatch` (inconsistent content).
 */
export function decodeSnapshot(bytes: Uint8Array): CacheSnapshot {
  assertLittleEndian();
  const fail = (reason: 'truncated' | 'corrupt' | 'version' | 'mismatch', why: string): never => {
    throw new CacheSnapshotError(reason, `cache snapshot ${why}`);
  };
  if (bytes.length < PREFIX_BYTES) fail('truncated', `is truncated: ${bytes.length} bytes, less than its ${PREFIX_BYTES}-byte prefix`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC.charCodeAt(i)) fail('corrupt', 'is not an Ouro KV-cache snapshot (bad magic bytes)');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version < OLDEST_VERSION || version > SNAPSHOT_VERSION) {
    fail('version', `has format version ${version}; this build reads versions ${OLDEST_VERSION} to ${SNAPSHOT_VERSION}`);
  }
  const headerLength = dv.getUint32(12, true);
  const total = dv.getFloat64(16, true);
  if (!Number.isSafeInteger(total) || total % 8 !== 0 || total < PREFIX_BYTES + headerLength + TRAILER_BYTES) {
    fail('corrupt', `is corrupt: impossible total size ${total}`);
  }
  if (bytes.length < total) fail('truncated', `is truncated: ${bytes.length} of its ${total} bytes`);
  if (bytes.length > total) fail('corrupt', `is corrupt: ${bytes.length - total} unexpected bytes after its end`);
  if (checksum(bytes, total - TRAILER_BYTES) !== dv.getUint32(total - TRAILER_BYTES, true)) {
    fail('corrupt', 'is corrupt: checksum mismatch (the data was damaged)');
  }

  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength)));
  } catch {
    return fail('corrupt', 'is corrupt: its header is not valid JSON');
  }
  const parsed = headerSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail('corrupt', `is corrupt: header field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const header = parsed.data;
  const { pinSlots, pinBudget, ...fixed } = header.options;
  // Before version 3 the budget was the pin slots (none in version 1).
  const options = { ...fixed, pinBudget: version < 3 ? (pinSlots ?? 0) : (pinBudget ?? fail('corrupt', 'is corrupt: header field options.pinBudget: Required')) };
  const slotsAfterRing = version === FIXED_PIN_SLOTS_VERSION ? options.pinBudget : header.pins.reduce((n, r) => n + Math.max(0, r.end - r.start), 0);
  const expected = expectedArrays({ ...header, options }, slotsAfterRing);
  const listed = header.arrays;
  if (listed.length !== expected.length) fail('mismatch', `lists ${listed.length} arrays, its geometry needs ${expected.length}`);
  expected.forEach((e, i) => {
    const a = listed[i];
    if (a.name !== e.name || a.dtype !== e.dtype || a.length !== e.length) {
      fail('mismatch', `array ${i} is ${a.name} ${a.dtype}[${a.length}], its geometry needs ${e.name} ${e.dtype}[${e.length}]`);
    }
  });
  let at = align8(PREFIX_BYTES + headerLength);
  const data = new Map<string, StoredArray>();
  for (const e of expected) {
    const byteLength = e.length * BYTES[e.dtype];
    if (at + byteLength > total - TRAILER_BYTES) fail('mismatch', `arrays overrun its ${total} bytes`);
    const buf = bytes.slice(at, at + byteLength).buffer;
    data.set(e.name, typedArray(e.dtype, buf));
    at += align8(byteLength);
  }
  if (at !== total - TRAILER_BYTES) fail('mismatch', `has ${total - TRAILER_BYTES - at} bytes its header does not account for`);

  const { layers } = header.geometry;
  const perLayer = (prefix: string): KvArray[] => Array.from({ length: layers }, (_, l) => data.get(`${prefix}.${l}`) as KvArray);
  const stored: CacheSnapshot = {
    geometry: header.geometry,
    options,
    rope: header.rope && { ...header.rope, invFreq: data.get('rope.invFreq') as Float64Array },
    nextPos: header.nextPos,
    offset: header.offset,
    evicted: header.evicted,
    sinkShift: header.sinkShift,
    keys: perLayer('keys'),
    values: perLayer('values'),
    pristineKeys: perLayer('pristineKeys'),
    pristinePos: data.get('pristinePos') as Int32Array,
    slotPos: data.get('slotPos') as Int32Array,
    slotToken: data.get('slotToken') as Int32Array,
    pins: header.pins,
  };
  const snapshot = version === FIXED_PIN_SLOTS_VERSION ? packPinSlots(stored, slotsAfterRing, fail) : stored;
  validateCacheSnapshot(snapshot);
  return snapshot;
}

/**
 * A version-2 snapshot (B pin slots, spans anywhere in them) in today's layout: the pinned tokens' slots
 * back to back after the ring, by span start, with their rows, pristine keys and positions.
 */
function packPinSlots(s: CacheSnapshot, B: number, fail: (reason: 'mismatch', why: string) => never): CacheSnapshot {
  const { kvHeads, headDim } = s.geometry;
  const S = s.options.sink;
  const ring = S + s.options.window;
  const pinSlots: number[] = [];
  for (const { start, end } of s.pins) {
    for (let p = start; p < end; p++) {
      let j = ring;
      while (j < ring + B && s.slotPos[j] !== p) j++;
      if (j === ring + B) fail('mismatch', `pins position ${p} but no pin slot holds it`);
      pinSlots.push(j);
    }
  }
  const slots = [...Array.from({ length: ring }, (_, j) => j), ...pinSlots];
  const anchors = [...Array.from({ length: S }, (_, a) => a), ...pinSlots.map((j) => j - s.options.window)];
  const rows = (a: KvArray, from: number, order: readonly number[]): KvArray => {
    const out = a instanceof Uint16Array ? new Uint16Array(kvHeads * order.length * headDim) : new Float32Array(kvHeads * order.length * headDim);
    for (let h = 0; h < kvHeads; h++) {
      order.forEach((j, k) => out.set(a.subarray((h * from + j) * headDim, (h * from + j + 1) * headDim), (h * order.length + k) * headDim));
    }
    return out;
  };
  const pick = (a: Int32Array, order: readonly number[]) => Int32Array.from(order, (j) => a[j]);
  return {
    ...s,
    keys: s.keys.map((k) => rows(k, ring + B, slots)),
    values: s.values.map((v) => rows(v, ring + B, slots)),
    pristineKeys: s.pristineKeys.map((k) => rows(k, S + B, anchors)),
    pristinePos: pick(s.pristinePos, anchors),
    slotPos: pick(s.slotPos, slots),
    slotToken: pick(s.slotToken, slots),
  };
}

/** The arrays a snapshot with this header and B slots after the ring holds, in file order. */
function expectedArrays(h: Pick<Header, 'geometry' | 'rope'> & { readonly options: { readonly sink: number; readonly window: number; readonly kvDtype: string } }, B: number): ArraySpec[] {
  const { layers, kvHeads, headDim } = h.geometry;
  const S = h.options.sink;
  const C = S + h.options.window + B;
  const kv: Dtype = h.options.kvDtype === 'float16' ? 'f16' : 'f32';
  const specs: ArraySpec[] = [];
  for (const prefix of ['keys', 'values'] as const) {
    for (let l = 0; l < layers; l++) specs.push({ name: `${prefix}.${l}`, dtype: kv, length: kvHeads * C * headDim });
  }
  for (let l = 0; l < layers; l++) specs.push({ name: `pristineKeys.${l}`, dtype: kv, length: kvHeads * (S + B) * headDim });
  specs.push({ name: 'pristinePos', dtype: 'i32', length: S + B });
  specs.push({ name: 'slotPos', dtype: 'i32', length: C });
  specs.push({ name: 'slotToken', dtype: 'i32', length: C });
  if (h.rope) specs.push({ name: 'rope.invFreq', dtype: 'f64', length: h.rope.rotaryDim / 2 });
  return specs;
}

function typedArray(dtype: Dtype, buf: ArrayBuffer): StoredArray {
  switch (dtype) {
    case 'f16':
      return new Uint16Array(buf);
    case 'f32':
      return new Float32Array(buf);
    case 'i32':
      return new Int32Array(buf);
    case 'f64':
      return new Float64Array(buf);
  }
}

function arraysOf(s: CacheSnapshot): [ArraySpec, StoredArray][] {
  const data: StoredArray[] = [
    ...s.keys,
    ...s.values,
    ...s.pristineKeys,
    s.pristinePos,
    s.slotPos,
    s.slotToken,
  ];
  if (s.rope) data.push(s.rope.invFreq);
  return expectedArrays(s, s.slotPos.length - s.options.sink - s.options.window).map((spec, i) => [spec, data[i]]);
}

/** A 32-bit hash of the first `length` bytes (a multiple of 4): catches damage, not tampering. */
function checksum(bytes: Uint8Array, length: number): number {
  const words = length >>> 2;
  let h = 0x811c9dc5;
  if ((bytes.byteOffset & 3) === 0) {
    const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset, words);
    for (let i = 0; i < words; i++) {
      h = Math.imul(h ^ u32[i], 0x5bd1e995);
      h ^= h >>> 15;
    }
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, length);
    for (let i = 0; i < words; i++) {
      h = Math.imul(h ^ dv.getUint32(i * 4, true), 0x5bd1e995);
      h ^= h >>> 15;
    }
  }
  return h >>> 0;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error('cache snapshots are stored little-endian; this big-endian CPU is not supported');
  }
}
