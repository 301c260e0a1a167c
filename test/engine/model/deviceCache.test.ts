// The device-cache rewrite (DESIGN §3 "Storage, dtype and place"), run on the CPU provider so it is
// checked on every machine: fed empty, the graph computes what it computed before; fed slots and sink
// cos/sin, it attends to sinks rotated from pristine keys (as the host cache rotates them), scatters the
// new rows into their slots and hands back the rows they replaced; graphs it cannot rewrite get a reason.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { scanModel } from '../../../main/engine/model/graphFacts';
import { planDeviceCache, rotationPerm, type DeviceCacheSpec } from '../../../main/engine/model/deviceCache';
import { openSession, type DecoderSession, type TensorData } from '../../../main/engine/onnxSession';
import { fixtureRope } from '../../fixtures/fixtureRope';
import { ensureFixture, TINY, TINY_PARTIAL_ROPE, type FixtureSpec } from '../../fixtures/llamaFixture';

/** Rotates head row `row` (rotate_half pairing) by `delta` positions, in double precision. */
function rotated(row: Float32Array, delta: number, rotaryDim: number, invFreq: Float64Array): Float32Array {
  const out = row.slice();
  const half = rotaryDim / 2;
  for (let i = 0; i < half; i++) {
    const c = Math.cos(delta * invFreq[i]);
    const s = Math.sin(delta * invFreq[i]);
    out[i] = row[i] * c - row[i + half] * s;
    out[i + half] = row[i + half] * c + row[i] * s;
  }
  return out;
}

function lastRow(logits: TensorData): Float32Array {
  const data = logits.data as Float32Array;
  const vocab = logits.dims[2];
  return data.subarray(data.length - vocab);
}

describe.each([
  ['tiny', TINY],
  ['tiny-partial-rope', TINY_PARTIAL_ROPE],
] as const)('device-cache rewrite on %s', (name, fixture: Readonly<FixtureSpec>) => {
  const H = fixture.kvHeads;
  const D = fixture.headDim;
  const L = fixture.layers;
  const rope = fixtureRope(D, fixture.ropeTheta, fixture.partialRotaryFactor ?? 1, (fixture.ropeScaling as Record<string, unknown> | undefined) ?? null);
  const spec: DeviceCacheSpec = { layers: L, kvHeads: H, headDim: D, rotaryDim: rope.rotaryDim };
  let plain: DecoderSession;
  let rewritten: DecoderSession;
  let added: { slotIndex: string; sinkCos: string; sinkSin: string; pinCos: string; pinSin: string; next: string; old: string; lastLogits: string };
  let modelBytes: Uint8Array;

  beforeAll(async () => {
    const { dir } = await ensureFixture(name);
    const path = join(dir, 'onnx', 'model.onnx');
    modelBytes = readFileSync(path);
    plain = await openSession(path, { intraOpThreads: 1, fastOutputs: false });
    // The device-cache rewrite alone (no contrib-op fusion, which rounds the rotation differently), so
    // fed nothing new it must compute the exported graph's bits.
    rewritten = await openSession(path, { intraOpThreads: 1, deviceCache: spec, deviceCacheOnHost: true, tuning: { contribFusions: [] } });
    const d = rewritten.deviceCache;
    if (d === null) throw new Error(`no rewrite: ${rewritten.deviceCacheNote}`);
    added = { slotIndex: d.slotIndex, sinkCos: d.sinkCos, sinkSin: d.sinkSin, pinCos: d.pinCos, pinSin: d.pinSin, next: d.nextKeys[0], old: d.oldKeys[0], lastLogits: rewritten.fastOutputs!.lastLogits };
    return async () => {
      await plain.release();
      await rewritten.release();
    };
  });

  /** Past of C rows (pseudo-random) and n new tokens, all slots visible. */
  function feeds(C: number, n: number): Record<string, TensorData> {
    const f: Record<string, TensorData> = {
      input_ids: { type: 'int64', data: BigInt64Array.from({ length: n }, (_, i) => BigInt(7 + 5 * i)), dims: [1, n] },
      attention_mask: { type: 'int64', data: new BigInt64Array(C + n).fill(1n), dims: [1, C + n] },
      position_ids: { type: 'int64', data: BigInt64Array.from({ length: n }, (_, i) => BigInt(C + i)), dims: [1, n] },
    };
    for (let l = 0; l < L; l++) {
      for (const kv of ['key', 'value']) {
        const data = Float32Array.from({ length: H * C * D }, (_, i) => Math.sin(i * 0.31 + l + kv.length));
        f[`past_key_values.${l}.${kv}`] = { type: 'float32', data, dims: [1, H, C, D] };
      }
    }
    return f;
  }

  test('fed nothing new (the session fills the added inputs empty), computes exactly what the graph as exported computes', async () => {
    const f = feeds(5, 2);
    const a = await plain.run(f, ['logits', 'present.0.key', 'present.1.value']);
    const b = await rewritten.run(f, [added.lastLogits, 'present.0.key', 'present.1.value', added.next, added.old]);
    for (const out of ['present.0.key', 'present.1.value']) expect(Array.from(b[out].data as Float32Array)).toEqual(Array.from(a[out].data as Float32Array));
    // The rewritten graph's last logits (fast outputs).
    expect(Array.from(b[added.lastLogits].data as Float32Array)).toEqual(Array.from(lastRow(a.logits)));
    // Nothing written: the next past is the past; nothing replaced.
    expect(Array.from(b[added.next].data as Float32Array)).toEqual(Array.from(f['past_key_values.0.key'].data as Float32Array));
    expect(b[added.old].dims).toEqual([1, H, 0, D]);
  });

  test('attends to sinks and pins rotated from pristine keys and writes the new rows into their slots', async () => {
    const C = 8;
    const n = 2;
    const S = 2;
    const P = 2;
    // Sinks 0..S-1, then the ring, then P pin slots at the end (C - P..C-1).
    const anchors = [0, 1, 6, 7];
    const deltas = [3, -2, 5, -7];
    const slots = [4, 1];
    const f = feeds(C, n);
    // The host cache's past: each anchored row rotated by its delta (double precision, rounded once).
    const reference = { ...f };
    for (let l = 0; l < L; l++) {
      const past = (f[`past_key_values.${l}.key`].data as Float32Array).slice();
      for (let h = 0; h < H; h++) {
        anchors.forEach((j, a) => {
          const at = (h * C + j) * D;
          past.set(rotated(past.subarray(at, at + D), deltas[a], rope.rotaryDim, rope.invFreq), at);
        });
      }
      reference[`past_key_values.${l}.key`] = { type: 'float32', data: past, dims: [1, H, C, D] };
    }
    const want = await plain.run(reference, ['logits', 'present.0.key']);

    const cos = new Float32Array((S + P) * D).fill(1);
    const sin = new Float32Array((S + P) * D);
    const half = rope.rotaryDim / 2;
    for (let i = 0; i < S + P; i++) {
      for (let d = 0; d < half; d++) {
        const angle = deltas[i] * rope.invFreq[d];
        cos[i * D + d] = cos[i * D + d + half] = Math.cos(angle);
        sin[i * D + d] = -Math.sin(angle);
        sin[i * D + d + half] = Math.sin(angle);
      }
    }
    const index = BigInt64Array.from({ length: H * n * 3 }, (_, k) => {
      const [h, i, c] = [Math.floor(k / (n * 3)), Math.floor(k / 3) % n, k % 3];
      return BigInt(c === 0 ? 0 : c === 1 ? h : slots[i]);
    });
    const got = await rewritten.run(
      {
        ...f,
        [added.slotIndex]: { type: 'int64', data: index, dims: [1, H, n, 3] },
        [added.sinkCos]: { type: 'float32', data: cos.subarray(0, S * D), dims: [1, 1, S, D] },
        [added.sinkSin]: { type: 'float32', data: sin.subarray(0, S * D), dims: [1, 1, S, D] },
        [added.pinCos]: { type: 'float32', data: cos.subarray(S * D), dims: [1, 1, P, D] },
        [added.pinSin]: { type: 'float32', data: sin.subarray(S * D), dims: [1, 1, P, D] },
      },
      [added.lastLogits, added.next, added.old],
    );
    const logits = got[added.lastLogits].data as Float32Array;
    const wantLogits = lastRow(want.logits);
    // float32 rotation in the graph vs double on the host: a few ulps.
    for (let i = 0; i < wantLogits.length; i++) expect(Math.abs(logits[i] - wantLogits[i])).toBeLessThan(1e-4);

    const past = f['past_key_values.0.key'].data as Float32Array;
    const next = got[added.next].data as Float32Array;
    const old = got[added.old].data as Float32Array;
    const present = want['present.0.key'].data as Float32Array;
    for (let h = 0; h < H; h++) {
      for (let j = 0; j < C; j++) {
        const i = slots.indexOf(j);
        const row = next.subarray((h * C + j) * D, (h * C + j + 1) * D);
        // A written slot holds the step's new key (as the model computed it); every other slot, sinks and
        // pins included, keeps its pristine row.
        const expected = i >= 0 ? present.subarray((h * (C + n) + C + i) * D, (h * (C + n) + C + i + 1) * D) : past.subarray((h * C + j) * D, (h * C + j + 1) * D);
        for (let d = 0; d < D; d++) expect(Math.abs(row[d] - expected[d])).toBeLessThan(1e-4);
      }
      for (let i = 0; i < n; i++) {
        expect(Array.from(old.subarray((h * n + i) * D, (h * n + i + 1) * D))).toEqual(Array.from(past.subarray((h * C + slots[i]) * D, (h * C + slots[i] + 1) * D)));
      }
    }
  });

  test('refuses what it cannot rewrite, with the reason', () => {
    const facts = scanModel(modelBytes);
    expect(planDeviceCache(modelBytes, facts, { ...spec, rotaryDim: D + 2 })).toEqual({ reason: `rotary dims ${D + 2} do not fit heads of ${D}` });
    expect(planDeviceCache(modelBytes, facts, { ...spec, layers: L + 1 })).toEqual({ reason: `no past_key_values.${L}.key input` });
  });
});

test('rotationPerm pairs dim i with i + rotaryDim/2 and leaves the rest in place', () => {
  expect(rotationPerm(8, 4)).toEqual([2, 3, 0, 1, 4, 5, 6, 7]);
});
