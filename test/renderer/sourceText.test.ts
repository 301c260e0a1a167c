// The alignment under the selection ↔ source mapping of pinned spans (renderer/components/sourceText): each
// rendered character to its source character, skipping markdown syntax, escapes and entities. Vitest
// (Node); the DOM half runs in Chromium (test/e2e/sourceText.test.ts).
import { describe, expect, it } from 'vitest';
import { alignRendered } from '../../renderer/components/sourceText';

const aligned = (rendered: string, source: string) => Array.from(alignRendered(rendered, source));

describe('alignRendered', () => {
  it('maps a rendering found whole in its source (code, plain text) by its offset', () => {
    expect(aligned('x = 1;\n', '```js\nx = 1;\n```')).toEqual([6, 7, 8, 9, 10, 11, 12]);
    expect(aligned('', 'abc')).toEqual([]);
  });

  it('skips syntax characters, escapes and the rest of an entity', () => {
    // "a big b" from "a **big** b": the asterisks are source only.
    expect(aligned('a big b', 'a **big** b')).toEqual([0, 1, 4, 5, 6, 9, 10]);
    // "* &" from "\* &amp;": the backslash and "amp;" are skipped.
    expect(aligned('* &', '\\* &amp;')).toEqual([1, 2, 3]);
    // A link's text; its target is skipped with the brackets.
    expect(aligned('the docs now', '[the docs](https://x.org) now')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 25, 26, 27, 28]);
  });

  it('keeps a character found nowhere further where the search stands, without moving it', () => {
    // "©" comes from "&copy;": it maps to where the search is, and "b" still finds its own place.
    expect(aligned('a © b', 'a &copy; b')).toEqual([0, 1, 2, 8, 9]);
    expect(aligned('z', 'abc')).toEqual([0]);
  });
});
