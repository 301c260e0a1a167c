// probeRope: passes on models whose keys our RopeSpec can move (full and partial rotary, llama3 scaling,
// the trained stories260K), fails on a wrong spec and on graphs that ignore positions.
import { afterEach, describe, expect, test } from 'vitest';
import { inspectModelIO, loadModelFolder, type ModelConfig, type ModelFolder, type ModelIO } from '../../../main/engine/modelFolder';
import { openSession, type DecoderSession, type TensorData } from '../../../main/engine/onnxSession';
import type { RopeSpec } from '../../../main/engine/rope';
import { ropeSpecFromConfig } from '../../../main/engine/ropeConfig';
import { probeRope } from '../../../main/engine/ropeProbe';
import { ensureFixture } from '../../fixtures/llamaFixture';
import { sharedModel } from './modelTestKit';

const open: DecoderSession[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.release();
});

async function prepare(dir: string): Promise<{ folder: ModelFolder; session: DecoderSession; io: ModelIO }> {
  const folder = await loadModelFolder(dir);
  const session = await openSession(folder.onnxPath, { intraOpThreads: 1 });
  open.push(session);
  return { folder, session, io: inspectModelIO(folder, session) };
}

function withRope(config: ModelConfig, rope: RopeSpec): ModelConfig {
  return { ...config, rope };
}

describe('probeRope on real graphs', () => {
  test.each(['tiny', 'tiny-partial-rope'])('fixture %s passes, and fails once theta is wrong', async (name) => {
    const { folder, session, io } = await prepare((await ensureFixture(name)).dir);
    const good = await probeRope(session, io, folder.config);
    expect(good).toMatchObject({ ok: true });
    expect(good.maxError).toBeLessThan(1e-4);

    const raw = { model_type: 'llama', num_attention_heads: folder.config.numHeads, hidden_size: folder.config.hiddenSize, head_dim: folder.config.headDim, max_position_embeddings: 2048 };
    const wrongTheta = ropeSpecFromConfig({ ...raw, rope_theta: 500000, partial_rotary_factor: folder.config.rope.rotaryDim / folder.config.headDim }).spec;
    const bad = await probeRope(session, io, withRope(folder.config, wrongTheta));
    expect(bad.ok).toBe(false);
    expect(bad.maxError).toBeGreaterThan(1e-2);
    if (!bad.ok) expect(bad.reason).toMatch(/position 3 rotated by 411/);
  });

  test('partial-rotary fixture fails when the whole head is rotated', async () => {
    const { folder, session, io } = await prepare((await ensureFixture('tiny-partial-rope')).dir);
    expect(folder.config.rope.rotaryDim).toBeLessThan(folder.config.headDim);
    const full = ropeSpecFromConfig({ model_type: 'llama', num_attention_heads: 4, hidden_size: 32, head_dim: folder.config.headDim, max_position_embeddings: 2048 }).spec;
    expect((await probeRope(session, io, withRope(folder.config, full))).ok).toBe(false);
  });

  test('llama3 fixture fails without its scaling (plain inv_freq)', async () => {
    const { folder, session, io } = await prepare((await ensureFixture('tiny-partial-rope')).dir);
    expect(folder.config.ropeScalingType).toBe('llama3');
    const plain = ropeSpecFromConfig({ model_type: 'llama', num_attention_heads: 4, hidden_size: 32, head_dim: 16, partial_rotary_factor: 0.5, max_position_embeddings: 2048 }).spec;
    expect((await probeRope(session, io, withRope(folder.config, plain))).ok).toBe(false);
  });

  const stories = sharedModel('stories260K');
  test.skipIf(stories === null)('trained stories260K passes (keys within 1e-4 over a 411-position move)', async () => {
    const { folder, session, io } = await prepare(stories as string);
    const r = await probeRope(session, io, folder.config);
    expect(r).toMatchObject({ ok: true });
    expect(r.maxError).toBeLessThan(1e-4);
  });
});

describe('probeRope on fake sessions', () => {
  const config: ModelConfig = {
    modelType: 'llama', numLayers: 1, numHeads: 1, numKvHeads: 1, headDim: 4, hiddenSize: 4, vocabSize: 10,
    maxPositionEmbeddings: 512, maxPos: 512, rope: ropeSpecFromConfig({ model_type: 'llama', num_attention_heads: 1, hidden_size: 4, max_position_embeddings: 512 }).spec,
    ropeScalingType: null, bosTokenId: null, eosTokenIds: [],
  };
  const io: ModelIO = {
    inputIds: 'input_ids', attentionMask: 'attention_mask', positionIds: 'position_ids', pastKeys: ['past_key_values.0.key'], pastValues: ['past_key_values.0.value'],
    presentKeys: ['present.0.key'], presentValues: ['present.0.value'], logits: 'logits', extraInputs: [], kvDtype: 'float32',
  };
  /** A "model" whose key is `keyAt(token, position)`. */
  function fake(keyAt: (token: number, pos: number) => number[]): Pick<DecoderSession, 'run'> {
    return {
      async run(feeds: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData>> {
        const token = Number((feeds.input_ids.data as BigInt64Array)[0]);
        const pos = Number((feeds.position_ids.data as BigInt64Array)[0]);
        return { 'present.0.key': { type: 'float32', data: Float32Array.from(keyAt(token, pos)), dims: [1, 1, 1, 4] } };
      },
    };
  }

  test('a graph that ignores position_ids fails', async () => {
    const r = await probeRope(fake(() => [0.5, -1, 2, 0.25]), io, config);
    expect(r.ok).toBe(false);
  });

  test('zero keys for every probe token cannot prove anything', async () => {
    const r = await probeRope(fake(() => [0, 0, 0, 0]), io, config);
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/near-zero keys/) });
  });

  test('a zero key for the first token moves on to the next token', async () => {
    const seen: number[] = [];
    const r = await probeRope(
      fake((token, pos) => {
        seen.push(token);
        if (token === 12 % 10) return [0, 0, 0, 0];
        // Exact RoPE of [1, 0, 0, 1] at pos with inv_freq [1, 0.01].
        const [a, b] = [pos, pos * 0.01];
        return [Math.cos(a), -Math.sin(b), Math.sin(a), Math.cos(b)];
      }),
      io,
      config,
    );
    expect(r).toMatchObject({ ok: true });
    expect(seen.slice(0, 2)).toEqual([2, 3]);
  });

  test('positions that do not fit below maxPos are reported, not run', async () => {
    const r = await probeRope(fake(() => [1, 1, 1, 1]), io, { ...config, maxPos: 4 });
    expect(r.ok).toBe(false);
  });
});
