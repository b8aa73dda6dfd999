// Fields: csv-parse splits framed records into cells and unquotes them.
//
// The framer (frame.ts) hands over only complete, well-formed records, so csv-parse's parsing core is called
// directly, synchronously, once per run of records with `end: true`: no stream, no per-record info object, no
// record buffered. Its line counting is not used (frame.ts counts lines). Options: records as arrays, the
// configured delimiter, CRLF or LF (or CR) as record delimiters, empty lines kept as records (the framer counts
// one record per line), no BOM handling (the framer drops it), no column-count check (rows.ts checks it per row).
//
// A run with no quote and no byte above 0x7F — most runs of most files — holds nothing csv-parse would do more
// with than cut lines at their line break and fields at the delimiter: `splitPlain` does that, ~5× faster than
// csv-parse's byte-by-byte loop (issue 13), and gives csv-parse's exact cells: test/csv/split.test.ts compares
// the two on random runs (delimiters of one or more characters, CR anywhere, empty lines and fields, CR files).
// Any run with a quote, or with bytes beyond ASCII (whose decoding csv-parse does field by field), is csv-parse's.

import { isAscii } from 'node:buffer';
import { Parser } from 'csv-parse';
import type { LineBreak } from './frame.js';

/** csv-parse's core, as `new Parser(options).api` exposes it (csv-parse/lib/api/index.js `transform`). */
interface CsvCore {
  parse(buf: Buffer | undefined, end: boolean, push: (record: string[]) => void, close: () => void): Error | undefined;
}

const noop = (): void => undefined;

export class FieldParser {
  private core: CsvCore;
  private readonly options: ConstructorParameters<typeof Parser>[0];

  constructor(delimiter: string, lineBreak: LineBreak) {
    this.options = {
      delimiter,
      record_delimiter: lineBreak === 'cr' ? ['\r'] : ['\r\n', '\n'],
      bom: false,
      relax_column_count: true,
      skip_empty_lines: false,
    };
    this.core = coreOf(this.options);
  }

  /**
   * Parses buf[start, end) and calls `onRecord` for each record in order. Returns the number of records, or, when
   * csv-parse refuses a record after all, how many came before it and why (the parser is then made anew).
   */
  parse(buf: Buffer, start: number, end: number, onRecord: (cells: string[]) => void): number | { parsed: number; error: Error } {
    let parsed = 0;
    const err = this.core.parse(
      buf.subarray(start, end),
      true,
      (record) => {
        parsed++;
        onRecord(record);
      },
      noop,
    );
    if (err === undefined) return parsed;
    this.core = coreOf(this.options);
    return { parsed, error: err };
  }
}

/** Whether splitPlain may take buf[start, end): no quote, ASCII only. */
export function isPlainRun(buf: Buffer, start: number, end: number): boolean {
  const run = buf.subarray(start, end);
  return run.indexOf(0x22) < 0 && isAscii(run);
}

/**
 * The records of a plain run (see isPlainRun), in order, as csv-parse with FieldParser's options gives them:
 * lines end at the line break (LF, a CR before it dropped; CR in a CR file), the last one may end at `end`; cells
 * are what lies between delimiters. Returns the number of records.
 */
export function splitPlain(buf: Buffer, start: number, end: number, delimiter: string, lineBreak: LineBreak, onRecord: (cells: string[]) => void): number {
  const eol = lineBreak === 'cr' ? 0x0d : 0x0a;
  const dl = delimiter.length;
  let n = 0;
  let p = start;
  while (p < end) {
    let e = buf.indexOf(eol, p);
    const ended = e >= 0 && e < end;
    if (!ended) e = end;
    // LF lines: csv-parse's record delimiters are CRLF and LF, so a CR right before the LF is not data.
    const contentEnd = ended && eol === 0x0a && e > p && buf[e - 1] === 0x0d ? e - 1 : e;
    // One string per line, cut into cells: a cell kept longer (a cache key) holds its line, never the run.
    const line = buf.toString('latin1', p, contentEnd);
    const cells: string[] = [];
    let f = 0;
    for (;;) {
      const k = line.indexOf(delimiter, f);
      if (k < 0) {
        cells.push(f === 0 ? line : line.substring(f));
        break;
      }
      cells.push(line.substring(f, k));
      f = k + dl;
    }
    onRecord(cells);
    n++;
    p = e + 1;
  }
  return n;
}

function coreOf(options: ConstructorParameters<typeof Parser>[0]): CsvCore {
  return (new Parser(options) as unknown as { api: CsvCore }).api;
}
