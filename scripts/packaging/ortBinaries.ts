// Which of onnxruntime-node's native files an installer carries: the npm package holds every platform's
// binaries (~290 MB), a package needs only its own. Pure file patterns and a check of a packed app; runs
// in Node at build time (electron-builder's config and afterPack hook) and in the packaging tests.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Platforms Ouro packages for, in electron-builder's (and Node's) naming. */
export type PackagePlatform = 'linux' | 'win32' | 'darwin';

/** Where onnxruntime-node keeps its binaries, relative to the app folder: `<this>/<platform>/<arch>/`. */
export const ORT_BIN_DIR = 'node_modules/onnxruntime-node/bin/napi-v6';

/** The N-API addon every platform folder holds; onnxruntime-node requires it by this exact path. */
export const ORT_BINDING = 'onnxruntime_binding.node';

/**
 * The CUDA / TensorRT execution provider libraries, fetched next to the Linux x64 binding by
 * onnxruntime-node's opt-in install step. Large (hundreds of MB) and useless without a CUDA runtime,
 * so a package carries them only when asked (`OURO_PACKAGE_CUDA=1`).
 */
export const ORT_CUDA_LIBRARIES = [
  'libonnxruntime_providers_cuda.so',
  'libonnxruntime_providers_shared.so',
  'libonnxruntime_providers_tensorrt.so',
] as const;

const ALL_PLATFORMS: readonly PackagePlatform[] = ['linux', 'win32', 'darwin'];

/**
 * electron-builder `files` exclusions for one platform's packages: every other platform's folder, every
 * other arch's folder (electron-builder expands `${arch}` per arch it builds), the CUDA add-on unless
 * asked for, and macOS's duplicate dylib. Exclusions in `files` also filter node_modules; `!(x)` is a
 * minimatch extglob.
 */
export function ortFilePatterns(platform: PackagePlatform, options: Readonly<{ cuda?: boolean }> = {}): string[] {
  const others = ALL_PLATFORMS.filter((p) => p !== platform);
  const patterns = [
    `!**/${ORT_BIN_DIR}/{${others.join(',')}}{,/**}`,
    `!**/${ORT_BIN_DIR}/${platform}/!(\${arch}){,/**}`,
  ];
  if (platform === 'linux' && options.cuda !== true) {
    patterns.push(`!**/${ORT_BIN_DIR}/linux/*/{${ORT_CUDA_LIBRARIES.join(',')}}`);
  }
  if (platform === 'darwin') {
    // npm cannot store symlinks, so the package holds libonnxruntime.<version>.dylib as a byte-identical copy
    // of libonnxruntime.1.dylib; the binding links only @rpath/libonnxruntime.1.dylib (44 MB saved).
    patterns.push(`!**/${ORT_BIN_DIR}/darwin/*/libonnxruntime.*.*.*.dylib`);
  }
  return patterns;
}

/**
 * What is wrong with the onnxruntime-node binaries under a packed app's `app.asar.unpacked` folder for
 * `platform`/`arch`: missing binding, or another platform's or arch's files. Empty when right.
 */
export function ortBinaryProblems(unpackedDir: string, platform: PackagePlatform, arch: string): string[] {
  const binDir = join(unpackedDir, ORT_BIN_DIR);
  if (!existsSync(binDir)) return [`${ORT_BIN_DIR} is not in app.asar.unpacked (asarUnpack must list it)`];
  const problems: string[] = [];
  const platforms = readdirSync(binDir);
  for (const other of platforms.filter((p) => p !== platform)) problems.push(`${ORT_BIN_DIR}/${other} does not belong in a ${platform} package`);
  const platformDir = join(binDir, platform);
  const arches = existsSync(platformDir) ? readdirSync(platformDir) : [];
  for (const other of arches.filter((a) => a !== arch)) problems.push(`${ORT_BIN_DIR}/${platform}/${other} does not belong in a ${arch} package`);
  if (!existsSync(join(platformDir, arch, ORT_BINDING))) {
    problems.push(
      `${ORT_BIN_DIR}/${platform}/${arch}/${ORT_BINDING} is missing: the installed onnxruntime-node has no ${platform}-${arch} build, so this package could not run a model`,
    );
  }
  return problems;
}
