// The SmolLM2-135M-shaped random-weight fixture for benchmarks, built once into bench/.work (git-ignored).
// Benchmark process only; reuses the test fixture builder.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLlamaFixture, FIXTURE_BUILDER_SOURCES, SMOLLM2_135M_SHAPES } from '../../test/fixtures/llamaFixture';
import { WORK_DIR } from './benchContext';

const NAME = 'smollm2-135m-shapes';

function stamp(): string {
  const hash = createHash('sha256').update(JSON.stringify(SMOLLM2_135M_SHAPES));
  for (const file of FIXTURE_BUILDER_SOURCES) hash.update(readFileSync(file));
  return hash.digest('hex');
}

/**
 * The fixture folder (30 layers, 3 KV heads of 64, vocab 49152 padded around the fixture tokenizer,
 * ~540 MB fp32 inline), built when missing or when the builder changed.
 */
export function ensureBenchFixture(): string {
  const dir = join(WORK_DIR, NAME);
  const want = stamp();
  const stampFile = join(dir, 'bench-stamp.txt');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  buildLlamaFixture(tmp, SMOLLM2_135M_SHAPES, { tokenizer: 'fixture' });
  writeFileSync(join(tmp, 'bench-stamp.txt'), want);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}
