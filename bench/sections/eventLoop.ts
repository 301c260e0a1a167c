// Item 7: event-loop lag of the process that owns the engine host (a worker thread, as under Electron's
// utility process) while the host prefills and generates: idle baseline first, then generation, same process.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { startWorkerHost } from '../../main/host/workerTransport';
import type { HostEvent } from '../../main/host/protocol';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import { param, type BenchContext, type SectionResult } from '../lib/benchContext';
import { ensureBenchFixture } from '../lib/benchFixture';
import { fmt, mdTable, round } from '../lib/stats';

interface LagStats {
  readonly phase: string;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly events: number;
  readonly tokens: number;
}

function lag(h: IntervalHistogram, phase: string, seconds: number, events: number, tokens: number): LagStats {
  const ms = (ns: number) => round(ns / 1e6, 2);
  return { phase, seconds: round(seconds, 1), p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), events, tokens };
}

export async function run(ctx: BenchContext): Promise<SectionResult> {
  const decodeTokens = param(ctx, 'eventloop.tokens', 1000, 200);
  const promptWords = param(ctx, 'eventloop.promptWords', 600, 300);
  const dir = ensureBenchFixture();
  const client = startWorkerHost();
  let events = 0;
  let tokens = 0;
  client.onEvent((e: HostEvent) => {
    events++;
    if (e.type === 'token') tokens++;
  });
  await client.request('load', { dir, threads: ctx.threads });
  const h = monitorEventLoopDelay({ resolution: 1 });
  const phases: LagStats[] = [];

  // Idle: the host is loaded and waiting.
  h.enable();
  let t = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  h.disable();
  phases.push(lag(h, 'idle (model loaded)', (performance.now() - t) / 1000, 0, 0));

  const generate = async (phase: string, text: string, maxTokens: number) => {
    h.reset();
    events = 0;
    tokens = 0;
    h.enable();
    t = performance.now();
    const result = await client.request('generate', {
      stream: 'bench',
      prompt: { kind: 'raw', text },
      options: { sampling: { ...DEFAULT_SAMPLING, seed: 3 }, maxTokens },
      cache: { sink: 4, window: 2048, positions: 'cache' },
    });
    h.disable();
    phases.push(lag(h, `${phase}: ${result.stats.prefillTokens} prompt + ${result.stats.decodeTokens} generated tokens`, (performance.now() - t) / 1000, events, tokens));
    return result;
  };
  const words = Array.from({ length: promptWords }, (_, i) => ['the', 'little', 'cat', 'saw', 'a', 'big', 'red', 'ball', 'and', 'ran'][i % 10]).join(' ');
  await generate('prefill + decode', words, Math.max(8, decodeTokens >> 2));
  await client.request('reset', { stream: 'bench' });
  await generate('decode', 'Once upon a time', decodeTokens);
  await client.close();

  const busy = phases.slice(1);
  const worstP99 = Math.max(...busy.map((p) => p.p99Ms));
  return {
    title: 'Event-loop lag of the process owning the worker engine host (fixture, S=4, W=2048)',
    markdown: `${mdTable(
      ['phase', 'seconds', 'lag p50 ms', 'lag p99 ms', 'lag max ms', 'events received', 'token events'],
      phases.map((p) => [p.phase, fmt(p.seconds, 1), fmt(p.p50Ms, 2), fmt(p.p99Ms, 2), fmt(p.maxMs, 1), String(p.events), String(p.tokens)]),
    )}\n\nMeasured with perf_hooks.monitorEventLoopDelay (1 ms resolution, so an idle loop reads about 1 ms).`,
    data: phases,
    targets: [{ name: 'event-loop lag p99 while generating (ms)', value: worstP99, target: '≤ 10', met: worstP99 <= 10 }],
  };
}
