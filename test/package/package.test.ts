// Packaging end to end, offline: builds the bundles, runs electron-builder's `--dir` target with the real
// config and a stub Electron for linux-x64 (and win32-arm64, to cross both platform and arch), then
// inspects what a user would install: app.asar, app.asar.unpacked, sizes. Runs under Vitest (Node).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractFile } from '@electron/asar';
import { ORT_BIN_DIR, ORT_CUDA_LIBRARIES, ortBinaryProblems } from '../../scripts/packaging/ortBinaries';
import { asarFiles, DECOYS, folderBytes, listFiles, makeStubElectron, mib, packDir, REPO, stageApp, type AsarFile } from './packageKit';

interface PackageJson {
  main?: string;
  desktopName?: string;
  type?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readJson = (path: string): PackageJson => JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
const repoPackage = readJson(join(REPO, 'package.json'));

/** Names of `dependencies` and everything they depend on, resolved the way Node does from node_modules. */
function productionClosure(): Set<string> {
  const names = new Set<string>();
  const visit = (name: string, fromDir: string) => {
    const nested = join(fromDir, 'node_modules', name);
    const dir = existsSync(join(nested, 'package.json')) ? nested : join(REPO, 'node_modules', name);
    if (names.has(name) && dir === join(REPO, 'node_modules', name)) return;
    names.add(name);
    const pkg = readJson(join(dir, 'package.json'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep, dir);
  };
  for (const dep of Object.keys(repoPackage.dependencies ?? {})) visit(dep, REPO);
  return names;
}

/** The package names that have a folder in the archive (top level and nested node_modules). */
function shippedPackages(files: readonly AsarFile[]): Set<string> {
  const names = new Set<string>();
  for (const { path } of files) {
    for (const match of path.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)) names.add(match[1]);
  }
  return names;
}

/** Bare module specifiers a bundle imports (`zod`, `@huggingface/jinja`), without node: built-ins and electron. */
function bareImports(source: string): Set<string> {
  const found = new Set<string>();
  for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([^"'./][^"']*)["']/g)) {
    const specifier = match[1];
    if (specifier.startsWith('node:') || specifier === 'electron') continue;
    const parts = specifier.split('/');
    found.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
  }
  return found;
}

let root: string;
let stagedOut: string;
const linux = { appOutDir: '', files: [] as AsarFile[] };
const win = { appOutDir: '', files: [] as AsarFile[] };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ouro-package-'));
  const appDir = join(root, 'app');
  stagedOut = join(appDir, 'out');
  await stageApp(appDir);
  await makeStubElectron(join(root, 'electron-linux'), 'linux');
  await makeStubElectron(join(root, 'electron-win32'), 'win32');
  // allSettled: both builds end before afterAll removes their folders, even when one fails.
  const settled = await Promise.allSettled([
    packDir({ appDir, electronDist: join(root, 'electron-linux'), outputDir: join(root, 'release-linux'), platform: 'linux', arch: 'x64' }),
    // The stub .exe is not a PE file: skip the steps that edit it (icon/version resources, asar integrity).
    packDir({
      appDir,
      electronDist: join(root, 'electron-win32'),
      outputDir: join(root, 'release-win32'),
      platform: 'win32',
      arch: 'arm64',
      overrides: ['-c.win.signAndEditExecutable=false', '-c.disableAsarIntegrity=true'],
    }),
  ]);
  const [linuxBuild, winBuild] = settled.map((build) => {
    if (build.status === 'rejected') throw build.reason;
    return build.value;
  });
  linux.appOutDir = linuxBuild.appOutDir;
  linux.files = asarFiles(join(linux.appOutDir, 'resources', 'app.asar'));
  win.appOutDir = winBuild.appOutDir;
  win.files = asarFiles(join(win.appOutDir, 'resources', 'app.asar'));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('linux-x64 --dir package', () => {
  const asarPath = () => join(linux.appOutDir, 'resources', 'app.asar');
  const paths = () => new Set(linux.files.map((f) => f.path));

  it('is the stub Electron with its executable renamed to ouro and every locale kept', async () => {
    expect(statSync(join(linux.appOutDir, 'ouro')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(linux.appOutDir, 'electron'))).toBe(false);
    expect((await listFiles(join(linux.appOutDir, 'locales'))).sort()).toEqual(['de.pak', 'en-US.pak', 'fr.pak']);
  });

  it('holds every built bundle byte for byte, with the paths main/index.ts loads', async () => {
    const built = (await listFiles(stagedOut)).filter((f) => !f.endsWith('.map') && !f.startsWith('demo-model/'));
    expect(built).toEqual(expect.arrayContaining(['main/index.js', 'main/hostEntry.js', 'preload/index.cjs', 'renderer/index.html']));
    for (const file of built) {
      expect(extractFile(asarPath(), `out/${file}`).equals(await readFile(join(stagedOut, file))), file).toBe(true);
    }
    const shippedOut = linux.files.filter((f) => f.path.startsWith('out/')).map((f) => f.path.slice(4));
    expect(shippedOut.sort()).toEqual(built.sort());
  });

  it('resolves every relative import of the main bundles inside the archive', () => {
    for (const bundle of ['out/main/index.js', 'out/main/hostEntry.js']) {
      const source = extractFile(asarPath(), bundle).toString('utf8');
      for (const match of source.matchAll(/from\s*["'](\.\/[^"']+)["']/g)) {
        expect(paths().has(join('out/main', match[1])), `${bundle} imports ${match[1]}`).toBe(true);
      }
    }
  });

  it('carries the converted demo model beside the archive, where onnxruntime can open it', async () => {
    const shipped = join(linux.appOutDir, 'resources', 'demo-model');
    const files = (await listFiles(shipped)).sort();
    expect(files).toEqual(['config.json', 'generation_config.json', 'onnx/model.onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    for (const file of files) expect((await readFile(join(shipped, file))).equals(await readFile(join(stagedOut, 'demo-model', file))), file).toBe(true);
    expect([...paths()].filter((p) => p.includes('demo-model'))).toEqual([]);
  });

  it('holds models/catalog.json as in the repo', async () => {
    expect(extractFile(asarPath(), 'models/catalog.json').equals(await readFile(join(REPO, 'models', 'catalog.json')))).toBe(true);
  });

  it('has a package.json whose main is in the archive, without scripts or devDependencies', () => {
    const pkg = JSON.parse(extractFile(asarPath(), 'package.json').toString('utf8')) as PackageJson;
    expect(pkg.main).toBe(repoPackage.main);
    expect(paths().has(pkg.main ?? '')).toBe(true);
    expect(pkg.type).toBe('module');
    // Electron's Wayland app_id / WM_CLASS, matching the installed ouro.desktop.
    expect(pkg.desktopName).toBe('ouro.desktop');
    expect(pkg.scripts).toBeUndefined();
    expect(pkg.devDependencies).toBeUndefined();
  });

  it('ships the production dependencies every bundle imports, and no dev dependency', () => {
    const shipped = shippedPackages(linux.files);
    const closure = productionClosure();
    for (const name of shipped) expect(closure.has(name), `${name} is not a production dependency`).toBe(true);
    for (const bundle of linux.files.filter((f) => /^out\/main\/.*\.js$/.test(f.path))) {
      for (const name of bareImports(extractFile(asarPath(), bundle.path).toString('utf8'))) {
        expect(paths().has(`node_modules/${name}/package.json`), `${bundle.path} imports ${name}`).toBe(true);
      }
    }
    const devOnly = Object.keys(repoPackage.devDependencies ?? {}).filter((name) => !closure.has(name));
    expect(devOnly).toEqual(expect.arrayContaining(['electron', 'electron-builder', 'vitest', 'react', '@huggingface/transformers']));
    for (const name of devOnly) expect(shipped.has(name), `dev dependency ${name} shipped`).toBe(false);
  });

  it('carries no sources, fixtures, source maps or TypeScript', () => {
    for (const decoy of DECOYS) expect(paths().has(decoy), decoy).toBe(false);
    const stray = linux.files.filter((f) => /(^|\/)(test|tests|__tests__)\/|\.(map|ts|mts|cts|onnx)$/.test(f.path) || /^(main|renderer|preload|bench|scripts|build|docs)\//.test(f.path));
    expect(stray.map((f) => f.path)).toEqual([]);
  });

  it('unpacks exactly the linux-x64 onnxruntime binaries, and the archive lists nothing else of them', async () => {
    const unpacked = join(linux.appOutDir, 'resources', 'app.asar.unpacked');
    expect(ortBinaryProblems(unpacked, 'linux', 'x64')).toEqual([]);
    const source = join(REPO, ORT_BIN_DIR, 'linux', 'x64');
    const expected = (await listFiles(source)).filter((f) => !(ORT_CUDA_LIBRARIES as readonly string[]).includes(f));
    expect((await listFiles(unpacked)).sort()).toEqual(expected.map((f) => `${ORT_BIN_DIR}/linux/x64/${f}`).sort());
    const listed = linux.files.filter((f) => f.path.startsWith(`${ORT_BIN_DIR}/`));
    expect(listed.map((f) => f.path).sort()).toEqual(expected.map((f) => `${ORT_BIN_DIR}/linux/x64/${f}`).sort());
    // Electron redirects a read of an unpacked entry to app.asar.unpacked: the native addon loads from a real file.
    expect(listed.every((f) => f.unpacked)).toBe(true);
    expect(linux.files.filter((f) => f.unpacked && !f.path.startsWith(`${ORT_BIN_DIR}/`))).toEqual([]);
  });

  it('weighs what one platform needs, and says how much', async () => {
    const asarBytes = statSync(asarPath()).size;
    const unpackedBytes = await folderBytes(join(linux.appOutDir, 'resources', 'app.asar.unpacked'));
    const total = await folderBytes(linux.appOutDir);
    console.log(
      `linux-x64 unpacked app without Electron's own files: ${mib(total)} (app.asar ${mib(asarBytes)}, app.asar.unpacked ${mib(unpackedBytes)})`,
    );
    // Every platform's binaries together are ~290 MB; one platform's are under 50 MB.
    expect(unpackedBytes).toBeLessThan(60 * 1024 * 1024);
    expect(asarBytes).toBeLessThan(20 * 1024 * 1024);
  });
});

describe('win32-arm64 --dir package', () => {
  it('is Ouro.exe and unpacks exactly the win32-arm64 onnxruntime binaries (with DirectML)', async () => {
    expect(existsSync(join(win.appOutDir, 'Ouro.exe'))).toBe(true);
    const unpacked = join(win.appOutDir, 'resources', 'app.asar.unpacked');
    expect(ortBinaryProblems(unpacked, 'win32', 'arm64')).toEqual([]);
    const expected = (await listFiles(join(REPO, ORT_BIN_DIR, 'win32', 'arm64'))).map((f) => `${ORT_BIN_DIR}/win32/arm64/${f}`);
    expect(expected).toContain(`${ORT_BIN_DIR}/win32/arm64/DirectML.dll`);
    expect((await listFiles(unpacked)).sort()).toEqual(expected.sort());
    expect(win.files.filter((f) => f.path.startsWith(`${ORT_BIN_DIR}/`)).map((f) => f.path).sort()).toEqual(expected.sort());
  });

  it('holds the same app files as the linux package', () => {
    const appFiles = (files: readonly AsarFile[]) => files.filter((f) => !f.path.startsWith(`${ORT_BIN_DIR}/`)).map((f) => `${f.path}:${f.size}`).sort();
    expect(appFiles(win.files)).toEqual(appFiles(linux.files));
  });
});
