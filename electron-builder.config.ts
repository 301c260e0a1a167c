// electron-builder configuration: Ouro's installers (AppImage + deb, NSIS, dmg), each carrying only its own
// platform and arch's onnxruntime-node binaries; code signing is env-driven and off by default.
// Read by electron-builder (`npm run dist`) in Node at build time; docs/packaging.md explains it.
import { fileURLToPath } from 'node:url';
import type { Configuration, TargetConfiguration } from 'electron-builder';
import { afterPack } from './scripts/packaging/afterPack';
import { ORT_BIN_DIR, ortFilePatterns, type PackagePlatform } from './scripts/packaging/ortBinaries';

const env = process.env;
/** Icons and entitlements; absolute so a build from a staged copy of the app finds them too. */
const BUILD_RESOURCES = fileURLToPath(new URL('./build', import.meta.url));

/** `OURO_PACKAGE_CUDA=1`: keep onnxruntime-node's CUDA provider libraries (if installed) in Linux x64 packages. */
const packageCuda = env.OURO_PACKAGE_CUDA === '1';
/** macOS signs with a certificate only when the environment names one; otherwise it is ad-hoc signed. */
const macSigning = Boolean(env.CSC_LINK || env.CSC_NAME);
/** Notarization needs one of @electron/notarize's credential sets (API key, Apple ID, or keychain profile). */
const macNotarize =
  macSigning &&
  Boolean(
    (env.APPLE_API_KEY && env.APPLE_API_KEY_ID && env.APPLE_API_ISSUER) ||
      (env.APPLE_ID && env.APPLE_APP_SPECIFIC_PASSWORD && env.APPLE_TEAM_ID) ||
      env.APPLE_KEYCHAIN_PROFILE,
  );

/**
 * The deb's Homepage and Maintainer ("Name <email>") fields, which electron-builder requires. package.json
 * names neither (Ouro has no public home or contact address yet), so the builder of a release supplies
 * them; without both, Linux gets the AppImages only, and `npm run dist` says why.
 */
const debHomepage = env.OURO_DEB_HOMEPAGE ?? '';
const debMaintainer = env.OURO_DEB_MAINTAINER ?? '';
const buildDeb = debHomepage !== '' && debMaintainer !== '';
if (!buildDeb && process.platform === 'linux' && env.npm_lifecycle_event === 'dist') {
  console.warn('Ouro: skipping the deb packages: set OURO_DEB_HOMEPAGE and OURO_DEB_MAINTAINER ("Name <email>") to build them.');
}

/**
 * The electron-vite bundles, the catalog and package.json; `dependencies` come along by themselves, and
 * the exclusions here also filter node_modules.
 */
const APP_FILES = [
  'out/**/*',
  '!out/**/*.map',
  // The demo model goes beside app.asar (extraResources): onnxruntime opens model files from disk.
  '!out/demo-model{,/**}',
  'models/catalog.json',
  'package.json',
  '!**/node_modules/**/*.{map,ts,mts,cts,tsbuildinfo}',
  '!**/node_modules/**/{tsconfig.json,test,tests,__tests__,docs,example,examples,.github}{,/**}',
  '!**/node_modules/zod/src{,/**}',
  '!**/node_modules/@huggingface/*/{src,types}{,/**}',
  // Build and install scripts (the CUDA opt-in download); the app never runs them.
  '!**/node_modules/onnxruntime-node/{lib,script}{,/**}',
];

/**
 * Each platform's whole `files` list. There is deliberately no top-level `files`: electron-builder
 * combines it with a platform's list so that a file either one admits ships (a platform list cannot take
 * away what the top-level one adds, and an exclusions-only list admits everything).
 */
function filesFor(platform: PackagePlatform): string[] {
  return [...APP_FILES, ...ortFilePatterns(platform, { cuda: packageCuda })];
}

const config: Configuration = {
  // Never change appId or productName: NSIS derives its upgrade GUID from appId, and Electron names the
  // app-data folder (conversations, settings, models) after productName.
  appId: 'app.ouro.desktop',
  productName: 'Ouro',
  copyright: 'Copyright © Ouro contributors',
  directories: { output: 'release', buildResources: BUILD_RESOURCES },
  // A native addon loads from a real file: onnxruntime-node's binaries live beside app.asar, the rest of
  // the package (its JavaScript) stays inside. smartUnpack would unpack the whole module.
  asar: { smartUnpack: false },
  asarUnpack: [`${ORT_BIN_DIR}/**`],
  // TinyStories 260K, converted by `npm run build` (scripts/demoModel); main reads it from resources/demo-model.
  extraResources: [{ from: 'out/demo-model', to: 'demo-model', filter: ['**/*', '!demo-build.json'] }],
  // onnxruntime-node ships N-API prebuilt binaries that Electron loads as they are: nothing to rebuild.
  npmRebuild: false,
  nodeGypRebuild: false,
  buildDependenciesFromSource: false,
  afterPack,
  publish: null,

  // Electron takes its Wayland app_id / X11 WM_CLASS from desktopName; syncDesktopName names the installed
  // .desktop file to match, so docks group the running window with its launcher.
  extraMetadata: { desktopName: 'ouro.desktop', ...(buildDeb ? { homepage: debHomepage } : {}) },

  linux: {
    target: [
      { target: 'AppImage', arch: ['x64', 'arm64'] },
      ...(buildDeb ? [{ target: 'deb', arch: ['x64', 'arm64'] } satisfies TargetConfiguration] : []),
    ],
    executableName: 'ouro',
    syncDesktopName: true,
    icon: 'icons',
    category: 'Utility',
    synopsis: 'Offline chat with local LLMs that never runs out of context',
    ...(buildDeb ? { maintainer: debMaintainer } : {}),
    files: filesFor('linux'),
  },
  appImage: { artifactName: '${productName}-${version}-${arch}.${ext}' },
  deb: { artifactName: '${name}_${version}_${arch}.${ext}' },

  win: {
    target: [{ target: 'nsis', arch: ['x64', 'arm64'] }],
    icon: 'icon.ico',
    files: filesFor('win32'),
    // Signing runs when CSC_LINK / WIN_CSC_LINK (a .pfx) is set; with none, electron-builder skips it.
  },
  nsis: {
    oneClick: false,
    perMachine: false,
    allowToChangeInstallationDirectory: true,
    // One installer per arch (the default packs both archs into one installer of twice the size).
    buildUniversalInstaller: false,
    // Conversations, settings and models stay in %APPDATA%\Ouro across uninstall and upgrade.
    deleteAppDataOnUninstall: false,
    artifactName: '${productName}-${version}-setup-${arch}.${ext}',
  },

  mac: {
    // onnxruntime-node 1.31.1 ships no darwin-x64 binaries, so an Intel build could not run a model;
    // afterPack refuses one. Add 'x64' back with an onnxruntime-node that ships it.
    target: [{ target: 'dmg', arch: ['arm64'] }],
    icon: 'icon.icns',
    category: 'public.app-category.productivity',
    files: filesFor('darwin'),
    // Without a certificate: an ad-hoc signature ('-'), because Apple Silicon calls an app whose repacked
    // bundle no longer matches Electron's signature "damaged" with no way to open it, and no hardened
    // runtime, whose library validation rejects ad-hoc code (no Team ID). With CSC_LINK / CSC_NAME: a real
    // signature with the hardened runtime that notarization requires.
    identity: macSigning ? undefined : '-',
    hardenedRuntime: macSigning,
    entitlements: 'entitlements.mac.plist',
    entitlementsInherit: 'entitlements.mac.plist',
    notarize: macNotarize,
  },
  dmg: { artifactName: '${productName}-${version}-${arch}.${ext}' },
};

export default config;
