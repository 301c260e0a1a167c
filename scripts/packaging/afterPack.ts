// electron-builder afterPack hook: refuses a packed app whose onnxruntime-node binaries are missing or
// belong to another platform/arch, before any installer is made from it. Runs in Node at build time.
import { join } from 'node:path';
import { Arch, type AfterPackContext } from 'electron-builder';
import { ortBinaryProblems, type PackagePlatform } from './ortBinaries';

/** Throws, listing each problem, unless the packed app carries exactly its own platform's ORT binaries. */
export async function afterPack(context: AfterPackContext): Promise<void> {
  const platform = context.electronPlatformName as PackagePlatform;
  const arch = Arch[context.arch];
  const unpacked = join(context.packager.getResourcesDir(context.appOutDir), 'app.asar.unpacked');
  const problems = ortBinaryProblems(unpacked, platform, arch);
  if (problems.length > 0) {
    throw new Error(`The ${platform}-${arch} package is not shippable:\n- ${problems.join('\n- ')}`);
  }
}
