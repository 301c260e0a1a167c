// StopStringMatcher: stop strings split across pushes, held-back prefixes, earliest match; isStopToken.
import { describe, expect, it } from 'vitest';
import { StopStringMatcher, isStopToken } from '../../../main/engine/sampling/stopStrings';
import { Xoshiro128 } from '../../../main/engine/sampling/xoshiro128';

/** Feeds pieces; returns everything emitted (flush included when not stopped) and the stop flag. */
function stream(stops: string[], pieces: string[]): { text: string; stopped: boolean; emits: string[] } {
  const m = new StopStringMatcher(stops);
  const emits: string[] = [];
  let stopped = false;
  for (const p of pieces) {
    const r = m.push(p);
    emits.push(r.emit);
    if (r.stopped) {
      stopped = true;
      break;
    }
  }
  const tail = m.flush();
  if (tail) emits.push(tail);
  return { text: emits.join(''), stopped, emits };
}

describe('StopStringMatcher', () => {
  it('finds a stop string split across pushes and never emits any of it', () => {
    const r = stream(['<|user|>'], ['Hello <|us', 'er|> more']);
    expect(r).toEqual({ text: 'Hello ', stopped: true, emits: ['Hello ', ''] });
  });

  it('holds back a possible start of a stop string, then releases it', () => {
    const m = new StopStringMatcher(['\nUser:']);
    expect(m.push('Sure.\nUs')).toEqual({ emit: 'Sure.', stopped: false });
    expect(m.push('ually')).toEqual({ emit: '\nUsually', stopped: false });
    expect(m.push(' yes\n')).toEqual({ emit: ' yes', stopped: false });
    expect(m.flush()).toBe('\n');
    expect(m.stopped).toBe(false);
  });

  it('handles overlapping partial matches (abab + cd against abcd)', () => {
    expect(stream(['abcd'], ['ab', 'abc', 'd', 'zz'])).toEqual({ text: 'ab', stopped: true, emits: ['', 'ab', ''] });
  });

  it('stops at the earliest of several stop strings and remembers which', () => {
    const m = new StopStringMatcher(['END', 'STOP', 'ST']);
    const r = m.push('one STOP two END');
    expect(r).toEqual({ emit: 'one ', stopped: true });
    expect(m.matched).toBe('STOP');
    expect(m.push('more')).toEqual({ emit: '', stopped: true });
    expect(m.flush()).toBe('');
  });

  it('matches a stop at the very start and inside a single push', () => {
    expect(stream(['###'], ['### heading'])).toMatchObject({ text: '', stopped: true });
    expect(stream(['x'], ['abxcd'])).toMatchObject({ text: 'ab', stopped: true });
  });

  it('passes text through with no (or only empty) stop strings', () => {
    expect(stream([], ['a', 'b<', '|'])).toEqual({ text: 'ab<|', stopped: false, emits: ['a', 'b<', '|'] });
    expect(stream([''], ['abc'])).toMatchObject({ text: 'abc', stopped: false });
  });

  it('equals "text up to the first stop" for random texts split at random points', () => {
    const rng = new Xoshiro128(31);
    const alphabet = 'ab<|>\n ';
    const stops = ['<|a', 'ab\n', '>>', 'b b'];
    for (let t = 0; t < 300; t++) {
      let text = '';
      const len = 1 + (rng.nextUint32() % 40);
      for (let i = 0; i < len; i++) text += alphabet[rng.nextUint32() % alphabet.length];
      const pieces: string[] = [];
      for (let i = 0; i < text.length; ) {
        const n = 1 + (rng.nextUint32() % 4);
        pieces.push(text.slice(i, i + n));
        i += n;
      }
      const hits = stops.map((s) => text.indexOf(s)).filter((i) => i >= 0);
      const first = hits.length ? Math.min(...hits) : -1;
      const r = stream(stops, pieces);
      expect(r.stopped, text).toBe(first >= 0);
      expect(r.text, JSON.stringify(text)).toBe(first >= 0 ? text.slice(0, first) : text);
    }
  });
});

describe('isStopToken', () => {
  it('accepts a set or an array of EOS ids', () => {
    expect(isStopToken(2, new Set([1, 2]))).toBe(true);
    expect(isStopToken(3, new Set([1, 2]))).toBe(false);
    expect(isStopToken(1, [1, 2])).toBe(true);
    expect(isStopToken(0, [])).toBe(false);
  });
});
