// What provider 'auto' tries, and why: hardware accelerators this build offers and this machine has,
// never a software adapter (Mesa lavapipe/llvmpipe, SwiftShader, WARP run on the CPU, slower than the
// CPU provider itself). Runs in the engine host; reads device nodes, opens nothing.

import { readdirSync } from 'node:fs';
import { PROVIDER_LABELS, type ProviderAvailability, type ProviderName } from '../../common/providers';

/** The machine facts the choice depends on (injected in tests). */
export interface AcceleratorFacts {
  readonly platform: NodeJS.Platform;
  /** GPU device nodes found (Linux: /dev/dri/renderD*, /dev/nvidia0..); empty elsewhere. */
  readonly gpuDevices: readonly string[];
  /** Vulkan drivers the loader is restricted to (VK_DRIVER_FILES / VK_ICD_FILENAMES), or null for all. */
  readonly vulkanDrivers?: readonly string[] | null;
}

/** A provider 'auto' will try, with why it counts as hardware. */
export interface AutoCandidate {
  readonly name: ProviderName;
  readonly why: string;
}

/** Candidates to try in order, and one line per accelerator left out and why. */
export interface AutoPlan {
  readonly candidates: readonly AutoCandidate[];
  readonly skipped: readonly string[];
}

/** Mesa's lavapipe and llvmpipe, Google's SwiftShader: Vulkan drivers that run on the CPU. */
const SOFTWARE_VULKAN = /lvp|lavapipe|llvmpipe|swiftshader/i;

/** Tried first to last: the vendor runtimes before WebGPU, whose kernels are the most general. */
const ORDER: readonly ProviderName[] = ['cuda', 'dml', 'coreml', 'webgpu'];

/** GPU device nodes under /dev (Linux): a DRM render node per GPU, or NVIDIA's own nodes. */
export function gpuDeviceNodes(): string[] {
  const list = (dir: string, pattern: RegExp): string[] => {
    try {
      return readdirSync(dir)
        .filter((name) => pattern.test(name))
        .map((name) => `${dir}/${name}`);
    } catch {
      return [];
    }
  };
  return [...list('/dev/dri', /^renderD\d+$/), ...list('/dev', /^nvidia\d+$/)];
}

/** The facts of this machine. */
export function acceleratorFacts(): AcceleratorFacts {
  const listed = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  return {
    platform: process.platform,
    gpuDevices: process.platform === 'linux' ? gpuDeviceNodes() : [],
    vulkanDrivers: listed ? listed.split(process.platform === 'win32' ? ';' : ':').filter(Boolean) : null,
  };
}

/**
 * Which providers 'auto' tries for `offered` (this build's providers) on a machine with `facts`.
 * On Linux, Dawn (WebGPU) and CUDA need a GPU device node: without one the only Vulkan adapter is a
 * software one (lavapipe/llvmpipe, SwiftShader), which WebGPU would happily use. On Windows, Dawn and
 * DirectML pick a hardware D3D12 adapter (WARP only on request); on macOS, Metal and Core ML are hardware.
 */
export function planAuto(offered: readonly ProviderAvailability[], facts: AcceleratorFacts): AutoPlan {
  const candidates: AutoCandidate[] = [];
  const skipped: string[] = [];
  const linux = facts.platform === 'linux';
  const nvidia = facts.gpuDevices.filter((d) => /\/nvidia\d+$/.test(d));
  for (const name of ORDER) {
    const label = PROVIDER_LABELS[name];
    const offer = offered.find((p) => p.name === name);
    if (offer?.available !== true) continue;
    const drivers = facts.vulkanDrivers ?? null;
    if (linux && name === 'webgpu' && facts.gpuDevices.length === 0) {
      skipped.push(`${label}: no GPU device (/dev/dri/renderD*, /dev/nvidia*), so its only adapter would be a software one`);
    } else if (linux && name === 'webgpu' && drivers !== null && drivers.every((d) => SOFTWARE_VULKAN.test(d))) {
      skipped.push(`${label}: Vulkan is limited to software drivers (${drivers.join(', ')}) by VK_DRIVER_FILES / VK_ICD_FILENAMES`);
    } else if (linux && name === 'cuda' && nvidia.length === 0) {
      skipped.push(`${label}: no NVIDIA device (/dev/nvidia*)`);
    } else {
      const why = linux ? `GPU device ${(name === 'cuda' ? nvidia : facts.gpuDevices)[0]}` : `a hardware adapter on ${facts.platform}`;
      candidates.push({ name, why });
    }
  }
  return { candidates, skipped };
}
