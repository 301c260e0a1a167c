// The compacted past's shapes: which mirror lengths a stream can feed, and the sequence of past lengths a
// prompt and the decode steps after it feed, with the mirror already at the decode length when the prompt
// ends (so the first decode step moves nothing). Fed through the cache test kit's fake model.
import { describe, expect, test } from 'vitest';
import { CompactPast, mirrorLengths } from '../../../main/engine/compactPast';
import { SinkRingCache } from '../../../main/engine/cache/sinkRingCache';
import { commit, GEOMETRY, keyRow, makeCache, makeRope } from './cacheTestKit';

describe('mirrorLengths', () => {
  test('multiples of 128 up to half the slots', () => {
    expect(mirrorLengths(255)).toEqual([]);
    expect(mirrorLengths(256)).toEqual([128]);
    expect(mirrorLengths(604)).toEqual([128, 256]);
    expect(mirrorLengths(2052)).toEqual([128, 256, 384, 512, 640, 768, 896, 1024]);
  });
});

/** Feeds `ids` tokens in chunks as the runner does: prepare, run (the kit's fake model), commit. */
function feeder(cache: SinkRingCache, compact: CompactPast) {
  const fed: number[] = [];
  const mirrored: number[] = [];
  const feed = (count: number) => {
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, cache.maxChunk);
      const P = cache.nextPos;
      const step = cache.beginStep(n);
      const past = compact.prepare(n, step.attentionMask);
      fed.push(past === null ? cache.capacity : past.length);
      commit(cache, { P, n, fed: Array.from(step.positionIds, Number) });
      done += n;
      compact.commit(done === count);
      mirrored.push(compact.mirrored);
    }
  };
  return { fed, mirrored, feed };
}

describe('CompactPast', () => {
  test('a prompt ending on a mirror step: its last chunk grows the mirror for the decode steps, which keep one length', () => {
    // C = 604: mirrors of 128 and 256 slots.
    const cache = makeCache({ sink: 4, window: 600, positions: 'cache', maxPos: 4000, journalTokens: 0, maxChunk: 16 });
    const compact = new CompactPast(cache, cache.maxChunk);
    const { fed, mirrored, feed } = feeder(cache, compact);
    feed(128);
    for (let i = 0; i < 8; i++) feed(1);
    // Chunks at held 0 (the empty past), 16 ... 112; the decode steps at held 128 ... 135 with room for their row.
    expect(fed).toEqual([0, ...Array<number>(7).fill(128), ...Array<number>(8).fill(256)]);
    // The first chunk starts the mirror; the last one leaves it at the decode steps' length.
    expect(mirrored).toEqual([128, ...Array<number>(6).fill(128), 256, ...Array<number>(8).fill(256)]);
  });

  test('a one-chunk prompt is mirrored by its commit, and the mirror holds the cache rows the decode step reads', () => {
    const cache = makeCache({ sink: 4, window: 600, positions: 'cache', maxPos: 4000, journalTokens: 0, maxChunk: 200 });
    const compact = new CompactPast(cache, cache.maxChunk);
    const { fed, mirrored, feed } = feeder(cache, compact);
    feed(150);
    expect(mirrored).toEqual([256]);
    const P = cache.nextPos;
    const step = cache.beginStep(1);
    const past = compact.prepare(1, step.attentionMask)!;
    expect([...fed, past.length]).toEqual([0, 256]);
    const { kvHeads, headDim } = GEOMETRY;
    for (let l = 0; l < GEOMETRY.layers; l++) {
      for (let h = 0; h < kvHeads; h++) {
        for (const slot of [0, 3, 4, 149]) {
          const at = (h * past.length + slot) * headDim;
          expect(Array.from(past.keys[l].subarray(at, at + headDim))).toEqual(Array.from(keyRow(cache, l, h, slot)));
        }
      }
    }
    expect(Array.from(past.mask.subarray(148, 152))).toEqual([1n, 1n, 0n, 0n]);
    commit(cache, { P, n: 1, fed: Array.from(step.positionIds, Number) });
  });

  test('past the largest mirror the full C slots are fed, and the mirror is dropped', () => {
    const cache = makeCache({ sink: 4, window: 600, positions: 'cache', maxPos: 4000, journalTokens: 0, maxChunk: 64 });
    const compact = new CompactPast(cache, cache.maxChunk);
    const { fed, feed } = feeder(cache, compact);
    feed(256);
    feed(1);
    expect(compact.mirrored).toBe(256);
    feed(1);
    expect(compact.mirrored).toBe(0);
    // The decode step at 256 held slots still fits the largest mirror (its row lands in slot 256, past it).
    expect(fed).toEqual([0, 128, 128, 256, 256, 604]);
  });

  test('the dropped mirror is freed at once (one mapped buffer behind every layer, detached), and a reset allocates it again', () => {
    const cache = makeCache({ sink: 4, window: 600, positions: 'cache', maxPos: 4000, journalTokens: 0, maxChunk: 64 });
    const compact = new CompactPast(cache, cache.maxChunk);
    const { feed } = feeder(cache, compact);
    feed(200);
    const step = cache.beginStep(1);
    const held = compact.prepare(1, step.attentionMask)!;
    const buffer = held.keys[0].buffer;
    expect([...held.keys, ...held.values].every((view) => view.buffer === buffer)).toBe(true);
    expect(buffer.byteLength).toBe(2 * GEOMETRY.layers * GEOMETRY.kvHeads * 256 * GEOMETRY.headDim * 4);
    // Its own mapping (allocKvMapped), not malloc's heap, which kept a freed mirror's pages resident.
    expect((buffer as ArrayBuffer & { resizable: boolean }).resizable).toBe(true);
    commit(cache, { P: cache.nextPos, n: 1, fed: Array.from(step.positionIds, Number) });
    feed(100);
    expect(compact.mirrored).toBe(0);
    // Detached: the views handed out before read as empty, whether or not the GC has run.
    expect(buffer.byteLength).toBe(0);
    expect(held.keys[0].length).toBe(0);
    cache.reset();
    feed(10);
    const again = compact.prepare(1, cache.beginStep(1).attentionMask)!;
    expect(again.keys[0].buffer).not.toBe(buffer);
    expect(Array.from(again.keys[1].subarray(5 * GEOMETRY.headDim, 6 * GEOMETRY.headDim))).toEqual(Array.from(keyRow(cache, 1, 0, 5)));
  });

  test.runIf(process.platform === 'linux')('every page a decode step after a prompt feeds is resident before the step: onnxruntime reads masked slots too', () => {
    // A mirror of 1,024 slots, 4 heads of 64: a head's rows span pages, as in a real model's.
    const cache = new SinkRingCache({ layers: 4, kvHeads: 4, headDim: 64 }, makeRope(64), { sink: 4, window: 2044, positions: 'cache', maxPos: 8000, journalTokens: 0, maxChunk: 128 });
    const compact = new CompactPast(cache, cache.maxChunk);
    const { feed } = feeder(cache, compact);
    feed(300);
    const past = compact.prepare(1, cache.beginStep(1).attentionMask)!;
    expect(past.length).toBe(384);
    // Read one float per 4 KiB page of what the step feeds (slots 301..383 of every head are masked and
    // were never copied into): a page first read here would be a fault inside the step's run.
    const before = process.resourceUsage().minorPageFault;
    let sum = 0;
    for (const buf of [...past.keys, ...past.values]) for (let i = 0; i < buf.length; i += 1024) sum += buf[i];
    const faults = process.resourceUsage().minorPageFault - before;
    expect(Number.isFinite(sum)).toBe(true);
    // 8 buffers × 4 heads × ~5 pages of masked rows would fault without the zeros written ahead.
    expect(faults).toBeLessThan(40);
  });

  test.runIf(process.platform === 'linux')('the decode step that grows the mirror faults in none of its new part: the steps before it zeroed that ahead', () => {
    const cache = new SinkRingCache({ layers: 4, kvHeads: 4, headDim: 64 }, makeRope(64), { sink: 4, window: 2044, positions: 'cache', maxPos: 8000, journalTokens: 0, maxChunk: 128 });
    const compact = new CompactPast(cache, cache.maxChunk);
    const { feed, mirrored } = feeder(cache, compact);
    feed(130);
    // Decode steps up to 255 held slots: the mirror stays at 256 (room for each step's row).
    while (cache.nextPos < 255) feed(1);
    expect(mirrored.at(-1)).toBe(256);
    // The step that fills slot 255 leaves 256 held: its commit grows the mirror to 384 for the next step.
    const step = cache.beginStep(1);
    expect(compact.prepare(1, step.attentionMask)!.length).toBe(256);
    commit(cache, { P: 255, n: 1, fed: Array.from(step.positionIds, Number) });
    const before = process.resourceUsage().minorPageFault;
    compact.commit(true);
    const faults = process.resourceUsage().minorPageFault - before;
    expect(compact.mirrored).toBe(384);
    // The growth's 128 new slots: 8 buffers × 4 heads × 8 pages, 256 faults when written only at the growth.
    expect(faults).toBeLessThan(40);
  });
});
