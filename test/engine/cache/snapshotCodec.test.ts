// Tests of cache snapshots: bit-exact round trips through the binary codec, continuing after a restore,
// and clear rejections of truncated, corrupt, foreign or inconsistent data.
import { describe, expect, it } from 'vitest';
import { CacheSnapshotError } from '../../../main/engine/cache/cacheSnapshot';
import type { CacheSnapshotErrorReason } from '../../../main/engine/cache/cacheSnapshot';
import { SinkRingCache } from '../../../main/engine/cache/sinkRingCache';
import { decodeSnapshot, encodeSnapshot } from '../../../main/engine/cache/snapshotCodec';
import type { CacheSnapshot } from '../../../main/engine/cache/cacheSnapshot';
import type { KvArray } from '../../../main/engine/cache/kvStorage';
import { expectSameContinuation, feed, feedPin, makeCache, makeRng, makeRope, randomStep, stateOf } from './cacheTestKit';

function ranCache(positions: 'cache' | 'original', seed: number): SinkRingCache {
  const cache = makeCache({ sink: 3, window: 7, positions, maxPos: 16, maxChunk: 4, journalTokens: 50 });
  const rng = makeRng(seed);
  while (cache.nextPos < 123) feed(cache, randomStep(cache, rng));
  return cache;
}

function reasonOf(f: () => unknown): { reason: CacheSnapshotErrorReason; message: string } {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CacheSnapshotError);
    return { reason: (e as CacheSnapshotError).reason, message: (e as Error).message };
  }
  throw new Error('expected a CacheSnapshotError');
}

/** The format's checksum, written out independently of the codec. */
function checksum(bytes: Uint8Array, length: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < length; i += 4) {
    h = Math.imul(h ^ dv.getUint32(i, true), 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** Replaces `from` by `to` (same length) in the JSON header and re-seals the checksum. */
function forgeHeader(bytes: Uint8Array, from: string, to: string): Uint8Array {
  expect(to.length).toBe(from.length);
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  const headerLength = dv.getUint32(12, true);
  const header = new TextDecoder().decode(out.subarray(24, 24 + headerLength));
  expect(header).toContain(from);
  out.set(new TextEncoder().encode(header.replace(from, to)), 24);
  dv.setUint32(out.length - 8, checksum(out, out.length - 8), true);
  return out;
}

/** `bytes` rewritten with `edit` applied to its JSON header (arrays moved to the new offset, size and checksum resealed). */
function withHeader(bytes: Uint8Array, edit: (header: Record<string, unknown>) => void): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const oldLength = dv.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(24, 24 + oldLength))) as Record<string, unknown>;
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const align = (n: number) => Math.ceil(n / 8) * 8;
  const arrays = bytes.subarray(align(24 + oldLength), bytes.length - 8);
  const total = align(24 + json.length) + arrays.length + 8;
  const out = new Uint8Array(total);
  const ov = new DataView(out.buffer);
  out.set(bytes.subarray(0, 12));
  ov.setUint32(12, json.length, true);
  ov.setFloat64(16, total, true);
  out.set(json, 24);
  out.set(arrays, align(24 + json.length));
  ov.setUint32(total - 8, checksum(out, total - 8), true);
  return out;
}

/** Re-seals the checksum after an edit of the prefix. */
function reseal(bytes: Uint8Array): void {
  new DataView(bytes.buffer).setUint32(bytes.length - 8, checksum(bytes, bytes.length - 8), true);
}

/**
 * Version 2's bytes for `s`: B pin slots after the ring (the budget), the pinned tokens in them in
 * `order` (a permutation of the snapshot's pin slots, -1 for an empty slot), written independently of the codec.
 */
function encodeVersion2(s: CacheSnapshot, order: readonly number[]): Uint8Array {
  const { layers, kvHeads, headDim } = s.geometry;
  const { sink: S, window: W } = s.options;
  const B = order.length;
  const ring = S + W;
  const from = s.slotPos.length;
  const wide = (a: KvArray, slots: number, first: number, fromSlots: number): Float32Array => {
    const out = new Float32Array(kvHeads * slots * headDim);
    for (let h = 0; h < kvHeads; h++) {
      out.set(a.subarray(h * fromSlots * headDim, (h * fromSlots + first) * headDim), h * slots * headDim);
      order.forEach((j, k) => {
        if (j >= 0) out.set(a.subarray((h * fromSlots + j - W + first - S) * headDim, (h * fromSlots + j - W + first - S + 1) * headDim), (h * slots + first + k) * headDim);
      });
    }
    return out;
  };
  const ints = (a: Int32Array, first: number, empty: number) => Int32Array.from([...a.subarray(0, first), ...order.map((j) => (j < 0 ? empty : a[j - ring + first]))]);
  const arrays: [string, 'f32' | 'i32' | 'f64', Float32Array | Int32Array | Float64Array][] = [];
  for (let l = 0; l < layers; l++) arrays.push([`keys.${l}`, 'f32', wide(s.keys[l], ring + B, ring, from)]);
  for (let l = 0; l < layers; l++) arrays.push([`values.${l}`, 'f32', wide(s.values[l], ring + B, ring, from)]);
  for (let l = 0; l < layers; l++) arrays.push([`pristineKeys.${l}`, 'f32', wide(s.pristineKeys[l], S + B, S, from - W)]);
  arrays.push(['pristinePos', 'i32', ints(s.pristinePos, S, 0)], ['slotPos', 'i32', ints(s.slotPos, ring, -1)], ['slotToken', 'i32', ints(s.slotToken, ring, -1)]);
  arrays.push(['rope.invFreq', 'f64', s.rope!.invFreq]);
  const { pinBudget: _budget, ...options } = s.options;
  const header = {
    geometry: s.geometry,
    options: { ...options, pinSlots: B },
    pins: s.pins,
    rope: { headDim: s.rope!.headDim, rotaryDim: s.rope!.rotaryDim },
    nextPos: s.nextPos,
    offset: s.offset,
    evicted: s.evicted,
    sinkShift: s.sinkShift,
    arrays: arrays.map(([name, dtype, a]) => ({ name, dtype, length: a.length })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const align = (n: number) => Math.ceil(n / 8) * 8;
  let total = align(24 + json.length);
  for (const [, , a] of arrays) total += align(a.byteLength);
  total += 8;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode('OUROKVC\0'));
  dv.setUint32(8, 2, true);
  dv.setUint32(12, json.length, true);
  dv.setFloat64(16, total, true);
  out.set(json, 24);
  let at = align(24 + json.length);
  for (const [, , a] of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += align(a.byteLength);
  }
  reseal(out);
  return out;
}

describe('snapshot versions', () => {
  it('reads a version-2 snapshot (pin slots for the whole budget, spans anywhere in them) as the pinned tokens back to back', () => {
    const cache = makeCache({ sink: 3, window: 7, maxPos: 16, maxChunk: 4, journalTokens: 50, pinBudget: 6 });
    const rng = makeRng(46);
    while (cache.nextPos < 40) feed(cache, randomStep(cache, rng));
    expect(cache.pin(36, 38)).toBe('copied');
    expect(cache.pin(4, 6)).toBe('feed');
    feedPin(cache, 4);
    while (cache.nextPos < 60) feed(cache, randomStep(cache, rng));
    const s = cache.snapshot();
    expect(s.slotPos.length).toBe(3 + 7 + 4);
    // Slots 10..13 hold 4, 5, 36, 37; version 2 kept them in 6 slots, here reversed with gaps.
    const v2 = encodeVersion2(s, [13, -1, 12, 11, -1, 10]);
    const decoded = decodeSnapshot(v2);
    expect(decoded.options.pinBudget).toBe(6);
    expect(decoded).toEqual(s);
    const restored = SinkRingCache.fromSnapshot(decoded, cache.rope);
    expect(stateOf(restored)).toEqual(stateOf(cache));
    expectSameContinuation(cache, restored, 47, 30);
  });
});

describe('snapshot KV dtype', () => {
  it('reads a snapshot written before KV dtypes existed (no kvDtype in its options) as float32', () => {
    const cache = ranCache('cache', 44);
    const old = withHeader(encodeSnapshot(cache.snapshot()), (h) => delete (h.options as Record<string, unknown>).kvDtype);
    expect(new TextDecoder().decode(old)).not.toContain('kvDtype');
    const decoded = decodeSnapshot(old);
    expect(decoded.options.kvDtype).toBe('float32');
    expect(SinkRingCache.fromSnapshot(decoded, cache.rope).snapshot()).toEqual(cache.snapshot());
  });

  it('reads a version-1 snapshot (before pinned memory: no pin budget, no pins) as a cache without pins', () => {
    const cache = ranCache('cache', 45);
    const v1 = withHeader(encodeSnapshot(cache.snapshot()), (h) => {
      delete (h.options as Record<string, unknown>).pinBudget;
      delete h.pins;
    });
    new DataView(v1.buffer).setUint32(8, 1, true);
    reseal(v1);
    const decoded = decodeSnapshot(v1);
    expect(decoded.options.pinBudget).toBe(0);
    expect(decoded.pins).toEqual([]);
    expect(SinkRingCache.fromSnapshot(decoded, cache.rope).snapshot()).toEqual(cache.snapshot());
  });

  it('refuses a header that claims fp16 rows over fp32 ones', () => {
    const bytes = encodeSnapshot(ranCache('cache', 43).snapshot());
    const { reason, message } = reasonOf(() => decodeSnapshot(forgeHeader(bytes, '"kvDtype":"float32"', '"kvDtype":"float16"')));
    expect(reason).toBe('mismatch');
    expect(message).toMatch(/array 0 is keys\.0 f32\[\d+\], its geometry needs keys\.0 f16/);
  });
});

describe('snapshot round trip', () => {
  for (const positions of ['cache', 'original'] as const) {
    it(`is bit-exact through encode and decode, and continuing after a restore equals continuing (${positions})`, () => {
      const cache = ranCache(positions, positions === 'cache' ? 41 : 42);
      expect(cache.offset).toBeGreaterThan(0);
      const bytes = encodeSnapshot(cache.snapshot());
      expect(new TextDecoder().decode(bytes.subarray(0, 7))).toBe('OUROKVC');
      expect(new DataView(bytes.buffer).getFloat64(16, true)).toBe(bytes.length);
      const restored = SinkRingCache.fromSnapshot(decodeSnapshot(bytes), cache.rope);
      expect(restored.snapshot()).toEqual(cache.snapshot());
      expect(stateOf(restored)).toEqual(stateOf(cache));
      expect(restored.rewindable).toBe(0); // the journal is not part of a snapshot
      expect(restored.rewind(1)).toBe(false);

      expectSameContinuation(cache, restored, 7, 60);
    });
  }

  it('reads a snapshot embedded at any byte offset', () => {
    const bytes = encodeSnapshot(ranCache('cache', 43).snapshot());
    for (const shift of [1, 4]) {
      const host = new Uint8Array(bytes.length + shift);
      host.set(bytes, shift);
      const s = decodeSnapshot(host.subarray(shift));
      expect(s.slotPos).toEqual(decodeSnapshot(bytes).slotPos);
    }
  });

  it('refuses to restore with another RoPE or without one in cache mode', () => {
    const s = ranCache('cache', 44).snapshot();
    expect(reasonOf(() => SinkRingCache.fromSnapshot(s, makeRope(8, 8)))).toEqual({
      reason: 'mismatch',
      message: 'cache snapshot was taken with a different RoPE (another model or rope settings)',
    });
    expect(reasonOf(() => SinkRingCache.fromSnapshot(s, null)).message).toMatch(/needs the model's RoPE/);
  });

  it('rejects inconsistent snapshot objects', () => {
    const s = ranCache('original', 45).snapshot();
    expect(reasonOf(() => encodeSnapshot({ ...s, evicted: s.evicted + 1 })).message).toMatch(/evicted .* should be/);
    const slotPos = s.slotPos.slice();
    slotPos[5] = slotPos[4];
    expect(reasonOf(() => SinkRingCache.fromSnapshot({ ...s, slotPos }, null)).message).toMatch(/ring slot 5 holds position/);
    expect(reasonOf(() => SinkRingCache.fromSnapshot({ ...s, keys: s.keys.slice(1) }, null)).message).toMatch(/keys has 1 layers/);
  });
});

describe('decodeSnapshot rejects bad bytes with a clear error', () => {
  const bytes = encodeSnapshot(ranCache('cache', 46).snapshot());

  it('truncated', () => {
    expect(reasonOf(() => decodeSnapshot(bytes.subarray(0, bytes.length - 1)))).toEqual({
      reason: 'truncated',
      message: `cache snapshot is truncated: ${bytes.length - 1} of its ${bytes.length} bytes`,
    });
    expect(reasonOf(() => decodeSnapshot(bytes.subarray(0, 10))).reason).toBe('truncated');
    expect(reasonOf(() => decodeSnapshot(new Uint8Array(0))).reason).toBe('truncated');
  });

  it('corrupt data, magic, trailing bytes', () => {
    const flipped = bytes.slice();
    flipped[Math.floor(bytes.length / 2)] ^= 0x10;
    expect(reasonOf(() => decodeSnapshot(flipped))).toEqual({
      reason: 'corrupt',
      message: 'cache snapshot is corrupt: checksum mismatch (the data was damaged)',
    });
    const header = bytes.slice();
    header[40] ^= 1;
    expect(reasonOf(() => decodeSnapshot(header)).message).toMatch(/checksum mismatch/);
    const magic = bytes.slice();
    magic[0] = 0x50;
    expect(reasonOf(() => decodeSnapshot(magic)).message).toMatch(/not an Ouro KV-cache snapshot/);
    const longer = new Uint8Array(bytes.length + 8);
    longer.set(bytes);
    expect(reasonOf(() => decodeSnapshot(longer)).message).toMatch(/8 unexpected bytes after its end/);
  });

  it('another format version', () => {
    const v3 = bytes.slice();
    new DataView(v3.buffer).setUint32(8, 4, true);
    expect(reasonOf(() => decodeSnapshot(v3))).toEqual({
      reason: 'version',
      message: 'cache snapshot has format version 4; this build reads versions 1 to 3',
    });
  });

  it('headers that pass the checksum but not validation', () => {
    expect(decodeSnapshot(forgeHeader(bytes, '"sink":3', '"sink":3')).options.sink).toBe(3);
    expect(reasonOf(() => decodeSnapshot(forgeHeader(bytes, '"window":7', '"window":0')))).toEqual({
      reason: 'corrupt',
      message: 'cache snapshot is corrupt: header field options.window: Too small: expected number to be >0',
    });
    expect(reasonOf(() => decodeSnapshot(forgeHeader(bytes, '"layers":2', '"layers":3'))).message).toMatch(
      /lists 10 arrays, its geometry needs 13/,
    );
    expect(reasonOf(() => decodeSnapshot(forgeHeader(bytes, '"kvHeads":2', '"kvHeads":1'))).message).toMatch(
      /array 0 is keys.0 f32\[160\], its geometry needs keys.0 f32\[80\]/,
    );
    const evicted = decodeSnapshot(bytes).evicted;
    expect(reasonOf(() => decodeSnapshot(forgeHeader(bytes, `"evicted":${evicted}`, `"evicted":${evicted + 1}`))).message).toMatch(
      /inconsistent: evicted/,
    );
    expect(reasonOf(() => decodeSnapshot(forgeHeader(bytes, '{"geometry"', '["geometry"'))).message).toMatch(/not valid JSON/);
  });
});
