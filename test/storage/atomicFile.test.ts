// writeFileAtomic: replaces a file whole, fsyncs, and leaves no temp file behind on success or failure.
// Runs under Vitest (Node) in temp folders.

import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../main/storage/atomicFile';
import { useTempDirs } from './tempDir';

const tempDir = useTempDirs();

describe('writeFileAtomic', () => {
  it('replaces an existing file with text, bytes, or chunks', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f.bin');
    await writeFile(path, 'old content that is longer');
    await writeFileAtomic(path, 'new ✓');
    expect(await readFile(path, 'utf8')).toBe('new ✓');
    await writeFileAtomic(path, [new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])]);
    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
    expect(await readdir(dir)).toEqual(['f.bin']);
  });

  it('removes its temp file and keeps the target when the rename fails', async () => {
    const dir = await tempDir();
    const target = join(dir, 'occupied');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'keep');
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['occupied']);
    expect(await readFile(join(target, 'inside'), 'utf8')).toBe('keep');
  });
});
