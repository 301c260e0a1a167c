// Child process of the transformers.js comparison: loads ONE runner (Ouro's or transformers.js'), prefills
// a context, decodes greedily, and prints one JSON line of timings. A fresh process per measurement keeps
// the two runtimes from sharing a process (two ORT sessions in one process slow each other down).
// First: transformers.js loads onnxruntime-node too, which must find its telemetry off.
import '../../main/engine/ortTelemetryOff';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AutoModelForCausalLM, BaseStreamer, env, Tensor } from '@huggingface/transformers';
import { loadModel } from '../../main/engine/loadedModel';
import { argmax, makeRunner } from '../lib/benchEngine';
import { byteTokenIds } from '../../test/fixtures/fixturePrng';

const { values } = parseArgs({
  options: {
    runner: { type: 'string' },
    model: { type: 'string' },
    ctx: { type: 'string', default: '512' },
    gen: { type: 'string', default: '16' },
    window: { type: 'string', default: '2048' },
    threads: { type: 'string', default: '2' },
    mode: { type: 'string', default: 'decode' },
    ids: { type: 'string' },
  },
});
const dir = path.resolve(values.model!);
const ctxLen = Number(values.ctx);
const gen = Number(values.gen);
const threads = Number(values.threads);

/** Records when generate() hands out each token (the first put is the prompt). */
class Clock extends BaseStreamer {
  readonly times: number[] = [];
  override put(): void {
    this.times.push(performance.now());
  }
  override end(): void {}
}

async function loadTjs(): Promise<{ model: Awaited<ReturnType<typeof AutoModelForCausalLM.from_pretrained>>; loadMs: number }> {
  env.allowRemoteModels = false;
  env.localModelPath = `${path.dirname(dir)}/`;
  const t = performance.now();
  const model = await AutoModelForCausalLM.from_pretrained(path.basename(dir), {
    dtype: 'fp32',
    device: 'cpu',
    local_files_only: true,
    session_options: { intraOpNumThreads: threads },
  });
  return { model, loadMs: performance.now() - t };
}

function int64(ids: readonly number[]): Tensor {
  return new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]);
}

async function tjsDecode(): Promise<Record<string, unknown>> {
  const { model, loadMs } = await loadTjs();
  const prompt = byteTokenIds(ctxLen, 11);
  const clock = new Clock();
  const t = performance.now();
  await model.generate({
    inputs: int64(prompt),
    attention_mask: int64(prompt.map(() => 1)),
    max_new_tokens: gen,
    min_new_tokens: gen,
    do_sample: false,
    streamer: clock,
  } as unknown as Parameters<typeof model.generate>[0]);
  const [, first, ...rest] = clock.times;
  const steps = rest.map((x, i) => x - (i === 0 ? first : rest[i - 1]));
  return { runner: 'transformers.js', ctx: ctxLen, loadMs, ttftMs: first - t, stepsMs: steps };
}

async function oursDecode(): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const model = await loadModel(dir, { threads });
  const loadMs = performance.now() - t0;
  const window = Number(values.window);
  const { runner } = makeRunner(model, { sink: 4, window, chunk: 256 });
  const prompt = byteTokenIds(ctxLen, 11);
  const t = performance.now();
  let token = argmax((await runner.feed(prompt))!);
  const ttftMs = performance.now() - t;
  const steps: number[] = [];
  for (let i = 1; i < gen; i++) {
    const s = performance.now();
    token = argmax((await runner.feed([token]))!);
    steps.push(performance.now() - s);
  }
  await model.release();
  return { runner: `Ouro W=${window}`, ctx: ctxLen, loadMs, ttftMs, stepsMs: steps };
}

/** transformers.js past max_position_embeddings: a long greedy generation, then one dense forward pass scored per bucket. */
async function tjsPastMax(): Promise<Record<string, unknown>> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' ').slice(0, 200));
  const { model } = await loadTjs();
  const clock = new Clock();
  let generated = 0;
  let error: string | null = null;
  try {
    const out = (await model.generate({
      inputs: int64([1]),
      max_new_tokens: gen,
      min_new_tokens: gen,
      do_sample: false,
      streamer: clock,
    } as unknown as Parameters<typeof model.generate>[0])) as Tensor;
    generated = out.dims[1] - 1;
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const stepAt = clock.times.slice(1).map((x, i) => x - clock.times[i]);
  const ids = JSON.parse(readFileSync(values.ids!, 'utf8')) as number[];
  const forward = (await model({ input_ids: int64(ids), attention_mask: int64(ids.map(() => 1)) })) as { logits: Tensor };
  const logits = forward.logits.data as Float32Array;
  const vocab = forward.logits.dims[2];
  const nll: number[] = [];
  for (let i = 0; i + 1 < ids.length; i++) {
    const row = logits.subarray(i * vocab, (i + 1) * vocab);
    let max = -Infinity;
    for (const v of row) if (v > max) max = v;
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    nll.push(Math.log(sum) + max - row[ids[i + 1]]);
  }
  console.warn = warn;
  return { runner: 'transformers.js', mode: 'pastmax', generated, error, warnings, stepMs: stepAt, nll };
}

const work = values.mode === 'pastmax' ? tjsPastMax : values.runner === 'tjs' ? tjsDecode : oursDecode;
console.log(JSON.stringify(await work()));
process.exit(0);
