// Which folder to pick when the chosen one sits next to a model folder (its onnx/ subfolder, the folder
// holding model folders), and `~` in a typed path: the wording from facts, and the facts from real folders.
// Runs under Vitest (Node).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandHome, folderFacts, folderHint } from '../../main/models/folderHint';

describe('expandHome', () => {
  it('turns a leading ~ into the home folder and leaves other paths alone', () => {
    expect(expandHome('~', '/home/ada')).toBe('/home/ada');
    expect(expandHome(' ~/models/smol ', '/home/ada')).toBe(join('/home/ada', 'models/smol'));
    expect(expandHome('~\\models', '/home/ada')).toBe(join('/home/ada', 'models'));
    expect(expandHome('/opt/~/x', '/home/ada')).toBe('/opt/~/x');
    expect(expandHome('~bob/models', '/home/ada')).toBe('~bob/models');
  });
});

describe('folderHint', () => {
  it('points from an onnx/ subfolder to the model folder above it', () => {
    expect(folderHint({ dir: '/m/smol/onnx', onnxOfModel: true, modelChildren: [] })).toBe(
      "This is a model's onnx/ subfolder: pick the folder above it, /m/smol.",
    );
  });

  it('names the model folder a parent holds, or lists several (three by name)', () => {
    expect(folderHint({ dir: '/m', onnxOfModel: false, modelChildren: ['smol'] })).toBe(`This folder holds a model folder: pick ${join('/m', 'smol')}.`);
    expect(folderHint({ dir: '/m', onnxOfModel: false, modelChildren: ['a', 'b'] })).toBe('This folder holds 2 model folders (a, b): pick one of them.');
    expect(folderHint({ dir: '/m', onnxOfModel: false, modelChildren: ['a', 'b', 'c', 'd', 'e'] })).toBe(
      'This folder holds 5 model folders (a, b, c and 2 more): pick one of them.',
    );
  });

  it('says nothing when nothing near looks like a model', () => {
    expect(folderHint({ dir: '/tmp', onnxOfModel: false, modelChildren: [] })).toBeNull();
  });
});

describe('folderFacts', () => {
  let root: string;
  const modelAt = async (dir: string) => {
    await mkdir(join(dir, 'onnx'), { recursive: true });
    await writeFile(join(dir, 'config.json'), '{}');
  };
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ouro-hint-'));
    await modelAt(join(root, 'models', 'smol'));
    await modelAt(join(root, 'models', 'qwen'));
    await mkdir(join(root, 'models', 'notes'));
    await mkdir(join(root, 'models', 'half', 'onnx'), { recursive: true });
    await modelAt(join(root, 'models', '.staging'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('finds the model folders a folder holds (not hidden ones, not half ones) and a model’s onnx/ subfolder', async () => {
    expect(await folderFacts(join(root, 'models'))).toEqual({ dir: join(root, 'models'), onnxOfModel: false, modelChildren: ['qwen', 'smol'] });
    expect(await folderFacts(join(root, 'models', 'smol', 'onnx'))).toEqual({ dir: join(root, 'models', 'smol', 'onnx'), onnxOfModel: true, modelChildren: [] });
    expect(await folderFacts(join(root, 'models', 'half', 'onnx'))).toMatchObject({ onnxOfModel: false });
    expect(await folderFacts(join(root, 'missing'))).toEqual({ dir: join(root, 'missing'), onnxOfModel: false, modelChildren: [] });
  });
});
