// The Attention mode's pure parts: the log colour scale, how shares are printed, the most-attended slots
// and the sinks' share of a frame, the counters' texts and the sparkline, and the mirror keeping the
// latest frame and the share history per stream. Vitest (Node).
import { describe, expect, it } from 'vitest';
import { attentionFrame, formatShare, sinkShare, topSlots } from '../../common/attentionView';
import { attentionCounters, sparkPoints } from '../../renderer/components/cache/AttentionSummary';
import { HEAT_STEPS, heatStep } from '../../renderer/components/cache/attentionScale';
import { CacheMirror } from '../../renderer/state/cacheMirror';

describe('attention scale and summaries', () => {
  it('maps mass to colour steps on a log scale from 1e-4 to 1', () => {
    expect(heatStep(0)).toBe(0);
    expect(heatStep(1e-6)).toBe(0);
    expect(heatStep(1e-4)).toBe(0);
    expect(heatStep(1e-2)).toBe(Math.round((HEAT_STEPS - 1) / 2));
    expect(heatStep(1)).toBe(HEAT_STEPS - 1);
    expect(heatStep(0.3)).toBeGreaterThan(heatStep(0.03));
  });

  it('prints shares with three digits at most', () => {
    expect(formatShare(0)).toBe('0');
    expect(formatShare(0.41234)).toBe('41.2%');
    expect(formatShare(0.0035)).toBe('0.35%');
    expect(formatShare(1.2e-5)).toBe('0.0012%');
  });

  it('lists the most-attended slots with their positions, and the sinks’ share', () => {
    const mass = [0.5, 0.1, 0, 0.05, 0.3, 0.05];
    const pos = [0, 1, -1, 9, 10, 11];
    expect(topSlots(mass, pos, 3)).toEqual([
      { slot: 0, pos: 0, mass: 0.5 },
      { slot: 4, pos: 10, mass: 0.3 },
      { slot: 1, pos: 1, mass: 0.1 },
    ]);
    expect(sinkShare(mass, 2)).toBeCloseTo(0.6, 12);
    const frame = attentionFrame({ layers: [Float32Array.from(mass), Float32Array.from([1, 0, 0, 0, 0, 0])], mean: Float32Array.from(mass) }, 1, 2, pos);
    expect(frame.layer).toBe(1);
    expect(frame.sinkShare).toBe(1);
    expect(frame.layerSinkShare[0]).toBeCloseTo(0.6, 6);
    expect(() => attentionFrame({ layers: [], mean: new Float32Array(1) }, 3, 1, [0])).toThrow(/layer 3 is outside/);
  });

  it('writes the counters and the sparkline from the mirror', () => {
    const mirror = new CacheMirror();
    expect(attentionCounters(mirror)).toEqual({ sinks: '–', window: '–', top: '–' });
    mirror.apply(1, 's', { kind: 'start', geometry: { sink: 1, window: 2, capacity: 3, pinBudget: 0, positions: 'cache' }, header: { nextPos: 0, head: 0, evicted: 0, firstVisible: 1, offset: 0, sinkRopeShift: 0 } });
    const header = { nextPos: 1, head: 1, evicted: 0, firstVisible: 1, offset: 0, sinkRopeShift: 0 };
    const row = { slot: 0, pos: 0, tokenId: 7, ropePos: 0, text: ' a', message: null, char: -1 };
    const frame = { layer: null, layerCount: 1, mass: [0.75, 0.25, 0], sinkShare: 0.75, layerSinkShare: [0.75], top: [{ slot: 0, pos: 0, mass: 0.75 }] };
    mirror.apply(2, 's', { kind: 'write', rows: [row], rebased: false, header, attention: frame });
    mirror.apply(3, 's', { kind: 'write', rows: [{ ...row, slot: 1, pos: 1 }], rebased: false, header: { ...header, nextPos: 2, head: 2 }, attention: { ...frame, sinkShare: 0.5 } });
    expect(mirror.sinkShares).toEqual([0.75, 0.5]);
    expect(attentionCounters(mirror)).toEqual({ sinks: '50.0%', window: '50.0%', top: 'slot 0 “␣a” 75.0%' });
    expect(sparkPoints(mirror.sinkShares)).toBe('0.0,9.0 240.0,18.0');
    // A new stream starts a new history.
    mirror.apply(4, 't', { kind: 'start', geometry: { sink: 1, window: 2, capacity: 3, pinBudget: 0, positions: 'cache' }, header: { ...header, nextPos: 0, head: 0 } });
    expect(mirror.attention).toBeNull();
    expect(mirror.sinkShares).toEqual([]);
  });
});
