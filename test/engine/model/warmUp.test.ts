// The warm-up at load: before loadModel returns, the session has run a new conversation's first two step
// shapes (an empty past, then a 128-slot compacted past) through the runner; `warmUp: false` skips it; and
// it leaves nothing behind (a stream after it computes what a stream on an unwarmed model computes).
import { beforeAll, expect, test, vi } from 'vitest';
import { loadModel, openStream, type LoadedModel } from '../../../main/engine/loadedModel';
import type * as OnnxSession from '../../../main/engine/onnxSession';
import { ensureFixture } from '../../fixtures/llamaFixture';

/** Past lengths (dim 2 of past_key_values.0.key) of every run of every session opened, in order. */
const lengths: number[] = [];
// The real session seam, with each run's past length recorded on the way through.
vi.mock('../../../main/engine/onnxSession', async (importOriginal) => {
  const real = await importOriginal<typeof OnnxSession>();
  const openSession: typeof real.openSession = async (...args) => {
    const session = await real.openSession(...args);
    const run: typeof session.run = (feeds, fetches) => {
      const past = feeds['past_key_values.0.key'];
      if (past !== undefined) lengths.push(past.dims[2]);
      return session.run(feeds, fetches);
    };
    return new Proxy(session, { get: (target, key) => (key === 'run' ? run : Reflect.get(target, key)) });
  };
  return { ...real, openSession };
});

let dir = '';
beforeAll(async () => {
  dir = (await ensureFixture('tiny')).dir;
});
/** The model and the past lengths of the runs its load made. */
async function pastLengthsDuringLoad(warmUp: boolean | undefined): Promise<{ model: LoadedModel; lengths: number[] }> {
  lengths.length = 0;
  const model = await loadModel(dir, { threads: 1, warmUp });
  return { model, lengths: [...lengths] };
}

test('the load runs a one-token step on a 128-slot past, unless warmUp is false', async () => {
  const warm = await pastLengthsDuringLoad(undefined);
  const cold = await pastLengthsDuringLoad(false);
  try {
    // The RoPE probe's two empty-past runs either way; the warm-up adds an empty-past and a 128-slot step.
    expect(cold.lengths).toEqual([0, 0]);
    expect(warm.lengths).toEqual([0, 0, 0, 128]);

    const feed = async (model: LoadedModel) => {
      const { runner } = openStream(model, { sink: 4, window: 300, positions: 'cache', journalTokens: 0 });
      const out: number[] = [];
      for (const ids of [[5, 9, 2, 7], [11], [3]]) out.push(...(await runner.feed(ids))!);
      return out;
    };
    expect(await feed(warm.model)).toEqual(await feed(cold.model));
  } finally {
    await warm.model.release();
    await cold.model.release();
  }
});
