// Icon file encoders with no dependencies: PNG (zlib from Node), Windows .ico (BMP entries, PNG for 256)
// and macOS .icns (PNG entries). electron-builder would convert a PNG itself only by downloading a tool,
// so the icons are made here, ready to use. Runs in Node at build time.
import { crc32, deflateSync } from 'node:zlib';
import type { RgbaImage } from './renderIcon';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, crc]);
}

/** A truecolour-with-alpha PNG; every row uses filter 0 (none), which keeps decoders trivial. */
export function encodePng(image: Readonly<RgbaImage>): Buffer {
  const { size, pixels } = image;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  const stride = size * 4;
  const raw = Buffer.alloc((stride + 1) * size);
  for (let y = 0; y < size; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An ICO image entry as a 32-bit BMP: BGRA rows bottom-up, then a 1-bit AND mask (set where transparent). */
function icoBitmap(image: Readonly<RgbaImage>): Buffer {
  const { size, pixels } = image;
  const maskStride = Math.ceil(size / 32) * 4;
  const info = Buffer.alloc(40);
  info.writeUInt32LE(40, 0);
  info.writeInt32LE(size, 4);
  info.writeInt32LE(size * 2, 8); // colour rows + mask rows
  info.writeUInt16LE(1, 12);
  info.writeUInt16LE(32, 14);
  info.writeUInt32LE(size * size * 4 + maskStride * size, 20);
  const color = Buffer.alloc(size * size * 4);
  const mask = Buffer.alloc(maskStride * size);
  for (let y = 0; y < size; y++) {
    const row = size - 1 - y;
    for (let x = 0; x < size; x++) {
      const from = (y * size + x) * 4;
      const to = (row * size + x) * 4;
      color[to] = pixels[from + 2];
      color[to + 1] = pixels[from + 1];
      color[to + 2] = pixels[from];
      color[to + 3] = pixels[from + 3];
      if (pixels[from + 3] === 0) mask[row * maskStride + (x >> 3)] |= 0x80 >> (x & 7);
    }
  }
  return Buffer.concat([info, color, mask]);
}

/**
 * A Windows .ico holding every image: sizes below 256 as BMP (what every Windows and NSIS reads), 256 as
 * PNG (the format Windows expects at that size, and a quarter of the bytes).
 */
export function encodeIco(images: readonly Readonly<RgbaImage>[]): Buffer {
  const sorted = [...images].sort((a, b) => a.size - b.size);
  const bodies = sorted.map((image) => (image.size >= 256 ? encodePng(image) : icoBitmap(image)));
  const header = Buffer.alloc(6 + 16 * sorted.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(sorted.length, 4);
  let offset = header.length;
  sorted.forEach((image, i) => {
    const at = 6 + 16 * i;
    if (image.size > 256) throw new Error(`an .ico image is at most 256 pixels, got ${image.size}`);
    header[at] = image.size === 256 ? 0 : image.size;
    header[at + 1] = image.size === 256 ? 0 : image.size;
    header.writeUInt16LE(1, at + 4); // planes
    header.writeUInt16LE(32, at + 6); // bits per pixel
    header.writeUInt32LE(bodies[i].length, at + 8);
    header.writeUInt32LE(offset, at + 12);
    offset += bodies[i].length;
  });
  return Buffer.concat([header, ...bodies]);
}

/** .icns element types that hold PNG data, by pixel size (the @2x types reuse a larger bitmap). */
export const ICNS_TYPES: readonly { readonly type: string; readonly size: number }[] = [
  { type: 'icp4', size: 16 },
  { type: 'icp5', size: 32 },
  { type: 'ic11', size: 32 },
  { type: 'icp6', size: 64 },
  { type: 'ic12', size: 64 },
  { type: 'ic07', size: 128 },
  { type: 'ic08', size: 256 },
  { type: 'ic13', size: 256 },
  { type: 'ic09', size: 512 },
  { type: 'ic14', size: 512 },
  { type: 'ic10', size: 1024 },
];

/** A macOS .icns with one PNG element per ICNS_TYPES entry; `images` must hold each size used there. */
export function encodeIcns(images: readonly Readonly<RgbaImage>[]): Buffer {
  const pngs = new Map(images.map((image) => [image.size, encodePng(image)]));
  const elements = ICNS_TYPES.map(({ type, size }) => {
    const png = pngs.get(size);
    if (!png) throw new Error(`.icns element ${type} needs a ${size}×${size} image`);
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(png.length + 8, 4);
    return Buffer.concat([head, png]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(8 + elements.reduce((sum, e) => sum + e.length, 0), 4);
  return Buffer.concat([head, ...elements]);
}
