// Fields: csv-parse splits framed records into cells and unquotes them.
//
// The framer (frame.ts) hands over only complete, well-formed records, so csv-parse's parsing core is called
// directly, synchronously, once per run of records with `end: true`: no stream, no per-record info object, no
// record buffered. Its line counting is not used (frame.ts counts lines). Options: records as arrays, the
// configured delimiter, CRLF or LF (or CR) as record delimiters, empty lines kept as records (the framer counts
// one record per line), no BOM handling (the framer drops it), no column-count check (rows.ts checks it per row).
// Every field goes through csv-parse: a hand-written splitter for quote-free runs measured ~1.2× faster end to
// end (issue 13) but repeated what csv-parse does, and the goals are met without it (docs/sources/csv.md).

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

function coreOf(options: ConstructorParameters<typeof Parser>[0]): CsvCore {
  return (new Parser(options) as unknown as { api: CsvCore }).api;
}
