// What a loaded model looks like to the UI, the CLI and the server. Pure types.
import type { ProviderName } from './providers';
import type { Q4Compute } from './settingsSchema';

/** What a loaded model looks like to the UI and the CLI. */
export interface ModelInfo {
  readonly dir: string;
  readonly name: string;
  readonly variant: string;
  readonly modelType: string;
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  /** DESIGN §3 rebase bound. */
  readonly maxPos: number;
  readonly kvBytesPerToken: number;
  readonly provider: ProviderName;
  /** For a load with provider `auto`: what it chose and why. */
  readonly providerNote: string | null;
  /** How its 4-bit (MatMulNBits) weights multiply, as set at load; null when it has none or runs on a GPU. */
  readonly q4Compute: Q4Compute | null;
  readonly hasChatTemplate: boolean;
  readonly ropeProbe: { readonly ok: boolean; readonly maxError: number; readonly reason?: string };
  readonly warnings: readonly string[];
  readonly loadMs: number;
  readonly eosTokenIds: readonly number[];
  readonly generationDefaults: Readonly<Record<string, number | boolean>>;
}
