// Sampler: greedy and filter semantics against a brute-force reference (HF order), draw frequencies,
// repetition penalty, seeding and state save/restore.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAMPLING, Sampler } from '../../../main/engine/sampling/sampler';
import type { SamplingParams } from '../../../main/engine/sampling/sampler';
import { Xoshiro128 } from '../../../main/engine/sampling/xoshiro128';

const OFF: SamplingParams = {
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  repetitionWindow: 0,
  seed: 1,
};

function params(over: Partial<SamplingParams>): SamplingParams {
  return { ...OFF, ...over };
}

/** Distribution the sampler must draw from, computed the obvious way: full sort, HF's order. */
function referenceDistribution(logits: Float32Array, p: SamplingParams): Map<number, number> {
  const ids = [...logits.keys()].filter((i) => logits[i] > -Infinity);
  ids.sort((a, b) => logits[b] - logits[a] || a - b);
  const kept = p.topK > 0 ? ids.slice(0, p.topK) : ids;
  const m = logits[kept[0]];
  const w = kept.map((i) => Math.exp((logits[i] - m) / p.temperature));
  const z = w.reduce((a, b) => a + b, 0);
  let n = kept.length;
  if (p.topP < 1) {
    let before = 0;
    n = 0;
    while (n < kept.length && before < p.topP) before += w[n++] / z;
  }
  const out = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (w[i] >= p.minP) {
      out.set(kept[i], w[i]);
      total += w[i];
    }
  }
  for (const [k, v] of out) out.set(k, v / total);
  return out;
}

/** Pearson chi-square of observed counts against expected probabilities. */
function chiSquare(counts: Map<number, number>, probs: Map<number, number>, draws: number): number {
  let chi = 0;
  for (const [id, p] of probs) {
    const expected = p * draws;
    const observed = counts.get(id) ?? 0;
    chi += ((observed - expected) ** 2) / expected;
  }
  return chi;
}

function draw(sampler: Sampler, logits: Float32Array, n: number, recent: number[] = []): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const id = sampler.sample(logits, recent);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Deterministic pseudo-random logits in [-scale, scale). */
function randomLogits(n: number, seed: number, scale = 4): Float32Array {
  const rng = new Xoshiro128(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.nextFloat() * 2 - 1) * scale;
  return out;
}

describe('Sampler: greedy', () => {
  it('takes the argmax, ties to the lowest id, ignoring NaN', () => {
    const s = new Sampler(params({ greedy: true }));
    expect(s.sample(Float32Array.of(0.1, 3, NaN, 3, -2), [])).toBe(1);
    expect(s.sample(Float32Array.of(NaN, -Infinity, -5), [])).toBe(2);
  });

  it('temperature 0 is greedy and draws nothing from the PRNG', () => {
    const s = new Sampler(params({ temperature: 0 }));
    const before = s.getState();
    expect(s.sample(Float32Array.of(1, 2, 5, 4), [])).toBe(2);
    expect(s.getState()).toEqual(before);
  });

  it('throws a clear error when no logit is finite', () => {
    const s = new Sampler(params({ greedy: true }));
    expect(() => s.sample(Float32Array.of(NaN, -Infinity), [])).toThrow(/no finite value/);
    expect(() => new Sampler(params({})).sample(Float32Array.of(NaN, NaN), [])).toThrow(/no finite value/);
    expect(() => s.sample(new Float32Array(0), [])).toThrow(/empty/);
  });

  it('top-k = 1 gives the same ids as greedy on random logits', () => {
    const greedy = new Sampler(params({ greedy: true }));
    const k1 = new Sampler(params({ topK: 1, temperature: 1.5, seed: 9 }));
    for (let t = 0; t < 50; t++) {
      const logits = randomLogits(1000, 100 + t);
      logits[(t * 37) % 1000] = logits[(t * 53) % 1000]; // plant ties now and then
      expect(k1.sample(logits, [])).toBe(greedy.sample(logits, []));
    }
  });
});

describe('Sampler: filters', () => {
  // Probabilities 0.5, 0.3, 0.2 exactly (at temperature 1).
  const three = Float32Array.of(Math.log(0.5), Math.log(0.3), Math.log(0.2));

  it('top-p keeps the smallest head reaching p and cuts the tail exactly at the threshold', () => {
    const below = draw(new Sampler(params({ topP: 0.79, seed: 3 })), three, 3000);
    expect([...below.keys()].sort()).toEqual([0, 1]);
    expect(below.get(0)! / 3000).toBeCloseTo(0.5 / 0.8, 1);
    const above = draw(new Sampler(params({ topP: 0.81, seed: 3 })), three, 3000);
    expect([...above.keys()].sort()).toEqual([0, 1, 2]);
    const head = draw(new Sampler(params({ topP: 0.49, seed: 3 })), three, 500);
    expect([...head.keys()]).toEqual([0]); // the most likely token always stays
  });

  it('min-p drops tokens below minP times the top probability', () => {
    // Ratios to the top: 1, 0.6, 0.4.
    const cut = draw(new Sampler(params({ minP: 0.5, seed: 4 })), three, 3000);
    expect([...cut.keys()].sort()).toEqual([0, 1]);
    const kept = draw(new Sampler(params({ minP: 0.39, seed: 4 })), three, 3000);
    expect([...kept.keys()].sort()).toEqual([0, 1, 2]);
  });

  it('top-k keeps the k largest, ties to the lower id', () => {
    const logits = Float32Array.of(1, 5, 3, 5, 3, -1);
    const counts = draw(new Sampler(params({ topK: 3, seed: 5 })), logits, 2000);
    expect([...counts.keys()].sort()).toEqual([1, 2, 3]);
  });

  it('never draws a token outside the reference support, for every filter mix', () => {
    const logits = randomLogits(5000, 77, 6);
    const mixes: Partial<SamplingParams>[] = [
      { topK: 40 },
      { topK: 40, topP: 0.9 },
      { topP: 0.9 },
      { topP: 0.5, temperature: 0.5 },
      { minP: 0.05 },
      { topK: 200, topP: 0.95, minP: 0.1, temperature: 0.8 },
      { topP: 0.999, temperature: 2 },
    ];
    for (const mix of mixes) {
      const p = params({ ...mix, seed: 11 });
      const support = referenceDistribution(logits, p);
      const counts = draw(new Sampler(p), logits, 200);
      for (const id of counts.keys()) expect(support.has(id), `${JSON.stringify(mix)} drew ${id}`).toBe(true);
    }
  });

  it('draws with the softmax frequencies (chi-square, 5 degrees of freedom, p = 0.001)', () => {
    const logits = Float32Array.of(1.2, 0.4, -0.3, 2.0, 0.0, -1.5);
    const cases: Partial<SamplingParams>[] = [
      { temperature: 0.7 },
      { temperature: 1.6 },
      { temperature: 1, topK: 3 },
      { temperature: 1, topP: 0.8 },
      { temperature: 1.3, minP: 0.2 },
    ];
    for (const c of cases) {
      const p = params({ ...c, seed: 2024 });
      const probs = referenceDistribution(logits, p);
      const n = 40_000;
      const counts = draw(new Sampler(p), logits, n);
      for (const id of counts.keys()) expect(probs.has(id)).toBe(true);
      const df = probs.size - 1;
      // Critical values of chi-square at p = 0.001 for df 1..5.
      const critical = [10.83, 13.82, 16.27, 18.47, 20.52][df - 1];
      expect(chiSquare(counts, probs, n), JSON.stringify(c)).toBeLessThan(critical);
    }
  });

  it('keeps exactly the reference nucleus, ties at the boundary going to the lower ids', () => {
    const logits = new Float32Array(2000).fill(-12);
    const tied = Array.from({ length: 50 }, (_, k) => (k * 37 + 11) % 2000);
    for (const id of tied) logits[id] = 0; // 50 equally likely tokens, scattered ids
    logits[5] = 0.5; // one clear leader
    for (const [p, draws] of [
      [params({ topP: 0.5, seed: 21 }), 20_000],
      [params({ topP: 0.3, temperature: 0.9, topK: 45, seed: 22 }), 20_000],
    ] as const) {
      const support = referenceDistribution(logits, p);
      expect(support.size).toBeGreaterThan(10);
      expect(support.size).toBeLessThan(45);
      const counts = draw(new Sampler(p), logits, draws);
      expect([...counts.keys()].sort((a, b) => a - b)).toEqual([...support.keys()].sort((a, b) => a - b));
    }
  });

  it('samples a 150K vocabulary with top-k and top-p within the reference support', () => {
    const logits = randomLogits(150_000, 5, 8);
    const p = params({ temperature: 0.8, topK: 40, topP: 0.9, seed: 8 });
    const support = referenceDistribution(logits, p);
    const s = new Sampler(p);
    for (let i = 0; i < 30; i++) expect(support.has(s.sample(logits, []))).toBe(true);
    const nucleus = params({ temperature: 0.3, topP: 0.5, seed: 8 });
    const nucleusSupport = referenceDistribution(logits, nucleus);
    const s2 = new Sampler(nucleus);
    for (let i = 0; i < 10; i++) expect(nucleusSupport.has(s2.sample(logits, []))).toBe(true);
  });
});

describe('Sampler: repetition penalty', () => {
  it('divides positive logits and multiplies negative ones (HF/CTRL rule)', () => {
    const s = new Sampler(params({ greedy: true, repetitionPenalty: 1.2, repetitionWindow: 8 }));
    expect(s.sample(Float32Array.of(2.0, 1.9, -1), [])).toBe(0);
    expect(s.sample(Float32Array.of(2.0, 1.9, -1), [0])).toBe(1); // 2 / 1.2 < 1.9
    expect(s.sample(Float32Array.of(-1.0, -1.1), [])).toBe(0);
    expect(s.sample(Float32Array.of(-1.0, -1.1), [0])).toBe(1); // -1 * 1.2 < -1.1
  });

  it('penalises each distinct id once and only inside the window', () => {
    const s = new Sampler(params({ greedy: true, repetitionPenalty: 1.2, repetitionWindow: 3 }));
    // Once: 2 / 1.2 = 1.67 > 1.5; three times would be 2 / 1.728 = 1.16 < 1.5.
    expect(s.sample(Float32Array.of(2.0, 1.5), [0, 0, 0])).toBe(0);
    expect(s.sample(Float32Array.of(2.0, 1.9), [0, 1, 1, 1])).toBe(0); // 0 fell out of the window
    expect(s.sample(Float32Array.of(2.0, 1.9, 0, 0, 0, 0), [5, 5, 0])).toBe(1);
  });

  it('ignores out-of-range ids and leaves the caller\'s logits unchanged', () => {
    const s = new Sampler(params({ repetitionPenalty: 1.5, repetitionWindow: 10, topK: 2 }));
    const logits = Float32Array.of(3, -2, 1, 0.5);
    const copy = logits.slice();
    s.sample(logits, [0, 1, 99, -4, 2.5, 1]);
    expect(logits).toEqual(copy);
  });
});

describe('Sampler: seeding and state', () => {
  const logits = randomLogits(300, 42, 3);
  const p = params({ temperature: 1, topK: 50, topP: 0.95, seed: 1234 });

  function run(s: Sampler, n: number): number[] {
    return Array.from({ length: n }, () => s.sample(logits, []));
  }

  it('gives the same ids for the same seed and different ids for another', () => {
    const a = run(new Sampler(p), 64);
    expect(run(new Sampler(p), 64)).toEqual(a);
    expect(run(new Sampler({ ...p, seed: 1235 }), 64)).not.toEqual(a);
  });

  it('resumes identically from a saved state', () => {
    const s = new Sampler(p);
    run(s, 17);
    const state = Array.from(s.getState());
    const expected = run(s, 40);
    const restored = new Sampler({ ...p, seed: 999 });
    restored.setState(state);
    expect(run(restored, 40)).toEqual(expected);
  });

  it('keeps the stream across setParams unless the seed changes', () => {
    const a = new Sampler(p);
    const b = new Sampler(p);
    run(a, 5);
    run(b, 5);
    b.setParams({ ...p, topP: 0.9 });
    expect(b.getState()).toEqual(a.getState());
    b.setParams({ ...p, seed: 77 });
    expect(b.getState()).toEqual(new Sampler({ ...p, seed: 77 }).getState());
  });

  it('rejects malformed states and parameters', () => {
    const s = new Sampler(p);
    expect(() => s.setState([1, 2, 3])).toThrow(/4 words/);
    expect(() => s.setState([0, 0, 0, 0])).toThrow(/all zero/);
    expect(() => s.setState([1, 2, 3, 2 ** 32])).toThrow(/uint32/);
    expect(() => new Sampler({ ...p, topP: 0 })).toThrow(/topP/);
    expect(() => new Sampler(DEFAULT_SAMPLING)).not.toThrow();
  });
});

describe('Xoshiro128', () => {
  it('matches the reference C implementation of xoshiro128** 1.1 from state {1, 2, 3, 4}', () => {
    const rng = new Xoshiro128(0);
    rng.setState([1, 2, 3, 4]);
    // Output of Vigna's xoshiro128starstar.c compiled with gcc.
    expect(Array.from({ length: 6 }, () => rng.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('seeds distinct streams for nearby and large seeds, floats in [0, 1)', () => {
    const first = (seed: number): number => new Xoshiro128(seed).nextUint32();
    const seen = new Set([0, 1, 2, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER].map(first));
    expect(seen.size).toBe(6);
    const rng = new Xoshiro128(5);
    for (let i = 0; i < 1000; i++) {
      const x = rng.nextFloat();
      expect(x >= 0 && x < 1).toBe(true);
    }
    expect(() => new Xoshiro128(-1)).toThrow(RangeError);
    expect(() => new Xoshiro128(1.5)).toThrow(RangeError);
  });
});
