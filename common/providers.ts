// Execution provider names, shared by the session seam, the host protocol, settings and the UI. Pure.

/** ONNX Runtime execution providers Ouro can ask for by name; unavailable ones fall back to cpu. */
export const PROVIDER_NAMES = ['cpu', 'webgpu', 'cuda', 'dml', 'coreml'] as const;

export type ProviderName = (typeof PROVIDER_NAMES)[number];

export interface ProviderAvailability {
  readonly name: ProviderName;
  /** Whether this build of onnxruntime-node offers it (not whether a device works). */
  readonly available: boolean;
  readonly reason?: string;
}
