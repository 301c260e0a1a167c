// Importing model folders through the app services: the engine host's `validate` verb refuses graphs the
// sink cache cannot drive at import (not at load), copy vs reference imports, and what delete removes.
// Runs under Vitest (Node) with a worker-thread engine host.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineHost } from '../../main/host/engineHost';
import type { HostRequest } from '../../main/host/protocol';
import { ensureFixture } from '../fixtures/llamaFixture';
import { startServices, type ServicesHarness } from './servicesKit';

const { onnx } = onnxProto;

let h: ServicesHarness;
let fixtureDir: string;
let scratch: string;

/** A copy of the fixture whose graph takes its positions from an input named `step_ids`, not `position_ids`. */
function withoutPositionIds(name: string): string {
  const dir = join(scratch, name);
  cpSync(fixtureDir, dir, { recursive: true });
  const path = join(dir, 'onnx', 'model.onnx');
  const model = onnx.ModelProto.decode(readFileSync(path));
  for (const input of model.graph?.input ?? []) if (input.name === 'position_ids') input.name = 'step_ids';
  for (const node of model.graph?.node ?? []) node.input = (node.input ?? []).map((i) => (i === 'position_ids' ? 'step_ids' : i));
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  return dir;
}

/** A copy of the fixture whose config.json claims `layers` layers (the graph has 2). */
function withLayers(name: string, layers: number): string {
  const dir = join(scratch, name);
  cpSync(fixtureDir, dir, { recursive: true });
  const configPath = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(configPath, JSON.stringify({ ...config, num_hidden_layers: layers }));
  return dir;
}

const exists = (path: string) => stat(path).then(() => true, () => false);

beforeAll(async () => {
  fixtureDir = (await ensureFixture('tiny')).dir;
  scratch = await mkdtemp(join(tmpdir(), 'ouro-import-'));
  h = await startServices();
});

afterAll(async () => {
  await h?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('engine host validate verb', () => {
  it('accepts the fixture, names the engine’s error for a graph without position_ids, and loads nothing', async () => {
    const host = new EngineHost(() => undefined);
    const request = (seq: number, dir: string): HostRequest => ({ kind: 'request', seq, verb: 'validate', args: { dir } });
    expect(await host.handle(request(1, fixtureDir))).toEqual({ ok: true, result: { onnxFile: 'onnx/model.onnx' } });
    const bad = await host.handle(request(2, withoutPositionIds('host-no-positions')));
    expect(bad).toMatchObject({ ok: false, error: { code: 'model/no-position-ids', message: expect.stringContaining('onnx/model.onnx') } });
    const generate = await host.handle({ kind: 'request', seq: 3, verb: 'cacheView', args: { stream: 'chat' } });
    expect(generate).toEqual({ ok: true, result: null });
  });
});

describe('models.import', () => {
  it('refuses at import, with the engine’s code, graphs whose files look fine', async () => {
    const cases: [string, string, RegExp][] = [
      [withoutPositionIds('no-positions'), 'no-position-ids', /position_ids/],
      [withLayers('three-layers', 3), 'layer-mismatch', /num_hidden_layers = 3/],
    ];
    for (const [dir, detail, message] of cases) {
      for (const mode of ['reference', 'copy'] as const) {
        const error = await h.error('models.import', { dir, mode });
        expect(error, `${detail} (${mode})`).toMatchObject({ code: 'model-invalid', detail, message: expect.stringMatching(message) });
      }
    }
    expect(await h.call('models.list', {})).toEqual([]);
    expect(await readdir(join(h.dataDir, 'models')).catch(() => [])).toEqual([]);
  });

  it('copy puts the files in Ouro’s models folder; delete removes that copy and leaves the source', async () => {
    const src = join(scratch, 'My Tiny Model');
    cpSync(fixtureDir, src, { recursive: true });
    const model = await h.call('models.import', { dir: src, mode: 'copy' });
    expect(model).toMatchObject({ id: 'downloaded-my-tiny-model', source: 'downloaded', dir: join(h.dataDir, 'models', 'my-tiny-model') });
    expect(await exists(join(model.dir, 'onnx', 'model.onnx'))).toBe(true);
    expect((await h.call('models.list', {})).map((x) => x.id)).toEqual(['downloaded-my-tiny-model']);
    expect((await h.error('models.import', { dir: src, mode: 'copy' })).detail).toBe('already-installed');

    await h.call('models.remove', { id: model.id });
    expect(await exists(model.dir)).toBe(false);
    expect(await exists(join(src, 'onnx', 'model.onnx'))).toBe(true);
    expect(await h.call('models.list', {})).toEqual([]);
  });

  it('reference (the default) keeps the folder where it is; delete only forgets it', async () => {
    const model = await h.call('models.import', { dir: fixtureDir });
    expect(model).toMatchObject({ source: 'imported', dir: fixtureDir });
    const { summary } = await h.call('models.inspect', { id: model.id });
    expect(summary).toMatchObject({ dir: fixtureDir, layers: 2, kvBytesPer1kTokens: 262_144, download: null });
    await h.call('models.remove', { id: model.id });
    expect(await h.call('models.list', {})).toEqual([]);
    expect(await exists(join(fixtureDir, 'onnx', 'model.onnx'))).toBe(true);
  });

  it('says which folder to pick when given a model’s onnx/ subfolder or the folder holding it, and reads ~ as home', async () => {
    const holder = join(scratch, 'holder');
    cpSync(fixtureDir, join(holder, 'tiny'), { recursive: true });
    const inner = await h.error('models.import', { dir: join(holder, 'tiny', 'onnx') });
    expect(inner).toMatchObject({ code: 'model-invalid', detail: 'missing-file' });
    expect(inner.message.endsWith(`This is a model's onnx/ subfolder: pick the folder above it, ${join(holder, 'tiny')}.`)).toBe(true);
    const outer = await h.error('models.import', { dir: holder });
    expect(outer.message).toContain(`This folder holds a model folder: pick ${join(holder, 'tiny')}.`);
    const home = process.env.HOME;
    process.env.HOME = holder;
    try {
      const model = await h.call('models.import', { dir: '~/tiny' });
      expect(model).toMatchObject({ source: 'imported', dir: join(holder, 'tiny') });
      await h.call('models.remove', { id: model.id });
    } finally {
      process.env.HOME = home;
    }
  });
});
