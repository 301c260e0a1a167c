// Which message each cached token spells, for the cache visualizer: where every message's content lies in
// the fed text, and where each token's text begins in it. Pure; runs in the engine host on `cacheView`.
import { StreamingDetokenizer, type StreamDecoder } from './detokenizer';

/** A place where the token count and the fed text's length are known to match exactly (a ChatSession cut). */
export interface TextAnchor {
  readonly tokens: number;
  readonly chars: number;
}

/** Token ids by position; `slice(start, end)` copies ids [start, end) (TokenHistory fits). */
export interface IdSource {
  readonly length: number;
  slice(start: number, end?: number): ArrayLike<number>;
}

/** Per asked position: which message's content the token begins in and where, plus what the sinks pin. */
export interface TextOwners {
  /** Index into the messages passed, -1 for template markup, an empty slot or text not found. */
  readonly message: number[];
  /** Where the token's text begins in that message's content (UTF-16 units), -1 with message -1. */
  readonly char: number[];
  /** Per message: how many leading characters of its content the sink tokens hold (0 when none). */
  readonly pinnedChars: number[];
  /** Per message: whether its content was found in the fed text (a template may leave a message out). */
  readonly located: boolean[];
}

/**
 * Where one message's content lies in the fed text: [start, end), or -1, -1 when it was not found.
 * `lead` counts the stored content's characters before `start` that the template trimmed away.
 */
export interface TextRange {
  readonly start: number;
  readonly end: number;
  readonly lead: number;
}

/** Positions closer than this share one detokenizer run (cheaper than a second anchor search). */
const RUN_GAP = 64;

/**
 * Finds each content in `fedText`, in order, each after the previous one. Templates that trim content
 * (`message.content | trim`) are matched by the trimmed text; the last message may be fed only in part;
 * empty or missing contents get -1, -1.
 */
export function locateContents(fedText: string, contents: readonly string[]): TextRange[] {
  const ranges: TextRange[] = [];
  let cursor = 0;
  for (const content of contents) {
    let found: TextRange = { start: -1, end: -1, lead: 0 };
    const trimmed = content.trim();
    if (trimmed) {
      const exact = fedText.indexOf(content, cursor);
      const at = exact >= 0 ? exact : fedText.indexOf(trimmed, cursor);
      if (at >= 0) {
        const lead = exact >= 0 ? 0 : content.length - content.trimStart().length;
        found = { start: at, end: at + (exact >= 0 ? content.length : trimmed.length), lead };
      }
    }
    if (found.start < 0 && trimmed && ranges.length === contents.length - 1) found = fedTail(fedText, cursor, content);
    ranges.push(found);
    if (found.end >= 0) cursor = found.end;
  }
  return ranges;
}

/** Characters at the end of the last reply that may not be fed yet (its final token, held-back text). */
const UNFED_TAIL = 256;

/**
 * The last message when only its beginning was fed (a reply's final token is sampled but never fed):
 * the longest prefix of it, at most UNFED_TAIL characters short, that ends the fed text after `cursor`.
 * The range runs to the whole content's end, so a fed token whose text is still pending at the end (part
 * of a character, released only when the reply ended) counts in it.
 */
function fedTail(fedText: string, cursor: number, content: string): TextRange {
  const body = content.trimStart();
  const lead = content.length - body.length;
  for (let k = body.length - 1; k >= Math.max(1, body.length - UNFED_TAIL); k--) {
    const start = fedText.length - k;
    if (start >= cursor && fedText.endsWith(body.slice(0, k))) return { start, end: start + body.length, lead };
  }
  return { start: -1, end: -1, lead: 0 };
}

/**
 * The fed-text offset where the token at each of `positions` begins (-1 for positions outside the
 * stream). Decodes with special tokens kept (the chat template spells them) from the nearest anchor at
 * or before each run of positions, follows the decoded pieces along `fedText` (the text the ids were
 * encoded from) and snaps to every anchor it passes, so an error never carries over.
 */
export function tokenCharStarts(
  decoder: StreamDecoder,
  ids: IdSource,
  anchors: readonly TextAnchor[],
  positions: readonly number[],
  fedText: string,
): number[] {
  const out = positions.map(() => -1);
  const order = positions.map((p, i) => i).filter((i) => positions[i] >= 0 && positions[i] < ids.length);
  order.sort((a, b) => positions[a] - positions[b]);
  const sorted = [{ tokens: 0, chars: 0 }, ...anchors.filter((a) => a.tokens > 0)].sort((a, b) => a.tokens - b.tokens);
  let k = 0;
  while (k < order.length) {
    let end = k + 1;
    while (end < order.length && positions[order[end]] - positions[order[end - 1]] <= RUN_GAP) end++;
    const lo = positions[order[k]];
    const hi = positions[order[end - 1]];
    const starts = decodeRun(decoder, ids, sorted, lo, hi, fedText);
    for (let i = k; i < end; i++) out[order[i]] = starts[positions[order[i]] - lo];
    k = end;
  }
  return out;
}

/** Fed-text starts of tokens lo..hi, decoding from the last anchor at or before lo. */
function decodeRun(decoder: StreamDecoder, ids: IdSource, anchors: readonly TextAnchor[], lo: number, hi: number, fedText: string): number[] {
  let a = 0;
  for (let i = 0; i < anchors.length && anchors[i].tokens <= lo; i++) a = i;
  const anchor = anchors[a];
  const from = anchor.tokens;
  const context = Array.from(ids.slice(Math.max(0, from - 8), from));
  const detok = new StreamingDetokenizer(decoder, { skipSpecialTokens: false, context });
  const run = Array.from(ids.slice(from, hi + 1));
  const starts: number[] = [];
  let chars = anchor.chars;
  let next = a + 1;
  for (let t = from; t <= hi; t++) {
    while (next < anchors.length && anchors[next].tokens < t) next++;
    if (next < anchors.length && anchors[next].tokens === t) chars = anchors[next].chars;
    if (t >= lo) starts.push(chars);
    const id = run[t - from];
    chars = follow(fedText, chars, detok.push(id), decoder.specialIds.has(id));
  }
  return starts;
}

/** How far `piece` may sit ahead of where the fed text is read before the match is given up. */
const RESYNC_CHARS = 4;

/**
 * Where the fed text continues after `piece`, read at `at`. Decoders do not always spell the text that was
 * encoded (sentencepiece adds a space after a special token: `<|im_start|> user`), so a piece that does not
 * match as is is matched without its leading space, or a few characters ahead, before its length is trusted.
 */
function follow(fedText: string, at: number, piece: string, special: boolean): number {
  if (!piece || fedText.startsWith(piece, at)) return at + piece.length;
  const core = piece.trimStart();
  if (!core) return at;
  const found = fedText.indexOf(core, at);
  if (found >= 0 && found - at <= RESYNC_CHARS) return found + core.length;
  // A special token a reply sampled is not in its fed text (replies are fed without specials).
  return special ? at : at + piece.length;
}

/**
 * Attributes each of `positions` to a message: the one whose content range holds the token's first
 * character, with the offset inside it. `sinkEndChar` is where the text after the sink tokens begins.
 */
export function textOwners(ranges: readonly TextRange[], charStarts: readonly number[], sinkEndChar: number): TextOwners {
  // Found ranges are disjoint and in text order: binary search over them.
  const found = ranges.map((_, i) => i).filter((i) => ranges[i].start >= 0);
  const message: number[] = [];
  const char: number[] = [];
  for (const c of charStarts) {
    const m = c < 0 ? -1 : rangeAt(ranges, found, c);
    message.push(m);
    char.push(m < 0 ? -1 : c - ranges[m].start + ranges[m].lead);
  }
  const pinnedChars = ranges.map((r) => (r.start < 0 || sinkEndChar <= r.start ? 0 : Math.min(r.end, sinkEndChar) - r.start + r.lead));
  return { message, char, pinnedChars, located: ranges.map((r) => r.start >= 0) };
}

/** Index of the range holding `c`, else -1. */
function rangeAt(ranges: readonly TextRange[], found: readonly number[], c: number): number {
  let lo = 0;
  let hi = found.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[found[mid]].start <= c) {
      best = found[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best >= 0 && c < ranges[best].end ? best : -1;
}
