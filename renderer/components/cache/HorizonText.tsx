// A message's text as the model sees it: what the sinks pin, what has left the window (dimmed) and the
// horizon marker where the window begins inside the message. Subscribes to this message's offsets only,
// and renders markdown block by block (each memoised), so the horizon moving through a long message
// re-parses only the block it is in. Renderer.
import { memo, useMemo } from 'react';
import { selectHorizonCharOffset, selectPinnedChars, type HorizonPlacement } from '../../state/selectors';
import { useAppStore } from '../../state/storeContext';
import { Markdown } from '../Markdown';
import { BASE_ATTR, SRC_ATTR } from '../sourceText';
import { wordCut, type WordCut } from './wordCut';

export interface HorizonTextProps {
  readonly messageId: string;
  readonly text: string;
  /** Render with markdown (replies) or as plain text (the user's messages, the system prompt). */
  readonly markdown: boolean;
  readonly placement: HorizonPlacement;
}

/** What "Pinned" means, on hover. */
export const PINNED_EXPLAINED =
  'Pinned: held in the attention-sink slots at the start of the cache, so the model keeps seeing it however long the chat grows.';

const MARKER_TEXT = 'The model can no longer see above this line';

/**
 * The marker at the start of the model's window. Where the window begins inside a word (a token boundary
 * the eye would take for a glitch: "We mu ┄ st"), the line is drawn before the word and says exactly
 * which part of it the model no longer sees.
 */
export function HorizonMarker({ inWord }: { readonly inWord?: WordCut | null }) {
  const text = inWord ? `${MARKER_TEXT}, nor “${inWord.hidden}” of “${inWord.word}”` : MARKER_TEXT;
  return (
    <div className="horizon-marker" role="separator" aria-label={text} data-testid="horizon-marker" data-in-word={inWord ? 'true' : undefined}>
      <span>{text}</span>
    </div>
  );
}

/**
 * The three parts of a message against the cache: [0, pinned) held by the sinks, [pinned, cut) out of
 * view, [cut, end) in view. Pinned text only counts above the horizon (below it, all is in view).
 */
export function horizonParts(length: number, placement: HorizonPlacement, offset: number, pinned: number): { pinned: number; cut: number } {
  const cut = placement === 'hidden' ? length : placement === 'split' ? Math.min(Math.max(0, offset), length) : 0;
  return { pinned: Math.min(pinned, cut), cut };
}

/** A markdown block: a run of text between blank lines, a fenced code block kept whole. */
export interface TextBlock {
  readonly start: number;
  readonly text: string;
}

const FENCE = /^\s{0,3}(```|~~~)/;

/** Splits markdown into blocks at blank lines outside fenced code; the blocks' texts concatenate to `text`. */
export function markdownBlocks(text: string): TextBlock[] {
  const blocks: TextBlock[] = [];
  let start = 0;
  let inFence = false;
  let at = 0;
  while (at < text.length) {
    const eol = text.indexOf('\n', at);
    const end = eol < 0 ? text.length : eol + 1;
    const line = text.slice(at, end);
    if (FENCE.test(line)) inFence = !inFence;
    // A blank line ends the block it follows (and belongs to it).
    if (!inFence && line.trim() === '' && at > start) {
      blocks.push({ start, text: text.slice(start, end) });
      start = end;
    }
    at = end;
  }
  if (start < text.length) blocks.push({ start, text: text.slice(start) });
  return blocks;
}

/** Markdown after a cut inside a fenced code block keeps its fence. */
function reopenFence(before: string, after: string): string {
  const fences = before.match(/^\s{0,3}(```|~~~)/gm)?.length ?? 0;
  return fences % 2 === 1 ? `\`\`\`\n${after}` : after;
}

/** A part to render: its markdown and the source character its first character stands for (`base`). */
export type Part = { readonly key: string; readonly text: string; readonly base: number };

/** The parts of `blocks` in [from, to), whole blocks where possible (their memoised render is reused). */
export function markdownParts(blocks: readonly TextBlock[], full: string, from: number, to: number): Part[] {
  const parts: Part[] = [];
  for (const b of blocks) {
    const end = b.start + b.text.length;
    if (end <= from || b.start >= to) continue;
    if (b.start >= from && end <= to) parts.push({ key: `${b.start}`, text: b.text, base: b.start });
    else {
      const a = Math.max(from, b.start);
      const tail = full.slice(a, Math.min(to, end));
      const text = a > b.start ? reopenFence(full.slice(b.start, a), tail) : tail;
      // Stable keys for a block's head and tail, so the cut moving inside it updates rather than remounts.
      parts.push({ key: `${b.start}${a > b.start ? '>' : '<'}`, text, base: a - (text.length - tail.length) });
    }
  }
  return parts;
}

/** A user's message (or the system prompt) as written: characters [from, to) of `text`. */
function PlainText({ text, from, to }: { readonly text: string; readonly from: number; readonly to: number }) {
  return (
    <p className="message-plain" {...{ [BASE_ATTR]: from, [SRC_ATTR]: `0:${to - from}` }}>
      {text.slice(from, to)}
    </p>
  );
}

export const HorizonText = memo(function HorizonText({ messageId, text, markdown, placement }: HorizonTextProps) {
  const offset = useAppStore(selectHorizonCharOffset(messageId));
  const pinnedChars = useAppStore(selectPinnedChars(messageId));
  const { pinned, cut } = horizonParts(text.length, placement, offset, pinnedChars);
  // The line is drawn between words; the marker names the part of the split word out of view.
  const inWord = placement === 'split' ? wordCut(text, cut, pinned) : null;
  const line = inWord?.start ?? cut;
  const blocks = useMemo(() => (markdown ? markdownBlocks(text) : [{ start: 0, text }]), [markdown, text]);
  if (cut === 0) return markdown ? <Markdown text={text} /> : <PlainText text={text} from={0} to={text.length} />;
  const render = (from: number, to: number) =>
    markdown
      ? markdownParts(blocks, text, from, to).map((p) => <Markdown key={p.key} text={p.text} base={p.base} />)
      : [<PlainText key="plain" text={text} from={from} to={to} />];
  return (
    <>
      {pinned > 0 && (
        <div className="horizon-pinned" data-testid="pinned-text" title="Held in the sink slots: the model always sees this">
          <span className="pinned-badge" title={PINNED_EXPLAINED}>
            Pinned
          </span>
          {render(0, pinned)}
        </div>
      )}
      {cut > pinned && (
        <div className="horizon-out" data-testid="out-of-view-text" data-chars={cut - pinned}>
          {line > pinned && render(pinned, line)}
        </div>
      )}
      {placement === 'split' && <HorizonMarker inWord={inWord} />}
      {line < text.length && <div className="horizon-in">{render(line, text.length)}</div>}
    </>
  );
});
