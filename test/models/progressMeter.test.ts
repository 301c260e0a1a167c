// Speed, ETA and throttling of download progress, on a fake clock.
import { describe, expect, it } from 'vitest';
import { ProgressMeter } from '../../main/models/progressMeter';

describe('ProgressMeter', () => {
  it('emits at most one reading per interval', () => {
    let t = 0;
    const m = new ProgressMeter(1000, { intervalMs: 250, now: () => t });
    const emitted: number[] = [];
    for (let i = 1; i <= 20; i++) {
      t = i * 50;
      if (m.update(i * 10) !== null) emitted.push(t);
    }
    expect(emitted).toEqual([50, 300, 550, 800]);
  });

  it('computes speed over the recent window and the ETA from it; resumed bytes do not count as speed', () => {
    let t = 0;
    const m = new ProgressMeter(10_000, { intervalMs: 0, windowMs: 2000, now: () => t });
    m.reset(4000); // a resumed part
    expect(m.reading()).toEqual({ receivedBytes: 4000, totalBytes: 10_000, bytesPerSecond: 0, etaSeconds: null });
    t = 1000;
    const r = m.update(5000);
    expect(r?.bytesPerSecond).toBe(1000);
    expect(r?.etaSeconds).toBe(5);
    // A slower second: the window average follows.
    t = 2000;
    m.update(5500);
    t = 3000;
    const slow = m.update(5600);
    expect(slow?.bytesPerSecond).toBeCloseTo((5600 - 5000) / 2, 6);
    expect(slow?.etaSeconds).toBeCloseTo(4400 / 300, 6);
    t = 4000;
    expect(m.update(10_000)?.etaSeconds).toBe(0);
  });
});
