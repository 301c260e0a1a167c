// `npm run web`: the app in a browser tab, no Electron — real services and engine host behind the
// browser transport, serving the built renderer. For development and browser tests. Plain Node.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CliError, intOption, runCli } from '../cli/cliSupport';
import { startTestApp } from './serveApp';

const USAGE = 'usage: npm run web -- [--data-dir DIR] [--static DIR] [--port N]';

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: join(homedir(), '.ouro-web') },
      static: { type: 'string', default: 'out/renderer' },
      port: { type: 'string', default: '5174' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = intOption('--port', values.port!);
  if (port < 0 || port > 65535) throw new CliError(`--port must be between 0 and 65535, got ${port}`);
  const app = await startTestApp({
    dataDir: resolve(values['data-dir']!),
    staticDir: resolve(values.static!),
    port,
    restoreLastModel: true,
    // Converted by `npm run web` (scripts/demoModel) before this starts.
    services: { demoModelDir: fileURLToPath(new URL('../../out/demo-model', import.meta.url)) },
  });
  // The address is the credential: the key in it is new at every launch and printed nowhere else.
  console.log(`Ouro (browser mode): open ${app.url}\n  data: ${resolve(values['data-dir']!)}  (Ctrl-C to quit)`);
  await new Promise<void>((done) => {
    const quit = () => void app.close().finally(done);
    process.once('SIGINT', quit);
    process.once('SIGTERM', quit);
  });
});
