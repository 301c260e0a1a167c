// Generation statistics: a plain struct filled by the runner and chat session (engine host thread).

/** Timings and counters of one generate call plus the cache totals after it. */
export interface GenerationStats {
  /** Milliseconds spent loading the model (session creation, probe); 0 after the first generation. */
  loadMs: number;
  /** Tokens the stream holds once the prompt is fed: the whole conversation so far (OpenAI's prompt_tokens). */
  promptTokens: number;
  /** Tokens fed before the first sampled token: the new turn's prompt delta plus any re-prefill. */
  prefillTokens: number;
  prefillMs: number;
  prefillTokPerSec: number;
  /** Tokens sampled (including a final EOS/stop token that is not fed). */
  decodeTokens: number;
  decodeMs: number;
  decodeTokPerSec: number;
  /** From the start of the request to the first sampled token. */
  timeToFirstTokenMs: number;
  /** Tokens of earlier turns that had to be fed again (rewinds beyond the journal, template mismatches). */
  reprocessedTokens: number;
  /** Cache totals after the call. */
  tokensSeen: number;
  tokensEvicted: number;
  kvBytes: number;
}

export function emptyStats(): GenerationStats {
  return {
    loadMs: 0,
    promptTokens: 0,
    prefillTokens: 0,
    prefillMs: 0,
    prefillTokPerSec: 0,
    decodeTokens: 0,
    decodeMs: 0,
    decodeTokPerSec: 0,
    timeToFirstTokenMs: 0,
    reprocessedTokens: 0,
    tokensSeen: 0,
    tokensEvicted: 0,
    kvBytes: 0,
  };
}

export function perSecond(tokens: number, ms: number): number {
  return ms > 0 ? (tokens * 1000) / ms : 0;
}
