// Live attribution of a prompt's cache writes to the user message they spell, while its reply streams
// (the engine's exact map arrives with the next idle `cache.view`): the tokens' display texts are lined
// up with the message text shown the same way. Pure; renderer.

/** One token a stream's prefill wrote. */
export interface PromptWrite {
  readonly slot: number;
  readonly pos: number;
  /** Its display text (the host's `tokenText`: `↵` for a newline, a kept leading space). */
  readonly text: string;
}

/** Characters of the content searched for first, when the whole of it is not fed yet. */
const PROBE = 24;
/** A shorter match than this at the end of the fed text is too likely to be chance. */
const MIN_TAIL = 4;

/**
 * `content` as token display text spells it (main/engine/text/tokenDisplay `visibleWhitespace`), and for
 * every display unit the content offset it came from.
 */
export function displayForm(content: string): { text: string; source: number[] } {
  let text = '';
  const source: number[] = [];
  let i = 0;
  for (const ch of content) {
    const c = ch.codePointAt(0) ?? 0;
    let shown: string;
    if (ch === '\n') shown = '↵';
    else if (ch === '\t') shown = '⇥';
    else if (ch === '\r') shown = '␍';
    else if (c < 0x20 || c === 0x7f) shown = `<0x${c.toString(16).toUpperCase().padStart(2, '0')}>`;
    else shown = ch;
    text += shown;
    for (let k = 0; k < shown.length; k++) source.push(i);
    i += ch.length;
  }
  return { text, source };
}

/**
 * For each write (in position order), where its token begins in `content`, or -1 for template markup
 * and for writes that cannot be placed. A token that starts just before the content (a word-start
 * space) counts from offset 0.
 */
export function alignPrompt(writes: readonly PromptWrite[], content: string): number[] {
  const { text: target, source } = displayForm(content);
  const starts: number[] = [];
  let joined = '';
  for (const w of writes) {
    starts.push(joined.length);
    joined += w.text;
  }
  const out = writes.map(() => -1);
  if (!target.trim()) return out;
  let at = joined.lastIndexOf(target);
  // Not all of it fed yet (a long prompt comes in chunks): the fed text ends inside it.
  if (at < 0) at = partialStart(joined, target);
  if (at < 0) return out;
  const end = at + target.length;
  writes.forEach((w, k) => {
    const d = starts[k];
    if (d + w.text.length > at && d < end) out[k] = source[Math.max(0, d - at)] ?? -1;
  });
  return out;
}

/** Where `target` begins when `joined` ends inside it, or -1. */
function partialStart(joined: string, target: string): number {
  const probe = target.slice(0, PROBE);
  for (let at = joined.lastIndexOf(probe); at >= 0; at = at > 0 ? joined.lastIndexOf(probe, at - 1) : -1) {
    if (target.startsWith(joined.slice(at))) return at;
  }
  for (let k = Math.min(probe.length - 1, joined.length); k >= Math.min(MIN_TAIL, target.length); k--) {
    if (joined.endsWith(target.slice(0, k))) return joined.length - k;
  }
  return -1;
}
