// JavaScript heap allocated per decode step, by allocating function: V8's sampling heap profiler (objects
// collected by scavenges and mark-compacts counted too) over 200 greedy steps of a W=2048 stream after 50
// unmeasured ones (bench/README section 20). A step's garbage is what fills the young generation: the
// engine host's 1 MB semi-spaces scavenge every ~1 MB.
// `npx tsx bench/stepAlloc.ts [fp32|int8|q4] [--unpacked]` (--unpacked: an output per layer's new rows, the
// packed output's baseline). Benchmark process only.
import { Session } from 'node:inspector/promises';
import { loadModel } from '../main/engine/loadedModel';
import type { WeightFormat } from '../test/fixtures/fixtureQuant';
import { argmax, makeRunner } from './lib/benchEngine';
import { ensureBenchFixture } from './lib/benchFixture';

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

const format = (process.argv[2] ?? 'q4') as WeightFormat;
const STEPS = 200;
const model = await loadModel(ensureBenchFixture(format), { threads: 2 });
const packedRows = !process.argv.includes('--unpacked');
const { runner } = makeRunner(model, { sink: 4, window: 2048, chunk: 256 }, { packedRows });
let t = argmax((await runner.feed([7]))!);
for (let i = 0; i < 50; i++) t = argmax((await runner.feed([t]))!);
const inspector = new Session();
inspector.connect();
// 128-byte sampling: most objects of a step are counted, not one in 512 KB.
await inspector.post('HeapProfiler.startSampling', { samplingInterval: 128, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
for (let i = 0; i < STEPS; i++) t = argmax((await runner.feed([t]))!);
const { profile } = (await inspector.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: ProfileNode } };
const bySite = new Map<string, number>();
let total = 0;
const walk = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const site = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  total += node.selfSize;
  if (node.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  for (const child of node.children) walk(child);
};
walk(profile.head);
const kb = (bytes: number) => +(bytes / STEPS / 1024).toFixed(2);
const top = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 12);
console.log(JSON.stringify({ format, packedRows, kbPerStep: kb(total), bySite: Object.fromEntries(top.map(([site, bytes]) => [site, kb(bytes)])) }, null, 1));
await model.release();
