// Issue 11: what each chat turn feeds, through ChatSession with the model's own chat template (stories260K,
// whose template trims messages and joins them with a space) — the counters the reply footer and
// `npm run chat --json` report: prefill tokens, re-processed tokens, time to first token. A restart from the
// snapshot and one without it (a counted rebuild) happen midway.
import { loadModel } from '../../main/engine/loadedModel';
import { ChatSession } from '../../main/engine/chatSession';
import type { ChatMessage } from '../../common/chat';
import type { CacheSettings } from '../../main/engine/chatTypes';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import { decodeSessionSnapshot, encodeSessionSnapshot } from '../../main/engine/sessionSnapshot';
import { param, storiesDir, type BenchContext, type SectionResult } from '../lib/benchContext';
import { fmt, mdTable, round } from '../lib/stats';

const LINES = [
  'Lily had a red ball.',
  'She gave it to Tom.',
  'They played all day.',
  'Then it began to rain.',
  'Tom ran home fast.',
  'Lily laughed at the puddles.',
  'Mom made hot soup.',
  'The sun came back.',
];

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const dir = storiesDir();
  if (!dir) throw new Error('the turns section needs ../shared/models/stories260K');
  const turns = param(ctx, 'turns.turns', 16, 8);
  const maxTokens = param(ctx, 'turns.reply', 40, 40);
  const settings: CacheSettings = { sink: 4, window: 60, positions: 'cache' };
  const model = await loadModel(dir, { threads: ctx.threads });
  const sampling = { ...DEFAULT_SAMPLING, greedy: true };
  const snapshotAt = Math.floor(turns / 2);
  const rebuildAt = Math.floor((3 * turns) / 4);
  const rows = [];
  const messages: ChatMessage[] = [];
  let session = new ChatSession(model, settings);
  for (let t = 0; t < turns; t++) {
    let restart = '';
    if (t === snapshotAt) {
      session = ChatSession.fromSnapshot(model, decodeSessionSnapshot(model, encodeSessionSnapshot(model, await session.snapshot())));
      restart = 'from snapshot';
    } else if (t === rebuildAt) {
      session = new ChatSession(model, settings);
      restart = 'without snapshot';
    }
    messages.push({ role: 'user', content: LINES[t % LINES.length] });
    const before = session.tokenCount;
    const result = await session.generate({ kind: 'chat', messages }, { sampling, maxTokens });
    messages.push({ role: 'assistant', content: result.text });
    const { stats } = result;
    rows.push({
      turn: t + 1,
      restart,
      reason: result.reason,
      prefillTokens: stats.prefillTokens,
      reprocessedTokens: stats.reprocessedTokens,
      newTokens: stats.prefillTokens - stats.reprocessedTokens,
      streamTokens: before,
      ttftMs: round(stats.timeToFirstTokenMs, 2),
    });
  }
  await model.release();
  const steady = rows.filter((r) => r.turn > 1 && r.restart !== 'without snapshot');
  const steadyReprocessed = steady.reduce((sum, r) => sum + r.reprocessedTokens, 0);
  const table = mdTable(
    ['turn', 'restart', 'reply ended', 'stream before', 'prefill tokens', 're-processed', 'time to first token ms'],
    rows.map((r) => [String(r.turn), r.restart || '–', r.reason, String(r.streamTokens), String(r.prefillTokens), String(r.reprocessedTokens), fmt(r.ttftMs, 1)]),
  );
  return {
    title: `Chat turns through ChatSession: stories260K's template, S=${settings.sink}, W=${settings.window}, greedy, ${maxTokens}-token replies`,
    markdown: `${table}\n\nRe-processed tokens on turns 2+ (the rebuild without a snapshot aside): ${steadyReprocessed}.`,
    data: { settings, maxTokens, rows },
    targets: [{ name: 're-processed tokens on continued turns (stories260K template, W=60)', value: steadyReprocessed, target: '= 0', met: steadyReprocessed === 0 }],
  };
}
