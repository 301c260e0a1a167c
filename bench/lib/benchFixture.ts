// The SmolLM2-135M-shaped random-weight fixture for benchmarks, built once into bench/.work (git-ignored).
// Benchmark process only; reuses the test fixture builder.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WeightFormat } from '../../test/fixtures/fixtureQuant';
import { BUILDER_SOURCES, buildLlamaFixture, SMOLLM2_135M_SHAPES, type FixtureSpec } from '../../test/fixtures/llamaFixture';
import { WORK_DIR } from './benchContext';

const NAME = 'smollm2-135m-shapes';

/** What a bench artifact derived from `spec` depends on: the spec and the builder's sources, plus `extra` files. */
export function builderStamp(spec: Readonly<FixtureSpec>, extra: readonly URL[] = []): string {
  const hash = createHash('sha256').update(JSON.stringify(spec));
  for (const file of BUILDER_SOURCES) hash.update(readFileSync(new URL(`../../test/fixtures/${file}`, import.meta.url)));
  for (const url of extra) hash.update(readFileSync(url));
  return hash.digest('hex');
}

/** The bench fixture's spec with its projection weights in `format`. */
export function benchSpec(format: WeightFormat = 'fp32'): Readonly<FixtureSpec> {
  return format === 'fp32' ? SMOLLM2_135M_SHAPES : { ...SMOLLM2_135M_SHAPES, weights: format };
}

/**
 * The fixture folder (30 layers, 3 KV heads of 64, vocab 49152 padded around the fixture tokenizer,
 * ~540 MB fp32 inline; int8 ~140 MB, q4 ~190 MB with its fp32 embedding), built when missing or when the
 * builder changed.
 */
export function ensureBenchFixture(format: WeightFormat = 'fp32'): string {
  const spec = benchSpec(format);
  const dir = join(WORK_DIR, format === 'fp32' ? NAME : `${NAME}-${format}`);
  const want = builderStamp(spec);
  const stampFile = join(dir, 'bench-stamp.txt');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  buildLlamaFixture(tmp, spec, { tokenizer: 'fixture' });
  writeFileSync(join(tmp, 'bench-stamp.txt'), want);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}
