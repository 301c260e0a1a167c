// `npm run eval`: streaming perplexity of a text file under the sink-ring cache (StreamingLLM's
// eval_long_ppl.py protocol), or the sliding-window-with-recomputation oracle with --recompute; --pin
// START:END pins those token positions once fed (pinned memory). Plain Node.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadModel } from '../engine/loadedModel';
import { streamingNll } from '../engine/streamingEval';
import { cacheConfigOption, CliError, intOption, positionsOption, Q4_COMPUTE_USAGE, q4ComputeOption, runCli, shouldRun } from './cliSupport';
import { SinkShares } from './sinkShares';

const USAGE = `usage: npm run eval -- --model DIR --text FILE [--sink S] [--window W] [--positions cache|original]
       [--max-tokens N] [--recompute | --pin START:END] [--attention] [--q4-compute int8|exact] [--json]

  --pin         pin text positions [START, END) once they are fed, and report the perplexity after them too
  --attention   report where each step's attention goes: the share on the S sink slots (mean over layers
                and per layer) and, with --json, the most-attended slots of each step
${Q4_COMPUTE_USAGE}`;

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
    pin: { type: 'string' },
    'q4-compute': { type: 'string', default: 'int8' },
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
  const model = await loadModel(values.model, { q4Compute: q4ComputeOption(values['q4-compute']!) });
  try {
    const sinkArg = intOption('--sink', values.sink!);
    const window = values.window === undefined ? Math.floor(model.config.maxPos / 2) - sinkArg : intOption('--window', values.window);
    const { sink } = cacheConfigOption(`${sinkArg},${window}`);
    let ids = model.tokenizer.encode(text, { addSpecialTokens: true });
    if (values['max-tokens'] !== undefined) ids = ids.slice(0, intOption('--max-tokens', values['max-tokens']) + 1);
    if (ids.length < 2) throw new CliError('the text has fewer than two tokens');
    const pin = values.pin === undefined ? undefined : pinOption(values.pin, sink, window, ids.length, values.recompute!);
    let total = 0;
    let count = 0;
    // After the pin: the tokens whose context holds the pinned span (what pinning can change).
    let after = 0;
    let afterCount = 0;
    const shares = new SinkShares();
    const options = { sink, window, positions, recompute: values.recompute, attention: values.attention, pin };
    for await (const { pos, nll, attention } of streamingNll(model, ids, options)) {
      total += nll;
      count++;
      if (pin && pos > pin.end) {
        after += nll;
        afterCount++;
      }
      if (attention) shares.add(attention);
      if (values.json) {
        const where = attention && { sinkShare: attention.sinkShare, layerSinkShare: attention.layerSinkShare, top: attention.top };
        console.log(JSON.stringify({ type: 'nll', pos, nll, ...where }));
      }
    }
    const ppl = Math.exp(total / count);
    const pplAfterPin = pin && afterCount > 0 ? Math.exp(after / afterCount) : null;
    if (values.json) {
      const pinned = pplAfterPin === null ? {} : { pin, pplAfterPin, tokensAfterPin: afterCount };
      const attention = values.attention ? { meanSinkShare: shares.mean() } : {};
      console.log(JSON.stringify({ type: 'done', ppl, tokens: count, ...pinned, ...attention }));
    } else {
      const how = values.recompute ? 'recompute' : `${positions}${pin ? `, pinned ${pin.start}:${pin.end}` : ''}`;
      console.log(`perplexity ${ppl.toFixed(3)} over ${count} tokens (S=${sink}, W=${window}, ${how})`);
      if (pplAfterPin !== null) console.log(`perplexity ${pplAfterPin.toFixed(3)} over the ${afterCount} tokens after the pin`);
      if (values.attention) console.log(shares.describe(sink));
    }
  } finally {
    await model.release();
  }
}

/** `--pin START:END`: token positions after the sinks, at most W of them, ending before the text does. */
function pinOption(value: string, sink: number, window: number, tokens: number, recompute: boolean): { start: number; end: number } {
  const m = /^(\d+):(\d+)$/.exec(value.trim());
  if (!m) throw new CliError(`--pin must be START:END token positions, got '${value}'`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (recompute) throw new CliError('--pin pins a span in the streaming cache; it cannot go with --recompute');
  if (start < sink || end <= start || end - start > window || end >= tokens) {
    throw new CliError(`--pin ${start}:${end} must satisfy ${sink} (the sinks) <= START < END <= START + ${window} (the window), END < ${tokens} (the text's tokens)`);
  }
  return { start, end };
}

await runCli(main);
