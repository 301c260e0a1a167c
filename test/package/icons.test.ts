// The app icon files: the encoders write well-formed PNG, ICO and ICNS (checked by decoding them here),
// and the committed files under build/ are what scripts/makeIcons.ts renders today. Runs under Vitest (Node).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeIcns, encodeIco, encodePng, ICNS_TYPES } from '../../scripts/icons/iconFormats';
import { renderIcon, type RgbaImage } from '../../scripts/icons/renderIcon';
import { ICO_SIZES, LINUX_SIZES } from '../../scripts/makeIcons';
import { REPO } from './packageKit';

const BUILD = join(REPO, 'build');

/** Same size and byte-identical pixels (Buffer comparison: deep equality on megabyte arrays is slow). */
function expectSameImage(actual: RgbaImage, expected: RgbaImage, label = 'image'): void {
  expect(actual.size, label).toBe(expected.size);
  expect(Buffer.from(actual.pixels).equals(Buffer.from(expected.pixels)), label).toBe(true);
}

/** Decodes an 8-bit RGBA PNG whose rows all use filter 0, checking the signature and every chunk CRC. */
function decodePng(bytes: Buffer): RgbaImage {
  expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let at = 8;
  let size = 0;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (at < bytes.length) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + length);
    expect(bytes.readUInt32BE(at + 8 + length), `${type} CRC`).toBe(crc32(bytes.subarray(at + 4, at + 8 + length)));
    types.push(type);
    if (type === 'IHDR') {
      size = data.readUInt32BE(0);
      expect(data.readUInt32BE(4)).toBe(size);
      expect([data[8], data[9]]).toEqual([8, 6]);
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  expect(types[0]).toBe('IHDR');
  expect(types.at(-1)).toBe('IEND');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = size * 4;
  expect(raw.length).toBe((stride + 1) * size);
  const pixels = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    expect(raw[y * (stride + 1)]).toBe(0);
    pixels.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { size, pixels };
}

/** Reads a 32-bit BMP icon entry back to top-down RGBA, checking its header and AND mask. */
function decodeIcoBitmap(bytes: Buffer, size: number): RgbaImage {
  expect(bytes.readUInt32LE(0)).toBe(40);
  expect([bytes.readInt32LE(4), bytes.readInt32LE(8), bytes.readUInt16LE(14)]).toEqual([size, size * 2, 32]);
  const maskStride = Math.ceil(size / 32) * 4;
  expect(bytes.length).toBe(40 + size * size * 4 + maskStride * size);
  const pixels = new Uint8Array(size * size * 4);
  let maskMismatches = 0;
  for (let row = 0; row < size; row++) {
    const y = size - 1 - row;
    for (let x = 0; x < size; x++) {
      const from = 40 + (row * size + x) * 4;
      pixels.set([bytes[from + 2], bytes[from + 1], bytes[from], bytes[from + 3]], (y * size + x) * 4);
      const masked = (bytes[40 + size * size * 4 + row * maskStride + (x >> 3)] & (0x80 >> (x & 7))) !== 0;
      if (masked !== (bytes[from + 3] === 0)) maskMismatches++;
    }
  }
  expect(maskMismatches, 'AND mask set exactly where alpha is 0').toBe(0);
  return { size, pixels };
}

interface IcoEntry {
  readonly size: number;
  readonly data: Buffer;
}

function readIco(bytes: Buffer): IcoEntry[] {
  expect([bytes.readUInt16LE(0), bytes.readUInt16LE(2)]).toEqual([0, 1]);
  return Array.from({ length: bytes.readUInt16LE(4) }, (_, i) => {
    const at = 6 + 16 * i;
    expect([bytes.readUInt16LE(at + 4), bytes.readUInt16LE(at + 6)]).toEqual([1, 32]);
    const offset = bytes.readUInt32LE(at + 12);
    return { size: bytes[at] || 256, data: bytes.subarray(offset, offset + bytes.readUInt32LE(at + 8)) };
  });
}

function readIcns(bytes: Buffer): Map<string, Buffer> {
  expect(bytes.toString('latin1', 0, 4)).toBe('icns');
  expect(bytes.readUInt32BE(4)).toBe(bytes.length);
  const elements = new Map<string, Buffer>();
  for (let at = 8; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at + 4);
    elements.set(bytes.toString('latin1', at, at + 4), bytes.subarray(at + 8, at + length));
    at += length;
  }
  return elements;
}

describe('icon encoders', () => {
  const image = (size: number): RgbaImage => {
    const pixels = new Uint8Array(size * size * 4);
    for (let i = 0; i < pixels.length; i++) pixels[i] = i % 4 === 3 ? (i % 7 === 0 ? 0 : 200) : (i * 37) % 256;
    return { size, pixels };
  };

  it('PNG decodes back to the same pixels', () => {
    const original = image(19);
    expectSameImage(decodePng(encodePng(original)), original);
  });

  it('ICO holds BMP entries below 256 and a PNG at 256, each decoding to its image', () => {
    const images = [image(256), image(16), image(48)];
    const entries = readIco(encodeIco(images));
    expect(entries.map((e) => e.size)).toEqual([16, 48, 256]);
    expectSameImage(decodeIcoBitmap(entries[0].data, 16), image(16));
    expectSameImage(decodeIcoBitmap(entries[1].data, 48), image(48));
    expectSameImage(decodePng(entries[2].data), image(256));
    expect(() => encodeIco([image(512)])).toThrow(/at most 256/);
  });

  it('ICNS holds one PNG per element type, of that type’s size', () => {
    const sizes = [...new Set(ICNS_TYPES.map((t) => t.size))];
    const elements = readIcns(encodeIcns(sizes.map((size) => ({ size, pixels: new Uint8Array(size * size * 4) }))));
    expect([...elements.keys()]).toEqual(ICNS_TYPES.map((t) => t.type));
    for (const { type, size } of ICNS_TYPES) expect(decodePng(elements.get(type) as Buffer).size, type).toBe(size);
    expect(() => encodeIcns([image(16)])).toThrow(/icp5 needs a 32×32 image/);
  });
});

describe('committed icons in build/', () => {
  it('the Linux set is what renderIcon draws now', () => {
    for (const size of LINUX_SIZES.filter((s) => s <= 128)) {
      const committed = decodePng(readFileSync(join(BUILD, 'icons', `${size}x${size}.png`)));
      expectSameImage(committed, renderIcon(size), `${size}x${size}.png (regenerate: npx tsx scripts/makeIcons.ts)`);
    }
  });

  it('icon.png is 1024 px with transparent corners and an opaque centre', () => {
    const { size, pixels } = decodePng(readFileSync(join(BUILD, 'icon.png')));
    expect(size).toBe(1024);
    expect(pixels[3]).toBe(0);
    expect(pixels[(512 * 1024 + 512) * 4 + 3]).toBe(255);
  });

  it('icon.ico holds every ICO size, its 32 px entry matching the 32 px PNG', () => {
    const entries = readIco(readFileSync(join(BUILD, 'icon.ico')));
    expect(entries.map((e) => e.size)).toEqual([...ICO_SIZES]);
    const png32 = decodePng(readFileSync(join(BUILD, 'icons', '32x32.png')));
    expectSameImage(decodeIcoBitmap(entries.find((e) => e.size === 32)?.data as Buffer, 32), png32);
    expect(decodePng(entries.find((e) => e.size === 256)?.data as Buffer).size).toBe(256);
  });

  it('icon.icns holds every element type, 1024 px at the largest', () => {
    const elements = readIcns(readFileSync(join(BUILD, 'icon.icns')));
    expect([...elements.keys()].sort()).toEqual(ICNS_TYPES.map((t) => t.type).sort());
    expect(decodePng(elements.get('ic10') as Buffer).size).toBe(1024);
  });
});
