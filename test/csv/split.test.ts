// splitPlain (issue 13) takes runs without a quote and without bytes beyond ASCII out of csv-parse's hands: it must
// give exactly csv-parse's records and cells for them, whatever the delimiter and wherever a CR falls.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FieldParser, isPlainRun, splitPlain } from '../../src/readers/csv/parse.js';

function viaCsvParse(buf: Buffer, delimiter: string, lineBreak: 'lf' | 'cr'): string[][] {
  const out: string[][] = [];
  const got = new FieldParser(delimiter, lineBreak).parse(buf, 0, buf.length, (cells) => out.push(cells));
  expect(typeof got).toBe('number');
  return out;
}

function viaSplit(buf: Buffer, delimiter: string, lineBreak: 'lf' | 'cr'): string[][] {
  const out: string[][] = [];
  const n = splitPlain(buf, 0, buf.length, delimiter, lineBreak, (cells) => out.push(cells));
  expect(n).toBe(out.length);
  return out;
}

describe('splitPlain', () => {
  it('gives csv-parse\'s records and cells on random plain runs', () => {
    const delimiters = [',', ';', '\t', '|', '::', 'ab', ' ,'];
    fc.assert(
      fc.property(
        fc.constantFrom(...delimiters),
        fc.constantFrom('lf' as const, 'cr' as const),
        fc.array(fc.array(fc.constantFrom('a', 'b', 'x', '1', '9', ' ', '\t', ',', ';', ':', '|', '-', '.', '\r', '\r', '\n'), { maxLength: 30 }), { maxLength: 25 }),
        fc.boolean(),
        (delimiter, lineBreak, lines, lastEnds) => {
          // Lines of a run: each ends at the line break; in an LF file a CR may sit anywhere (before the LF too),
          // in a CR file an LF is data. The last line may end at the end of the input (the file's last line).
          const eol = lineBreak === 'cr' ? '\r' : '\n';
          const text = lines
            .map((chars) => chars.filter((c) => c !== eol).join(''))
            .map((l, i) => (i < lines.length - 1 || lastEnds ? `${l}${eol}` : l))
            .join('');
          const buf = Buffer.from(text, 'latin1');
          fc.pre(buf.length > 0);
          expect(isPlainRun(buf, 0, buf.length)).toBe(true);
          expect(viaSplit(buf, delimiter, lineBreak)).toEqual(viaCsvParse(buf, delimiter, lineBreak));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('the cases by hand: CRLF, a lone CR, an empty line, a trailing delimiter, the last line without a break', () => {
    const cases: [string, string, 'lf' | 'cr'][] = [
      ['a,b\r\nc,d\n', ',', 'lf'],
      ['a\rb,c\n', ',', 'lf'],
      ['a,b\r', ',', 'lf'], // a CR at the very end is data (no LF after it)
      ['\n\r\n,\n', ',', 'lf'],
      ['a,,b,\n', ',', 'lf'],
      ['x::y:::z\n', '::', 'lf'],
      ['a,b\rc\nd\r', ',', 'cr'],
    ];
    for (const [text, d, lb] of cases) {
      const buf = Buffer.from(text, 'latin1');
      expect(viaSplit(buf, d, lb), JSON.stringify(text)).toEqual(viaCsvParse(buf, d, lb));
    }
  });

  it('leaves runs with a quote or with bytes beyond ASCII to csv-parse', () => {
    expect(isPlainRun(Buffer.from('a,"b"\n'), 0, 6)).toBe(false);
    expect(isPlainRun(Buffer.from('a,bücher\n'), 0, 10)).toBe(false);
    expect(isPlainRun(Buffer.from([0x61, 0x2c, 0xff, 0x0a]), 0, 4)).toBe(false);
    expect(isPlainRun(Buffer.from('a,b\n"'), 0, 4)).toBe(true); // only [start, end) counts
  });
});
