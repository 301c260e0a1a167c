// jsonErrorAt: the line/column of the first JSON syntax error, and null for valid JSON.
import { expect, test } from 'vitest';
import { jsonErrorAt } from '../../../main/engine/model/jsonErrorAt';

test.each([
  ['{"a": ,}', 1, 7, 'unexpected ","'],
  ['{\n  "a": 1,\n  "b": [1, 2,]\n}', 3, 14, 'unexpected "]"'],
  ['{"a":1', 1, 7, 'unexpected end of file'],
  ['{"a":"x\\q"}', 1, 9, 'unexpected "q"'],
  ['{"a":1} x', 1, 9, 'unexpected "x"'],
  ['01', 1, 2, 'unexpected "1"'],
  ['', 1, 1, 'unexpected end of file'],
])('%j fails at %i:%i', (text, line, column, problem) => {
  expect(() => JSON.parse(text)).toThrow();
  expect(jsonErrorAt(text)).toEqual({ line, column, problem });
});

test('valid JSON has no error', () => {
  const text = ' {"b": [true, false, null, -1.5e3, "\\u00e9\\n"], "c": {}} ';
  expect(JSON.parse(text)).toBeTruthy();
  expect(jsonErrorAt(text)).toBeNull();
});
