// Execution provider names, shared by the session seam, the host protocol, settings and the UI. Pure.

/** ONNX Runtime execution providers Ouro can ask for by name; unavailable ones fall back to cpu. */
export const PROVIDER_NAMES = ['cpu', 'webgpu', 'cuda', 'dml', 'coreml'] as const;

export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** What a user picks: a provider, or `auto` (the engine picks a hardware accelerator that works, else cpu). */
export type ProviderChoice = ProviderName | 'auto';

/** Provider names as people write them. */
export const PROVIDER_LABELS: Readonly<Record<ProviderName, string>> = {
  cpu: 'CPU',
  webgpu: 'WebGPU',
  cuda: 'CUDA',
  dml: 'DirectML',
  coreml: 'Core ML',
};

export interface ProviderAvailability {
  readonly name: ProviderName;
  /** Whether this build of onnxruntime-node offers it (not whether a device works). */
  readonly available: boolean;
  readonly reason?: string;
}
