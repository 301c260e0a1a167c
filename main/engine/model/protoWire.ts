// A minimal protobuf wire-format reader and writer, enough to walk an ONNX ModelProto without decoding
// its weights and to encode a few small messages. Runs in the engine host at model load; no dependencies.

/** Protobuf wire types used by ONNX. */
export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** One field of a message: a varint value, or the byte range of a length-delimited payload. */
export interface WireField {
  /** Offset of the field's tag: the field's bytes are [offset, end). */
  readonly offset: number;
  readonly no: number;
  readonly wire: number;
  /** The value of a varint field (exact below 2^53; larger or negative int64 values are not needed here). */
  readonly value: number;
  /** Payload range [start, end) of a length-delimited field; for other wire types start === end. */
  readonly start: number;
  readonly end: number;
}

/** A length-delimited field's bytes: tag at `offset`, payload [start, end). */
export interface FieldSpan {
  readonly offset: number;
  readonly start: number;
  readonly end: number;
}

/** A field (`span`) to replace by `replacement`, the whole new field, tag and length included. */
export interface FieldEdit {
  readonly span: FieldSpan;
  readonly replacement: Uint8Array;
}

/** Thrown when bytes are not a well-formed protobuf message. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

/**
 * Calls `visit` for each field of the message in `buf[start, end)`, in order. Length-delimited payloads
 * are handed over as ranges, never copied, so walking past 500 MB of raw weights costs nothing.
 */
export function forEachField(buf: Uint8Array, start: number, end: number, visit: (field: WireField) => void): void {
  let at = start;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= end) throw new WireError('truncated varint');
      const b = buf[at++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new WireError('varint longer than 10 bytes');
  };
  while (at < end) {
    const offset = at;
    const tag = varint();
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    if (no === 0) throw new WireError('field number 0');
    switch (wire) {
      case WIRE_VARINT:
        visit({ offset, no, wire, value: varint(), start: at, end: at });
        break;
      case WIRE_I64:
      case WIRE_I32: {
        const size = wire === WIRE_I64 ? 8 : 4;
        if (at + size > end) throw new WireError('truncated fixed-width field');
        at += size;
        visit({ offset, no, wire, value: 0, start: at, end: at });
        break;
      }
      case WIRE_LEN: {
        const length = varint();
        const from = at;
        at += length;
        if (at > end) throw new WireError('length-delimited field runs past its message');
        visit({ offset, no, wire, value: 0, start: from, end: at });
        break;
      }
      default:
        throw new WireError(`unsupported wire type ${wire}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

/** The UTF-8 string of a length-delimited field. */
export function fieldString(buf: Uint8Array, field: WireField): string {
  return utf8.decode(buf.subarray(field.start, field.end));
}

/** The signed int64 value of a varint field (exact for any value, negative ones included). */
export function fieldInt64(buf: Uint8Array, field: WireField): number {
  let at = field.offset;
  while (buf[at] >= 0x80) at++;
  let v = 0n;
  let shift = 0n;
  for (at++; at < field.end; at++, shift += 7n) v |= BigInt(buf[at] & 0x7f) << shift;
  return Number(BigInt.asIntN(64, v));
}

/** Appends protobuf fields to a growing byte list (small messages only: a few kilobytes). */
export class WireWriter {
  private readonly bytes: number[] = [];

  varintField(no: number, value: number): this {
    this.tag(no, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  /** A signed int64 field (negative values as protobuf's 10-byte two's complement varint). */
  int64Field(no: number, value: number): this {
    if (value >= 0) return this.varintField(no, value);
    this.tag(no, WIRE_VARINT);
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
    return this;
  }

  /** A float field (protobuf `float`: fixed 32 bits, little-endian). */
  float32Field(no: number, value: number): this {
    this.tag(no, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  stringField(no: number, value: string): this {
    return this.bytesField(no, utf8Encoder.encode(value));
  }

  bytesField(no: number, value: Uint8Array): this {
    this.tag(no, WIRE_LEN);
    this.varint(value.length);
    for (const b of value) this.bytes.push(b);
    return this;
  }

  messageField(no: number, message: WireWriter): this {
    return this.bytesField(no, message.finish());
  }

  /** The tag and length of a length-delimited field whose `length` payload bytes the caller writes elsewhere. */
  lengthHeader(no: number, length: number): this {
    this.tag(no, WIRE_LEN);
    this.varint(length);
    return this;
  }

  /** Bytes copied as they are (whole fields of another message). */
  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.bytes.push(b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }

  private tag(no: number, wire: number): void {
    this.varint(no * 8 + wire);
  }

  private varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint needs a non-negative safe integer, got ${value}`);
    let v = value;
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
  }
}

/**
 * `buf` with fields inside the length-delimited field `outer` (field number `outerNo`) replaced, as pieces
 * to concatenate: `outer` gets its new length, each edited field its replacement, and every other byte is
 * shared with `buf`, not copied. `edits` must be in file order and must not overlap.
 */
export function spliceFields(buf: Uint8Array, outerNo: number, outer: FieldSpan, edits: readonly FieldEdit[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let at = outer.start;
  let payload = outer.end - outer.start;
  for (const { span, replacement } of edits) {
    pieces.push(buf.subarray(at, span.offset), replacement);
    at = span.end;
    payload += replacement.length - (span.end - span.offset);
  }
  pieces.push(buf.subarray(at, outer.end));
  const header = new WireWriter().lengthHeader(outerNo, payload).finish();
  return [buf.subarray(0, outer.offset), header, ...pieces, buf.subarray(outer.end)];
}
