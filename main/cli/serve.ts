// `npm run serve`: the local OpenAI-compatible server on one model folder, over an engine host in a worker
// thread. Loopback by default; another interface needs --api-key. Plain Node.
import { parseArgs } from 'node:util';
import type { ProviderChoice } from '../../common/providers';
import { startWorkerHost } from '../host/workerTransport';
import { folderEngine } from '../server/folderEngine';
import { OpenAIServer } from '../server/openaiServer';
import { EngineOwner } from '../services/engineOwner';
import { HostSupervisor } from '../services/hostSupervisor';
import { cacheSettingsOptions, intOption, Q4_COMPUTE_USAGE, q4ComputeOption, runCli, shouldRun } from './cliSupport';

const USAGE = `usage: npm run serve -- --model DIR [--port N] [--host 127.0.0.1] [--api-key KEY] [--sink S|auto]
       [--window W] [--positions cache|original] [--provider NAME] [--streams N] [--queue N] [--max-tokens N]
       [--reprefill] [--q4-compute int8|exact]
Serves an OpenAI-compatible API at http://HOST:PORT/v1 (GET /v1/models, POST /v1/chat/completions,
POST /v1/completions). --streams: conversations kept cached (default 4); --queue: requests that may wait
behind the one generating before 429 (default 1). --reprefill feeds every request's history again (sinks and
the last W tokens), as servers without a ring cache do: for comparisons. The key may also come from OURO_API_KEY.
${Q4_COMPUTE_USAGE}`;

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    'api-key': { type: 'string' },
    sink: { type: 'string', default: 'auto' },
    window: { type: 'string' },
    positions: { type: 'string', default: 'cache' },
    provider: { type: 'string', default: 'cpu' },
    streams: { type: 'string', default: '4' },
    queue: { type: 'string', default: '1' },
    'max-tokens': { type: 'string', default: '1024' },
    reprefill: { type: 'boolean', default: false },
    'q4-compute': { type: 'string', default: 'int8' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

async function main(): Promise<void> {
  if (!shouldRun(values, USAGE, ['model'])) return;
  const cache = cacheSettingsOptions(values.sink!, values.window, values.positions!);
  const port = intOption('--port', values.port!);
  const apiKey = values['api-key'] ?? process.env.OURO_API_KEY;
  const supervisor = new HostSupervisor({ host: startWorkerHost(), startHost: startWorkerHost });
  const owner = new EngineOwner(supervisor);
  try {
    const engine = await folderEngine(owner, { dir: values.model, provider: values.provider as ProviderChoice, q4Compute: q4ComputeOption(values['q4-compute']!), cache });
    if (engine.info.providerNote !== null) console.error(engine.info.providerNote);
    for (const warning of engine.info.warnings) console.error(`warning: ${warning}`);
    const server = await OpenAIServer.start({
      engine,
      host: values.host,
      port,
      ...(apiKey ? { apiKey } : {}),
      maxStreams: intOption('--streams', values.streams!),
      maxQueued: intOption('--queue', values.queue!),
      maxTokens: intOption('--max-tokens', values['max-tokens']!),
      reuseStreams: !values.reprefill,
    });
    const model = await engine.model();
    console.error(`Serving ${model.id} (${model.info.provider}) at ${server.baseUrl}${apiKey ? ' (API key required)' : ''}. Ctrl-C stops.`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    await server.close();
  } finally {
    await supervisor.close();
  }
}

await runCli(main);
