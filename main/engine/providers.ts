// Execution provider names, shared by the session seam, the host protocol and the UI. Pure types.

/** ONNX Runtime execution providers Ouro can ask for by name; unavailable ones fall back to cpu. */
export type ProviderName = 'cpu' | 'webgpu' | 'cuda' | 'dml' | 'coreml';

export interface ProviderAvailability {
  readonly name: ProviderName;
  /** Whether this build of onnxruntime-node offers it (not whether a device works). */
  readonly available: boolean;
  readonly reason?: string;
}
