// Exact counters and JSON syntax-error positions (no network).

import { describe, expect, it } from 'vitest';
import { locateJsonError, parseCounter, parseOpensrsJson } from '../../src/readers/opensrs.js';

describe('parseCounter', () => {
  it.each([
    [0, 0n],
    [1234, 1234n],
    ['1234', 1234n],
    [' 77 ', 77n],
    ['-0', 0n],
    ['9007199254740993', 9007199254740993n],
    ['9223372036854775807', 9223372036854775807n],
    ['12.5', 13n],
    ['12.49', 12n],
    ['1e3', 1000n],
    ['1.5E2', 150n],
    ['0.0000000001e25', 1000000000000000n],
    ['2.5e-1', 0n],
    ['5e-1', 1n],
  ])('%j → %s', (input, expected) => {
    expect(parseCounter(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    [-1, 'R_NEGATIVE'],
    ['-3', 'R_NEGATIVE'],
    ['-0.2', 'R_NEGATIVE'],
    ['abc', 'R_NOT_NUMERIC'],
    ['12 KB', 'R_NOT_NUMERIC'],
    ['0x10', 'R_NOT_NUMERIC'],
    [true, 'R_NOT_NUMERIC'],
    [{}, 'R_NOT_NUMERIC'],
    ['9223372036854775808', 'R_OVER_LONG'],
    ['1e19', 'R_OVER_LONG'],
    ['1e400', 'R_OVER_LONG'],
  ])('%j → %s', (input, code) => {
    const r = parseCounter(input);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.code).toBe(code);
  });
});

describe('parseOpensrsJson', () => {
  it('keeps integers beyond 2^53 and fractions as their exact text', () => {
    const r = parseOpensrsJson('{"a": 9007199254740993, "b": 42, "c": [1.5, -12345678901234567890], "d": "x\\"9007199254740993"}');
    expect(r).toEqual({ ok: true, value: { a: '9007199254740993', b: 42, c: ['1.5', '-12345678901234567890'], d: 'x"9007199254740993' } });
    expect(JSON.parse('{"a": 9007199254740993}').a).toBe(9007199254740992); // what plain JSON.parse would import
  });

  it('gives line and column of the error from V8\'s position', () => {
    const r = parseOpensrsJson('{\n  "a": 1\n  "b": 2\n}');
    expect(r).toMatchObject({ ok: false, line: 3, column: 3, position: 13, message: "Expected ',' or '}' after property value" });
  });

  it('finds the position itself when V8 gives none', () => {
    const r = parseOpensrsJson('{\n  "a": }');
    expect(r).toMatchObject({ ok: false, line: 2, column: 8, position: 9, message: "Unexpected token '}'" });
    const html = parseOpensrsJson('<html>502 Bad Gateway</html>');
    expect(html).toMatchObject({ ok: false, line: 1, column: 1, position: 0, message: "Unexpected token '<'" });
    expect(parseOpensrsJson('{"a": [1, 2')).toMatchObject({ ok: false, line: 1, column: 12, position: 11 });
    expect(parseOpensrsJson('')).toMatchObject({ ok: false, line: 1, column: 1, message: 'Unexpected end of JSON input' });
  });

  it('does not let quoting turn invalid JSON into valid JSON', () => {
    expect(parseOpensrsJson('{12345678901234567890: 1}').ok).toBe(false);
  });

  it('strips a UTF-8 BOM', () => {
    expect(parseOpensrsJson('\uFEFF{"success": true}')).toEqual({ ok: true, value: { success: true } });
  });
});

describe('locateJsonError', () => {
  it.each([
    ['{"a":1}', -1],
    ['[1, 2, {"x": [true, false, null]}]', -1],
    ['"\\u00e9"', -1],
    ['{"a":1,}', 7],
    ['[1,]', 3],
    ['{"a" 1}', 5],
    ['{"a":01}', 6],
    ['"\\x"', 2],
    ['"abc', 4],
    ['{"a":1} x', 8],
    ['tru', 0],
  ])('%j → %i', (text, pos) => {
    expect(locateJsonError(text)).toBe(pos);
  });

  it('agrees with JSON.parse on validity', () => {
    for (const t of ['{}', '[]', '1', '-0.5e+3', '{"a":[{}]}', '{"a"}', '[,]', '{,}', '01', '1.', '-', '"\t"']) {
      let valid = true;
      try {
        JSON.parse(t);
      } catch {
        valid = false;
      }
      expect([t, locateJsonError(t) === -1]).toEqual([t, valid]);
    }
  });
});
