// Child process of hostShutdown.test.ts: starts engine hosts in worker threads and closes each while it
// is inside a native onnxruntime call (a load, a prefill, a decode step). Prints one JSON line per round
// and `{"survived":true}` at the end; an abort of this process is what the test looks for.
// Runs under plain Node through tsx: `tsx hostShutdownChild.ts <model dir> <rounds>`.
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import { startWorkerHost } from '../../main/host/workerTransport';

const [dir, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg);
const cache = { sink: 4, window: 64, positions: 'cache' as const };
const request = {
  stream: 'chat',
  prompt: { kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'tell me a very long story '.repeat(8) }] },
  options: { sampling: { ...DEFAULT_SAMPLING, seed: 7 }, maxTokens: 100_000 },
  cache,
};

for (let round = 0; round < rounds; round++) {
  const host = startWorkerHost();
  const loading = host.request('load', { dir, threads: 1 });
  if (round === 0) {
    // Closed while the model loads (session creation is one long native call).
    loading.catch(() => undefined);
    await host.close();
    console.log(JSON.stringify({ round, closedDuring: 'load' }));
    continue;
  }
  await loading;
  let tokens = 0;
  const wanted = (round * 7) % 23;
  const reached = new Promise<void>((resolve) =>
    host.onEvent((event) => {
      if (event.type === 'token' && ++tokens > wanted) resolve();
    }),
  );
  const generation = host.start('generate', request).result.catch((err: Error) => err.message);
  await reached;
  await host.close();
  console.log(JSON.stringify({ round, closedDuring: 'generate', tokens, result: typeof (await generation) }));
}
console.log(JSON.stringify({ survived: true }));
