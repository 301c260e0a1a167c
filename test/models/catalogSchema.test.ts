// The curated catalog: the shipped file passes its schema and the engine's rules (one graph per folder,
// a variant the engine will pick, the KV dtype its weights keep), offers q4f16 where a GPU provider is
// chosen, and the schema rejects entries that break them.
import { requestFromCatalog } from '../../main/models/catalog';
import { describe, expect, it } from 'vitest';
import { chooseVariant } from '../../main/engine/model/variants';
import { bundledCatalog, findCatalogEntry } from '../../main/models/catalog';
import { parseCatalog, variantForProvider, type Catalog } from '../../common/catalogSchema';
import { validateDownloadRequest } from '../../main/models/downloadRequest';
import { weightFormatOf } from '../../main/models/modelInspect';

const catalog = bundledCatalog();

function withFirstEntry(patch: (e: Record<string, unknown>) => void): unknown {
  const copy = JSON.parse(JSON.stringify(catalog)) as { models: Array<Record<string, unknown>> };
  patch(copy.models[0]);
  return copy;
}

describe('models/catalog.json', () => {
  it('offers the laptop-sized chat models the issue asks for, and says why Phi-3.5-mini is left out', () => {
    expect(catalog.models.map((m) => m.id)).toEqual([
      'smollm2-135m-instruct',
      'smollm2-360m-instruct',
      'smollm2-1.7b-instruct',
      'qwen2.5-0.5b-instruct',
      'qwen2.5-1.5b-instruct',
      'llama-3.2-1b-instruct',
    ]);
    expect(catalog.excluded.filter((x) => x.repo.includes('Phi-3.5-mini')).map((x) => x.reason).join(' ')).toMatch(/float16/);
  });

  it('every entry is pinned honestly: a commit, or a branch marked unverified with a note', () => {
    for (const m of catalog.models) {
      if (!/^[0-9a-f]{40}$/.test(m.revision)) expect([m.id, m.verified]).toEqual([m.id, false]);
      if (!m.verified) expect(m.notes.length).toBeGreaterThan(0);
      expect(m.engineTested).toBe(false);
    }
    expect(catalog.models.filter((m) => m.verified).map((m) => m.id)).toEqual(['smollm2-135m-instruct']);
  });

  it('each variant folder holds exactly one graph, the one the engine will pick, with the KV its weights keep', () => {
    for (const m of catalog.models) {
      for (const v of m.variants) {
        const graphs = v.files.filter((f) => f.path.endsWith('.onnx')).map((f) => ({ variant: f.path.slice(5, -5), rel: f.path }));
        expect(chooseVariant(graphs).rel).toBe(v.onnxFile);
        const format = weightFormatOf(v.onnxFile.slice(5, -5));
        expect([v.id, format]).toEqual([v.id, v.weights]);
        expect([v.id, v.kvDtype]).toEqual([v.id, format === 'fp16' || format === 'q4f16' ? 'float16' : 'float32']);
        expect(v.approxDownloadBytes).toBe(v.files.reduce((n, f) => n + f.approxBytes, 0));
      }
    }
  });

  it('states the KV size per token that the config implies (layers × 2 × kv heads × head dim × 4)', () => {
    const shapes: Record<string, [number, number, number]> = {
      'smollm2-135m-instruct': [30, 3, 64],
      'smollm2-360m-instruct': [32, 5, 64],
      'smollm2-1.7b-instruct': [24, 32, 64],
      'qwen2.5-0.5b-instruct': [24, 2, 64],
      'qwen2.5-1.5b-instruct': [28, 2, 128],
      'llama-3.2-1b-instruct': [16, 8, 64],
    };
    for (const m of catalog.models) {
      const [layers, kv, dim] = shapes[m.id];
      expect([m.id, m.kvBytesPerToken]).toEqual([m.id, layers * 2 * kv * dim * 4]);
    }
  });

  it('offers q4f16 first where a GPU provider is chosen, q4 on CPU; every entry has a q4 default, all but the pinned one a q4f16', () => {
    for (const m of catalog.models) {
      expect([m.id, m.defaultVariant]).toEqual([m.id, 'q4']);
      const gpu = m.variants.some((v) => v.weights === 'q4f16') ? 'q4f16' : 'q4';
      for (const provider of ['webgpu', 'cuda', 'dml'] as const) expect([m.id, provider, variantForProvider(m, provider)]).toEqual([m.id, provider, gpu]);
      for (const provider of ['cpu', 'coreml', null] as const) expect([m.id, provider, variantForProvider(m, provider)]).toEqual([m.id, provider, 'q4']);
    }
    // The verified entry's q4f16 graph was never read off the Hub for its pinned commit: it stays q4 only.
    expect(catalog.models.filter((m) => !m.variants.some((v) => v.weights === 'q4f16')).map((m) => m.id)).toEqual(['smollm2-135m-instruct']);
  });

  it('falls back to an fp16 variant on a GPU provider when an entry has no q4f16', () => {
    const entry = { defaultVariant: 'q4', variants: [{ id: 'q4', weights: 'q4' }, { id: 'half', weights: 'fp16' }] };
    expect(variantForProvider(entry, 'webgpu')).toBe('half');
    expect(variantForProvider(entry, 'cpu')).toBe('q4');
  });

  it('turns an entry into a valid download request for its folder', () => {
    const entry = findCatalogEntry('smollm2-135m-instruct');
    expect(entry).not.toBeNull();
    if (entry === null) return;
    const req = requestFromCatalog(entry);
    expect(() => validateDownloadRequest(req)).not.toThrow();
    expect(req).toMatchObject({ id: 'smollm2-135m-instruct-q4', repo: entry.repo, revision: entry.revision, catalogId: entry.id, variant: 'q4' });
    expect(req.files.find((f) => f.path === 'onnx/model_q4.onnx')?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(() => requestFromCatalog(entry, 'fp16')).toThrow(/no variant "fp16"; available: q4/);
    const qwen = findCatalogEntry('qwen2.5-0.5b-instruct')!;
    const half = requestFromCatalog(qwen, variantForProvider(qwen, 'webgpu'));
    expect(() => validateDownloadRequest(half)).not.toThrow();
    expect(half).toMatchObject({ id: 'qwen2.5-0.5b-instruct-q4f16', variant: 'q4f16' });
    expect(half.files.filter((f) => f.path.endsWith('.onnx')).map((f) => f.path)).toEqual(['onnx/model_q4f16.onnx']);
  });
});

describe('catalog schema', () => {
  it('accepts a q4f16 variant with fp16 KV', () => {
    const parsed = parseCatalog(withFirstEntry((e) => Object.assign((e.variants as Array<Record<string, unknown>>)[0], { weights: 'q4f16', kvDtype: 'float16' })));
    expect(parsed.models[0].variants[0]).toMatchObject({ weights: 'q4f16', kvDtype: 'float16' });
  });

  it('rejects a KV dtype its weights do not keep, a missing tokenizer, a second graph, and a "verified" branch', () => {
    const cases: Array<[(e: Record<string, unknown>) => void, RegExp]> = [
      [(e) => Object.assign((e.variants as Array<Record<string, unknown>>)[0], { weights: 'q4f16' }), /q4f16 weights keep fp16 KV: kvDtype must be float16/],
      [(e) => Object.assign((e.variants as Array<Record<string, unknown>>)[0], { kvDtype: 'float16' }), /q4 weights keep fp32 KV: kvDtype must be float32/],
      [(e) => Object.assign((e.variants as Array<Record<string, unknown>>)[0], { kvDtype: 'bfloat16' }), /kvDtype/],
      [
        (e) => {
          const v = (e.variants as Array<{ files: Array<{ path: string }> }>)[0];
          v.files = v.files.filter((f) => f.path !== 'tokenizer.json');
        },
        /lacks tokenizer\.json/,
      ],
      [(e) => (e.variants as Array<{ files: unknown[] }>)[0].files.push({ path: 'onnx/model_fp16.onnx', approxBytes: 1 }), /onnx\/model_fp16\.onnx is a second graph/],
      [(e) => Object.assign(e, { revision: 'main', verified: true }), /branch, not a commit/],
      [(e) => Object.assign(e, { suggestedCache: { sink: 4, window: 8000 } }), /half the context length/],
      [(e) => Object.assign(e, { defaultVariant: 'q8' }), /"q8" is not one of the variants/],
      [(e) => (e.variants as Array<{ files: Array<{ path: string }> }>)[0].files.push({ path: '../escape.json', approxBytes: 1 } as never), /path/],
    ];
    for (const [patch, message] of cases) expect(() => parseCatalog(withFirstEntry(patch))).toThrow(message);
  });

  it('rejects duplicate ids', () => {
    const copy = JSON.parse(JSON.stringify(catalog)) as Catalog;
    (copy.models as unknown[]).push(copy.models[0]);
    expect(() => parseCatalog(copy)).toThrow(/ids must be unique/);
  });
});
