// `npm run chat`: a terminal chat on the engine host (a worker thread), one-shot with --prompt or
// interactive on stdin (./chatLoop); --json prints one event per line. Plain Node.
import { randomInt } from 'node:crypto';
import type { ChatMessage } from '../../common/chat';
import { parseArgs } from 'node:util';
import type { CacheSettings, GenerateOptions, Prompt } from '../engine/chatTypes';
import type { ProviderChoice } from '../../common/providers';
import { DEFAULT_SAMPLING, validateSamplingParams } from '../engine/sampling/sampler';
import type { EngineHostClient } from '../host/engineHostClient';
import type { HostEvent, HostResult } from '../host/protocol';
import { startWorkerHost } from '../host/workerTransport';
import { chatLoop, type RunningReply } from './chatLoop';
import { cacheSettingsOptions, CliError, intOption, numberOption, Q4_COMPUTE_USAGE, q4ComputeOption, runCli, shouldRun } from './cliSupport';

/** Without --max-tokens a reply ends at the first word boundary after this many tokens… */
const DEFAULT_REPLY_TOKENS = 512;
/** …or, in a word that never ends, at this many. */
const DEFAULT_MAX_TOKENS = DEFAULT_REPLY_TOKENS + 64;
/** The one stream the terminal chat runs on. */
const CLI_STREAM = 'cli';

const USAGE = `usage: npm run chat -- --model DIR [options]
A terminal chat with a local model: interactive, or one reply with --prompt.

  --model DIR               model folder (transformers.js / Optimum ONNX layout); required
  --prompt TEXT             answer TEXT once and exit (default: chat on stdin)
  --system TEXT             system prompt (default: none)
  --sink S|auto             attention-sink tokens (default: auto, covering the system prompt, at least 4)
  --window W                ring window in tokens (default: min(2048, trained context / 2 - S))
  --positions cache|original  RoPE positions of the sinks (default: cache)
  --max-tokens N            longest reply in tokens (default: ${DEFAULT_REPLY_TOKENS}, ended at a word's end, at most ${DEFAULT_MAX_TOKENS})
  --temperature T           sampling temperature, 0 = greedy (default: ${DEFAULT_SAMPLING.temperature})
  --top-k K                 keep the K most likely tokens, 0 = off (default: ${DEFAULT_SAMPLING.topK})
  --top-p P                 nucleus mass, 1 = off (default: ${DEFAULT_SAMPLING.topP})
  --min-p P                 drop tokens under P × the top one, 0 = off (default: ${DEFAULT_SAMPLING.minP})
  --repetition-penalty R    1 = off (default: ${DEFAULT_SAMPLING.repetitionPenalty})
  --seed N                  sampler seed, to repeat a reply (default: a random one, printed at start)
  --greedy                  always the most likely token (no sampling, no repetition penalty)
  --raw                     no chat template: the text as is, BOS as the tokenizer config says
  --provider NAME           cpu, webgpu, cuda, dml or coreml (default: cpu; falls back to cpu with a warning)
${Q4_COMPUTE_USAGE}
  --json                    one JSON event per line: {"type":"token",…} per token, then {"type":"done",…}
  --attention               with --json, also {"type":"attention",…} per forward pass: the share of the last
                            query's attention on the sink slots (mean over layers, and per layer) and the
                            most-attended slots with the positions they hold
  --help                    this text

Interactive: type a message after the "> " marker; Ctrl-C stops a reply, Ctrl-C again or Ctrl-D quits.`;

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    prompt: { type: 'string' },
    system: { type: 'string' },
    sink: { type: 'string', default: 'auto' },
    window: { type: 'string' },
    positions: { type: 'string', default: 'cache' },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    'min-p': { type: 'string' },
    'repetition-penalty': { type: 'string' },
    greedy: { type: 'boolean', default: false },
    raw: { type: 'boolean', default: false },
    provider: { type: 'string', default: 'cpu' },
    'q4-compute': { type: 'string', default: 'int8' },
    json: { type: 'boolean', default: false },
    attention: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

function generateOptions(): GenerateOptions {
  const sampling = validateSamplingParams({
    ...DEFAULT_SAMPLING,
    // The engine's fixed default seed would give the same reply to the same prompt every run.
    seed: randomInt(2 ** 31),
    ...(values.greedy && { greedy: true, repetitionPenalty: 1 }),
    ...(values.temperature !== undefined && { temperature: numberOption('--temperature', values.temperature) }),
    ...(values['top-k'] !== undefined && { topK: intOption('--top-k', values['top-k']) }),
    ...(values['top-p'] !== undefined && { topP: numberOption('--top-p', values['top-p']) }),
    ...(values.seed !== undefined && { seed: intOption('--seed', values.seed) }),
    ...(values['min-p'] !== undefined && { minP: numberOption('--min-p', values['min-p']) }),
    ...(values['repetition-penalty'] !== undefined && {
      repetitionPenalty: numberOption('--repetition-penalty', values['repetition-penalty']),
    }),
  });
  if (values['max-tokens'] !== undefined) return { sampling, maxTokens: intOption('--max-tokens', values['max-tokens']) };
  // The default length is not a hard cut: the reply runs on to the end of the word it is in.
  return { sampling, maxTokens: DEFAULT_MAX_TOKENS, endAtWordAfter: DEFAULT_REPLY_TOKENS };
}

/** Starts one reply, printing its tokens as they come. */
function startTurn(host: EngineHostClient, prompt: Prompt, options: GenerateOptions, cache: CacheSettings): { cancel(): void; done: Promise<HostResult<'generate'>> } {
  const { seq, result } = host.start('generate', { stream: CLI_STREAM, prompt, options, cache });
  const stopListening = host.onEvent((event: HostEvent) => {
    if (event.type === 'cacheView' && event.op.kind === 'write' && event.op.attention) {
      const { sinkShare, layerSinkShare, top } = event.op.attention;
      const rows = event.op.rows;
      console.log(JSON.stringify({ type: 'attention', pos: rows[rows.length - 1].pos, tokens: rows.length, sinkShare, layerSinkShare, top }));
      return;
    }
    if (event.type !== 'token' || event.seq !== seq) return;
    if (values.json) console.log(JSON.stringify({ type: 'token', id: event.id, text: event.text, pos: event.pos, slot: event.slot }));
    else process.stdout.write(event.text);
  });
  const done = result.then(
    (ended) => {
      stopListening();
      if (values.json) {
        console.log(JSON.stringify({ type: 'done', reason: ended.reason, stats: ended.stats }));
        return ended;
      }
      process.stdout.write('\n');
      // A reply cut by the limit says so, rather than just stopping mid-sentence.
      if (ended.reason === 'max') {
        const limit = options.endAtWordAfter === undefined ? `the ${options.maxTokens}-token limit` : `the default length (about ${options.endAtWordAfter} tokens)`;
        console.error(`(stopped at ${limit}; --max-tokens N allows longer replies)`);
      }
      return ended;
    },
    (err: unknown) => {
      stopListening();
      throw err;
    },
  );
  return { cancel: () => void host.cancel(seq), done };
}

async function main(): Promise<void> {
  if (!shouldRun(values, USAGE, ['model'])) return;
  if (values.attention && !values.json) throw new CliError('--attention adds events to --json output; pass --json too');
  const cache = cacheSettingsOptions(values.sink!, values.window, values.positions!);
  const options = generateOptions();
  const q4Compute = q4ComputeOption(values['q4-compute']!);
  const host = startWorkerHost();
  try {
    const info = await host.request('load', { dir: values.model, provider: values.provider as ProviderChoice, q4Compute });
    if (info.providerNote !== null) console.error(info.providerNote);
    for (const warning of info.warnings) console.error(`warning: ${warning}`);
    if (values.attention) {
      const { unavailable } = await host.request('attention', { stream: CLI_STREAM, open: true });
      if (unavailable !== null) throw new CliError(`--attention: this model cannot report attention (${unavailable})`);
    }
    const messages: ChatMessage[] = values.system ? [{ role: 'system', content: values.system }] : [];
    const promptFor = (text: string): Prompt => {
      if (values.raw) return { kind: 'raw', text };
      messages.push({ role: 'user', content: text });
      return { kind: 'chat', messages: [...messages] };
    };
    if (values.prompt !== undefined) {
      const reply = startTurn(host, promptFor(values.prompt), options, cache);
      // Ctrl-C stops the reply; what came so far is printed and the program ends as usual.
      const onSigint = () => reply.cancel();
      process.once('SIGINT', onSigint);
      await reply.done.finally(() => process.off('SIGINT', onSigint));
      return;
    }
    const terminal = process.stdin.isTTY === true;
    if (terminal) console.error(`${info.name} loaded (seed ${options.sampling.seed}). Type a message; Ctrl-C stops a reply, Ctrl-C again or Ctrl-D quits.`);
    await chatLoop({ input: process.stdin, output: process.stderr, terminal }, (line): RunningReply => {
      const reply = startTurn(host, promptFor(line), options, cache);
      return {
        cancel: reply.cancel,
        done: reply.done.then((ended) => {
          if (!values.raw) messages.push({ role: 'assistant', content: ended.text });
        }),
      };
    });
  } finally {
    await host.close();
  }
}

await runCli(main);
