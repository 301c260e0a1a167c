// Test kit for the model-manager suites (services and browser e2e): a mock Hub publishing the tiny
// fixture as an open and a gated repo, and a catalog whose entries point at them. Test process.
import { parseCatalog, type Catalog } from '../../common/catalogSchema';
import { ensureFixture, TINY } from '../fixtures/llamaFixture';
import { MockHub } from '../models/mockHub';

export const OPEN_REPO = 'ouro-test/tiny-chat';
export const GATED_REPO = 'ouro-test/tiny-gated';
/** The token the mock Hub accepts for the gated repo. */
export const ACCEPTED_TOKEN = 'hf_acceptedTokenForTests';
export const GRAPH = 'onnx/model.onnx';
const FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', GRAPH];

/** The tiny fixture's parameter count by the Llama formula (untied head): what `models.inspect` must report. */
export const TINY_PARAMETERS =
  TINY.vocab * TINY.hidden * 2 +
  TINY.layers * (2 * TINY.hidden * TINY.heads * TINY.headDim + 2 * TINY.hidden * TINY.kvHeads * TINY.headDim + 3 * TINY.hidden * TINY.intermediate + 2 * TINY.hidden) +
  TINY.hidden;
/** float32 KV bytes per token: layers × 2 × kv heads × head dim × 4. */
export const TINY_KV_BYTES_PER_TOKEN = TINY.layers * 2 * TINY.kvHeads * TINY.headDim * 4;

/** A running mock Hub with both repos, the fixture folder, and the catalog that lists them. */
export interface ModelsHub {
  readonly hub: MockHub;
  readonly fixtureDir: string;
  readonly catalog: Catalog;
  /** Total bytes of one download (the six fixture files). */
  readonly downloadBytes: number;
  close(): Promise<void>;
}

function entry(id: string, name: string, repo: string, commit: string, gated: boolean, sizes: readonly number[]) {
  const total = sizes.reduce((a, b) => a + b, 0);
  return {
    id,
    name,
    repo,
    revision: commit,
    verified: false,
    engineTested: true,
    notes: ['The tiny random-weight fixture, served by the mock Hub.'],
    licence: { id: 'apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    gated,
    family: 'llama',
    parameters: TINY_PARAMETERS,
    contextLength: TINY.maxPositions,
    kvBytesPerToken: TINY_KV_BYTES_PER_TOKEN,
    suggestedCache: { sink: 4, window: 60 },
    defaultVariant: 'fp32',
    variants: [
      {
        id: 'fp32',
        onnxFile: GRAPH,
        weights: 'fp32',
        kvDtype: 'float32',
        files: FILES.map((path, i) => ({ path, approxBytes: sizes[i] })),
        approxDownloadBytes: total,
        approxRamBytes: 4 * total,
      },
    ],
  };
}

/** Starts the mock Hub and builds the catalog (validated by the real schema). */
export async function startModelsHub(): Promise<ModelsHub> {
  const { dir: fixtureDir } = await ensureFixture('tiny');
  const hub = await MockHub.start();
  const open = hub.addFolder(OPEN_REPO, fixtureDir, { skip: ['fixture-spec.json'] });
  const gated = hub.addFolder(GATED_REPO, fixtureDir, { skip: ['fixture-spec.json'], gated: 'manual', acceptedTokens: [ACCEPTED_TOKEN] });
  const sizes = FILES.map((f) => hub.content(OPEN_REPO, f).length);
  const catalog = parseCatalog({
    version: 1,
    updated: '2026-01-01',
    models: [entry('tiny-chat', 'Tiny Chat', OPEN_REPO, open, false, sizes), entry('tiny-gated', 'Tiny Gated', GATED_REPO, gated, true, sizes)],
    excluded: [],
  });
  return { hub, fixtureDir, catalog, downloadBytes: sizes.reduce((a, b) => a + b, 0), close: () => hub.close() };
}
