// Which graphs the attention view's rewrite extends (a Softmax over the last axis whose weights multiply a
// layer's values) and the reasons it gives for the others, fused attention ops first; that each layer's row
// is taken right after its Softmax, that a closed step runs L + 2 added nodes and copies no row, and that
// the reduction runs only in a run that fetches the attention; and the signed int64 attribute encoding it
// relies on.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, test } from 'vitest';
import { planFastOutputs } from '../../../main/engine/model/fastOutputs';
import { fieldInt64, forEachField, WireWriter } from '../../../main/engine/model/protoWire';
import { openSession } from '../../../main/engine/onnxSession';
import { ensureFixture, TINY } from '../../fixtures/llamaFixture';
import { stepFeeds } from '../../fixtures/fixtureFeeds';
import { cleanupTemp, kernelsRun, sharedModel, type KernelRun } from './modelTestKit';

const { onnx } = onnxProto;

afterAll(cleanupTemp);

interface AttnGraph {
  readonly softmaxAxis?: number | null;
  /** Node between the Softmax and the MatMul. */
  readonly cast?: boolean;
  readonly fused?: string;
}

/** One layer's attention as exports spell it: Softmax(scores) → [Cast] → MatMul(·, Unsqueeze(present.0.value)). */
function graph(opts: AttnGraph = {}): Uint8Array {
  const info = (name: string) => ({ name, type: { tensorType: { elemType: 1 } } });
  const axis = opts.softmaxAxis === undefined ? -1 : opts.softmaxAxis;
  const nodes = opts.fused
    ? [{ input: ['q', 'k', 'v'], output: ['ctx'], name: '/attn', opType: opts.fused, domain: 'com.microsoft' }]
    : [
        { input: ['past_key_values.0.value', 'v'], output: ['present.0.value'], name: '/concat', opType: 'Concat', attribute: [{ name: 'axis', type: 2, i: 2 }] },
        { input: ['present.0.value', 'axes'], output: ['v5'], name: '/unsq', opType: 'Unsqueeze' },
        { input: ['scores'], output: ['probs'], name: '/softmax', opType: 'Softmax', attribute: axis === null ? [] : [{ name: 'axis', type: 2, i: axis }] },
        ...(opts.cast ? [{ input: ['probs'], output: ['probs_cast'], name: '/cast', opType: 'Cast', attribute: [{ name: 'to', type: 2, i: 1 }] }] : []),
        { input: [opts.cast ? 'probs_cast' : 'probs', 'v5'], output: ['ctx'], name: '/matmul', opType: 'MatMul' },
      ];
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: { name: 'g', node: nodes, input: [info('input_ids')], output: ['logits', 'present.0.key', 'present.0.value'].map(info) },
    }),
  ).finish();
}

function attentionOf(bytes: Uint8Array): string {
  const plan = planFastOutputs(bytes);
  if ('reason' in plan) throw new Error(plan.reason);
  return plan.fast.attention ? `layers ${plan.fast.attention.layerCount}` : (plan.fast.attentionNote ?? '');
}

describe('the attention rewrite finds each layer’s softmax weights', () => {
  test.each([
    ['Softmax → MatMul with the layer’s values', {}, /^layers 1$/],
    ['through a Cast (fp16 exports upcast the softmax)', { cast: true }, /^layers 1$/],
    ['no axis attribute at opset 17 (default -1)', { softmaxAxis: null }, /^layers 1$/],
    ['a Softmax over another axis', { softmaxAxis: 1 }, /no attention Softmax found for layer 0/],
    ['a fused com.microsoft op', { fused: 'GroupQueryAttention' }, /fused com\.microsoft\.GroupQueryAttention nodes, which do not expose their weights/],
  ] as const)('%s', (_label, opts, expected) => {
    expect(attentionOf(graph(opts))).toMatch(expected);
  });

  test('its outputs are among the added ones, so the model’s interface stays as exported', () => {
    const plan = planFastOutputs(graph());
    if ('reason' in plan) throw new Error(plan.reason);
    expect(plan.fast.added).toEqual(expect.arrayContaining(['ouro_attn.layers', 'ouro_attn.mean']));
  });

  test.skipIf(sharedModel('tiny-random-llama-genai-fp16') === null)('a real export with MultiHeadAttention says why it has no attention view', async () => {
    const session = await openSession(join(sharedModel('tiny-random-llama-genai-fp16')!, 'onnx', 'model.onnx'), { intraOpThreads: 1 });
    try {
      expect(session.fastOutputs?.attention).toBeNull();
      expect(session.fastOutputs?.attentionNote).toMatch(/MultiHeadAttention/);
    } finally {
      await session.release();
    }
  });

  test.skipIf(sharedModel('stories260K') === null)('the real stories260K export gets one row per layer', async () => {
    const session = await openSession(join(sharedModel('stories260K')!, 'onnx', 'model.onnx'), { intraOpThreads: 1 });
    try {
      expect(session.fastOutputs?.attention?.layerCount).toBe(5);
      expect(session.outputs.map((o) => o.name)).not.toContain('ouro_attn.layers');
    } finally {
      await session.release();
    }
  });
});

// Every weight format and the device cache's graph: the node order onnxruntime picks depends on the graph
// around the attention (without `Size(logits)`, int8's head, fused by onnxruntime into a node with the
// highest index, led the order and the rows ran after the last layer).
test.each([
  ['fp32', 'fp32', false],
  ['int8', 'int8', false],
  ['q4', 'q4', false],
  ['fp32 with the device cache’s rewrite', 'fp32', true],
] as const)('%s: each layer’s row is taken before the next layer’s Softmax runs, so a chunk holds one layer’s weights at a time', async (_label, weights, device) => {
  // Four layers: onnxruntime's depth-first order used to run the rows of layers 1..L-2 after the last Softmax.
  const { dir } = await ensureFixture(`attention-4-layers-${weights}`, { ...TINY, layers: 4, seed: 4, weights });
  const profiles = mkdtempSync(join(tmpdir(), 'ouro-attn-'));
  try {
    const deviceCache = { layers: 4, kvHeads: TINY.kvHeads, headDim: TINY.headDim, rotaryDim: TINY.headDim };
    const session = await openSession(join(dir, 'onnx', 'model.onnx'), {
      intraOpThreads: 1,
      tuning: { profileFilePrefix: join(profiles, 'p') },
      ...(device ? { deviceCache, deviceCacheOnHost: true } : {}),
    });
    if (device) expect(session.deviceCache).not.toBeNull();
    const n = 5;
    const feeds = {
      input_ids: { type: 'int64', data: BigInt64Array.from({ length: n }, (_, i) => BigInt(3 + i)), dims: [1, n] },
      attention_mask: { type: 'int64', data: new BigInt64Array(n).fill(1n), dims: [1, n] },
      position_ids: { type: 'int64', data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), dims: [1, n] },
      ...Object.fromEntries(
        session.inputs
          .filter((i) => i.name.startsWith('past_key_values.'))
          .map((i) => [i.name, { type: 'float32', data: new Float32Array(0), dims: [1, TINY.kvHeads, 0, TINY.headDim] }]),
      ),
    } as const;
    await session.run(feeds, [session.fastOutputs!.attention!.layers]);
    await session.release();
    const events = JSON.parse(readFileSync(join(profiles, readdirSync(profiles)[0]), 'utf8')) as { cat: string; name: string; args?: { op_name?: string } }[];
    const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
    const softmaxes = kernels.flatMap((e, i) => (e.args?.op_name === 'Softmax' ? [i] : []));
    const rows = [0, 1, 2, 3].map((l) => kernels.findIndex((e) => e.name.startsWith(`ouro_attn/layer_${l}/last_row`)));
    expect(softmaxes).toHaveLength(4);
    for (let l = 0; l < 4; l++) {
      expect(rows[l]).toBeGreaterThan(softmaxes[l]);
      if (l < 3) expect(rows[l]).toBeLessThan(softmaxes[l + 1]);
    }
  } finally {
    rmSync(profiles, { recursive: true, force: true });
  }
});

test('a closed step runs L + 2 added nodes and copies no row; the reduction runs only in a run that fetches the attention', async () => {
  const model = join((await ensureFixture('tiny')).dir, 'onnx', 'model.onnx');
  let rows = 0;
  const nodesRun = (open: boolean): Promise<KernelRun[]> =>
    kernelsRun(model, async (session) => {
      const fast = session.fastOutputs!;
      const out = await session.run(stepFeeds(session, 6, 1), [fast.lastLogits, ...(open ? [fast.attention!.mean] : [])]);
      if (open) rows = out[fast.attention!.mean].dims[0];
    });
  const added = (run: KernelRun[]) => run.filter((k) => k.name.startsWith('ouro_attn'));
  const rowBytes = (run: KernelRun[]) => run.filter((k) => /^ouro_attn\/layer_\d+\/last_row\//.test(k.name)).map((k) => k.outputBytes);
  // The then-branch's nodes.
  const reduction = (run: KernelRun[]) => run.filter((k) => /^ouro_attn\/(?:stacked|flat|row_shape|keys|by_head|layers_any|on\/)/.test(k.name)).length;
  const closed = await nodesRun(false);
  // TINY's 2 layers: the rows' Slices, Size(logits) and the If (onnxruntime folds its else-branch's
  // ConstantOfShape nodes into constants at load).
  expect(added(closed).map((k) => k.name.split('/').at(-1)).sort()).toEqual(['If', 'Size', 'Slice', 'Slice']);
  expect(rowBytes(closed)).toEqual([0, 0]);
  expect(reduction(closed)).toBe(0);
  const open = await nodesRun(true);
  // Concat, Flatten, Shape, Gather, Concat, Reshape, ReduceMean, Cast, ReduceMean.
  expect(reduction(open)).toBe(9);
  // Each row: 4 heads × (6 past rows + the step's token) float32s.
  expect(rowBytes(open)).toEqual([4 * 7 * 4, 4 * 7 * 4]);
  expect(rows).toBe(7);
});

test('int64 fields round-trip negative values as protobuf encodes them', () => {
  for (const v of [-1, -2, 0, 5, -(2 ** 40), 2 ** 40]) {
    const bytes = new WireWriter().int64Field(3, v).finish();
    const values: number[] = [];
    forEachField(bytes, 0, bytes.length, (f) => values.push(fieldInt64(bytes, f)));
    expect(values).toEqual([v]);
  }
  expect(new WireWriter().int64Field(3, -1).finish().length).toBe(11);
});
