// Micro-profile of the cache's own work per decode step, without the model: beginStep, commitStep (with
// and without the undo journal), argmax over the vocabulary, and the once-per-maxPos/2 rebase step.
// Benchmark process only.
import { SinkRingCache } from '../../main/engine/cache/sinkRingCache';
import { rotateHeadRow, type RopeSpec } from '../../main/engine/rope';
import { argmax } from './benchEngine';
import { round } from './stats';

export interface CacheMicro {
  readonly beginStepUs: number;
  readonly commitStepUs: number;
  readonly commitStepJournalUs: number;
  readonly argmaxUs: number;
  /** The one step that rebases (rotates every ring key by the offset), in ms. */
  readonly rebaseStepMs: number;
  /** The same rotations done row by row with their own cos/sin (how the cache did it before RotationTable). */
  readonly rebasePerRowTrigMs: number;
}

/** Measures on a cache of the given geometry (SmolLM2 shapes by default), S=4, `window` ring slots. */
export function cacheMicro(window: number, geometry = { layers: 30, kvHeads: 3, headDim: 64 }, vocab = 49152): CacheMicro {
  const half = geometry.headDim >> 1;
  const rope: RopeSpec = { headDim: geometry.headDim, rotaryDim: geometry.headDim, invFreq: Float64Array.from({ length: half }, (_, i) => 100000 ** ((-2 * i) / geometry.headDim)) };
  const rows = Array.from({ length: geometry.layers }, () => new Float32Array(geometry.kvHeads * geometry.headDim).fill(0.5));
  const logits = Float32Array.from({ length: vocab }, (_, i) => Math.sin(i));
  const steps = 3000;
  const measure = (journal: number) => {
    // maxPos keeps C within maxPos/2 and leaves room for `steps` timed tokens before the rebase.
    const maxPos = 2 * (4 + window) + steps + 16;
    const cache = new SinkRingCache(geometry, rope, { sink: 4, window, positions: 'cache', maxPos, journalTokens: journal, maxChunk: 1 });
    for (let i = 0; i < 4 + window; i++) {
      cache.beginStep(1);
      cache.commitStep([5], rows, rows);
    }
    let begin = 0;
    let commit = 0;
    for (let i = 0; i < steps; i++) {
      let t = performance.now();
      cache.beginStep(1);
      begin += performance.now() - t;
      t = performance.now();
      cache.commitStep([5], rows, rows);
      commit += performance.now() - t;
    }
    // Run on to the rebase and time that step.
    let rebaseMs = 0;
    for (let guard = 0; guard < 4 * maxPos && cache.offset === 0; guard++) {
      const t = performance.now();
      cache.beginStep(1);
      const ms = performance.now() - t;
      cache.commitStep([5], rows, rows);
      if (cache.offset > 0) rebaseMs = ms;
    }
    return { beginUs: (begin / steps) * 1000, commitUs: (commit / steps) * 1000, rebaseMs };
  };
  const plain = measure(0);
  const journaled = measure(4096);
  let t = performance.now();
  for (let i = 0; i < 200; i++) argmax(logits);
  const argmaxUs = ((performance.now() - t) / 200) * 1000;
  // Old rebase: every ring row of every layer rotated with its own cos/sin.
  const buf = new Float32Array(geometry.kvHeads * (4 + window) * geometry.headDim).fill(0.5);
  t = performance.now();
  for (let l = 0; l < geometry.layers; l++) {
    for (let h = 0; h < geometry.kvHeads; h++) for (let j = 4; j < 4 + window; j++) rotateHeadRow(buf, (h * (4 + window) + j) * geometry.headDim, rope, -1234);
  }
  const perRow = performance.now() - t;
  return {
    beginStepUs: round(plain.beginUs, 1),
    commitStepUs: round(plain.commitUs, 1),
    commitStepJournalUs: round(journaled.commitUs, 1),
    argmaxUs: round(argmaxUs, 1),
    rebaseStepMs: round(plain.rebaseMs, 2),
    rebasePerRowTrigMs: round(perRow, 2),
  };
}
