// Item 4: per-turn latency after the context overflowed — the sink ring (feeds only the new turn) against
// truncate-and-re-prefill (what LM Studio and Ollama do on overflow; StreamingLLM's "sliding window with
// re-computation"), emulated with our engine by re-prefilling the last W tokens every turn. Turns alternate.
import { loadModel } from '../../main/engine/loadedModel';
import { param, type BenchContext, type SectionResult } from '../lib/benchContext';
import { ensureBenchFixture } from '../lib/benchFixture';
import { argmax, makeRunner } from '../lib/benchEngine';
import { fmt, mdTable, median, round } from '../lib/stats';
import { byteTokenIds } from '../../test/fixtures/fixturePrng';

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const turns = param(ctx, 'reprefill.turns', 5, 2);
  const userTokens = param(ctx, 'reprefill.user', 64, 32);
  const replyTokens = param(ctx, 'reprefill.reply', 16, 4);
  const windows = ctx.quick ? [2048] : [1024, 2048];
  const model = await loadModel(ensureBenchFixture(), { threads: ctx.threads });
  const results = [];
  for (const window of windows) {
    const spec = { sink: 4, window, chunk: 256 };
    const ring = makeRunner(model, spec);
    const recompute = makeRunner(model, spec);
    // A conversation that already overflowed the window.
    const conversation = byteTokenIds(spec.sink + window + 512, 3);
    await ring.runner.feed(conversation);
    const perTurn = [];
    for (let t = 0; t < turns; t++) {
      const user = byteTokenIds(userTokens, 100 + t);
      // Ring: feed the new turn, sample, decode the reply.
      let start = performance.now();
      let logits = (await ring.runner.feed(user))!;
      const reply = [argmax(logits)];
      const ringFirst = performance.now() - start;
      while (reply.length < replyTokens) reply.push(argmax((await ring.runner.feed([reply[reply.length - 1]]))!));
      const ringTurn = performance.now() - start;
      conversation.push(...user);
      // Truncate and re-prefill: an empty cache, the last W tokens of the conversation (new turn included).
      start = performance.now();
      recompute.cache.reset();
      logits = (await recompute.runner.feed(conversation.slice(-window)))!;
      argmax(logits);
      const recomputeFirst = performance.now() - start;
      // Same reply tokens, so both sides do the same decode work.
      for (let i = 0; i + 1 < reply.length; i++) await recompute.runner.feed([reply[i]]);
      const recomputeTurn = performance.now() - start;
      conversation.push(...reply);
      // The ring still has the reply's last token to consume before the next turn (as ChatSession would).
      await ring.runner.feed([reply[reply.length - 1]]);
      perTurn.push({
        turn: t + 1,
        ringFirstMs: round(ringFirst, 1),
        recomputeFirstMs: round(recomputeFirst, 1),
        ringTurnMs: round(ringTurn, 1),
        recomputeTurnMs: round(recomputeTurn, 1),
      });
    }
    const ttftRatio = median(perTurn.map((p) => p.recomputeFirstMs)) / median(perTurn.map((p) => p.ringFirstMs));
    const turnRatio = median(perTurn.map((p) => p.recomputeTurnMs)) / median(perTurn.map((p) => p.ringTurnMs));
    results.push({ window, userTokens, replyTokens, perTurn, ttftRatio: round(ttftRatio, 1), turnRatio: round(turnRatio, 1) });
  }
  await model.release();

  const md = results
    .map((r) => {
      const table = mdTable(
        ['turn', 'ring: first token ms', 're-prefill: first token ms', 'ring: whole turn ms', 're-prefill: whole turn ms'],
        r.perTurn.map((p) => [String(p.turn), fmt(p.ringFirstMs, 0), fmt(p.recomputeFirstMs, 0), fmt(p.ringTurnMs, 0), fmt(p.recomputeTurnMs, 0)]),
      );
      return `**W=${r.window}**: user turn ${r.userTokens} tokens, reply ${r.replyTokens} tokens; re-prefill feeds the last ${r.window} tokens.\n\n${table}\n\nMedian ratio re-prefill ÷ ring: first token ${fmt(r.ttftRatio, 1)}×, whole turn ${fmt(r.turnRatio, 1)}×.`;
    })
    .join('\n\n');
  const w2048 = results.find((r) => r.window === 2048)!;
  return {
    title: 'Per-turn latency after overflow: sink ring vs truncate-and-re-prefill (fixture, S=4)',
    markdown: md,
    data: results,
    targets: [{ name: 'ring vs re-prefill, time to first token of a turn, W=2048 (×)', value: w2048.ttftRatio, target: '≥ 20', met: w2048.ttftRatio >= 20 }],
  };
}
