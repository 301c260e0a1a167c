// Sampler: picks the next token from the last position's logits (repetition penalty, temperature,
// top-k, top-p, min-p) with a seeded, savable PRNG. Runs in the engine host, once per decode step.
import { isGreedy, validateSamplingParams } from './samplingParams';
import type { SamplingParams } from './samplingParams';
import { ID_SPACE, descendingRank, partition, selectTopK } from './selection';
import { Xoshiro128 } from './xoshiro128';

export { DEFAULT_SAMPLING, SamplingParamsError, validateSamplingParams } from './samplingParams';
export type { SamplingParams } from './samplingParams';

/**
 * Chooses token ids. The pipeline follows transformers' generate(): repetition penalty over the last
 * `repetitionWindow` tokens (each distinct id once: positive logits / penalty, negative × penalty),
 * then temperature, top-k, top-p (renormalised over the top-k set; the most likely token always
 * stays), then min-p (relative to the most likely token), then one draw. Temperature 0 or `greedy`
 * gives the argmax, ties to the lowest id, and draws nothing from the PRNG; otherwise each call
 * draws exactly one 32-bit number from xoshiro128**. NaN and -Infinity logits are never chosen.
 *
 * Cost per call, V = logits.length: greedy O(V); top-k O(V log k) worst case with k-sized scratch;
 * top-p O(V) expected (an exact prefilter drops the tail, a weighted quickselect finds the nucleus
 * boundary without sorting). Scratch buffers are reused across calls; the logits are restored
 * before return (the penalty edits them in place and puts the originals back).
 */
export class Sampler {
  private current: SamplingParams;
  private readonly rng: Xoshiro128;

  // Reused scratch: candidates (top-k heap or gathered tokens), their weights, top-p sort keys.
  private candIds = new Int32Array(0);
  private candLogits = new Float32Array(0);
  private candW = new Float64Array(0);
  private keys = new Float64Array(0);
  // Repetition penalty: generation stamps dedupe ids without clearing a vocab-sized array per call.
  private stamp = new Uint32Array(0);
  private stampGen = 0;
  private penIds = new Int32Array(0);
  private penOrig = new Float32Array(0);

  /** Throws SamplingParamsError when `params` are invalid. */
  constructor(params: Readonly<SamplingParams>) {
    this.current = validateSamplingParams(params);
    this.rng = new Xoshiro128(this.current.seed);
  }

  get params(): Readonly<SamplingParams> {
    return this.current;
  }

  /** Changes the parameters; the PRNG stream continues unless the seed changed (then it restarts). */
  setParams(params: Readonly<SamplingParams>): void {
    const next = validateSamplingParams(params);
    if (next.seed !== this.current.seed) this.rng.seed(next.seed);
    this.current = next;
  }

  /** The PRNG state (4 uint32 words) to store in a snapshot. */
  getState(): Uint32Array {
    return this.rng.getState();
  }

  /** Restores a state from getState, so sampling continues exactly where the snapshot left it. */
  setState(state: ArrayLike<number>): void {
    this.rng.setState(state);
  }

  /**
   * The next token id for `logits` (one row, length V). `recentTokens` is the token history, oldest
   * first; only its last `repetitionWindow` entries matter. Throws when no logit is finite.
   */
  sample(logits: Float32Array, recentTokens: ArrayLike<number>): number {
    if (logits.length === 0) throw new Error('cannot sample from empty logits');
    const penalised = this.applyPenalty(logits, recentTokens);
    try {
      return isGreedy(this.current) ? this.argmax(logits) : this.draw(logits);
    } finally {
      for (let i = 0; i < penalised; i++) logits[this.penIds[i]] = this.penOrig[i];
    }
  }

  private applyPenalty(logits: Float32Array, recent: ArrayLike<number>): number {
    const { repetitionPenalty: penalty, repetitionWindow: window } = this.current;
    if (penalty === 1 || window === 0 || recent.length === 0) return 0;
    const V = logits.length;
    if (this.stamp.length < V) {
      this.stamp = new Uint32Array(V);
      this.stampGen = 0;
    }
    if (this.stampGen === 0xffffffff) {
      this.stamp.fill(0);
      this.stampGen = 0;
    }
    const gen = ++this.stampGen;
    const start = Math.max(0, recent.length - window);
    if (this.penIds.length < recent.length - start) {
      this.penIds = new Int32Array(recent.length - start);
      this.penOrig = new Float32Array(recent.length - start);
    }
    let n = 0;
    for (let i = start; i < recent.length; i++) {
      const id = recent[i];
      if (!(id >= 0 && id < V) || !Number.isInteger(id) || this.stamp[id] === gen) continue;
      this.stamp[id] = gen;
      const v = logits[id];
      this.penIds[n] = id;
      this.penOrig[n] = v;
      n++;
      logits[id] = v < 0 ? v * penalty : v / penalty;
    }
    return n;
  }

  private argmax(logits: Float32Array): number {
    let best = -Infinity;
    let bestId = -1;
    for (let i = 0; i < logits.length; i++) {
      if (logits[i] > best) {
        best = logits[i];
        bestId = i;
      }
    }
    if (bestId < 0) throw new Error('logits hold no finite value (all NaN or -Infinity): the model output is broken');
    return bestId;
  }

  private draw(logits: Float32Array): number {
    const V = logits.length;
    const bestId = this.argmax(logits);
    const m = logits[bestId];
    if (m === Infinity) {
      this.rng.nextUint32(); // keep "one draw per sampled token" even for this degenerate row
      return bestId;
    }
    const { temperature: T, topK, topP, minP } = this.current;
    const useTopK = topK > 0 && topK < V;
    let n: number;
    let mass = 0; // sum of weights over the top-k survivors: top-p's normaliser
    if (useTopK) {
      n = this.selectTopK(logits, topK);
      for (let i = 0; i < n; i++) mass += this.candW[i] = Math.exp((this.candLogits[i] - m) / T);
    } else {
      // Every weight is <= 1 at the max. Which tokens can be drawn at all decides the gather threshold:
      // min-p's bound, and for top-p the exact prefilter w >= (1 - topP)·Z/2V (the tokens below it
      // sum to under half of 1 - topP of the mass, so the nucleus is full before reaching any).
      let minW = minP;
      if (topP < 1) {
        for (let i = 0; i < V; i++) {
          const v = logits[i];
          if (v > -Infinity) mass += Math.exp((v - m) / T);
        }
        minW = Math.max(minW, ((1 - topP) * mass) / (2 * V));
      }
      // Gather a hair below the bound (logit-space rounding); the exact min-p test on weights follows.
      const slack = 1e-6 * (Math.abs(m) + 1);
      n = this.gather(logits, minW > 0 ? m + T * Math.log(minW) - slack : -Infinity);
      for (let i = 0; i < n; i++) this.candW[i] = Math.exp((this.candLogits[i] - m) / T);
    }
    // Top-p: the most likely candidates, up to the one where the mass before it reaches p.
    if (topP < 1) n = this.nucleus(logits, n, m, T, topP * mass);
    const ids = this.candIds;
    const w = this.candW;
    let total = 0;
    for (let i = 0; i < n; i++) if (w[i] >= minP) total += w[i];
    const u = this.rng.nextFloat() * total;
    let acc = 0;
    let last = bestId;
    for (let i = 0; i < n; i++) {
      if (w[i] < minP) continue;
      acc += w[i];
      last = ids[i];
      if (u < acc) return ids[i];
    }
    return last; // u rounded up to the total: the last kept token
  }

  /**
   * Keeps the nucleus: in order of descending logit (ties: lower id first), every candidate whose
   * preceding mass is below `limit`. A weighted quickselect finds the boundary in expected O(n)
   * without sorting (a sort of a 150K nucleus costs ~15 ms in V8). Each candidate gets a unique
   * float64 key, (order-preserving bits of -logit) · 2^21 + id, so the order is total. Rewrites
   * candIds/candW[0, kept) with the nucleus (in partition order) and returns `kept`.
   */
  private nucleus(logits: Float32Array, n: number, m: number, T: number, limit: number): number {
    if (logits.length > ID_SPACE) return this.nucleusByComparator(logits, n, m, T, limit);
    if (this.keys.length < n) this.keys = new Float64Array(this.candIds.length);
    const keys = this.keys;
    const w = this.candW;
    for (let j = 0; j < n; j++) keys[j] = descendingRank(this.candLogits[j]) * ID_SPACE + this.candIds[j];
    let lo = 0;
    let hi = n;
    let before = 0; // mass of candidates [0, lo): all ahead of the range, all kept
    let kept = n;
    while (lo < hi) {
      const p = partition(keys, w, lo, hi);
      let low = 0;
      for (let j = lo; j < p; j++) low += w[j];
      if (before + low >= limit) {
        hi = p; // the boundary is ahead of the pivot: the pivot and everything after it go
        kept = p;
      } else if (before + low + w[p] >= limit) {
        kept = p + 1; // the pivot is the last token kept
        break;
      } else {
        before += low + w[p];
        lo = p + 1;
      }
    }
    // Ending on an empty range means everything before its end (a dropped pivot, or n) is kept.
    for (let j = 0; j < kept; j++) this.candIds[j] = keys[j] % ID_SPACE;
    return kept;
  }

  /** nucleus for vocabularies too large for the packed keys (over 2M ids). */
  private nucleusByComparator(logits: Float32Array, n: number, m: number, T: number, limit: number): number {
    const ids = Array.from(this.candIds.subarray(0, n));
    ids.sort((a, b) => logits[b] - logits[a] || a - b);
    let before = 0;
    let kept = 0;
    while (kept < n && before < limit) {
      const wi = Math.exp((logits[ids[kept]] - m) / T);
      this.candIds[kept] = ids[kept];
      this.candW[kept] = wi;
      before += wi;
      kept++;
    }
    return kept;
  }

  /** Top-k by logit into the candidate buffers; returns the count. */
  private selectTopK(logits: Float32Array, k: number): number {
    this.ensureCandidates(k);
    return selectTopK(logits, k, this.candIds, this.candLogits);
  }

  /** Every token with logit >= `threshold` (and finite) into the candidate buffers, in id order. */
  private gather(logits: Float32Array, threshold: number): number {
    this.ensureCandidates(logits.length);
    let n = 0;
    for (let i = 0; i < logits.length; i++) {
      const v = logits[i];
      if (v >= threshold && v > -Infinity) {
        this.candIds[n] = i;
        this.candLogits[n] = v;
        n++;
      }
    }
    return n;
  }

  private ensureCandidates(size: number): void {
    if (this.candIds.length >= size) return;
    this.candIds = new Int32Array(size);
    this.candLogits = new Float32Array(size);
    this.candW = new Float64Array(size);
  }
}
