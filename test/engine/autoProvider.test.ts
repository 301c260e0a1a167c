// Provider 'auto': hardware accelerators only (never a software WebGPU adapter such as lavapipe), in a
// fixed order, else CPU, with the choice and the reasons stated.
import { describe, expect, it } from 'vitest';
import { gpuDeviceNodes, planAuto } from '../../main/engine/autoProvider';
import { openSession, availableProviders } from '../../main/engine/onnxSession';
import type { ProviderAvailability, ProviderName } from '../../common/providers';
import { ensureFixture } from '../fixtures/llamaFixture';
import { join } from 'node:path';

const offered = (...names: ProviderName[]): ProviderAvailability[] =>
  (['cpu', 'webgpu', 'cuda', 'dml', 'coreml'] as const).map((name) => ({ name, available: name === 'cpu' || names.includes(name) }));

describe('planAuto', () => {
  it('on Linux without a GPU device, skips WebGPU (its adapter would be software) and CUDA', () => {
    const plan = planAuto(offered('webgpu', 'cuda'), { platform: 'linux', gpuDevices: [] });
    expect(plan.candidates).toEqual([]);
    expect(plan.skipped).toEqual([
      'CUDA: no NVIDIA device (/dev/nvidia*)',
      'WebGPU: no GPU device (/dev/dri/renderD*, /dev/nvidia*), so its only adapter would be a software one',
    ]);
  });

  it('on Linux with a render node, tries WebGPU there; CUDA only with an NVIDIA device, and first', () => {
    expect(planAuto(offered('webgpu', 'cuda'), { platform: 'linux', gpuDevices: ['/dev/dri/renderD128'] }).candidates).toEqual([
      { name: 'webgpu', why: 'GPU device /dev/dri/renderD128' },
    ]);
    const nvidia = planAuto(offered('webgpu', 'cuda'), { platform: 'linux', gpuDevices: ['/dev/dri/renderD128', '/dev/nvidia0'] });
    expect(nvidia.candidates.map((c) => c.name)).toEqual(['cuda', 'webgpu']);
    expect(nvidia.candidates[0].why).toBe('GPU device /dev/nvidia0');
  });

  it('skips WebGPU when the Vulkan loader is limited to software drivers, even with a GPU device', () => {
    const facts = { platform: 'linux' as const, gpuDevices: ['/dev/dri/renderD128'] };
    const lavapipe = planAuto(offered('webgpu'), { ...facts, vulkanDrivers: ['/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'] });
    expect(lavapipe.candidates).toEqual([]);
    expect(lavapipe.skipped).toEqual(['WebGPU: Vulkan is limited to software drivers (/usr/share/vulkan/icd.d/lvp_icd.x86_64.json) by VK_DRIVER_FILES / VK_ICD_FILENAMES']);
    const mixed = planAuto(offered('webgpu'), { ...facts, vulkanDrivers: ['/etc/vulkan/icd.d/nvidia_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.json'] });
    expect(mixed.candidates.map((c) => c.name)).toEqual(['webgpu']);
  });

  it('on Windows and macOS trusts the platform adapters, DirectML and Core ML before WebGPU; never what the build lacks', () => {
    expect(planAuto(offered('webgpu', 'dml'), { platform: 'win32', gpuDevices: [] }).candidates.map((c) => c.name)).toEqual(['dml', 'webgpu']);
    expect(planAuto(offered('coreml'), { platform: 'darwin', gpuDevices: [] }).candidates).toEqual([{ name: 'coreml', why: 'a hardware adapter on darwin' }]);
    expect(planAuto(offered(), { platform: 'linux', gpuDevices: ['/dev/nvidia0'] })).toEqual({ candidates: [], skipped: [] });
  });
});

describe('openSession with auto', () => {
  it('lands on CPU and says why when the machine has no GPU device (a software adapter is never chosen)', async () => {
    const { dir } = await ensureFixture('tiny');
    const s = await openSession(join(dir, 'onnx', 'model.onnx'), { provider: 'auto', intraOpThreads: 1, accelerators: { platform: 'linux', gpuDevices: [] } });
    try {
      expect(s.provider).toBe('cpu');
      expect(s.fallbackReason).toBeNull();
      const webgpu = availableProviders().find((p) => p.name === 'webgpu')?.available === true;
      expect(s.providerNote).toBe(
        webgpu
          ? 'auto: CPU (WebGPU: no GPU device (/dev/dri/renderD*, /dev/nvidia*), so its only adapter would be a software one)'
          : 'auto: CPU (this build offers no hardware accelerator here)',
      );
    } finally {
      await s.release();
    }
  });

  // This machine's own facts: where it has no GPU device node, WebGPU would be lavapipe; auto must not take it.
  it.skipIf(process.platform !== 'linux' || gpuDeviceNodes().length > 0)('on this GPU-less Linux machine, picks CPU', async () => {
    const { dir } = await ensureFixture('tiny');
    const s = await openSession(join(dir, 'onnx', 'model.onnx'), { provider: 'auto', intraOpThreads: 1 });
    expect(s.provider).toBe('cpu');
    expect(s.providerNote).toMatch(/^auto: CPU \(/);
    await s.release();
  });
});
