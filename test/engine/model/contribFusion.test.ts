// Load-time contrib-op fusion (model/contribFusion): which export patterns of the residual RMSNorm and of
// apply_rotary_pos_emb become SkipSimplifiedLayerNormalization / RotaryEmbedding, which must stay as they
// are, that each fused graph computes what its source graph computes (onnxruntime, both graphs), and that
// the engine streams the same tokens through a wrapping sink ring with and without it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadModel, openStream, type LoadedModel } from '../../../main/engine/loadedModel';
import { withContribFusions, type ContribFusion } from '../../../main/engine/model/contribFusion';
import { maxAbsDiff } from '../../fixtures/fixtureFeeds';
import { openTestSession, type TestTensor } from '../../fixtures/fixtureSession';
import { ensureFixture } from '../../fixtures/llamaFixture';
import { cleanupTemp, copyFolder, sharedModel, tempDir } from './modelTestKit';

const { onnx } = onnxProto;
const BOTH: readonly ContribFusion[] = ['skipNorm', 'rotary'];
const FLOAT = 1;
const INT64 = 7;

/**
 * A tiny graph written the way one exporter writes a pattern: nodes over named values, constants as
 * initializers or (torch's way) as Constant nodes, scalars there as `value_int` / `value_float`.
 */
class MiniGraph {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private id = 0;

  constructor(private readonly constantNodes = false) {}

  private constant(tensor: OnnxTypes.ITensorProto, scalar: OnnxTypes.IAttributeProto): string {
    const name = `c${this.id++}`;
    if (!this.constantNodes) this.initializers.push({ ...tensor, name });
    else {
      const attribute = tensor.dims!.length === 0 ? scalar : { name: 'value', t: tensor, type: 4 };
      this.nodes.push({ opType: 'Constant', input: [], output: [name], name, attribute: [attribute] });
    }
    return name;
  }

  op(opType: string, inputs: readonly string[], attrs: Record<string, number | number[]> = {}, outputs = 1): string {
    const out = Array.from({ length: outputs }, () => `v${this.id++}`);
    const attribute = Object.entries(attrs).map(([name, v]) => (Array.isArray(v) ? { name, ints: v, type: 7 } : { name, i: v, type: 2 }));
    this.nodes.push({ opType, input: [...inputs], output: out, name: `n${this.id}`, attribute });
    return out.join(',');
  }

  i64(values: number[], dims = [values.length]): string {
    return this.constant({ dataType: INT64, dims, int64Data: values }, { name: 'value_int', i: values[0], type: 2 });
  }

  f32(values: number[], dims = [values.length]): string {
    return this.constant({ dataType: FLOAT, dims, rawData: new Uint8Array(Float32Array.from(values).buffer) }, { name: 'value_float', f: values[0], type: 1 });
  }

  /** A learned weight: an initializer whichever way the constants are written. */
  weight(values: number[]): string {
    const name = `w${this.id++}`;
    this.initializers.push({ name, dataType: FLOAT, dims: [values.length], rawData: new Uint8Array(Float32Array.from(values).buffer) });
    return name;
  }

  model(inputs: Array<[string, number, number[]]>, outputs: string[], opset = 17): Uint8Array {
    const info = ([name, elemType, dims]: [string, number, number[]]) => ({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
    const graph = { name: 'g', node: this.nodes, initializer: this.initializers, input: inputs.map(info), output: outputs.map((o) => ({ name: o, type: { tensorType: { elemType: FLOAT } } })) };
    return onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph }).finish();
  }
}

const HEADS = 3;
const SEQ = 5;
const DIM = 8;

type HalvesVariant = 'slices' | 'slices-from-shape' | 'slices-from-two-shapes' | 'slices-at-two-points' | 'split' | 'unequal-split';
interface RotaryVariant {
  readonly halves: HalvesVariant;
  /** The heads axis cos is unsqueezed on: 1 for [batch, heads, seq, dim] (what fuses). */
  readonly unsqueezeAxis?: number;
  /** cat(freqs, other) instead of cat(freqs, freqs). */
  readonly halvesDiffer?: boolean;
  /** cos scaled by a constant (yarn's attention factor) and cast, between Cos and the Unsqueeze. */
  readonly scaled?: boolean;
  readonly opset?: number;
  readonly constantNodes?: boolean;
}

/** HF apply_rotary_pos_emb on x [1, heads, seq, dim] with cos and sin from position_ids, as `variant` writes it. */
function rotaryGraph(variant: RotaryVariant): Uint8Array {
  const g = new MiniGraph(variant.constantNodes);
  const opset = variant.opset ?? 17;
  const axis = variant.unsqueezeAxis ?? 1;
  const invFreq = g.weight(Array.from({ length: DIM / 2 }, (_, i) => 10000 ** (-(2 * i) / DIM)));
  const freqs = g.op('Mul', [g.op('Unsqueeze', [g.op('Cast', ['position_ids'], { to: FLOAT }), g.i64([2])]), invFreq]);
  const other = variant.halvesDiffer ? g.op('Mul', [freqs, g.f32([1.5], [])]) : freqs;
  const emb = g.op('Concat', [freqs, other], { axis: -1 });
  const trig = (op: 'Cos' | 'Sin'): string => {
    let t = g.op(op, [emb]);
    if (variant.scaled) t = g.op('Cast', [g.op('Mul', [t, g.f32([1.25], [])])], { to: FLOAT });
    return g.op('Unsqueeze', [t, g.i64([axis])]);
  };
  const [cos, sin] = [trig('Cos'), trig('Sin')];
  const x = 'x';
  let x1: string;
  let x2: string;
  if (variant.halves === 'split' || variant.halves === 'unequal-split') {
    const sizes = variant.halves === 'split' ? [DIM / 2, DIM / 2] : [DIM / 2 + 1, DIM / 2 - 1];
    // opset 18 wants num_outputs when no sizes come; give the sizes as the input (opset 13+).
    [x1, x2] = g.op('Split', [x, g.i64(sizes)], { axis: -1 }, 2).split(',');
  } else {
    // x.shape[-1] // 2 as torch traces it, once or once per use (or, where nothing fuses, by 3 the second time).
    const traced = (by: number) => g.op('Unsqueeze', [g.op('Div', [g.op('Gather', [g.op('Shape', [x]), g.i64([3], [])], { axis: 0 }), g.i64([by], [])]), g.i64([0])]);
    const half = variant.halves === 'slices' ? g.i64([DIM / 2]) : traced(2);
    const secondHalf = { 'slices-from-two-shapes': traced(2), 'slices-at-two-points': traced(3) }[variant.halves as string] ?? half;
    const last = g.i64([3]);
    x1 = g.op('Slice', [x, g.i64([0]), half, last, g.i64([1])]);
    x2 = g.op('Slice', [x, secondHalf, g.i64([2 ** 53 - 1]), last, g.i64([1])]);
  }
  const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
  const out = g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  const xDims = axis === 1 ? [1, HEADS, SEQ, DIM] : [1, SEQ, HEADS, DIM];
  return g.model([['x', FLOAT, xDims], ['position_ids', INT64, [1, SEQ]]], [out], opset);
}

type NormVariant = 'div' | 'rsqrt-div-mul' | 'reciprocal' | 'pow-3' | 'axes-1' | 'sum-unread';

/** s = a + b, then LlamaRMSNorm(s) as `variant` writes it; `t = s + normed` reads the sum again (but for sum-unread). */
function normGraph(variant: NormVariant, constantNodes = false): Uint8Array {
  const g = new MiniGraph(constantNodes);
  const sum = g.op('Add', ['a', 'b']);
  const mean = g.op('ReduceMean', [g.op('Pow', [sum, g.f32([variant === 'pow-3' ? 3 : 2], [])])], { axes: [variant === 'axes-1' ? 1 : -1], keepdims: 1 });
  const rms = g.op('Sqrt', [g.op('Add', [mean, g.f32([1e-5], [])])]);
  let normed: string;
  if (variant === 'rsqrt-div-mul') normed = g.op('Mul', [sum, g.op('Div', [g.f32([1], []), rms])]);
  else if (variant === 'reciprocal') normed = g.op('Mul', [g.op('Reciprocal', [rms]), sum]);
  else normed = g.op('Div', [sum, rms]);
  const weighted = g.op('Mul', [g.weight(Array.from({ length: DIM }, (_, i) => 0.5 + i / DIM)), normed]);
  const outputs = variant === 'sum-unread' ? [weighted] : [weighted, g.op('Add', [sum, weighted])];
  return g.model([['a', FLOAT, [1, SEQ, DIM]], ['b', FLOAT, [1, SEQ, DIM]]], outputs);
}

function seeded(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 4 - 2);
}

afterAll(cleanupTemp);

/** Every output of `model` on `feeds`, run by onnxruntime as it is. */
async function runModel(model: Uint8Array, feeds: Record<string, TestTensor>): Promise<Float32Array[]> {
  const path = join(tempDir('fusion'), 'model.onnx');
  writeFileSync(path, model);
  const session = await openTestSession(path);
  try {
    const out = await session.run(feeds);
    return session.outputNames.map((n) => out[n].data as Float32Array);
  } finally {
    await session.release();
  }
}

function opTypes(model: Uint8Array): string[] {
  return onnx.ModelProto.decode(model).graph!.node!.map((n) => n.opType!);
}

/** The largest |fused − source| over every output, relative to the output's largest magnitude. */
async function fusedDeviation(model: Uint8Array, fused: Uint8Array, feeds: Record<string, TestTensor>): Promise<number> {
  const [want, got] = [await runModel(model, feeds), await runModel(fused, feeds)];
  return Math.max(...want.map((w, i) => maxAbsDiff(got[i], w) / Math.max(...w.map(Math.abs))));
}

const rotaryFeeds = (positions: number[]): Record<string, TestTensor> => ({
  x: { type: 'float32', data: seeded(HEADS * SEQ * DIM, 7), dims: [1, HEADS, SEQ, DIM] },
  position_ids: { type: 'int64', data: BigInt64Array.from(positions.map(BigInt)), dims: [1, SEQ] },
});

describe('apply_rotary_pos_emb → RotaryEmbedding', () => {
  test.each<[string, RotaryVariant]>([
    ['two constant Slices', { halves: 'slices' }],
    ['Slices at a half computed from Shape (torch tracing)', { halves: 'slices-from-shape' }],
    ['Slices at a half traced once per Slice', { halves: 'slices-from-two-shapes' }],
    ['a Split', { halves: 'split' }],
    ['a Split at opset 18', { halves: 'split', opset: 18 }],
    ['cos and sin scaled and cast (yarn)', { halves: 'slices', scaled: true }],
    ['Slices whose constants are Constant nodes (torch)', { halves: 'slices', scaled: true, constantNodes: true }],
  ])('fuses %s and computes what the graph computes', async (_, variant) => {
    const model = rotaryGraph(variant);
    const { bytes, fusions } = withContribFusions(model, BOTH);
    expect(fusions).toEqual({ skipNorms: 0, rotaries: 1 });
    const ops = opTypes(bytes);
    expect(ops.filter((o) => o === 'RotaryEmbedding')).toHaveLength(1);
    for (const gone of ['Neg', 'Slice', 'Add']) expect(ops).not.toContain(gone);
    expect(onnx.ModelProto.decode(bytes).opsetImport!.map((o) => o.domain)).toContain('com.microsoft');
    // Positions as a sink ring feeds them: not 0..n-1, with a jump.
    const deviation = await fusedDeviation(model, bytes, rotaryFeeds([0, 1, 17, 18, 4093]));
    expect(deviation).toBeLessThan(1e-6);
  });

  test.each<[string, RotaryVariant]>([
    ['cos unsqueezed on axis 2 ([batch, seq, heads, dim] layout)', { halves: 'slices', unsqueezeAxis: 2 }],
    ['cos halves that differ', { halves: 'slices', halvesDiffer: true }],
    ['an unequal Split', { halves: 'unequal-split' }],
    ['Slices at two different points', { halves: 'slices-at-two-points' }],
  ])('leaves %s as it is', (_, variant) => {
    const model = rotaryGraph(variant);
    const { bytes, fusions } = withContribFusions(model, BOTH);
    expect(fusions).toEqual({ skipNorms: 0, rotaries: 0 });
    expect(bytes).toBe(model);
  });
});

const normFeeds = (): Record<string, TestTensor> => ({
  a: { type: 'float32', data: seeded(SEQ * DIM, 3), dims: [1, SEQ, DIM] },
  b: { type: 'float32', data: seeded(SEQ * DIM, 11), dims: [1, SEQ, DIM] },
});

describe('residual Add + RMSNorm → SkipSimplifiedLayerNormalization', () => {
  test.each<[string, NormVariant, number, boolean]>([
    ['x / rms', 'div', 4, false],
    ['x · Div(1, rms) (torch rsqrt)', 'rsqrt-div-mul', 4, false],
    ['x · Div(1, rms) with Constant nodes (torch)', 'rsqrt-div-mul', 4, true],
    ['Reciprocal(rms) · x', 'reciprocal', 4, false],
    ['a sum only the norm reads', 'sum-unread', 1, false],
  ])('fuses %s and computes what the graph computes', async (_, variant, sumOutputIndex, constantNodes) => {
    const model = normGraph(variant, constantNodes);
    const { bytes, fusions } = withContribFusions(model, BOTH);
    expect(fusions).toEqual({ skipNorms: 1, rotaries: 0 });
    const fused = onnx.ModelProto.decode(bytes).graph!.node!;
    const skip = fused.find((n) => n.opType === 'SkipSimplifiedLayerNormalization')!;
    expect(skip.domain).toBe('com.microsoft');
    expect(skip.attribute!.find((a) => a.name === 'epsilon')!.f).toBeCloseTo(1e-5, 10);
    // The residual sum stays available as output 3 when something else reads it.
    expect(skip.output).toHaveLength(sumOutputIndex);
    expect(fused.map((n) => n.opType)).not.toContain('Pow');
    expect(await fusedDeviation(model, bytes, normFeeds())).toBeLessThan(1e-6);
  });

  test.each<[string, NormVariant]>([
    ['a Pow other than 2', 'pow-3'],
    ['a mean over another axis', 'axes-1'],
  ])('leaves %s as it is', (_, variant) => {
    const model = normGraph(variant);
    expect(withContribFusions(model, BOTH)).toEqual({ bytes: model, fusions: { skipNorms: 0, rotaries: 0 } });
  });
});

test('the tiny fixture: every residual norm and every q / k rotation fused, nothing else touched', async () => {
  const { dir } = await ensureFixture('tiny');
  const model = readFileSync(join(dir, 'onnx', 'model.onnx'));
  const before = opTypes(model);
  const { bytes, fusions } = withContribFusions(model, BOTH);
  const layers = before.filter((o) => o === 'Softmax').length;
  // Norms: 2 per layer and the final one, less layer 0's input norm (it reads the embedding, no residual).
  expect(fusions).toEqual({ skipNorms: 2 * layers, rotaries: 2 * layers });
  const after = opTypes(bytes);
  const count = (ops: string[], op: string) => ops.filter((o) => o === op).length;
  expect(count(after, 'Pow')).toBe(1);
  expect(count(after, 'Neg')).toBe(0);
  // Per layer: 2 × (Pow, ReduceMean, Add, Sqrt, Div, Mul) and 2 × (Slice, Slice, Neg, Concat, Mul, Mul) go; the
  // residual Add and the rotary Add become the fused nodes; cos and sin each gain a Flatten and a Split.
  expect(after.length).toBe(before.length - layers * (2 * 6 + 2 * 6) + 4);
  for (const op of ['MatMul', 'Softmax', 'Gather', 'Transpose', 'Reshape']) expect(count(after, op)).toBe(count(before, op));
  // The constants only the removed nodes read go too (onnxruntime would warn about each at every load);
  // the builder's own unread ones (the other LM head's shapes) stay.
  const unread = (file: Uint8Array) => {
    const graph = onnx.ModelProto.decode(file).graph!;
    const read = new Set(graph.node!.flatMap((n) => n.input!));
    return graph.initializer!.filter((t) => !read.has(t.name!)).map((t) => t.name);
  };
  expect(unread(bytes)).toEqual(unread(model));
  expect(onnx.ModelProto.decode(bytes).graph!.initializer!.length).toBeLessThan(onnx.ModelProto.decode(model).graph!.initializer!.length);
});

test('a graph the fusion matches but onnxruntime cannot run fused loads as exported, with a warning', async () => {
  // The tiny fixture with its angles taken from the first position only: as exported, x · cos broadcasts
  // that one angle over every token (a wrong model, but one that runs); fused, RotaryEmbedding's table has
  // one row and a pass of more tokens fails in onnxruntime (the load's warm-up prompt is 24 tokens).
  const dir = copyFolder((await ensureFixture('tiny')).dir, 'fusion-fallback');
  const path = join(dir, 'onnx', 'model.onnx');
  const model = onnx.ModelProto.decode(readFileSync(path));
  const graph = model.graph!;
  const cast = graph.node!.find((n) => n.opType === 'Cast' && n.input![0] === 'position_ids')!;
  const ints = (name: string, v: number) => ({ name, dataType: INT64, dims: [1], int64Data: [v] });
  graph.initializer!.push(ints('first_start', 0), ints('first_end', 1), ints('first_axis', 1));
  graph.node!.unshift({ opType: 'Slice', input: ['position_ids', 'first_start', 'first_end', 'first_axis'], output: ['first_position'], name: 'first_position' });
  cast.input![0] = 'first_position';
  writeFileSync(path, onnx.ModelProto.encode(model).finish());

  const loaded = await loadModel(dir, { threads: 1 });
  try {
    expect(loaded.session.contribFusions).toEqual({ skipNorms: 0, rotaries: 0 });
    expect(loaded.warnings.join('\n')).toMatch(/contrib ops fused failed at its first runs \(.*RotaryEmbedding.*\); it runs as exported/);
    const { runner } = openStream(loaded, { ...STREAM, maxChunk: 8 });
    expect((await runner.feed([1, 2, 3, 4, 5]))!.length).toBe(loaded.config.vocabSize);
  } finally {
    await loaded.release();
  }
  // A load failure that is not the fused graph's stays the error it is.
  writeFileSync(path, new Uint8Array([1, 2, 3]));
  await expect(loadModel(dir, { threads: 1 })).rejects.toThrow(/not a valid ONNX model/);
});

const STORIES = sharedModel('stories260K');
const STREAM = { sink: 4, window: 32, positions: 'cache', journalTokens: 0 } as const;

describe.skipIf(STORIES === null)('stories260K through the engine (Split halves, torch-style rsqrt)', () => {
  const variants: Record<string, readonly ContribFusion[] | undefined> = { default: undefined, both: BOTH, none: [] };
  const models = new Map<string, LoadedModel>();
  beforeAll(async () => {
    for (const [name, contribFusions] of Object.entries(variants)) models.set(name, await loadModel(STORIES!, { threads: 1, tuning: contribFusions === undefined ? {} : { contribFusions } }));
  });
  afterAll(async () => {
    for (const m of models.values()) await m.release();
  });

  test('the rotary fusion by default (5 layers: 10 rotations); each variant streams the same greedy tokens past two ring wraps', async () => {
    expect(models.get('default')!.session.contribFusions).toEqual({ skipNorms: 0, rotaries: 10 });
    expect(models.get('both')!.session.contribFusions).toEqual({ skipNorms: 10, rotaries: 10 });
    expect(models.get('none')!.session.contribFusions).toEqual({ skipNorms: 0, rotaries: 0 });
    const prompt = [1, 403, 407, 261, 378, 430, 267, 414, 260, 326, 395, 273];
    const stream = async (model: LoadedModel) => {
      const { runner } = openStream(model, { ...STREAM, maxChunk: 8 });
      const tokens: number[] = [];
      const rows: Float32Array[] = [];
      let logits = (await runner.feed(prompt))!;
      for (let i = 0; i < 96; i++) {
        rows.push(Float32Array.from(logits));
        let best = 0;
        for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
        tokens.push(best);
        logits = (await runner.feed([best]))!;
      }
      return { tokens, rows };
    };
    const none = await stream(models.get('none')!);
    for (const name of ['default', 'both']) {
      const fused = await stream(models.get(name)!);
      expect(fused.tokens).toEqual(none.tokens);
      const worst = Math.max(...fused.rows.map((r, i) => maxAbsDiff(r, none.rows[i])));
      console.info(`stories260K ${name} vs none, 96 greedy steps over a W=32 ring: max |Δlogit| ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    }
  });
});
