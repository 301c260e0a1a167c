// Chat session snapshots on disk (engine host thread): the cache snapshot plus the token history and the
// text they spell and its turn boundaries, so a conversation resumes after a restart with no recomputation
// and its next turn feeds only the new messages. Bit-exact.
import { decodeSnapshot, encodeSnapshot } from './cache/snapshotCodec';
import type { CacheSnapshot } from './cache/cacheSnapshot';
import type { CacheSettings } from './chatTypes';
import type { LoadedModel } from './loadedModel';
import type { Cut } from './turnMarks';

const MAGIC = 'OUROSESS';
// 2: cuts carry turn marks (which messages the stream holds at each turn boundary).
const VERSION = 2;

/** Everything a ChatSession needs to continue exactly where it was. */
export interface SessionState {
  readonly settings: CacheSettings;
  readonly cache: CacheSnapshot;
  readonly history: Int32Array;
  readonly fedText: string;
  /** Where the stream can be cut back to; turn boundaries say which messages the stream holds there. */
  readonly cuts: readonly Cut[];
  readonly promptLogits: { tokens: number; logits: Float32Array } | null;
}

/** A snapshot that cannot be used: corrupt, truncated, or written for another model. */
export class SnapshotError extends Error {
  constructor(
    readonly code: 'snapshot-invalid' | 'snapshot-mismatch',
    message: string,
  ) {
    super(message);
  }
}

/** Identifies the model a snapshot belongs to: its K/V would be meaningless to any other. */
export function modelFingerprint(model: LoadedModel): string {
  const c = model.config;
  return [c.modelType, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.hiddenSize, c.vocabSize, model.folder.variant].join(':');
}

interface Header {
  readonly magic: string;
  readonly version: number;
  readonly model: string;
  readonly settings: CacheSettings;
  readonly fedText: string;
  readonly cuts: SessionState['cuts'];
  readonly historyLength: number;
  readonly promptLogitsTokens: number | null;
  readonly promptLogitsLength: number;
  readonly cacheBytes: number;
}

export function encodeSessionSnapshot(model: LoadedModel, state: SessionState): Uint8Array {
  const cacheBytes = encodeSnapshot(state.cache);
  const logits = state.promptLogits?.logits ?? new Float32Array(0);
  const header: Header = {
    magic: MAGIC,
    version: VERSION,
    model: modelFingerprint(model),
    settings: state.settings,
    fedText: state.fedText,
    cuts: state.cuts,
    historyLength: state.history.length,
    promptLogitsTokens: state.promptLogits?.tokens ?? null,
    promptLogitsLength: logits.length,
    cacheBytes: cacheBytes.byteLength,
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  // Layout: u32 header length | header JSON | pad to 4 | history int32 | logits float32 | cache snapshot.
  const headerEnd = align4(4 + headerBytes.byteLength);
  const total = headerEnd + state.history.byteLength + logits.byteLength + cacheBytes.byteLength;
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, headerBytes.byteLength, true);
  out.set(headerBytes, 4);
  let at = headerEnd;
  out.set(bytesOf(state.history), at);
  at += state.history.byteLength;
  out.set(bytesOf(logits), at);
  at += logits.byteLength;
  out.set(cacheBytes, at);
  return out;
}

export function decodeSessionSnapshot(model: LoadedModel, bytes: Uint8Array): SessionState {
  const invalid = (why: string) => new SnapshotError('snapshot-invalid', `conversation snapshot is unusable: ${why}`);
  if (bytes.byteLength < 4) throw invalid('file too short');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (4 + headerLength > bytes.byteLength) throw invalid('truncated header');
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as Header;
  } catch {
    throw invalid('header is not valid JSON');
  }
  if (header.magic !== MAGIC) throw invalid('not an Ouro snapshot');
  if (header.version !== VERSION) throw invalid(`unsupported version ${header.version}`);
  if (header.model !== modelFingerprint(model)) {
    throw new SnapshotError('snapshot-mismatch', 'this conversation was saved with another model; its context will be rebuilt');
  }
  let at = align4(4 + headerLength);
  const need = at + header.historyLength * 4 + header.promptLogitsLength * 4 + header.cacheBytes;
  if (need !== bytes.byteLength) throw invalid(`expected ${need} bytes, found ${bytes.byteLength}`);
  const history = new Int32Array(copyOut(bytes, at, header.historyLength * 4));
  at += header.historyLength * 4;
  const logits = new Float32Array(copyOut(bytes, at, header.promptLogitsLength * 4));
  at += header.promptLogitsLength * 4;
  let cache: CacheSnapshot;
  try {
    cache = decodeSnapshot(bytes.subarray(at, at + header.cacheBytes));
  } catch (err) {
    throw invalid((err as Error).message);
  }
  return {
    settings: header.settings,
    cache,
    history,
    fedText: header.fedText,
    cuts: header.cuts,
    promptLogits: header.promptLogitsTokens === null ? null : { tokens: header.promptLogitsTokens, logits },
  };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function bytesOf(a: Int32Array | Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function copyOut(bytes: Uint8Array, at: number, length: number): ArrayBuffer {
  return bytes.slice(at, at + length).buffer;
}
