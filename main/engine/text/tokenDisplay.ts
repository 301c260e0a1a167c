// Display text of single vocabulary pieces for the cache visualizer: undoes the tokenizer's piece
// encoding (sentencepiece `▁`, GPT-2 byte-level, `<0xNN>` byte fallback). Runs in the engine host.

/** How the model spells text inside its vocabulary pieces, read from tokenizer.json's decoder. */
export type PieceEncoding =
  /** GPT-2 style: every byte is mapped to a printable code point (`Ġ` = space, `Ċ` = newline). */
  | { readonly kind: 'byte-level' }
  /** Sentencepiece style: `replacement` (usually `▁`) stands for a space; pieces are plain text. */
  | { readonly kind: 'metaspace'; readonly replacement: string }
  /** Anything else (WordPiece, plain BPE): pieces are shown as they are. */
  | { readonly kind: 'plain' };

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Reads the piece encoding from a tokenizer.json `decoder` (and `pre_tokenizer` when it has none). */
export function detectPieceEncoding(decoder: unknown, preTokenizer: unknown): PieceEncoding {
  const found = findEncoding(decoder) ?? findEncoding(preTokenizer);
  return found ?? { kind: 'plain' };
}

function findEncoding(node: unknown): PieceEncoding | null {
  if (!isRecord(node)) return null;
  switch (node.type) {
    case 'ByteLevel':
      return { kind: 'byte-level' };
    case 'Metaspace':
      return { kind: 'metaspace', replacement: typeof node.replacement === 'string' ? node.replacement : '▁' };
    case 'Replace': {
      // Llama-2 style decoders spell the metaspace rule as Replace("▁" -> " ").
      const pattern = isRecord(node.pattern) ? node.pattern.String : undefined;
      if (typeof pattern === 'string' && node.content === ' ' && pattern !== ' ') {
        return { kind: 'metaspace', replacement: pattern };
      }
      return null;
    }
    case 'Sequence': {
      const children = Array.isArray(node.decoders) ? node.decoders : node.pretokenizers;
      if (!Array.isArray(children)) return null;
      for (const child of children) {
        const e = findEncoding(child);
        if (e) return e;
      }
      return null;
    }
    default:
      return null;
  }
}

let unicodeToByte: Map<string, number> | null = null;

/** The inverse of GPT-2's `bytes_to_unicode` table. */
function byteLevelTable(): Map<string, number> {
  if (unicodeToByte) return unicodeToByte;
  const table = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table.set(String.fromCodePoint(printable ? b : 256 + extra++), b);
  }
  unicodeToByte = table;
  return table;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function hexByte(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/**
 * Makes invisible characters visible: `\n` → `↵`, `\t` → `⇥`, `\r` → `␍`, other C0 controls and DEL
 * → `<0xNN>`. Spaces stay spaces (a leading space is what tells ` the` from `the`).
 */
export function visibleWhitespace(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\n') out += '↵';
    else if (ch === '\t') out += '⇥';
    else if (ch === '\r') out += '␍';
    else if (c < 0x20 || c === 0x7f) out += hexByte(c);
    else out += ch;
  }
  return out;
}

function bytesToDisplay(bytes: Uint8Array): string {
  try {
    return visibleWhitespace(strictUtf8.decode(bytes));
  } catch {
    // A piece holding part of a multi-byte character cannot be shown as text; show its bytes.
    let out = '';
    for (const b of bytes) out += b < 0x80 ? visibleWhitespace(String.fromCharCode(b)) : hexByte(b);
    return out;
  }
}

/**
 * Display text of one vocabulary piece (not an added/special token: those are shown verbatim by the
 * caller). Byte-fallback pieces show their character when it is ASCII, else stay `<0xNN>`.
 */
export function pieceDisplayText(piece: string, encoding: PieceEncoding): string {
  const byteMatch = BYTE_TOKEN.exec(piece);
  if (byteMatch && encoding.kind !== 'byte-level') {
    return bytesToDisplay(Uint8Array.of(parseInt(byteMatch[1], 16)));
  }
  switch (encoding.kind) {
    case 'byte-level': {
      const table = byteLevelTable();
      const bytes: number[] = [];
      for (const ch of piece) {
        const b = table.get(ch);
        if (b === undefined) return visibleWhitespace(piece);
        bytes.push(b);
      }
      return bytesToDisplay(Uint8Array.from(bytes));
    }
    case 'metaspace':
      return visibleWhitespace(piece.replaceAll(encoding.replacement, ' '));
    case 'plain':
      return visibleWhitespace(piece);
  }
}
