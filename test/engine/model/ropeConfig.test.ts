// ropeSpecFromConfig against inv_freq values worked out by hand from transformers' formulas.
import { describe, expect, test } from 'vitest';
import { ropeSpecFromConfig } from '../../../main/engine/ropeConfig';
import { expectModelError } from './modelTestKit';

const base = { model_type: 'llama', num_hidden_layers: 2, num_attention_heads: 4, hidden_size: 32, max_position_embeddings: 2048 };

function expectClose(actual: Float64Array, expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i], 14);
}

describe('ropeSpecFromConfig', () => {
  test('plain RoPE: theta^(-2i/dim), head_dim = hidden / heads', () => {
    // head_dim 8, theta 10000: 10000^(-i/4) = 10^-i.
    const r = ropeSpecFromConfig(base);
    expect(r.spec.headDim).toBe(8);
    expect(r.spec.rotaryDim).toBe(8);
    expectClose(r.spec.invFreq, [1, 0.1, 0.01, 0.001]);
    expect(r.scalingType).toBeNull();
    expect(r.maxPos).toBe(2048);
  });

  test('explicit head_dim and theta, rope_scaling null', () => {
    const r = ropeSpecFromConfig({ ...base, head_dim: 4, rope_theta: 100, rope_scaling: null });
    // dim 4: 100^0, 100^(-1/2)
    expectClose(r.spec.invFreq, [1, 0.1]);
    expect(r.spec.headDim).toBe(4);
  });

  test('partial_rotary_factor rotates a prefix of the head', () => {
    const r = ropeSpecFromConfig({ ...base, head_dim: 16, partial_rotary_factor: 0.5 });
    expect(r.spec).toMatchObject({ headDim: 16, rotaryDim: 8 });
    expectClose(r.spec.invFreq, [1, 0.1, 0.01, 0.001]);
  });

  test("GPT-NeoX names: rotary_pct and rotary_emb_base", () => {
    // head 64/4 = 16, a quarter rotates: dim 4, base 10000 → 1, 10000^(-1/2).
    const r = ropeSpecFromConfig({ ...base, model_type: 'gpt_neox', hidden_size: 64, rotary_pct: 0.25, rotary_emb_base: 10000 });
    expect(r.spec.rotaryDim).toBe(4);
    expectClose(r.spec.invFreq, [1, 0.01]);
  });

  test('linear divides every frequency by factor', () => {
    const r = ropeSpecFromConfig({ ...base, rope_scaling: { type: 'linear', factor: 4 } });
    expectClose(r.spec.invFreq, [0.25, 0.025, 0.0025, 0.00025]);
    expect(r.scalingType).toBe('linear');
  });

  test('llama3: keeps high frequencies, divides low ones, blends the band between', () => {
    const r = ropeSpecFromConfig({
      ...base,
      max_position_embeddings: 131072,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 8, original_max_position_embeddings: 1024 },
    });
    // Wavelengths 2π/f: 6.28, 62.8 (< 1024/8 = 128: kept), 628 (between 128 and 1024: blended), 6283 (> 1024: /8).
    // Blend weight for f = 0.01: s = (1024·0.01/(2π) − 1)/(8 − 1); f' = f·(s + (1 − s)/8).
    const s = (10.24 / (2 * Math.PI) - 1) / 7;
    expectClose(r.spec.invFreq, [1, 0.1, 0.01 * (s + (1 - s) / 8), 0.001 / 8]);
    expect(r.maxPos).toBe(1024);
  });

  test('yarn: ramp between the correction dims, maxPos at the original context', () => {
    const r = ropeSpecFromConfig({
      ...base,
      head_dim: 16,
      max_position_embeddings: 8192,
      rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 2048 },
    });
    // dim 16, theta 1e4: correction dim for r rotations = 16·ln(2048/(2πr)) / (2·ln 1e4).
    // r = 32 → 2.016 → floor 2; r = 1 → 5.026 → ceil 6. Weight of the interpolated (÷4) frequency
    // ramps (i − 2)/4 over i = 2..6: f_i' = f_i·(1 − w + w/4).
    const f = (i: number): number => 10000 ** (-i / 8);
    const w = [0, 0, 0, 0.25, 0.5, 0.75, 1, 1];
    expectClose(r.spec.invFreq, w.map((wi, i) => f(i) * (1 - wi + wi / 4)));
    expect(r.scalingType).toBe('yarn');
    expect(r.maxPos).toBe(2048);
  });

  test('dynamic NTK below its switch is plain RoPE, bounded by max_position_embeddings', () => {
    const r = ropeSpecFromConfig({ ...base, max_position_embeddings: 4096, rope_scaling: { type: 'dynamic', factor: 2 } });
    expectClose(r.spec.invFreq, [1, 0.1, 0.01, 0.001]);
    expect(r.scalingType).toBe('dynamic');
    expect(r.maxPos).toBe(4096);
  });

  test('longrope (and its old name su) uses short_factor below original_max_position_embeddings', () => {
    const cfg = {
      ...base,
      max_position_embeddings: 131072,
      original_max_position_embeddings: 4096,
      rope_scaling: { type: 'su', short_factor: [1, 1.5, 2, 4], long_factor: [1, 2, 4, 8] },
    };
    const r = ropeSpecFromConfig(cfg);
    expectClose(r.spec.invFreq, [1, 0.1 / 1.5, 0.01 / 2, 0.001 / 4]);
    expect(r.scalingType).toBe('longrope');
    expect(r.maxPos).toBe(4096);
  });

  test('transformers v5 rope_parameters carry theta and type', () => {
    const r = ropeSpecFromConfig({ ...base, rope_parameters: { rope_type: 'linear', factor: 2, rope_theta: 100 } });
    // dim 8, theta 100: 100^(-i/4) / 2
    expectClose(r.spec.invFreq, [0.5, 100 ** -0.25 / 2, 0.05, 100 ** -0.75 / 2]);
  });

  test('nested text_config is read', () => {
    const r = ropeSpecFromConfig({ model_type: 'gemma3', text_config: { ...base, head_dim: 4, rope_theta: 10000 } });
    expectClose(r.spec.invFreq, [1, 0.01]);
  });

  test('maxPos never exceeds 32768', () => {
    expect(ropeSpecFromConfig({ ...base, max_position_embeddings: 131072 }).maxPos).toBe(32768);
  });

  test('unsupported scaling types are rejected by name', async () => {
    await expectModelError(() => ropeSpecFromConfig({ ...base, rope_scaling: { type: 'mrope', mrope_section: [1, 1, 2] } }), 'unsupported-rope-scaling', 'config.json', /mrope/);
    await expectModelError(
      () => ropeSpecFromConfig({ ...base, rope_parameters: { full_attention: { rope_type: 'default' }, sliding_attention: { rope_type: 'default' } } }),
      'unsupported-rope-scaling',
      'config.json',
      /per layer type/,
    );
  });

  test('invalid values are invalid-config', async () => {
    await expectModelError(() => ropeSpecFromConfig({ ...base, partial_rotary_factor: 0.375 }), 'invalid-config', 'config.json', /even/);
    await expectModelError(() => ropeSpecFromConfig({ ...base, rope_scaling: { type: 'linear' } }), 'invalid-config', 'config.json', /factor/);
    await expectModelError(() => ropeSpecFromConfig({ ...base, hidden_size: 30 }), 'invalid-config', 'config.json', /multiple/);
    const { max_position_embeddings: _, ...noMax } = base;
    await expectModelError(() => ropeSpecFromConfig(noMax), 'invalid-config', 'config.json', /max_position_embeddings/);
    await expectModelError(
      () => ropeSpecFromConfig({ ...base, rope_scaling: { type: 'longrope', short_factor: [1, 2] } }),
      'invalid-config',
      'config.json',
      /short_factor/,
    );
  });
});
