// The benchmark sections by name, in the order `npm run bench` runs them (benchmark process only).
import type { BenchContext, SectionResult } from '../lib/benchContext';

export interface Section {
  readonly name: string;
  /** Issue 6 item it answers (11: issue 11, what a chat turn feeds). */
  readonly item: number;
  readonly summary: string;
  readonly load: () => Promise<{ run: (ctx: BenchContext) => Promise<SectionResult> }>;
}

export const SECTIONS: readonly Section[] = [
  { name: 'latency', item: 1, summary: 'decode latency vs position, p50/p95 per bucket (fixture, S=4, W=1024 and 2048)', load: () => import('./decodeLatency') },
  { name: 'overhead', item: 2, summary: 'our decode step vs a bare session.run loop with identical feeds', load: () => import('./overhead') },
  { name: 'attention', item: 18, summary: 'the attention view’s cost: closed vs the graph without it, open (app, CLI) vs closed, step by step', load: () => import('./attentionCost') },
  { name: 'tjs', item: 3, summary: 'transformers.js generate() vs Ouro at 512/1K/2K context; transformers.js past max positions', load: () => import('./transformersJs') },
  { name: 'reprefill', item: 4, summary: 'per-turn latency after overflow: ring vs truncate-and-re-prefill', load: () => import('./reprefill') },
  { name: 'memory', item: 5, summary: 'RSS and KV bytes over a long generation (stories260K)', load: () => import('./memory') },
  { name: 'prefill', item: 6, summary: 'prefill tok/s and time to first token for a 1K prompt vs a bare loop', load: () => import('./prefill') },
  { name: 'eventloop', item: 7, summary: 'event-loop lag in the process that owns the worker engine host', load: () => import('./eventLoop') },
  { name: 'turns', item: 11, summary: 'what each chat turn feeds and re-processes (stories260K template, restarts midway)', load: () => import('./chatTurns') },
  { name: 'perplexity', item: 8, summary: 'streaming perplexity on stories260K: recompute oracle, S=0, S=4 cache, S=4 original', load: () => import('./perplexity') },
  { name: 'llamacpp', item: 9, summary: 'llama.cpp (node-llama-cpp) vs Ouro on the same weights: fp32, int8/Q8_0, q4/Q4_0; decode at depth, prefill, RSS', load: () => import('./llamaCpp') },
  { name: 'q4ppl', item: 9, summary: '4-bit compute on a trained model: perplexity and KL of int8 vs fp32 activations (stories260K), next to llama.cpp Q4_0', load: () => import('./q4Accuracy') },
  { name: 'levers', item: 9, summary: 'onnxruntime session options (spinning, arena, prepacking, initializer allocator) on decode speed and RSS', load: () => import('./ortLevers') },
  { name: 'gpu', item: 13, summary: 'bytes per decode step (SmolLM2 KV shapes), decode ÷ bare loop per provider, fp16 vs fp32 KV memory and perplexity', load: () => import('./gpu') },
  { name: 'server', item: 16, summary: 'local OpenAI server: per-turn latency of a resent conversation, ring cache vs re-prefill', load: () => import('./server') },
];
