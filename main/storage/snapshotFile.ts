// The engine snapshot container `<id>.kv`: a small header with JSON metadata, then the engine's bytes.
// Runs in the main process (storage); plain Node, no electron.

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from './atomicFile';

/**
 * What the engine says about a snapshot. `modelId` and `tokenCount` let a caller reject a snapshot of
 * another model or of a different conversation length before reading the payload; further
 * JSON fields are kept as they are.
 */
export const SnapshotMetaSchema = z.looseObject({
  modelId: z.string().min(1),
  tokenCount: z.int().min(0),
});
export type SnapshotMeta = z.output<typeof SnapshotMetaSchema>;

/** A snapshot read back: the engine's bytes, exactly as written, and their metadata. */
export interface Snapshot {
  readonly bytes: Uint8Array;
  readonly meta: SnapshotMeta;
}

// Layout: magic (8) | format version u32 LE | meta length u32 LE | payload length u64 LE | meta JSON | payload.
// One file, so one rename swaps metadata and bytes together; a sidecar could pair old meta with new bytes.
const MAGIC = Buffer.from('OUROSNAP', 'latin1');
const FORMAT_VERSION = 1;
const HEADER_BYTES = 24;

/** Writes a snapshot atomically (temp file, fsync, rename, fsync folder). The payload is not copied. */
export async function writeSnapshotFile(path: string, bytes: Uint8Array, meta: Readonly<SnapshotMeta>): Promise<void> {
  const metaBytes = Buffer.from(JSON.stringify(SnapshotMetaSchema.parse(meta)), 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(FORMAT_VERSION, 8);
  header.writeUInt32LE(metaBytes.length, 12);
  header.writeBigUInt64LE(BigInt(bytes.length), 16);
  await writeFileAtomic(path, [header, metaBytes, bytes]);
}

/** The outcome of reading a snapshot file: a missing file is `absent`, an unusable one `invalid` with the reason. */
export type SnapshotReadResult =
  | { readonly kind: 'ok'; readonly snapshot: Snapshot }
  | { readonly kind: 'absent' }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Reads and checks a snapshot file. */
export async function readSnapshotFile(path: string): Promise<SnapshotReadResult> {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw error;
  }
  if (file.length < HEADER_BYTES || !file.subarray(0, 8).equals(MAGIC)) {
    return { kind: 'invalid', reason: 'not an Ouro snapshot' };
  }
  const version = file.readUInt32LE(8);
  if (version !== FORMAT_VERSION) return { kind: 'invalid', reason: `unsupported snapshot format ${version}` };
  const metaLength = file.readUInt32LE(12);
  const payloadLength = file.readBigUInt64LE(16);
  if (BigInt(file.length) !== BigInt(HEADER_BYTES + metaLength) + payloadLength) {
    return { kind: 'invalid', reason: 'the snapshot file has the wrong length (truncated?)' };
  }
  let meta: unknown;
  try {
    meta = JSON.parse(file.toString('utf8', HEADER_BYTES, HEADER_BYTES + metaLength));
  } catch {
    return { kind: 'invalid', reason: 'the snapshot metadata is not valid JSON' };
  }
  const parsed = SnapshotMetaSchema.safeParse(meta);
  if (!parsed.success) {
    return { kind: 'invalid', reason: `invalid snapshot metadata (${parsed.error.issues[0]?.message})` };
  }
  const bytes = new Uint8Array(file.buffer, file.byteOffset + HEADER_BYTES + metaLength, Number(payloadLength));
  return { kind: 'ok', snapshot: { bytes, meta: parsed.data } };
}
