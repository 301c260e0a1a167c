// `npm run bench:gpu`: one command for a machine with a real GPU (CUDA and/or WebGPU). Decode tok/s at
// depth 0 / 512 / 2048 on SmolLM2-135M's shapes (fp32, and q4f16: 4-bit MatMulNBits weights with an fp16
// KV cache, as transformers.js model_q4f16 keeps it), on CPU and every GPU
// provider this build and machine run, each against a bare session.run loop on the same provider; prints
// a table and writes bench/results/gpu-decode.json with the GPU's name. Also reports the host↔device bytes
// of a decode step (the device-resident cache on WebGPU) and whether the cache stayed on the device. On a
// software adapter (Mesa lavapipe: `--providers webgpu --depths 0,64 --steps 4`) it is a correctness smoke
// of the device path; its speed column is labelled meaningless. Benchmark process only.
// Budget: under 5 minutes on a desktop GPU once the fixtures are built (~1 minute, cached in test/.fixtures).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { acceleratorFacts, planAuto } from '../main/engine/autoProvider';
import { loadModel } from '../main/engine/loadedModel';
import { availableProviders } from '../main/engine/onnxSession';
import { PROVIDER_LABELS, type ProviderName } from '../common/providers';
import { byteTokenIds } from '../test/fixtures/fixturePrng';
import { ensureFixture, SMOLLM2_135M_SHAPES } from '../test/fixtures/llamaFixture';
import { RESULTS_DIR } from './lib/benchContext';
import { decodeVsBare, makeRunner } from './lib/benchEngine';
import { describeMachine, machineInfo } from './lib/machine';
import { fmt, mdTable } from './lib/stats';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '32' },
    providers: { type: 'string', default: 'cpu,cuda,webgpu' },
    depths: { type: 'string', default: '0,512,2048' },
  },
  strict: true,
});
const steps = Number(values.steps);
const providers = values.providers!.split(',') as ProviderName[];
const DEPTHS = values.depths!.split(',').map(Number);
// A provider 'auto' would not pick here runs on a software adapter (or none): its speed means nothing.
const hardware = new Set(planAuto(availableProviders(), acceleratorFacts()).candidates.map((c) => c.name));
const speedNote = (provider: ProviderName) => (provider === 'cpu' || hardware.has(provider) ? '' : ' (software adapter: speed meaningless)');
const WINDOW = 2048;

/** The GPU's name where a tool says it (nvidia-smi; else unknown). */
function gpuName(): string {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown (no nvidia-smi)';
  }
}

const rows: Record<string, unknown>[] = [];
const VARIANTS = [
  { name: 'fp32', spec: { ...SMOLLM2_135M_SHAPES, kvDtype: 'float32' } },
  { name: 'q4f16', spec: { ...SMOLLM2_135M_SHAPES, weights: 'q4', kvDtype: 'float16' } },
] as const;
for (const { name: kvDtype, spec } of VARIANTS) {
  const { dir } = await ensureFixture(`smollm2-135m-shapes-${kvDtype}`, spec);
  for (const provider of providers) {
    const model = await loadModel(dir, { provider });
    try {
      if (model.session.provider !== provider) {
        rows.push({ kvDtype, provider, skipped: model.session.fallbackReason });
        continue;
      }
      for (const depth of DEPTHS) {
        const stream = makeRunner(model, { sink: 4, window: WINDOW, chunk: 256 });
        if (depth > 0) await stream.runner.feed(byteTokenIds(depth));
        const r = await decodeVsBare(model, stream, steps);
        await stream.runner.feed([5]);
        const { fed, fetched } = stream.runner.lastStepBytes;
        rows.push({ kvDtype, provider, depth, tokPerSec: 1000 / r.oursMs, ...r, onDevice: stream.runner.onDevice, stepBytes: fed + fetched, note: speedNote(provider) });
        stream.runner.dispose();
      }
    } finally {
      await model.release();
    }
  }
}

const table = mdTable(
  ['fixture', 'provider', 'depth', 'tok/s', 'Ouro ms (p50)', 'bare ms (p50)', 'Ouro ÷ bare', 'cache', 'host↔device B/step'],
  rows.map((r) =>
    'skipped' in r
      ? [String(r.kvDtype), PROVIDER_LABELS[r.provider as ProviderName], '', `skipped: ${String(r.skipped)}`, '', '', '', '', '']
      : [
          String(r.kvDtype),
          PROVIDER_LABELS[r.provider as ProviderName] + String(r.note),
          String(r.depth),
          fmt(r.tokPerSec as number, 1),
          fmt(r.oursMs as number, 2),
          fmt(r.bareMs as number, 2),
          fmt(r.ratio as number, 3),
          r.onDevice ? 'device' : 'host',
          fmt(r.stepBytes as number, 0),
        ],
  ),
);
const machine = machineInfo();
const gpu = gpuName();
console.log(`# GPU decode (SmolLM2-135M shapes, S=4, W=${WINDOW}, ${steps} steps per cell)\n\n${describeMachine(machine)}; GPU: ${gpu}\n\n${table}`);
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, 'gpu-decode.json'), `${JSON.stringify({ machine, gpu, window: WINDOW, steps, rows }, null, 2)}\n`);
