// `npm run eval`: streaming perplexity of a text file under the sink-ring cache (StreamingLLM's
// eval_long_ppl.py protocol), or the sliding-window-with-recomputation oracle with --recompute. Plain Node.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadModel } from '../engine/loadedModel';
import { streamingNll } from '../engine/streamingEval';
import { cacheConfigOption, CliError, intOption, positionsOption, runCli, shouldRun } from './cliSupport';
import { SinkShares } from './sinkShares';

const USAGE = `usage: npm run eval -- --model DIR --text FILE [--sink S] [--window W] [--positions cache|original]
       [--max-tokens N] [--recompute] [--attention] [--json]

  --attention   report where each step's attention goes: the share on the S sink slots (mean over layers
                and per layer) and, with --json, the most-attended slots of each step`;

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    text: { type: 'string' },
    sink: { type: 'string', default: '4' },
    window: { type: 'string' },
    positions: { type: 'string', default: 'cache' },
    'max-tokens': { type: 'string' },
    recompute: { type: 'boolean', default: false },
    attention: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

async function main(): Promise<void> {
  if (!shouldRun(values, USAGE, ['model', 'text'])) return;
  const positions = positionsOption(values.positions!);
  if (values.attention && values.recompute) throw new CliError('--attention reports the streaming cache; it does not go with --recompute');
  const text = await readFile(values.text, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read --text ${values.text}: ${err.code ?? err.message}`);
  });
  const model = await loadModel(values.model);
  try {
    const sinkArg = intOption('--sink', values.sink!);
    const window = values.window === undefined ? Math.floor(model.config.maxPos / 2) - sinkArg : intOption('--window', values.window);
    const { sink } = cacheConfigOption(`${sinkArg},${window}`);
    let ids = model.tokenizer.encode(text, { addSpecialTokens: true });
    if (values['max-tokens'] !== undefined) ids = ids.slice(0, intOption('--max-tokens', values['max-tokens']) + 1);
    if (ids.length < 2) throw new CliError('the text has fewer than two tokens');
    let total = 0;
    let count = 0;
    const shares = new SinkShares();
    for await (const { pos, nll, attention } of streamingNll(model, ids, { sink, window, positions, recompute: values.recompute, attention: values.attention })) {
      total += nll;
      count++;
      if (attention) shares.add(attention);
      if (values.json) {
        const where = attention && { sinkShare: attention.sinkShare, layerSinkShare: attention.layerSinkShare, top: attention.top };
        console.log(JSON.stringify({ type: 'nll', pos, nll, ...where }));
      }
    }
    const ppl = Math.exp(total / count);
    if (values.json) console.log(JSON.stringify({ type: 'done', ppl, tokens: count, ...(values.attention && { meanSinkShare: shares.mean() }) }));
    else {
      console.log(`perplexity ${ppl.toFixed(3)} over ${count} tokens (S=${sink}, W=${window}, ${values.recompute ? 'recompute' : positions})`);
      if (values.attention) console.log(shares.describe(sink));
    }
  } finally {
    await model.release();
  }
}

await runCli(main);
