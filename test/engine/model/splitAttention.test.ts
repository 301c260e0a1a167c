// Which graphs the split-attention rewrite takes (each present a Concat of its past and new rows, read only
// on the way to its attention MatMul) and the reasons it gives for the others; on a real session, a run
// builds whole presents only when it fetches one, and the split graph's logits match the graph as exported.
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, test } from 'vitest';
import { scanModel } from '../../../main/engine/model/graphFacts';
import { planSplitAttention } from '../../../main/engine/model/splitAttention';
import { openSession } from '../../../main/engine/onnxSession';
import { ensureFixture } from '../../fixtures/llamaFixture';
import { stepFeeds } from '../../fixtures/fixtureFeeds';
import { cleanupTemp, kernelsRun } from './modelTestKit';

const { onnx } = onnxProto;

afterAll(cleanupTemp);

interface LayerGraph {
  readonly keyAxis?: number;
  /** A node reading the present key besides the attention: its output is a graph output. */
  readonly keyLength?: boolean;
  /** The op between the key's Unsqueeze and its Transpose. */
  readonly between?: { readonly opType: string; readonly domain: string };
  /** No MatMul reads the values. */
  readonly noValueMatMul?: boolean;
}

/** One layer's attention as the fixtures export it: Concat → Unsqueeze → Transpose → MatMul for keys, Concat → Unsqueeze → MatMul for values. */
function graph(opts: LayerGraph = {}): Uint8Array {
  const info = (name: string) => ({ name, type: { tensorType: { elemType: 1 } } });
  const concat = (past: string, rows: string, out: string, axis: number) => ({ input: [past, rows], output: [out], name: `/${out}`, opType: 'Concat', attribute: [{ name: 'axis', type: 2, i: axis }] });
  const between = opts.between ? [{ input: ['k5'], output: ['k5b'], name: '/between', opType: opts.between.opType, domain: opts.between.domain }] : [];
  const nodes = [
    concat('past_key_values.0.key', 'k', 'present.0.key', opts.keyAxis ?? 2),
    { input: ['present.0.key', 'axes'], output: ['k5'], name: '/unsq_k', opType: 'Unsqueeze' },
    ...between,
    { input: [opts.between ? 'k5b' : 'k5'], output: ['kt'], name: '/transpose', opType: 'Transpose', attribute: [{ name: 'perm', type: 7, ints: [0, 1, 2, 4, 3] }] },
    { input: ['q', 'kt'], output: ['scores'], name: '/qk', opType: 'MatMul' },
    ...(opts.keyLength ? [{ input: ['present.0.key'], output: ['key_shape'], name: '/shape', opType: 'Shape' }] : []),
    { input: ['scores'], output: ['probs'], name: '/softmax', opType: 'Softmax', attribute: [{ name: 'axis', type: 2, i: -1 }] },
    concat('past_key_values.0.value', 'v', 'present.0.value', 2),
    { input: ['present.0.value', 'axes'], output: ['v5'], name: '/unsq_v', opType: 'Unsqueeze' },
    opts.noValueMatMul ? { input: ['probs', 'v5'], output: ['ctx'], name: '/pv', opType: 'Add' } : { input: ['probs', 'v5'], output: ['ctx'], name: '/pv', opType: 'MatMul' },
  ];
  const outputs = ['ctx', 'present.0.key', 'present.0.value', ...(opts.keyLength ? ['key_shape'] : [])];
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: { name: 'g', node: nodes, input: ['q', 'k', 'v', 'past_key_values.0.key', 'past_key_values.0.value'].map(info), output: outputs.map(info) },
    }),
  ).finish();
}

function planOf(bytes: Uint8Array): string {
  const plan = planSplitAttention(bytes, scanModel(bytes));
  return 'reason' in plan ? plan.reason : `split ${plan.split.presents.join(', ')}; ${plan.edits.length} nodes removed`;
}

describe('the split-attention rewrite', () => {
  test.each([
    // Key: Concat, Unsqueeze, Transpose, MatMul; value: Concat, Unsqueeze, MatMul.
    ['the fixtures’ grouped attention', {}, /^split present\.0\.key, present\.0\.value; 7 nodes removed$/],
    ['a present concatenated on another axis', { keyAxis: 1 }, /present\.0\.key is concatenated on axis 1, not the sequence axis/],
    ['a present read by a node whose output the graph returns', { keyLength: true }, /present\.0\.key reaches the graph output key_shape/],
    ['a com.microsoft op between the present and its MatMul', { between: { opType: 'Relu', domain: 'com.microsoft' } }, /present\.0\.key reaches a Relu before its attention MatMul/],
    ['values that reach no MatMul', { noValueMatMul: true }, /present\.0\.value reaches the graph output ctx/],
  ] as const)('%s', (_label, opts, expected) => {
    expect(planOf(graph(opts))).toMatch(expected);
  });
});

test('a run that fetches no present builds none: the profile shows the whole presents’ Concats only where one is fetched', async () => {
  const model = join((await ensureFixture('tiny')).dir, 'onnx', 'model.onnx');
  const nodesRun = async (fetchPresent: boolean): Promise<string[]> =>
    (
      await kernelsRun(model, async (session) => {
        const fast = session.fastOutputs!;
        const key = fast.split!.presents[0];
        await session.run(stepFeeds(session, 6, 1), fetchPresent ? [key] : [fast.lastLogits, fast.newRows.get(key)!]);
      })
    ).map((k) => k.name);
  const whole = (names: string[]) => names.filter((name) => name.includes('ouro_split_whole')).length;
  const rowsOnly = await nodesRun(false);
  expect(rowsOnly.length).toBeGreaterThan(0);
  expect(whole(rowsOnly)).toBe(0);
  // Two layers, a key and a value each.
  expect(whole(await nodesRun(true))).toBe(4);
});

describe('a split session', () => {
  test('builds whole presents only in a run that fetches one; its steps match the graph as exported', async () => {
    const { dir } = await ensureFixture('tiny');
    const path = join(dir, 'onnx', 'model.onnx');
    const split = await openSession(path, { intraOpThreads: 1 });
    const exported = await openSession(path, { intraOpThreads: 1, splitAttention: false });
    try {
      expect(split.fastOutputs?.split).not.toBeNull();
      expect({ split: exported.fastOutputs?.split, note: exported.fastOutputs?.splitNote }).toEqual({ split: null, note: 'disabled' });
      const fast = split.fastOutputs!;
      const [key] = fast.split!.presents;
      for (const [past, n] of [[0, 1], [7, 1], [5, 3]]) {
        const feeds = stepFeeds(split, past, n);
        const whole = await split.run(feeds, [key]);
        expect(whole[key].dims[2]).toBe(past + n);
        const step = await split.run(feeds, [fast.lastLogits, fast.newRows.get(key)!]);
        const reference = await exported.run(feeds, [exported.fastOutputs!.lastLogits]);
        const logits = step[fast.lastLogits].data as Float32Array;
        const expected = reference[exported.fastOutputs!.lastLogits].data as Float32Array;
        for (let i = 0; i < logits.length; i++) expect(Math.abs(logits[i] - expected[i])).toBeLessThan(1e-5);
      }
    } finally {
      await split.release();
      await exported.release();
    }
  });
});
