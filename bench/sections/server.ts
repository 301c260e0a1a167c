// Item 11 (issue 16): the local OpenAI-compatible server, per turn of a conversation the client resends in full each
// time (as every OpenAI client does): Ouro's server continues the conversation's ring cache, against the
// same server told to re-prefill each request's history (the sinks and the last W tokens: truncate-and-
// re-prefill, what other local servers do once the context is full). Both run in one engine host, the
// official `openai` client streams every reply; turns alternate, and both sides get the same history.
import OpenAI from 'openai';
import { startWorkerHost } from '../../main/host/workerTransport';
import { folderEngine } from '../../main/server/folderEngine';
import { OpenAIServer, type ServedTurn } from '../../main/server/openaiServer';
import { EngineOwner } from '../../main/services/engineOwner';
import { HostSupervisor } from '../../main/services/hostSupervisor';
import { param, type BenchContext, type SectionResult } from '../lib/benchContext';
import { ensureBenchFixture } from '../lib/benchFixture';
import { fmt, mdTable, median, round } from '../lib/stats';

const WORDS = ['the', 'little', 'dog', 'ran', 'to', 'a', 'big', 'red', 'ball', 'and', 'then', 'she', 'saw', 'her', 'friend'];

/** `n` words of a made-up story, varied by `seed`. */
function words(n: number, seed: number): string {
  return Array.from({ length: n }, (_, i) => WORDS[(i * 7 + seed * 13) % WORDS.length]).join(' ');
}

interface Timed {
  /** The engine's time to first token (most of the fixture's sampled ids are padding with no text to stream). */
  readonly firstMs: number;
  readonly turnMs: number;
  readonly text: string;
  readonly usage: OpenAI.CompletionUsage & { reprocessed_tokens?: number };
}

/** One streamed turn, timed to [DONE] by the client; `served` holds the engine's stats of the turn. */
async function timedTurn(
  client: OpenAI,
  served: ServedTurn[],
  model: string,
  messages: OpenAI.ChatCompletionMessageParam[],
  maxTokens: number,
): Promise<Timed> {
  const start = performance.now();
  const stream = await client.chat.completions.create({ model, messages, max_tokens: maxTokens, seed: 1, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage: Timed['usage'] | null = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  const turnMs = performance.now() - start;
  return { firstMs: served.at(-1)!.stats.timeToFirstTokenMs, turnMs, text, usage: usage! };
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const turns = param(ctx, 'server.turns', 12, 6);
  const window = param(ctx, 'server.window', 2048, 512);
  const userWords = param(ctx, 'server.user', 48, 24);
  const replyTokens = param(ctx, 'server.reply', 16, 8);
  const supervisor = new HostSupervisor({ host: startWorkerHost() });
  const owner = new EngineOwner(supervisor);
  try {
    const engine = await folderEngine(owner, { dir: ensureBenchFixture(), threads: ctx.threads, cache: { sink: 4, window, positions: 'cache' } });
    const { id: model } = await engine.model();
    const ringTurns: ServedTurn[] = [];
    const reprefillTurns: ServedTurn[] = [];
    const ring = await OpenAIServer.start({ engine, maxStreams: 1, onTurn: (t) => ringTurns.push(t) });
    const reprefill = await OpenAIServer.start({ engine, maxStreams: 1, reuseStreams: false, onTurn: (t) => reprefillTurns.push(t) });
    const ringClient = new OpenAI({ baseURL: ring.baseUrl, apiKey: 'bench', maxRetries: 0 });
    const baseClient = new OpenAI({ baseURL: reprefill.baseUrl, apiKey: 'bench', maxRetries: 0 });
    // The first message alone outgrows the window, so every later turn is one "after overflow".
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You tell stories.' },
      { role: 'user', content: words(Math.round(window * 1.2), 0) },
    ];
    const perTurn = [];
    for (let t = 1; t <= turns; t++) {
      if (t > 1) messages.push({ role: 'user', content: words(userWords, t) });
      const a = await timedTurn(ringClient, ringTurns, model, messages, replyTokens);
      const b = await timedTurn(baseClient, reprefillTurns, model, messages, replyTokens);
      // Both continue the same conversation: the ring's reply (the baseline's differs; it saw less).
      messages.push({ role: 'assistant', content: a.text });
      perTurn.push({
        turn: t,
        promptTokens: a.usage.prompt_tokens,
        ringFirstMs: round(a.firstMs, 1),
        ringTurnMs: round(a.turnMs, 1),
        ringReprocessed: a.usage.reprocessed_tokens ?? 0,
        reprefillFirstMs: round(b.firstMs, 1),
        reprefillTurnMs: round(b.turnMs, 1),
        reprefillReprocessed: b.usage.reprocessed_tokens ?? 0,
      });
    }
    await ring.close();
    await reprefill.close();
    // Turn 1 fills both caches from nothing; the comparison is over the turns after it.
    const later = perTurn.slice(1);
    const ttftRatio = round(median(later.map((p) => p.reprefillFirstMs)) / median(later.map((p) => p.ringFirstMs)), 1);
    const turnRatio = round(median(later.map((p) => p.reprefillTurnMs)) / median(later.map((p) => p.ringTurnMs)), 1);
    const table = mdTable(
      ['turn', 'prompt tokens', 'ring: first token ms', 're-prefill: first token ms', 'ring: turn ms', 're-prefill: turn ms', 'ring: re-fed', 're-prefill: re-fed'],
      perTurn.map((p) => [
        String(p.turn),
        String(p.promptTokens),
        fmt(p.ringFirstMs, 0),
        fmt(p.reprefillFirstMs, 0),
        fmt(p.ringTurnMs, 0),
        fmt(p.reprefillTurnMs, 0),
        String(p.ringReprocessed),
        String(p.reprefillReprocessed),
      ]),
    );
    const markdown = `S=4, W=${window}; each turn adds ${userWords} words and a ${replyTokens}-token reply; the client resends the whole conversation, streamed.\n\n${table}\n\nMedian ratio re-prefill ÷ ring over turns 2-${turns}: first token ${fmt(ttftRatio, 1)}×, whole turn ${fmt(turnRatio, 1)}×.`;
    return {
      title: `Local OpenAI-compatible server: per-turn latency, ring cache vs re-prefill (fixture, ${turns} turns)`,
      markdown,
      data: { window, userWords, replyTokens, perTurn, ttftRatio, turnRatio },
      targets: [{ name: 'server, time to first token of a resent conversation, re-prefill ÷ ring (×)', value: ttftRatio, target: '> 1', met: ttftRatio > 1 }],
    };
  } finally {
    await supervisor.close();
  }
}
