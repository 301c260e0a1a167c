// The curated model catalog (models/catalog.json): its schema, the checks a hand-edited entry must
// pass, and each variant's folder id. Pure (main validates the bundled file; the contract reuses its types).

import { z } from 'zod';
import type { ProviderName } from './providers';

const SLUG = /^[a-z0-9][a-z0-9.-]*$/;
const COMMIT = /^[0-9a-f]{40}$/;
const SAFE_PATH = /^(?!.*(^|\/)\.\.?(\/|$))[\w.-]+(\/[\w.-]+)*$/;

const CatalogFileSchema = z.object({
  /** Repository-relative path; the same path inside the installed folder. */
  path: z.string().regex(SAFE_PATH),
  /** sha256 of the content, only where it was read off the Hub for this revision; the Hub API is checked against it. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Rounded size as the Hub's file page shows it (the exact size comes from the Hub API at download time). */
  approxBytes: z.int().nonnegative(),
});

/**
 * Weight formats of transformers.js exports. fp16 and q4f16 graphs keep an fp16 KV cache (the fast
 * pairing on a GPU provider); the others an fp32 one (the fast pairing on CPU). models/README.md.
 */
const WEIGHTS = z.enum(['fp32', 'q8', 'q4', 'bnb4', 'fp16', 'q4f16']);
const HALF_KV_WEIGHTS: ReadonlySet<string> = new Set(['fp16', 'q4f16']);

/** GPU providers, whose fast pairing is fp16 activations and KV (models/README.md). */
const GPU_PROVIDERS: ReadonlySet<ProviderName> = new Set(['webgpu', 'cuda', 'dml']);
/** On a GPU provider, the weights to offer first: q4f16 (smallest download and cache), then fp16. */
const GPU_WEIGHTS: readonly string[] = ['q4f16', 'fp16'];

const VariantSchema = z.object({
  /** Short id (`q4`); the installed folder is `<entry id>-<variant id>`. */
  id: z.string().regex(SLUG),
  /** The transformers.js graph (`onnx/model_q4.onnx`). */
  onnxFile: z.string().regex(/^onnx\/model(_[A-Za-z0-9]+)?\.onnx$/),
  weights: WEIGHTS,
  kvDtype: z.enum(['float32', 'float16']),
  /** Every file the folder needs: graph (+ external data), config, generation config, tokenizer files. */
  files: z.array(CatalogFileSchema).min(4),
  /** Rough download size (sum of the files). */
  approxDownloadBytes: z.int().positive(),
  /** Rough resident memory: weights plus the KV cache at the suggested window plus runtime overhead. */
  approxRamBytes: z.int().positive(),
});

const CatalogEntrySchema = z
  .object({
    id: z.string().regex(SLUG),
    name: z.string().min(1),
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
    /** A commit (40 hex) where one was read off the Hub, else a branch name with `verified: false`. */
    revision: z.string().min(1),
    /** True only when the revision is a commit and every graph file's sha256 was read off the Hub for it. */
    verified: z.boolean(),
    /** Whether Ouro's engine has loaded and chatted with this exact revision (probe + a short chat). */
    engineTested: z.boolean(),
    notes: z.array(z.string()),
    licence: z.object({ id: z.string().min(1), url: z.url() }),
    /** The Hub asks for a licence click-through (a token is then needed). */
    gated: z.boolean(),
    family: z.string().min(1),
    parameters: z.int().positive(),
    /** config.json max_position_embeddings. */
    contextLength: z.int().positive(),
    /** float32 KV per token: layers × 2 × kv heads × head dim × 4. */
    kvBytesPerToken: z.int().positive(),
    /** Suggested attention-sink cache (DESIGN §3): S sinks and W ring slots. */
    suggestedCache: z.object({ sink: z.int().nonnegative(), window: z.int().positive() }),
    defaultVariant: z.string(),
    variants: z.array(VariantSchema).min(1),
  })
  .superRefine((e, ctx) => {
    if (!e.variants.some((v) => v.id === e.defaultVariant)) {
      ctx.addIssue({ code: 'custom', path: ['defaultVariant'], message: `"${e.defaultVariant}" is not one of the variants` });
    }
    if (new Set(e.variants.map((v) => v.id)).size !== e.variants.length) {
      ctx.addIssue({ code: 'custom', path: ['variants'], message: 'variant ids must be unique' });
    }
    if (!COMMIT.test(e.revision) && e.verified) {
      ctx.addIssue({ code: 'custom', path: ['verified'], message: `revision "${e.revision}" is a branch, not a commit; an entry pinned to a branch cannot be verified` });
    }
    const { sink, window } = e.suggestedCache;
    if (2 * (sink + window) > e.contextLength) {
      ctx.addIssue({ code: 'custom', path: ['suggestedCache'], message: 'sink + window must stay within half the context length (DESIGN §3)' });
    }
    e.variants.forEach((v, i) => {
      const half = HALF_KV_WEIGHTS.has(v.weights);
      if ((v.kvDtype === 'float16') !== half) {
        ctx.addIssue({ code: 'custom', path: ['variants', i, 'kvDtype'], message: `${v.weights} weights keep ${half ? 'fp16' : 'fp32'} KV: kvDtype must be ${half ? 'float16' : 'float32'}` });
      }
      const paths = new Set(v.files.map((f) => f.path));
      if (paths.size !== v.files.length) ctx.addIssue({ code: 'custom', path: ['variants', i, 'files'], message: 'duplicate file path' });
      for (const needed of [v.onnxFile, 'config.json', 'tokenizer.json', 'tokenizer_config.json']) {
        if (!paths.has(needed)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'files'], message: `lacks ${needed}` });
      }
      // Only the chosen graph (and its external data) belongs in the folder: a second graph would change
      // which variant the engine picks.
      for (const p of paths) {
        if (p.endsWith('.onnx') && p !== v.onnxFile) ctx.addIssue({ code: 'custom', path: ['variants', i, 'files'], message: `${p} is a second graph` });
        if (p.endsWith('.onnx_data') && !p.startsWith(v.onnxFile)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'files'], message: `${p} belongs to another graph` });
      }
      if (e.verified && !v.files.some((f) => f.path === v.onnxFile && f.sha256 !== undefined)) {
        ctx.addIssue({ code: 'custom', path: ['variants', i, 'files'], message: `verified entries need the sha256 of ${v.onnxFile}` });
      }
    });
  });

const ExcludedSchema = z.object({ repo: z.string().min(1), reason: z.string().min(1) });

/** The whole catalog file. */
export const CatalogSchema = z
  .object({
    version: z.literal(1),
    /** When the entries were last checked against the Hub (YYYY-MM-DD). */
    updated: z.iso.date(),
    models: z.array(CatalogEntrySchema),
    /** Models looked at and left out, with the reason (documentation for the next curator). */
    excluded: z.array(ExcludedSchema),
  })
  .superRefine((c, ctx) => {
    const ids = c.models.map((m) => m.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: ['models'], message: 'model ids must be unique' });
  });

export type Catalog = z.output<typeof CatalogSchema>;
export type CatalogEntry = z.output<typeof CatalogEntrySchema>;
export type CatalogVariant = z.output<typeof VariantSchema>;
export type CatalogFile = z.output<typeof CatalogFileSchema>;

/** Validates parsed catalog JSON; throws an Error listing every problem with its JSON path. */
export function parseCatalog(json: unknown): Catalog {
  const parsed = CatalogSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new Error(`models/catalog.json is invalid:\n  ${problems.join('\n  ')}`);
}

/** The installed folder name (and download id) of an entry's variant. */
export function catalogFolderId(entry: Readonly<CatalogEntry>, variant: Readonly<CatalogVariant>): string {
  return `${entry.id}-${variant.id}`;
}

/**
 * The variant to offer first for `provider` (null: not known yet): on a GPU provider the entry's q4f16
 * (else fp16) variant where it has one, otherwise its default (q4: the fast pairing on CPU).
 */
export function variantForProvider(
  entry: Readonly<{ defaultVariant: string; variants: readonly Readonly<{ id: string; weights: string }>[] }>,
  provider: ProviderName | null,
): string {
  if (provider === null || !GPU_PROVIDERS.has(provider)) return entry.defaultVariant;
  for (const weights of GPU_WEIGHTS) {
    const v = entry.variants.find((x) => x.weights === weights);
    if (v !== undefined) return v.id;
  }
  return entry.defaultVariant;
}
