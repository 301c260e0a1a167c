// The load-time fast outputs (new K/V rows and last logits only): bit-equal to the slices of the whole
// outputs they replace, also with external data and on the real stories260K export; refused with a
// reason where the graph does not fit; and the runner's fast path leaves the cache bit-identical.
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { SinkRingCache } from '../../../main/engine/cache/sinkRingCache';
import { loadModel, openStream, type LoadedModel } from '../../../main/engine/loadedModel';
import { planFastOutputs } from '../../../main/engine/model/fastOutputs';
import { openSession, type DecoderSession, type TensorData } from '../../../main/engine/onnxSession';
import { chunkFor, type Runner } from '../../../main/engine/runner';
import { stepFeeds } from '../../fixtures/fixtureFeeds';
import { ensureFixture, TINY } from '../../fixtures/llamaFixture';
import { cleanupTemp, copyFolder, externalizeWeights, sharedModel } from './modelTestKit';

const { onnx } = onnxProto;

let dir = '';
beforeAll(async () => {
  dir = (await ensureFixture('tiny')).dir;
});
afterAll(cleanupTemp);

/**
 * Asserts every fast output equals the matching slice of the same session's whole outputs bit for bit
 * (fetching a present makes the split graph build it whole), and the graph as exported (`plain`) within
 * float rounding: the split attention sums P·V in two parts, and a one-row product may round differently
 * from the same row of a many-row product. The packed output, fetched alone, holds the per-present new
 * rows block after block in its `presents` order, bit for bit.
 */
async function expectSlicesOfWholeOutputs(session: DecoderSession, plain: DecoderSession, past: number, n: number, tol = 1e-5): Promise<void> {
  const fast = session.fastOutputs!;
  const presents = [...fast.newRows.keys()];
  const feeds = stepFeeds(session, past, n);
  const exported = await plain.run(feeds, ['logits', ...presents]);
  const own = await session.run(feeds, presents);
  const out = await session.run(feeds, [fast.lastLogits, ...fast.newRows.values()]);
  const logits = exported.logits.data as Float32Array;
  const last = out[fast.lastLogits];
  const vocab = logits.length / n;
  expect(last.dims).toEqual([1, 1, vocab]);
  const expectedLast = logits.subarray(logits.length - vocab);
  const lastData = last.data as Float32Array;
  for (let i = 0; i < vocab; i++) expect(Math.abs(lastData[i] - expectedLast[i])).toBeLessThan(tol);
  const lastRows = (whole: TensorData): number[] => {
    const [, heads, length, headDim] = whole.dims;
    expect(length).toBe(past + n);
    const rows: number[] = [];
    for (let h = 0; h < heads; h++) rows.push(...(whole.data as Float32Array).subarray((h * length + past) * headDim, (h * length + length) * headDim));
    return rows;
  };
  for (const name of presents) {
    const rows = out[fast.newRows.get(name)!];
    expect(rows.dims).toEqual([1, exported[name].dims[1], n, exported[name].dims[3]]);
    expect(Array.from(rows.data as Float32Array)).toEqual(lastRows(own[name]));
    const expected = lastRows(exported[name]);
    const got = rows.data as Float32Array;
    for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i] - expected[i])).toBeLessThan(tol);
  }
  const packed = fast.packedRows!;
  expect([...packed.presents].sort()).toEqual([...presents].sort());
  const alone = await session.run(feeds, [fast.lastLogits, packed.name]);
  expect(Object.keys(alone).sort()).toEqual([fast.lastLogits, packed.name].sort());
  const block = out[fast.newRows.get(presents[0])!].dims;
  expect(alone[packed.name].dims).toEqual([presents.length, block[1], n, block[3]]);
  const blocks = packed.presents.flatMap((name) => Array.from(out[fast.newRows.get(name)!].data as Float32Array));
  expect(Array.from(alone[packed.name].data as Float32Array)).toEqual(blocks);
}

/** The fast and the as-exported session of one graph, released after `use`. */
async function withSessions(path: string, use: (fast: DecoderSession, plain: DecoderSession) => Promise<void>): Promise<void> {
  // Exact 4-bit compute, as the plain session computes (it opens the graph as exported).
  const fast = await openSession(path, { intraOpThreads: 1, q4Compute: 'exact' });
  const plain = await openSession(path, { intraOpThreads: 1, fastOutputs: false });
  try {
    await use(fast, plain);
  } finally {
    await fast.release();
    await plain.release();
  }
}

describe('the session seam adds the fast outputs', () => {
  test('on the fixture: every present gets its new-rows output, the MatMul head projects the last position only', async () => {
    await withSessions(join(dir, 'onnx', 'model.onnx'), async (s, plain) => {
      expect(s.fastOutputsNote).toBeNull();
      const presents = s.outputs.map((o) => o.name).filter((name) => name.startsWith('present.'));
      expect([...s.fastOutputs!.newRows.keys()].sort()).toEqual(presents.sort());
      expect(s.outputs.some((o) => o.name.startsWith('ouro_fast'))).toBe(false);
      // The attention is split (no step copies the cache) and the presents stay in the interface.
      expect([...s.fastOutputs!.split!.presents].sort()).toEqual(presents.sort());
      expect(s.inputs.map((i) => i.name)).toEqual(plain.inputs.map((i) => i.name));
      expect(s.outputs.map((o) => o.name)).toEqual(plain.outputs.map((o) => o.name));
      // The model's own logits output now carries one position: the head computed no other row.
      expect(s.fastOutputs).toMatchObject({ lmHeadSliced: true, lastLogits: 'logits' });
      expect(s.outputs.map((o) => o.name)).toContain('logits');
      await expectSlicesOfWholeOutputs(s, plain, 0, 3);
      await expectSlicesOfWholeOutputs(s, plain, 9, 1);
      await expectSlicesOfWholeOutputs(s, plain, 6, 4);
    });
  });

  test('on the 4-bit fixture: the MatMulNBits head projects the last position only', async () => {
    const q4 = await ensureFixture('tiny-q4');
    await withSessions(join(q4.dir, 'onnx', 'model.onnx'), async (s, plain) => {
      expect(s.fastOutputs).toMatchObject({ lmHeadSliced: true, lastLogits: 'logits' });
      await expectSlicesOfWholeOutputs(s, plain, 0, 3);
      await expectSlicesOfWholeOutputs(s, plain, 9, 1);
    });
  });

  test('on the int8 fixture: the dynamically quantized head is narrowed at its DynamicQuantizeLinear', async () => {
    const int8 = await ensureFixture('tiny-int8');
    await withSessions(join(int8.dir, 'onnx', 'model.onnx'), async (s, plain) => {
      expect(s.fastOutputs).toMatchObject({ lmHeadSliced: true, lastLogits: 'logits' });
      // A decode step quantizes the same one row either way: equal.
      await expectSlicesOfWholeOutputs(s, plain, 9, 1);
      await expectSlicesOfWholeOutputs(s, plain, 0, 1);
      // A chunk's last row is quantized with its own scale instead of the chunk's: int8 rounding apart.
      await expectSlicesOfWholeOutputs(s, plain, 0, 3, 0.1);
      await expectSlicesOfWholeOutputs(s, plain, 6, 4, 0.1);
    });
  });

  test('a head the engine cannot narrow (Gemm on flattened positions) keeps it and slices the whole logits', async () => {
    const gemm = await ensureFixture('tiny-partial-rope');
    await withSessions(join(gemm.dir, 'onnx', 'model.onnx'), async (s, plain) => {
      expect(s.fastOutputs).toMatchObject({ lmHeadSliced: false, lastLogits: expect.stringMatching(/^ouro_fast/) });
      expect(s.fastOutputs!.added).toContain(s.fastOutputs!.lastLogits);
      await expectSlicesOfWholeOutputs(s, plain, 0, 3);
      await expectSlicesOfWholeOutputs(s, plain, 5, 2);
    });
  });

  test('with weights in external data (read from the model folder)', async () => {
    const copy = copyFolder(dir);
    const p = join(copy, 'onnx', 'model.onnx');
    externalizeWeights(p, 'model.onnx_data');
    await withSessions(p, async (s, plain) => {
      expect(s.fastOutputsNote).toBeNull();
      expect(s.fastOutputs!.lmHeadSliced).toBe(true);
      await expectSlicesOfWholeOutputs(s, plain, 5, 2);
    });
  });

  test('on the real stories260K export', async (ctx) => {
    const stories = sharedModel('stories260K');
    if (stories === null) return ctx.skip('../shared/models/stories260K is not on this machine');
    await withSessions(join(stories, 'onnx', 'model.onnx'), async (s, plain) => {
      expect(s.fastOutputs?.newRows.size).toBe(10);
      expect(s.fastOutputs!.lmHeadSliced).toBe(true);
      expect(s.fastOutputs!.split?.presents.length).toBe(10);
      await expectSlicesOfWholeOutputs(s, plain, 7, 3);
    });
  });

  test('fastOutputs: false opens the graph as it is and says so', async () => {
    const s = await openSession(join(dir, 'onnx', 'model.onnx'), { intraOpThreads: 1, fastOutputs: false });
    expect({ fast: s.fastOutputs, note: s.fastOutputsNote }).toEqual({ fast: null, note: 'disabled' });
    await s.release();
  });
});

/** A minimal encoded ModelProto with the given opset, inputs, outputs and initializers. */
function model(opts: { opset?: number; inputs?: string[]; outputs?: string[]; externalLocation?: string; elemTypes?: Record<string, number> }): Uint8Array {
  const info = (name: string) => ({ name, type: { tensorType: { elemType: opts.elemTypes?.[name] ?? 1 } } });
  const initializer = opts.externalLocation
    ? [{ name: 'w', dataType: 1, dims: [1], dataLocation: 1, externalData: [{ key: 'location', value: opts.externalLocation }] }]
    : [];
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: opts.opset ?? 17 }],
      graph: {
        name: 'g',
        input: (opts.inputs ?? ['input_ids']).map(info),
        output: (opts.outputs ?? ['logits', 'present.0.key', 'present.0.value']).map(info),
        initializer,
      },
    }),
  ).finish();
}

describe('planFastOutputs refuses graphs it cannot extend, with the reason', () => {
  test.each([
    ['opset below 10', model({ opset: 9 }), /opset 9 is below 10/],
    ['no input_ids', model({ inputs: ['inputs_embeds'] }), /no input_ids/],
    ['no logits', model({ outputs: ['present.0.key'] }), /no logits/],
    ['no presents', model({ outputs: ['logits'] }), /no present outputs/],
    ['external data outside the folder', model({ externalLocation: '../elsewhere.bin' }), /outside the model folder/],
    ['absolute external data path', model({ externalLocation: '/etc/passwd' }), /outside the model folder/],
    ['names that clash with the added ones', model({ outputs: ['logits', 'present.0.key', 'ouro_fast.x'] }), /already uses names/],
    ['bytes that are not protobuf', Uint8Array.of(0x0a, 0xff, 0xff), /does not parse/],
  ])('%s', (_label, bytes, reason) => {
    const plan = planFastOutputs(bytes);
    expect('reason' in plan ? plan.reason : 'planned').toMatch(reason);
  });

  test('a fitting graph gets one new-rows output per present and the last-logits output', () => {
    const plan = planFastOutputs(model({ externalLocation: 'model.onnx_data' }));
    if ('reason' in plan) throw new Error(plan.reason);
    expect([...plan.fast.newRows.keys()]).toEqual(['present.0.key', 'present.0.value']);
    expect(plan.fast.packedRows).toEqual({ name: 'ouro_fast.new_rows', presents: ['present.0.key', 'present.0.value'] });
    expect(plan.fast.added).toContain('ouro_fast.new_rows');
    expect(plan.fast.lastLogits).toMatch(/^ouro_fast/);
    expect(plan.suffix[0]).toBe((7 << 3) | 2);
  });

  test('presents of different element types get no packed output (one Concat cannot hold them); the per-present ones stay', () => {
    const plan = planFastOutputs(model({ elemTypes: { 'present.0.value': 10 } }));
    if ('reason' in plan) throw new Error(plan.reason);
    expect(plan.fast.packedRows).toBeNull();
    expect(plan.fast.newRows.size).toBe(2);
    expect(plan.fast.added.some((name) => name.includes('new_rows'))).toBe(false);
  });
});

describe('planFastOutputs narrows a position-wise LM head', () => {
  /** A graph whose `logits` come from `head` (with MatMulNBits' attributes, as q4 exports have), read by a Softmax per `readers` entry. */
  function withHead(head: { opType: string; domain: string }, readers: readonly string[] = []): Uint8Array {
    const info = (name: string, dims: (string | number)[]) => ({
      name,
      type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
    });
    return onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
        graph: {
          name: 'g',
          node: [
            {
              input: ['hidden', 'lm_head.qweight', 'lm_head.scales'],
              output: ['logits'],
              name: '/lm_head/MatMul_Q4',
              opType: head.opType,
              domain: head.domain,
              attribute: [
                { name: 'K', type: 2, i: 64 },
                { name: 'N', type: 2, i: 512 },
                { name: 'bits', type: 2, i: 4 },
              ],
            },
            ...readers.map((input) => ({ input: [input], output: ['probs'], name: '/Softmax', opType: 'Softmax' })),
          ],
          input: [info('input_ids', ['batch', 'sequence_length'])],
          output: [info('logits', ['batch', 'sequence_length', 512]), info('present.0.key', ['batch', 2, 'total', 8]), info('present.0.value', ['batch', 2, 'total', 8])],
        },
      }),
    ).finish();
  }

  test('MatMulNBits (com.microsoft): the head reads the last position; its op, domain and attributes stay; logits lose their stale shape', () => {
    const bytes = withHead({ opType: 'MatMulNBits', domain: 'com.microsoft' });
    const plan = planFastOutputs(bytes);
    if ('reason' in plan) throw new Error(plan.reason);
    expect(plan.fast).toMatchObject({ lmHeadSliced: true, lastLogits: 'logits' });
    expect(plan.patch?.edits).toHaveLength(2);
    // Each replacement is a whole field: a one-byte tag, then the length-delimited message.
    const head = onnx.NodeProto.decodeDelimited(plan.patch!.edits[0].replacement.subarray(1));
    expect(head.input).toEqual(['ouro_fast/hidden_last', 'lm_head.qweight', 'lm_head.scales']);
    expect({ op: head.opType, domain: head.domain, name: head.name, output: head.output }).toEqual({
      op: 'MatMulNBits',
      domain: 'com.microsoft',
      name: '/lm_head/MatMul_Q4',
      output: ['logits'],
    });
    expect(head.attribute.map((a) => [a.name, Number(a.i)])).toEqual([
      ['K', 64],
      ['N', 512],
      ['bits', 4],
    ]);
    const logits = onnx.ValueInfoProto.decodeDelimited(plan.patch!.edits[1].replacement.subarray(1));
    expect(logits.name).toBe('logits');
    expect(logits.type?.tensorType?.elemType).toBe(1);
    expect(logits.type?.tensorType?.shape ?? null).toBeNull();
  });

  test('a head whose logits another node reads is left alone (that node needs every position)', () => {
    const bytes = withHead({ opType: 'MatMul', domain: '' }, ['logits']);
    const plan = planFastOutputs(bytes);
    if ('reason' in plan) throw new Error(plan.reason);
    expect(plan.patch).toBeNull();
    expect(plan.fast.lastLogits).toMatch(/^ouro_fast/);
    // The same graph without the reader is narrowed.
    const alone = planFastOutputs(withHead({ opType: 'MatMul', domain: '' }));
    expect('reason' in alone ? alone.reason : alone.fast.lmHeadSliced).toBe(true);
  });

  test('an unknown head op (Gemm after a reshape, soft-capping, ...) is left alone', () => {
    const plan = planFastOutputs(withHead({ opType: 'Tanh', domain: '' }));
    if ('reason' in plan) throw new Error(plan.reason);
    expect(plan.patch).toBeNull();
    expect(plan.fast.lmHeadSliced).toBe(false);
  });
});

describe('the runner on the fast outputs', () => {
  let loaded: LoadedModel;
  beforeAll(async () => {
    loaded = await loadModel(dir, { threads: 1 });
  });
  afterAll(async () => {
    await loaded?.release();
  });

  function engine(
    fastOutputs: boolean,
    opts: { window?: number; chunk?: number; compactPast?: boolean } = {},
  ): { cache: SinkRingCache; runner: Runner } {
    return openStream(
      loaded,
      { sink: 2, window: opts.window ?? 6, positions: 'cache', journalTokens: 16, maxChunk: opts.chunk ?? 4 },
      { fastOutputs, compactPast: opts.compactPast },
    );
  }

  test('the compacted past (the held prefix, mirrored) matches feeding all slots, through growth, rewind, reset, skip and rebase', async () => {
    // Three KV heads, so moving head blocks within the mirror in the wrong order would show.
    const three = await ensureFixture('fast-outputs-3kv', { ...TINY, heads: 6, kvHeads: 3, hidden: 48, seed: 3 });
    const model = await loadModel(three.dir, { threads: 1 });
    // C = 604: mirrors of 128 and 256 slots, then the full width once more than 256 slots are held.
    const make = (compactPast: boolean) =>
      openStream(model, { sink: 4, window: 600, positions: 'cache', maxPos: 1300, journalTokens: 64, maxChunk: 16 }, { compactPast });
    const compact = make(true);
    const full = make(false);
    let worst = 0;
    const both = async (ids: number[]) => {
      const a = Float32Array.from((await compact.runner.feed(ids))!);
      const b = Float32Array.from((await full.runner.feed(ids))!);
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(a.every(Number.isFinite)).toBe(true);
    };
    const each = async (ids: number[]) => {
      for (const id of ids) await both([id]);
    };
    const ids = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 3 + ((i * 53 + seed * 17) % 300));
    const apply = (op: (c: SinkRingCache) => unknown) => [op(compact.cache), op(full.cache)];
    await both(ids(40, 1)); // chunks at held 0, 16, 32
    await each(ids(110, 2)); // decode across the 128 → 256 growth
    expect(apply((c) => c.rewind(30))).toEqual([true, true]);
    await both(ids(20, 3)); // the rewound slots rewritten with other tokens
    apply((c) => c.reset());
    await both(ids(40, 4)); // a new conversation while the mirror is alive: 256 → 128, nothing stale
    await each(ids(250, 5)); // past 256 held: full width, the mirror dropped
    apply((c) => c.reset());
    await both(ids(24, 6)); // allocated again
    apply((c) => c.skipTo(1240));
    await each(ids(80, 7)); // positions 1240.. rebase at 1300 while few slots are held
    expect(compact.cache.offset).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-5);
    expect(compact.cache.nextPos).toBe(full.cache.nextPos);
    await model.release();
  });

  test('a prompt’s chunks are mirrored as the prefill goes: each feeds only the held slots, and the decode steps after it keep one length', async () => {
    const pastLengths: number[] = [];
    const { session } = loaded;
    const recording: DecoderSession = Object.assign(Object.create(session) as DecoderSession, {
      run: (feeds: Readonly<Record<string, TensorData>>, fetches: readonly string[]) => {
        pastLengths.push(feeds['past_key_values.0.key'].dims[2]);
        return session.run(feeds, fetches);
      },
    });
    // C = 604: mirrors of 128 and 256 slots. A 128-token prompt in chunks of 16 ends exactly at a mirror step.
    const { runner } = openStream({ ...loaded, session: recording }, { sink: 4, window: 600, positions: 'cache', journalTokens: 0, maxChunk: 16 });
    await runner.feed(Array.from({ length: 128 }, (_, i) => 3 + ((i * 29) % 300)));
    for (let i = 0; i < 8; i++) await runner.feed([5 + i]);
    // Chunks at held 0 (empty past), 16 ... 112; then decode steps at held 128 ... 135, each with room for its row.
    expect(pastLengths).toEqual([0, ...Array<number>(7).fill(128), ...Array<number>(8).fill(256)]);
  });

  test('a prompt’s chunks are whole over a short past and shrink over a long one, with the same logits as whole chunks', async () => {
    const runs: Array<[n: number, past: number]> = [];
    const { session } = loaded;
    const recording: DecoderSession = Object.assign(Object.create(session) as DecoderSession, {
      run: (feeds: Readonly<Record<string, TensorData>>, fetches: readonly string[]) => {
        runs.push([feeds.input_ids.dims[1], feeds['past_key_values.0.key'].dims[2]]);
        return session.run(feeds, fetches);
      },
    });
    // C = 604 (mirrors of 128 and 256 slots), chunks of 16 whole over pasts up to 128 slots: scores ≤ 16 × 144.
    const stream = { sink: 4, window: 600, positions: 'cache', journalTokens: 0, maxChunk: 16 } as const;
    const shrinking = openStream({ ...loaded, session: recording }, stream, { fullChunkPast: 128 }).runner;
    const whole = openStream(loaded, stream, { fullChunkPast: Infinity }).runner;
    const prompt = Array.from({ length: 332 }, (_, i) => 3 + ((i * 41) % 300));
    const a = Float32Array.from((await shrinking.feed(prompt))!);
    const b = Float32Array.from((await whole.feed(prompt))!);
    // Runs of equal (tokens, past fed): 16 over the empty past, then the 128-slot mirror (held 16..128);
    // 8 over the 256-slot mirror (held 144..256: 8 × 264 ≤ 2,304 < 9 × 265), 3 over all 604 slots, then the
    // prompt's last 2 tokens.
    const grouped: Array<[n: number, past: number, times: number]> = [];
    for (const [n, past] of runs) {
      const last = grouped.at(-1);
      if (last && last[0] === n && last[1] === past) last[2]++;
      else grouped.push([n, past, 1]);
    }
    expect(grouped).toEqual([
      [16, 0, 1],
      [16, 128, 8],
      [8, 256, 15],
      [3, 604, 22],
      [2, 604, 1],
    ]);
    expect(chunkFor(2052, 256, 1024)).toBe(148);
    expect(chunkFor(1024, 256, 1024)).toBe(256);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThan(1e-5);
  });

  test('every pass’s fetched logits and packed rows are freed once copied, and still counted', async () => {
    const { runner } = engine(true, { compactPast: false });
    const { packedRows, lastLogits } = loaded.session.fastOutputs!;
    const outputs: Array<Record<string, TensorData>> = [];
    const bytes: Array<Record<string, number>> = [];
    const original = loaded.session.run.bind(loaded.session);
    const spy = vi.spyOn(loaded.session, 'run').mockImplementation(async (feeds, fetches) => {
      const out = await original(feeds, fetches);
      const sizes = Object.fromEntries(Object.entries(out).map(([name, t]) => [name, t.data.byteLength]));
      outputs.push(out);
      bytes.push(sizes);
      return out;
    });
    const prompt = await runner.feed([5, 9, 11]);
    const promptBytes = runner.lastStepBytes.fetched;
    const step = await runner.feed([13]);
    const stepBytes = runner.lastStepBytes.fetched;
    spy.mockRestore();
    // The bytes that came back are counted though freed: the packed rows of 3 and of 1 token, and a logits row each.
    const rowBytes = (i: number) => outputs[i][packedRows!.name].dims.reduce((a, b) => a * b, 4);
    expect(bytes[0][packedRows!.name]).toBe(rowBytes(0));
    expect(promptBytes).toBe(rowBytes(0) + bytes[0][lastLogits]);
    expect(stepBytes).toBe(rowBytes(1) + bytes[1][lastLogits]);
    expect(rowBytes(0)).toBe(3 * rowBytes(1));
    for (const out of outputs) {
      expect(out[packedRows!.name].data.buffer.byteLength).toBe(0);
      expect(out[lastLogits].data.buffer.byteLength).toBe(0);
    }
    // What the runner returns is its own copy, whole.
    expect(step).toBe(prompt);
    expect(step!.length).toBe(bytes[1][lastLogits] / 4);
    expect(step!.some((x) => x !== 0)).toBe(true);
  });

  test('gives bit-identical logits and cache buffers to fetching whole presents, through chunks and ring wrap-around', async () => {
    const fast = engine(true, { compactPast: false });
    const whole = engine(false);
    expect(fast.runner.fetchesNewRowsOnly).toBe(true);
    expect(whole.runner.fetchesNewRowsOnly).toBe(false);
    const ids = Array.from({ length: 23 }, (_, i) => 3 + ((i * 37) % 300));
    const pieces = [ids.slice(0, 7), ...ids.slice(7).map((id) => [id])];
    // A fast step fetches two outputs: the last logits and every layer's new rows packed in one.
    const run = vi.spyOn(loaded.session, 'run');
    const { lastLogits, packedRows } = loaded.session.fastOutputs!;
    for (const piece of pieces) {
      run.mockClear();
      const a = Float32Array.from((await fast.runner.feed(piece))!);
      const fetched = run.mock.calls.map(([, fetches]) => fetches);
      expect(fetched).toEqual(Array(Math.ceil(piece.length / 4)).fill([lastLogits, packedRows!.name]));
      const b = Float32Array.from((await whole.runner.feed(piece))!);
      expect(Array.from(a)).toEqual(Array.from(b));
    }
    expect(fast.cache.nextPos).toBe(23);
    for (let l = 0; l < fast.cache.keys.length; l++) {
      expect(Array.from(fast.cache.keys[l])).toEqual(Array.from(whole.cache.keys[l]));
      expect(Array.from(fast.cache.values[l])).toEqual(Array.from(whole.cache.values[l]));
    }
    run.mockRestore();
    // The journal saw the same rows: rewinding both gives the same cache again.
    expect(fast.cache.rewind(5) && whole.cache.rewind(5)).toBe(true);
    for (let l = 0; l < fast.cache.keys.length; l++) expect(Array.from(fast.cache.keys[l])).toEqual(Array.from(whole.cache.keys[l]));
  });
});
