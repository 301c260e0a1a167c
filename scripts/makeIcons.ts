// Writes Ouro's app icons into build/ for electron-builder: icon.png (1024), icons/<N>x<N>.png (the Linux
// set), icon.ico (Windows) and icon.icns (macOS). Run after changing scripts/icons/renderIcon.ts:
// `npx tsx scripts/makeIcons.ts`. Runs in Node.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeIcns, encodeIco, encodePng } from './icons/iconFormats';
import { renderIcon, type RgbaImage } from './icons/renderIcon';

/** Sizes of the Linux icon set (freedesktop hicolor sizes electron-builder installs). */
export const LINUX_SIZES = [16, 24, 32, 48, 64, 128, 256, 512] as const;
/** Sizes inside icon.ico. */
export const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256] as const;

/** Renders every size once and writes all icon files under `buildDir`; returns the paths written. */
export function makeIcons(buildDir: string): string[] {
  const sizes = [...new Set<number>([...LINUX_SIZES, ...ICO_SIZES, 1024])];
  const images = new Map<number, RgbaImage>(sizes.map((size) => [size, renderIcon(size)]));
  const pick = (list: readonly number[]) => list.map((size) => images.get(size) as RgbaImage);
  const written: string[] = [];
  const write = (path: string, bytes: Buffer) => {
    writeFileSync(path, bytes);
    written.push(path);
  };
  mkdirSync(join(buildDir, 'icons'), { recursive: true });
  write(join(buildDir, 'icon.png'), encodePng(images.get(1024) as RgbaImage));
  for (const size of LINUX_SIZES) write(join(buildDir, 'icons', `${size}x${size}.png`), encodePng(images.get(size) as RgbaImage));
  write(join(buildDir, 'icon.ico'), encodeIco(pick(ICO_SIZES)));
  write(join(buildDir, 'icon.icns'), encodeIcns([...images.values()]));
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const buildDir = fileURLToPath(new URL('../build', import.meta.url));
  for (const path of makeIcons(buildDir)) console.log(path);
}
