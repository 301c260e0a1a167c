// Streaming perplexity (engine host thread or a CLI process): text fed one token at a time through the
// sink-ring cache, each next token scored — StreamingLLM's eval_long_ppl.py protocol — or, with
// `recompute`, the sliding-window-with-recomputation oracle; `pin` pins a span of the text once it is fed
// (DESIGN §3 "Pinned memory").
import { attentionFrame, type AttentionFrame } from '../../common/attentionView';
import type { PositionsMode } from '../../common/cacheGeometry';
import { openStream, type LoadedModel } from './loadedModel';

export interface StreamingEvalOptions {
  readonly sink: number;
  readonly window: number;
  readonly positions: PositionsMode;
  /**
   * Score each token by a fresh forward pass over the previous `window` tokens at positions 0..W-1
   * (StreamingLLM's "sliding window with re-computation"), instead of streaming through the cache.
   */
  readonly recompute?: boolean;
  /** Report each step's attention (the mean over layers, by slot); not with `recompute`. */
  readonly attention?: boolean;
  /**
   * Pins text positions [start, end) as soon as they are fed (their rows copied from the ring; a span
   * longer than the window is fed again); the pin budget is the span's length. Not with `recompute`.
   */
  readonly pin?: { readonly start: number; readonly end: number };
}

export interface TokenNll {
  /** Position of the scored token in the text. */
  readonly pos: number;
  readonly nll: number;
  /** With `attention`: the step's frame (share to the sinks, per layer too, and the most-attended slots). */
  readonly attention?: AttentionFrame;
}

/** Yields the negative log-likelihood of ids[1..] given what precedes each one. */
export async function* streamingNll(
  model: LoadedModel,
  ids: readonly number[],
  options: StreamingEvalOptions,
): AsyncGenerator<TokenNll> {
  const recompute = options.recompute === true;
  const { pin } = options;
  if (pin && recompute) throw new Error('a pinned span needs the streaming cache, not the recompute oracle');
  const { cache, runner } = openStream(model, {
    sink: recompute ? 0 : options.sink,
    window: options.window,
    positions: options.positions,
    journalTokens: 0,
    maxChunk: recompute ? options.window : 1,
    pinBudget: pin ? pin.end - pin.start : 0,
  });
  if (options.attention) {
    if (recompute) throw new Error('attention is reported for the streaming cache, not with recompute');
    runner.attention = true;
  }
  for (let t = 0; t + 1 < ids.length; t++) {
    let logits: Float32Array | null;
    if (recompute) {
      cache.reset();
      logits = await runner.feed(ids.slice(Math.max(0, t - options.window + 1), t + 1));
    } else {
      logits = await runner.feed([ids[t]]);
      if (pin && t + 1 === pin.end) await runner.pin(pin.start, pin.end, ids.slice(pin.start, pin.end));
    }
    const nll = negativeLogLikelihood(logits!, ids[t + 1]);
    const attention = runner.lastSlotAttention;
    yield attention ? { pos: t + 1, nll, attention: attentionFrame(attention, null, cache.sink, cache.slotPos) } : { pos: t + 1, nll };
  }
}

/** −log softmax(logits)[target], computed stably in double precision. */
export function negativeLogLikelihood(logits: Float32Array, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return Math.log(sum) + max - logits[target];
}
