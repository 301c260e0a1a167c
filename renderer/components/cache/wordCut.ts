// Where a horizon that splits a word is drawn: before the word, with the part out of view named, so the
// line reads as a boundary between words and stays exact. Pure; renderer (and the e2e tests) use it.

/** A horizon that falls inside a word: where the word starts, and its parts on either side of the cut. */
export interface WordCut {
  /** Where the line is drawn: the start of the word. */
  readonly start: number;
  /** The word's out-of-view part (before the exact cut) and the whole word, shortened when very long. */
  readonly hidden: string;
  readonly word: string;
}

/** Words quoted in the marker are cut to this many characters. */
const QUOTED_WORD = 24;

/**
 * Where to draw a horizon at char `cut` of `text` so it reads as a boundary between words: null when the
 * cut already falls at whitespace (or an end); otherwise the start of the word it splits (never before
 * `floor`, the pinned text) and what of that word is out of view.
 */
export function wordCut(text: string, cut: number, floor = 0): WordCut | null {
  const inWord = (i: number) => i >= 0 && i < text.length && !/\s/.test(text[i]);
  if (!inWord(cut - 1) || !inWord(cut)) return null;
  let start = cut;
  while (start > floor && inWord(start - 1)) start--;
  let end = cut;
  while (inWord(end)) end++;
  const quote = (t: string) => (t.length > QUOTED_WORD ? `${t.slice(0, QUOTED_WORD - 1)}…` : t);
  return { start, hidden: quote(text.slice(start, cut)), word: quote(text.slice(start, end)) };
}
