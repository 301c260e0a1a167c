// The renderer's cache model against the engine's SinkRingCache: deltas applied in place equal a fresh
// view after every step (rebases included), rewinds the engine makes without a delta are undone from
// the model's journal, the last step's writes are tracked, and positions map to slots. Vitest (Node).
import { describe, expect, it } from 'vitest';
import type { SinkRingCache } from '../../main/engine/cache/sinkRingCache';
import type { CacheViewWithText } from '../../common/contract';
import { slotOf } from '../../common/cacheGeometry';
import { CacheModel } from '../../renderer/state/cacheModel';
import { feed, makeCache, makeRng, randomStep, tokenAt } from '../engine/cache/cacheTestKit';

const text = (id: number) => `t${id}`;

function viewOf(cache: SinkRingCache): CacheViewWithText {
  const view = cache.view();
  return { ...view, texts: view.slots.map((s) => (s.tokenId >= 0 ? text(s.tokenId) : '')) };
}

/** Every per-slot field of the model equals the engine's fresh view. */
function expectSame(model: CacheModel, cache: SinkRingCache): void {
  const view = cache.view();
  expect({ nextPos: model.nextPos, head: model.head, firstVisible: model.firstVisible, evicted: model.evicted, offset: model.offset }).toEqual({
    nextPos: view.nextPos,
    head: view.head,
    firstVisible: view.firstVisible,
    evicted: view.evicted,
    offset: view.offset,
  });
  const got = view.slots.map((s) => ({ pos: model.pos[s.slot], ropePos: model.ropePos[s.slot], tokenId: model.tokenId[s.slot], visible: model.visible(s.slot), text: model.texts[s.slot] }));
  expect(got).toEqual(view.slots.map((s) => ({ pos: s.pos, ropePos: s.ropePos, tokenId: s.tokenId, visible: s.visible, text: s.tokenId >= 0 ? text(s.tokenId) : '' })));
}

describe('CacheModel', () => {
  it('stays equal to a fresh view through random steps and rebases, in both positions modes', () => {
    for (const positions of ['cache', 'original'] as const) {
      const cache = makeCache({ sink: 3, window: 6, positions, maxPos: 20, maxChunk: 5 });
      const model = new CacheModel();
      model.load(viewOf(cache));
      const rng = makeRng(5);
      let rebases = 0;
      for (let s = 0; s < 200; s++) {
        const { delta } = feed(cache, randomStep(cache, rng));
        if (delta.rebased) rebases++;
        model.apply(delta, delta.writes.map((w) => text(w.tokenId)));
        expectSame(model, cache);
      }
      expect(rebases).toBeGreaterThan(5);
    }
  });

  it('marks exactly the slots the last step wrote', () => {
    const cache = makeCache({ sink: 2, window: 8, maxPos: 1000, maxChunk: 8 });
    const model = new CacheModel();
    model.load(viewOf(cache));
    expect(Array.from({ length: 10 }, (_, j) => model.writtenLast(j))).toEqual(Array(10).fill(false));
    model.apply(feed(cache, 5).delta, []);
    model.apply(feed(cache, 3).delta, []);
    const last = Array.from({ length: 10 }, (_, j) => model.writtenLast(j));
    expect(last).toEqual([false, false, false, false, false, true, true, true, false, false]);
    model.apply(feed(cache, 1).delta, []);
    expect(Array.from({ length: 10 }, (_, j) => model.writtenLast(j)).filter(Boolean)).toHaveLength(1);
    expect(model.writtenLast(slotOf(8, 2, 8))).toBe(true);
  });

  it('undoes a rewind the engine made without a delta from its journal, then follows the new tokens', () => {
    const cache = makeCache({ sink: 2, window: 6, maxPos: 1000, maxChunk: 6 });
    const model = new CacheModel();
    model.load(viewOf(cache));
    for (let s = 0; s < 8; s++) model.apply(feed(cache, s === 0 ? 6 : 1).delta, []);
    expect(cache.nextPos).toBe(13);
    // Regenerate: the engine rewinds 5 tokens exactly (slots get their old tokens back), then decodes.
    expect(cache.rewind(5)).toBe(true);
    const { delta } = feed(cache, 1);
    expect(delta.writes[0].pos).toBe(8);
    model.apply(delta, delta.writes.map((w) => text(w.tokenId)));
    const view = cache.view();
    expect(view.slots.map((s) => model.pos[s.slot])).toEqual(view.slots.map((s) => s.pos));
    expect(view.slots.map((s) => model.tokenId[s.slot])).toEqual(view.slots.map((s) => s.tokenId));
    expect(model.pos.includes(12)).toBe(false);
  });

  it('empties what it cannot restore when the journal does not reach back', () => {
    const cache = makeCache({ sink: 2, window: 4, maxPos: 1000, maxChunk: 4 });
    for (let s = 0; s < 3; s++) feed(cache, 4);
    const model = new CacheModel();
    model.load(viewOf(cache));
    // The model saw none of the overwrites: a rewind to position 8 leaves the slots past it empty.
    expect(cache.rewind(4)).toBe(true);
    model.apply(feed(cache, 1).delta, []);
    const held = Array.from(model.pos).filter((p) => p >= 0);
    expect(held).toEqual([0, 1, 8]);
  });

  it('starts empty with a given geometry, maps positions to the slots holding them, and clears', () => {
    const model = new CacheModel();
    expect(model.loaded).toBe(false);
    model.start(4, 32, 'cache');
    expect({ capacity: model.capacity, nextPos: model.nextPos, firstVisible: model.firstVisible, loaded: model.loaded }).toEqual({
      capacity: 36,
      nextPos: 0,
      firstVisible: 4,
      loaded: true,
    });
    const cache = makeCache({ sink: 4, window: 32, maxPos: 1000, maxChunk: 32 });
    model.apply(feed(cache, 20).delta, []);
    model.apply(feed(cache, 20).delta, []);
    expect(model.slotHolding(39)).toBe(slotOf(39, 4, 32));
    expect(model.slotHolding(5)).toBe(-1); // overwritten by 37
    expect(model.tokenId[model.slotHolding(2)]).toBe(tokenAt(2));
    expect(model.ringFill()).toBe(32);
    const version = model.version;
    model.clear();
    expect(model.loaded).toBe(false);
    expect(model.capacity).toBe(0);
    expect(model.version).toBeGreaterThan(version);
  });

  it('names each slot’s message from a view’s owners and interns message ids', () => {
    const cache = makeCache({ sink: 1, window: 3, maxPos: 1000, maxChunk: 4 });
    feed(cache, 3);
    const model = new CacheModel();
    model.load({ ...viewOf(cache), owners: { message: [-1, 0, 1, -1], char: [-1, 0, 5, -1], pinnedChars: [0, 0], located: [true, true], ids: ['', 'u1'] } });
    expect(Array.from(model.owner)).toEqual([-1, model.ownerIndex(''), model.ownerIndex('u1'), -1]);
    expect(Array.from(model.ownerChar)).toEqual([-1, 0, 5, -1]);
    expect(model.ownerIds).toEqual(['', 'u1']);
  });
});
