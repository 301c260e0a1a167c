// `npm run chat`: a terminal chat on the engine host (a worker thread), one-shot with --prompt or
// interactive on stdin; --json prints one event per line. Plain Node.
import type { ChatMessage } from '../../common/chat';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import type { CacheSettings, GenerateOptions, Prompt } from '../engine/chatTypes';
import type { ProviderName } from '../../common/providers';
import { DEFAULT_SAMPLING, validateSamplingParams } from '../engine/sampling/sampler';
import type { EngineHostClient } from '../host/engineHostClient';
import type { HostEvent, HostResult } from '../host/protocol';
import { startWorkerHost } from '../host/workerTransport';
import { cacheSettingsOptions, intOption, numberOption, runCli, shouldRun } from './cliSupport';

const USAGE = `usage: npm run chat -- --model DIR [--prompt TEXT] [--system TEXT] [--sink S|auto] [--window W]
       [--positions cache|original] [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed N]
       [--min-p P] [--repetition-penalty R] [--greedy] [--raw] [--provider NAME] [--json]
--greedy takes the most likely token every step (no sampling, no repetition penalty).`;

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    prompt: { type: 'string' },
    system: { type: 'string' },
    sink: { type: 'string', default: 'auto' },
    window: { type: 'string' },
    positions: { type: 'string', default: 'cache' },
    'max-tokens': { type: 'string', default: '256' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    'min-p': { type: 'string' },
    'repetition-penalty': { type: 'string' },
    greedy: { type: 'boolean', default: false },
    raw: { type: 'boolean', default: false },
    provider: { type: 'string', default: 'cpu' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

function generateOptions(): GenerateOptions {
  const sampling = validateSamplingParams({
    ...DEFAULT_SAMPLING,
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
  return { sampling, maxTokens: intOption('--max-tokens', values['max-tokens']!) };
}

async function turn(host: EngineHostClient, prompt: Prompt, options: GenerateOptions, cache: CacheSettings) {
  const { seq, result } = host.start('generate', { stream: 'cli', prompt, options, cache });
  const stopListening = host.onEvent((event: HostEvent) => {
    if (event.seq !== seq) return;
    if (event.type === 'token') {
      if (values.json) console.log(JSON.stringify({ type: 'token', id: event.id, text: event.text, pos: event.pos, slot: event.slot }));
      else process.stdout.write(event.text);
    }
  });
  // Ctrl-C stops the reply, not the chat.
  const onSigint = () => void host.cancel(seq);
  process.once('SIGINT', onSigint);
  try {
    const done: HostResult<'generate'> = await result;
    if (values.json) console.log(JSON.stringify({ type: 'done', reason: done.reason, stats: done.stats }));
    else process.stdout.write('\n');
    return done;
  } finally {
    process.off('SIGINT', onSigint);
    stopListening();
  }
}

async function main(): Promise<void> {
  if (!shouldRun(values, USAGE, ['model'])) return;
  const cache = cacheSettingsOptions(values.sink!, values.window, values.positions!);
  const options = generateOptions();
  const host = startWorkerHost();
  try {
    const info = await host.request('load', { dir: values.model, provider: values.provider as ProviderName });
    for (const warning of info.warnings) console.error(`warning: ${warning}`);
    const messages: ChatMessage[] = values.system ? [{ role: 'system', content: values.system }] : [];
    const promptFor = (text: string): Prompt => {
      if (values.raw) return { kind: 'raw', text };
      messages.push({ role: 'user', content: text });
      return { kind: 'chat', messages: [...messages] };
    };
    if (values.prompt !== undefined) {
      await turn(host, promptFor(values.prompt), options, cache);
      return;
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
    if (process.stdin.isTTY) console.error(`${info.name} loaded. Type a message; Ctrl-D quits, Ctrl-C stops a reply.`);
    for await (const line of rl) {
      if (!line.trim()) continue;
      const done = await turn(host, promptFor(line), options, cache);
      if (!values.raw) messages.push({ role: 'assistant', content: done.text });
    }
  } finally {
    await host.close();
  }
}

await runCli(main);
