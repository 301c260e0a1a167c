// The electron-builder configuration's promises that need no build: every target it lists can carry
// onnxruntime binaries, signing stays off until the environment names a certificate, and the afterPack
// check refuses a package without its binaries. Runs under Vitest (Node).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Arch, type AfterPackContext, type Configuration, type TargetConfiguration } from 'electron-builder';
import { afterPack } from '../../scripts/packaging/afterPack';
import { ORT_BIN_DIR, ORT_BINDING, ortBinaryProblems, ortFilePatterns } from '../../scripts/packaging/ortBinaries';
import { REPO } from './packageKit';

const BUILD_ENV = ['OURO_DEB_HOMEPAGE', 'OURO_DEB_MAINTAINER', 'CSC_LINK', 'CSC_NAME', 'APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID', 'APPLE_API_KEY', 'APPLE_API_KEY_ID', 'APPLE_API_ISSUER', 'APPLE_KEYCHAIN_PROFILE'];

/** Imports a fresh copy of the config with exactly `env` among the signing and deb variables. */
async function loadConfig(env: Readonly<Record<string, string>> = {}): Promise<Configuration> {
  for (const key of BUILD_ENV) vi.stubEnv(key, env[key] ?? '');
  vi.resetModules();
  return (await import('../../electron-builder.config')).default;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

/** The (target, arch) pairs a platform section lists. */
function targets(section: Configuration['linux'] | Configuration['win'] | Configuration['mac']): { target: string; arch: string }[] {
  const list = (section?.target ?? []) as (string | TargetConfiguration)[];
  return list.flatMap((t) => {
    if (typeof t === 'string') throw new Error(`target ${t} must name its archs`);
    const arches = (Array.isArray(t.arch) ? t.arch : [t.arch]) as string[];
    return arches.map((arch) => ({ target: t.target, arch }));
  });
}

describe('electron-builder.config.ts', () => {
  it('builds the debs only with a homepage and a maintainer, which it puts in their control fields', async () => {
    const appImages = [
      { target: 'AppImage', arch: 'x64' },
      { target: 'AppImage', arch: 'arm64' },
    ];
    const bare = await loadConfig();
    expect(targets(bare.linux)).toEqual(appImages);
    expect(bare.extraMetadata).not.toHaveProperty('homepage');
    expect(bare.linux).not.toHaveProperty('maintainer');
    // One of the two is not enough: electron-builder would stop at the deb.
    expect(targets((await loadConfig({ OURO_DEB_HOMEPAGE: 'https://example.org/ouro' })).linux)).toEqual(appImages);
  });

  it('lists AppImage + deb (linux), NSIS (windows) and dmg (macOS) for the archs onnxruntime-node ships', async () => {
    const config = await loadConfig({ OURO_DEB_HOMEPAGE: 'https://example.org/ouro', OURO_DEB_MAINTAINER: 'Ouro Builders <builders@example.org>' });
    expect(config.extraMetadata).toMatchObject({ homepage: 'https://example.org/ouro' });
    expect(config.linux).toMatchObject({ maintainer: 'Ouro Builders <builders@example.org>' });
    const shipped = (platform: string, arch: string) => existsSync(join(REPO, ORT_BIN_DIR, platform, arch, ORT_BINDING));
    expect(targets(config.linux)).toEqual([
      { target: 'AppImage', arch: 'x64' },
      { target: 'AppImage', arch: 'arm64' },
      { target: 'deb', arch: 'x64' },
      { target: 'deb', arch: 'arm64' },
    ]);
    expect(targets(config.win)).toEqual([
      { target: 'nsis', arch: 'x64' },
      { target: 'nsis', arch: 'arm64' },
    ]);
    const macArches = targets(config.mac).map((t) => t.arch);
    expect(targets(config.mac).every((t) => t.target === 'dmg')).toBe(true);
    expect(macArches.includes('arm64')).toBe(true);
    // Intel Macs get a dmg exactly when the installed onnxruntime-node has darwin-x64 binaries.
    expect(macArches.includes('x64')).toBe(shipped('darwin', 'x64'));
    for (const [platform, section] of [['linux', config.linux], ['win32', config.win], ['darwin', config.mac]] as const) {
      for (const { arch } of targets(section)) expect(shipped(platform, arch), `${platform}-${arch}`).toBe(true);
    }
  });

  it('keeps onnxruntime-node unpacked and never rebuilds it', async () => {
    const config = await loadConfig();
    expect(config.asarUnpack).toEqual([`${ORT_BIN_DIR}/**`]);
    expect(config.asar).toEqual({ smartUnpack: false });
    expect(config.npmRebuild).toBe(false);
    expect(config.files).toBeUndefined();
    for (const [platform, section] of [['linux', config.linux], ['win32', config.win], ['darwin', config.mac]] as const) {
      expect(section?.files).toEqual(expect.arrayContaining(['out/**/*', '!out/**/*.map', 'models/catalog.json', ...ortFilePatterns(platform)]));
    }
  });

  it('signs nothing by default: macOS gets only an ad-hoc signature, without the hardened runtime', async () => {
    const config = await loadConfig();
    expect(config.mac?.identity).toBe('-');
    expect(config.mac?.hardenedRuntime).toBe(false);
    expect(config.mac?.notarize).toBe(false);
    expect(config.publish).toBeNull();
  });

  it('signs with the hardened runtime and notarizes on macOS when the environment names a certificate and Apple credentials', async () => {
    const signOnly = await loadConfig({ CSC_LINK: '/certs/dev.p12' });
    expect(signOnly.mac?.identity).toBeUndefined();
    expect(signOnly.mac?.hardenedRuntime).toBe(true);
    expect(signOnly.mac?.notarize).toBe(false);
    const full = await loadConfig({ CSC_LINK: '/certs/dev.p12', APPLE_ID: 'dev@example.com', APPLE_APP_SPECIFIC_PASSWORD: 'pw', APPLE_TEAM_ID: 'TEAM' });
    expect(full.mac?.notarize).toBe(true);
    // Credentials without a certificate cannot notarize an unsigned app.
    expect((await loadConfig({ APPLE_ID: 'dev@example.com', APPLE_APP_SPECIFIC_PASSWORD: 'pw', APPLE_TEAM_ID: 'TEAM' })).mac?.notarize).toBe(false);
  });

  it('keeps the app-data folder on uninstall and builds one NSIS installer per arch', async () => {
    const config = await loadConfig();
    expect(config.productName).toBe('Ouro');
    expect(config.nsis?.deleteAppDataOnUninstall).toBe(false);
    expect(config.nsis?.buildUniversalInstaller).toBe(false);
  });
});

describe('onnxruntime binary checks', () => {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** A resources folder whose app.asar.unpacked holds a binding for each `platform/arch` given. */
  async function resourcesWith(...dirs: string[]): Promise<string> {
    const resources = await mkdtemp(join(tmpdir(), 'ouro-ort-'));
    made.push(resources);
    for (const dir of dirs) {
      await mkdir(join(resources, 'app.asar.unpacked', ORT_BIN_DIR, dir), { recursive: true });
      await writeFile(join(resources, 'app.asar.unpacked', ORT_BIN_DIR, dir, ORT_BINDING), 'binding');
    }
    return resources;
  }
  const unpackedWith = async (...dirs: string[]) => join(await resourcesWith(...dirs), 'app.asar.unpacked');

  it('accepts exactly the target platform and arch', async () => {
    expect(ortBinaryProblems(await unpackedWith('linux/x64'), 'linux', 'x64')).toEqual([]);
  });

  it('names other platforms, other archs and a missing binding', async () => {
    const problems = ortBinaryProblems(await unpackedWith('darwin/arm64', 'win32/x64', 'darwin/universal'), 'darwin', 'x64');
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/win32 does not belong in a darwin package/);
    expect(problems[1]).toMatch(/darwin\/arm64 does not belong in a x64 package/);
    expect(problems[2]).toMatch(/darwin\/universal does not belong in a x64 package/);
    expect(problems[3]).toMatch(/no darwin-x64 build, so this package could not run a model/);
    expect(ortBinaryProblems(await unpackedWith(), 'linux', 'x64')).toEqual([expect.stringMatching(/asarUnpack must list it/)]);
  });

  it('afterPack refuses a package whose binaries are missing or foreign, and passes a right one', async () => {
    const resources = await resourcesWith('darwin/arm64');
    const context = (arch: Arch) =>
      ({ electronPlatformName: 'darwin', arch, appOutDir: '/unused', packager: { getResourcesDir: () => resources } }) as unknown as AfterPackContext;
    await expect(afterPack(context(Arch.x64))).rejects.toThrow(/darwin-x64 package is not shippable[\s\S]*darwin\/arm64 does not belong[\s\S]*no darwin-x64 build/);
    await expect(afterPack(context(Arch.arm64))).resolves.toBeUndefined();
  });
});
