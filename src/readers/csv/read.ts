// Reading one stretch of a CSV file: bytes → framer → csv-parse → rows, in one thread. The whole file, a byte
// range of it (a worker thread's part, see parallel.ts), or just its header.

import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { TiError, errorMessage, type RejectCode } from '../../errors.js';
import type { CsvSourceConfig } from './config.js';
import { FieldParser } from './parse.js';
import { Framer, type FrameProblem, type FrameSink, type LineBreak } from './frame.js';
import type { Header } from './header.js';
import { RowReader, RowResult, type RowEvents, type RowSink } from './rows.js';

export const DEFAULT_READ_BYTES = 1024 * 1024;

export interface StretchOptions {
  cfg: CsvSourceConfig;
  /** The name rejects and records carry. */
  file: string;
  /** Where the bytes come from: a byte stream (standard input, gzip), or a file read from `offset`. */
  source: { stream: Readable } | { path: string; offset: number };
  /** Number of the line at the first byte (1 at the start of the file). */
  line: number;
  /** Stop at the first record boundary at or after this offset (default: the end of the file). */
  stopAt?: number;
  /** Known from the start of the file (byte ranges); else read from the file's first record. */
  header?: { header: Header; line: number };
  lineBreak?: LineBreak;
  /** Stop right after the header (`validate`, and finding where the rows start). */
  headerOnly?: boolean;
  readChunkBytes?: number;
  signal?: AbortSignal;
  /** Rows handed to the sink since the last call, once per read (progress). */
  rowsRead?: (count: number) => void;
}

export interface StretchResult {
  header: Header | undefined;
  headerLine: number;
  lineBreak: LineBreak | undefined;
  /** File offset where reading stopped (a record boundary), when read from a file. */
  endOffset: number;
  /** Number of the line at endOffset. */
  endLine: number;
  rows: RowReader;
}

/** Reads a stretch into `sink`, reporting rejects through `events`. Throws TiError when the source cannot be read. */
export async function readStretch(opts: StretchOptions, sink: RowSink, events: RowEvents): Promise<StretchResult> {
  const { cfg } = opts;
  const rows = new RowReader(cfg, opts.file, sink, events, opts.header?.header);
  if (opts.header) rows.headerLine = opts.header.line;
  const offset = 'offset' in opts.source ? opts.source.offset : 0;
  let framer: Framer | undefined;
  const frameSink = new StretchSink(cfg, rows, () => framer as Framer, opts.headerOnly === true);
  framer = new Framer(frameSink, {
    delimiter: Buffer.from(cfg.delimiter, 'utf8'),
    maxRecordBytes: cfg.maxRecordBytes,
    line: opts.line,
    offset,
    ...(opts.lineBreak ? { lineBreak: opts.lineBreak } : {}),
    ...(opts.stopAt !== undefined ? { stopAt: opts.stopAt } : {}),
    windowBytes: 2 * (opts.readChunkBytes ?? DEFAULT_READ_BYTES),
  });
  framer.lineByLine = rows.header === undefined;
  const it: AsyncIterator<Buffer> =
    'stream' in opts.source
      ? (opts.source.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>)
      : fileChunks(opts.source.path, offset, opts.readChunkBytes ?? DEFAULT_READ_BYTES);
  let reported = 0;
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      let next: IteratorResult<Buffer>;
      try {
        next = await it.next();
      } catch (err) {
        if (err instanceof TiError || (err as Error)?.name === 'AbortError') throw err;
        throw new TiError('TI_SOURCE_UNREADABLE', `${opts.file}: ${errorMessage(err)}`, { file: opts.file }, { cause: err });
      }
      if (next.done) break;
      feed(framer, next.value, opts.readChunkBytes);
      if (opts.rowsRead && rows.rowsOut > reported) {
        opts.rowsRead(rows.rowsOut - reported);
        reported = rows.rowsOut;
      }
      if (framer.stopped) break;
    }
    opts.signal?.throwIfAborted();
    framer.end();
    if (opts.rowsRead && rows.rowsOut > reported) opts.rowsRead(rows.rowsOut - reported);
  } finally {
    await it.return?.();
  }
  return {
    header: rows.header,
    headerLine: rows.headerLine,
    lineBreak: framer.lineBreak,
    endOffset: framer.offset,
    endLine: framer.line,
    rows,
  };
}

/**
 * A file's bytes from `offset`, read into one buffer used again and again (each chunk is valid until the next:
 * the framer copies it). A stream would allocate a buffer per read: over a 430 MB file in several threads that
 * churn, not the data, was what made the process grow.
 */
async function* fileChunks(path: string, offset: number, size: number): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(size);
    let position = offset;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, size, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** Pushes a chunk, in pieces of at most `size` bytes when set (tests: chunk edges everywhere). */
function feed(framer: Framer, chunk: Buffer, size: number | undefined): void {
  if (!size || chunk.length <= size) return framer.push(chunk);
  for (let i = 0; i < chunk.length && !framer.stopped; i += size) framer.push(chunk.subarray(i, i + size));
}

/** Framer → csv-parse → rows. */
class StretchSink implements FrameSink {
  private parserFor: LineBreak | undefined;
  private fields: FieldParser | undefined;

  constructor(
    private readonly cfg: CsvSourceConfig,
    private readonly rows: RowReader,
    private readonly framer: () => Framer,
    private readonly headerOnly: boolean,
  ) {}

  private fieldParser(): FieldParser {
    const lineBreak = this.framer().lineBreak ?? 'lf';
    if (this.fields === undefined || this.parserFor !== lineBreak) {
      this.fields = new FieldParser(this.cfg.delimiter, lineBreak);
      this.parserFor = lineBreak;
    }
    return this.fields;
  }

  lines(buf: Buffer, start: number, end: number, line: number): number {
    const rows = this.rows;
    const lineBreak = this.framer().lineBreak ?? 'lf';
    const eol = lineBreak === 'cr' ? 0x0d : 0x0a;
    let n = 0;
    let from = start;
    for (;;) {
      const got = this.fieldParser().parse(buf, from, end, (cells) => {
        if (rows.record(cells, line + n) === RowResult.Header) this.afterHeader();
        n++;
      });
      if (typeof got === 'number') return n;
      // csv-parse refused a line the framer passed: that line alone is rejected; the rest is parsed on.
      let lineEnd = from;
      for (let i = 0; i <= got.parsed; i++) {
        const e = buf.indexOf(eol, lineEnd);
        lineEnd = e < 0 || e >= end ? end : e + 1;
      }
      const lineStart = got.parsed === 0 ? from : lineStartBefore(buf, lineEnd, eol, from);
      rows.unparsable(line + n, 'R_PARSE', `${(got.error as { code?: string }).code ?? 'CSV_ERROR'}: ${got.error.message}`, rawLine(buf, lineStart, lineEnd));
      n++;
      from = lineEnd;
      if (from >= end) return n;
    }
  }

  record(buf: Buffer, start: number, end: number, line: number): boolean {
    let cells: string[] | undefined;
    let count = 0;
    const got = this.fieldParser().parse(buf, start, end, (c) => {
      cells = c;
      count++;
    });
    if (typeof got !== 'number' || cells === undefined || count !== 1) {
      const eol = this.framer().lineBreak === 'cr' ? 0x0d : 0x0a;
      const e = buf.indexOf(eol, start);
      const reason = typeof got === 'number' ? 'record cannot be parsed' : `${(got.error as { code?: string }).code ?? 'CSV_ERROR'}: ${got.error.message}`;
      this.rows.unparsable(line, 'R_PARSE', reason, rawLine(buf, start, e < 0 || e >= end ? end : e));
      return false;
    }
    const result = this.rows.record(cells, line, true);
    if (result === RowResult.Header) this.afterHeader();
    return result !== RowResult.Rejected;
  }

  unparsable(line: number, problem: FrameProblem, buf: Buffer, start: number, end: number): void {
    const { code, reason, field } = describeProblem(problem, this.rows, this.cfg.maxRecordBytes);
    let raw = buf.toString('utf8', start, end);
    if (problem.kind === 'too-long') raw += '…';
    this.rows.unparsable(line, code, reason, raw, field);
  }

  private afterHeader(): void {
    const framer = this.framer();
    framer.lineByLine = false;
    if (this.headerOnly) framer.requestStop();
  }
}

function describeProblem(p: FrameProblem, rows: RowReader, max: number): { code: RejectCode; reason: string; field?: number } {
  const name = (field: number): string => {
    const n = rows.header?.names[field];
    return n !== undefined ? `field "${n}"` : `field ${field + 1}`;
  };
  switch (p.kind) {
    case 'opening-quote':
      return { code: 'R_PARSE', field: p.field, reason: `INVALID_OPENING_QUOTE: a quote inside the unquoted ${name(p.field)} (a quoted field must start with the quote)` };
    case 'closing-quote':
      return {
        code: 'R_PARSE',
        field: p.field,
        reason: `INVALID_CLOSING_QUOTE: the quoted ${name(p.field)} is followed by ${JSON.stringify(String.fromCharCode(p.after))} instead of the delimiter or the line's end`,
      };
    case 'quote-not-closed':
      return {
        code: 'R_PARSE',
        field: p.field,
        reason: p.atEof
          ? `CSV_QUOTE_NOT_CLOSED: the quote that opens ${name(p.field)} is not closed before the end of the file`
          : `CSV_QUOTE_NOT_CLOSED: the quote that opens ${name(p.field)} is not closed within maxRecordBytes (${max} bytes)`,
      };
    case 'too-long':
      return {
        code: 'R_RECORD_TOO_LONG',
        reason: p.lines === 1
          ? `line longer than maxRecordBytes (${max} bytes); skipped to its end`
          : `record${p.lines > 1 ? ` over ${p.lines} lines` : ''} longer than maxRecordBytes (${max} bytes); the lines after this one are read again`,
      };
  }
}

function lineStartBefore(buf: Buffer, lineEnd: number, eol: number, floor: number): number {
  const e = lineEnd - 2 < floor ? -1 : buf.lastIndexOf(eol, lineEnd - 2);
  return e < floor ? floor : e + 1;
}

/** A line's bytes as text, without its line break. */
function rawLine(buf: Buffer, start: number, end: number): string {
  let e = end;
  if (e > start && (buf[e - 1] === 0x0a || buf[e - 1] === 0x0d)) e--;
  if (e > start && buf[e - 1] === 0x0d) e--;
  return buf.toString('utf8', start, e);
}
