// Packaging test kit: stages the app (fresh electron-vite bundles in a temp folder, never the shared out/),
// makes a stub Electron distribution, runs electron-builder's `--dir` target offline, and reads what it
// produced (app.asar entries, folder sizes). Runs under Vitest (Node).
import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRawHeader } from '@electron/asar';
import { ensureDemoModel } from '../../scripts/demoModel/buildDemoModel';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** What a child process printed, and how it ended. */
export interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs `node <args>` in `cwd`, collecting stdout and stderr together; killed if it outlives the test hook. */
export function runNode(args: readonly string[], options: Readonly<{ cwd: string; env?: NodeJS.ProcessEnv }>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 100_000,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Files planted in the staged app that must never reach a package (sources, fixtures, stray maps). */
export const DECOYS = ['test/fixtures/tiny/onnx/model.onnx', 'main/index.ts', 'bench/results/run.json', 'out/main/index.js.map'] as const;

/**
 * Stages an app folder the way `npm run dist` sees the repo: package.json, models/catalog.json, fresh
 * bundles in out/ (built here, so the shared out/ is neither needed nor touched), the repo's
 * node_modules (linked), and DECOYS.
 */
export async function stageApp(appDir: string): Promise<void> {
  await mkdir(join(appDir, 'models'), { recursive: true });
  await copyFile(join(REPO, 'package.json'), join(appDir, 'package.json'));
  await copyFile(join(REPO, 'models', 'catalog.json'), join(appDir, 'models', 'catalog.json'));
  await symlink(join(REPO, 'node_modules'), join(appDir, 'node_modules'), 'dir');
  const vite = join(REPO, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  const built = await runNode([vite, 'build', '--config', 'electron.config.ts', '--outDir', join(appDir, 'out'), '--logLevel', 'warn'], { cwd: REPO });
  if (built.code !== 0) throw new Error(`electron-vite build failed (${built.code}):\n${built.output}`);
  ensureDemoModel(join(appDir, 'out', 'demo-model'));
  for (const decoy of DECOYS) {
    await mkdir(join(appDir, decoy, '..'), { recursive: true });
    await writeFile(join(appDir, decoy), 'decoy');
  }
}

/**
 * A stand-in for an unpacked Electron release: the executable electron-builder renames (`electron` or
 * `electron.exe`), a locales folder (pruned only if `electronLanguages` is set), and the licence it
 * moves aside. Nothing else is read by the `--dir` target.
 */
export async function makeStubElectron(dir: string, platform: 'linux' | 'win32'): Promise<void> {
  await mkdir(join(dir, 'locales'), { recursive: true });
  const exe = join(dir, platform === 'win32' ? 'electron.exe' : 'electron');
  await writeFile(exe, '#!/bin/sh\necho "stub Electron for packaging tests" >&2\nexit 1\n');
  await chmod(exe, 0o755);
  for (const locale of ['en-US', 'de', 'fr']) await writeFile(join(dir, 'locales', `${locale}.pak`), locale);
  await writeFile(join(dir, 'LICENSE'), 'stub Electron licence');
}

/** An environment that keeps electron-builder off the network and away from any signing identity. */
export function offlineEnv(cacheDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (/^(CSC_|WIN_CSC_|APPLE_)/.test(key)) delete env[key];
  return {
    ...env,
    // A download attempt fails at once (nothing listens on the discard port) instead of succeeding quietly.
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '',
    ELECTRON_GET_USE_PROXY: '1',
    ELECTRON_BUILDER_CACHE: cacheDir,
    ELECTRON_CACHE: cacheDir,
    ELECTRON_BUILDER_OFFLINE: 'true',
    CSC_IDENTITY_AUTO_DISCOVERY: 'false',
    npm_config_offline: 'true',
  };
}

/** One `--dir` build: which platform and arch, where from, and config overrides (`-c.key=value`). */
export interface DirBuild {
  readonly appDir: string;
  readonly electronDist: string;
  readonly outputDir: string;
  readonly platform: 'linux' | 'win32';
  readonly arch: 'x64' | 'arm64';
  readonly overrides?: readonly string[];
}

/** Runs electron-builder's `--dir` target with the real config; returns the unpacked app folder. */
export async function packDir(build: Readonly<DirBuild>): Promise<{ appOutDir: string; output: string }> {
  const cli = join(REPO, 'node_modules', 'electron-builder', 'cli.js');
  const args = [
    cli,
    '--config',
    join(REPO, 'electron-builder.config.ts'),
    '--projectDir',
    build.appDir,
    build.platform === 'win32' ? '--win' : '--linux',
    'dir',
    `--${build.arch}`,
    '--publish',
    'never',
    `-c.electronDist=${build.electronDist}`,
    `-c.directories.output=${build.outputDir}`,
    ...(build.overrides ?? []),
  ];
  const run = await runNode(args, { cwd: build.appDir, env: offlineEnv(join(build.outputDir, '..', 'cache')) });
  if (run.code !== 0) throw new Error(`electron-builder failed (${run.code}):\n${run.output}`);
  const unpacked = (await readdir(build.outputDir)).filter((name) => name.endsWith('-unpacked'));
  if (unpacked.length !== 1) throw new Error(`expected one *-unpacked folder in ${build.outputDir}, found ${unpacked.join(', ')}`);
  return { appOutDir: join(build.outputDir, unpacked[0]), output: run.output };
}

/** A file recorded in app.asar's header. */
export interface AsarFile {
  readonly path: string;
  readonly size: number;
  /** Stored beside the archive in app.asar.unpacked (Electron redirects reads there). */
  readonly unpacked: boolean;
}

interface HeaderNode {
  files?: Record<string, HeaderNode>;
  size?: number;
  unpacked?: boolean;
}

/** Every file app.asar's header lists, with paths relative to the archive root ('out/main/index.js'). */
export function asarFiles(asarPath: string): AsarFile[] {
  const files: AsarFile[] = [];
  const walk = (node: HeaderNode, prefix: string) => {
    for (const [name, child] of Object.entries(node.files ?? {})) {
      const path = prefix ? `${prefix}/${name}` : name;
      if (child.files) walk(child, path);
      else files.push({ path, size: child.size ?? 0, unpacked: child.unpacked === true });
    }
  };
  walk(getRawHeader(asarPath).header as HeaderNode, '');
  return files;
}

/** Every regular file under `dir`, as paths relative to it. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
}

/** Total bytes of the regular files under `dir`. */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const file of await listFiles(dir)) total += (await stat(join(dir, file))).size;
  return total;
}

/** Bytes as MiB with one decimal, for the size report. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
