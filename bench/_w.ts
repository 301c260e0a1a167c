import { loadModel, warmStepCode } from '../main/engine/loadedModel';
import { ensureBenchFixture } from './lib/benchFixture';
const model = await loadModel(ensureBenchFixture('q4'), { threads: 2, warmUp: false });
for (let i = 0; i < 3; i++) { const t = performance.now(); const n = await warmStepCode(model); console.log(n, (performance.now() - t).toFixed(0), 'ms'); }
await model.release();
