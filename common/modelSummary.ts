// What the Models page shows about a model folder. Pure types.

/** Weight format, from the transformers.js variant suffix. */
export type WeightFormat = 'fp32' | 'fp16' | 'q8' | 'q4' | 'q4f16' | 'bnb4' | 'unknown';

/** What the Models page shows about a folder. */
export interface ModelSummary {
  readonly dir: string;
  readonly variant: string;
  readonly variants: readonly string[];
  readonly onnxFile: string;
  readonly modelType: string;
  readonly architecture: string | null;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly contextLength: number;
  readonly ropeScaling: string | null;
  readonly weightsBytes: number;
  readonly weightFormat: WeightFormat;
  /** From config.json shapes where the family is known (`config`), else weights bytes ÷ bytes per weight (`weights`). */
  readonly parameters: number;
  readonly parametersFrom: 'config' | 'weights';
  /** float32 KV cache bytes for one token: layers × 2 × kv heads × head dim × 4. */
  readonly kvBytesPerToken: number;
  readonly kvBytesPer1kTokens: number;
  readonly hasChatTemplate: boolean;
  readonly warnings: readonly string[];
  /** Provenance when Ouro downloaded the folder (repo, commit, files). */
  readonly download: Readonly<Record<string, unknown>> | null;
}
