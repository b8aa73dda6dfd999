// Framing: the byte stream → records, before any field is parsed. This is where every physical line is accounted
// for (issue 9 §3): a line is part of a record that goes on to be parsed, or it is handed back as unparsable with
// its own number, and framing resumes at the next line.
//
// The rules are csv-parse's (RFC 4180 with `""` as the escaped quote), decided here so that csv-parse only ever
// sees well-formed records:
// - A quote opens a quoted field only as a field's first byte; anywhere else in an unquoted field the line is
//   malformed (INVALID_OPENING_QUOTE). A closing quote must be followed by the delimiter or the line's end
//   (else INVALID_CLOSING_QUOTE). A quoted field may hold line breaks: such a record spans several lines.
// - A malformed record rejects its first line only: framing resumes at its second line, so an unterminated quote
//   never swallows the good rows after it. A multi-line record that is well-formed but does not land (the rows
//   reader rejected it) gives its later lines back the same way: `FrameSink.record` says whether it landed.
// - A record longer than maxRecordBytes is rejected alone: a single over-long line is skipped to its end without
//   being held in memory (R_RECORD_TOO_LONG); a quote still open maxRecordBytes after its record started rejects
//   that record's first line (CSV_QUOTE_NOT_CLOSED). The window holds at most about maxRecordBytes + one read.
//
// Lines: LF ends a line (a CRLF is one line break); a file whose first line breaks are lone CRs (classic Mac) is
// read with CR as the line break. Lines without a quote — the bulk of any file — are not looked at byte by byte:
// the framer finds the next quote with indexOf and hands everything before that quote's line to the sink as one
// run of one-line records. The sink counts the records of a run (one per line), so line numbers stay exact.
//
// Byte ranges (worker threads): a framer may start at any record boundary and stop at the first record boundary
// at or after `stopAt`; `offset` then tells where it stopped (see parallel.ts).

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
/** A new file's line breaks are decided on the first LF, or on this many bytes without one. */
const DISCOVER_BYTES = 64 * 1024;
const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;

export type LineBreak = 'lf' | 'cr';

/** Why a line is not a record: what the reject says. */
export type FrameProblem =
  | { kind: 'opening-quote'; field: number }
  | { kind: 'closing-quote'; field: number; after: number }
  | { kind: 'quote-not-closed'; field: number; atEof: boolean }
  | { kind: 'too-long'; lines: number };

export interface FrameSink {
  /**
   * One-line, well-formed records in `buf[start, end)` (each ends with a line break, except a last line at the end
   * of the file); the first is on `line`. Returns how many lines they are.
   */
  lines(buf: Buffer, start: number, end: number, line: number): number;
  /**
   * One well-formed record with a quoted field, over `lines` physical lines from `line`: true when it landed (see
   * the file comment).
   */
  record(buf: Buffer, start: number, end: number, line: number, lines: number): boolean;
  /** A line that is not a record: `buf[start, end)` is (the start of) its bytes, without its line break. */
  unparsable(line: number, problem: FrameProblem, buf: Buffer, start: number, end: number): void;
}

export interface FramerOptions {
  delimiter: Buffer;
  maxRecordBytes: number;
  /** Line breaks, when already known (a byte range of a file whose start was framed before). */
  lineBreak?: LineBreak;
  /** Number of the first line (1 at the start of a file). */
  line: number;
  /** Offset in the file of the first byte pushed (0: the start, where a UTF-8 BOM is dropped). */
  offset: number;
  /** Stop at the first record boundary at or after this file offset (default: read to the end). */
  stopAt?: number;
  /** Initial window size (default 64 KiB; it grows as needed). */
  windowBytes?: number;
}

type Scan =
  | { kind: 'record'; end: number; lines: number; fields: number }
  | { kind: 'malformed'; problem: FrameProblem }
  | { kind: 'open'; field: number }
  | { kind: 'more' };

export class Framer {
  /** Line number at the current position (exact whenever no run is pending). */
  line: number;
  /** Set when the framer reached `stopAt` (or was asked to stop): further input is ignored. */
  stopped = false;
  /** One line per run until cleared: lets the reader stop right after the header. */
  lineByLine = false;
  lineBreak: LineBreak | undefined;

  private win: Buffer;
  private view: Buffer;
  private len = 0;
  private pos = 0;
  /** File offset of win[0]. */
  private base: number;
  private eol = LF;
  private readonly delim: Buffer;
  private readonly max: number;
  private readonly stopAt: number;
  private bomChecked: boolean;
  /** Inside a line longer than maxRecordBytes: its bytes are dropped up to its line break. */
  private skipping = false;
  private stopRequested = false;
  /** Pending run of one-line records: [runStart, pos), the first on runLine. */
  private runStart = -1;
  private runLine = 0;
  /** indexOf(QUOTE) cache: the first quote at or after qFrom is at qAt (−1: none before qTo). */
  private qFrom = -1;
  private qAt = -1;
  private qTo = -1;

  constructor(
    private readonly sink: FrameSink,
    opts: FramerOptions,
  ) {
    this.delim = opts.delimiter;
    this.max = opts.maxRecordBytes;
    this.line = opts.line;
    this.base = opts.offset;
    this.stopAt = opts.stopAt ?? Infinity;
    this.bomChecked = opts.offset !== 0;
    this.lineBreak = opts.lineBreak;
    if (opts.lineBreak === 'cr') this.eol = CR;
    this.win = Buffer.allocUnsafe(opts.windowBytes ?? 64 * 1024);
    this.view = this.win.subarray(0, 0);
  }

  /** File offset of the current position: where the framer stopped, once `stopped` or ended. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Stop at the next record boundary (after the record being handled). */
  requestStop(): void {
    this.stopRequested = true;
  }

  push(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    this.append(chunk);
    this.frame(false);
  }

  end(): void {
    if (this.stopped) return;
    this.frame(true);
    if (!this.stopped) this.stopped = true;
  }

  // ── window ──

  private append(chunk: Buffer): void {
    if (this.pos === this.len) {
      this.base += this.len;
      this.pos = 0;
      this.len = 0;
      this.qFrom = -1;
    }
    if (this.len + chunk.length > this.win.length) {
      if (this.pos > 0) {
        this.win.copyWithin(0, this.pos, this.len);
        this.base += this.pos;
        this.len -= this.pos;
        this.pos = 0;
        this.qFrom = -1;
      }
      if (this.len + chunk.length > this.win.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.win.length * 2, this.len + chunk.length));
        this.win.copy(grown, 0, 0, this.len);
        this.win = grown;
      }
    }
    chunk.copy(this.win, this.len);
    this.len += chunk.length;
    this.view = this.win.subarray(0, this.len);
  }

  /** Position of the first quote at or after p in the window, −1 if none. */
  private nextQuote(p: number): number {
    let from = p;
    if (this.qFrom >= 0 && p >= this.qFrom) {
      if (this.qAt >= p) return this.qAt;
      if (this.qAt < 0) {
        if (this.qTo >= this.len) return -1;
        from = Math.max(p, this.qTo); // none before qTo: look at the new bytes only
      }
    }
    this.qFrom = p;
    this.qAt = this.view.indexOf(QUOTE, from);
    this.qTo = this.len;
    return this.qAt;
  }

  /** The last line break at or before `from` (−1 if none; Buffer.lastIndexOf reads a negative offset from the end). */
  private lastEol(from: number): number {
    return from < 0 ? -1 : this.view.lastIndexOf(this.eol, from);
  }

  /** Whether the line [s, e) (e: its line break, or −1: not seen yet) holds more than maxRecordBytes. */
  private overLong(s: number, e: number): boolean {
    const end = e < 0 ? this.len : e;
    let n = end - s;
    if (n > 0 && this.eol === LF && this.win[end - 1] === CR) n--;
    return n > this.max;
  }

  // ── framing ──

  private frame(eof: boolean): void {
    if (!this.bomChecked) {
      if (this.len < 3 && !eof) return;
      this.bomChecked = true;
      if (this.len >= 3 && this.win[0] === UTF8_BOM[0] && this.win[1] === UTF8_BOM[1] && this.win[2] === UTF8_BOM[2]) this.pos = 3;
    }
    if (this.lineBreak === undefined && !this.discoverLineBreak(eof)) return;
    const view = this.view;
    const eol = this.eol;
    while (!this.stopped) {
      if (this.skipping) {
        const e = view.indexOf(eol, this.pos);
        if (e < 0) {
          this.pos = this.len; // dropped: the line was rejected already
          if (eof) this.skipping = false;
          break;
        }
        this.pos = e + 1;
        this.line++;
        this.skipping = false;
        if (this.atBoundary()) break;
        continue;
      }
      if (this.pos >= this.len) break;
      const q = this.nextQuote(this.pos);
      // Lines before the next quote's line are plain: one-line records, found with indexOf only.
      const plainEnd = q < 0 ? this.len : Math.max(this.pos, this.lastEol(q - 1) + 1);
      if (plainEnd > this.pos) {
        let complete = plainEnd;
        if (q < 0 && !eof) complete = Math.max(this.pos, this.lastEol(this.len - 1) + 1);
        if (complete > this.pos && !this.plainLines(complete)) break;
        if (this.stopped) break;
        if (this.pos < complete) continue;
        if (q < 0) {
          if (this.pos >= this.len) break;
          // An incomplete last line: wait for its end, unless it is already too long.
          if (this.overLong(this.pos, -1)) {
            this.tooLongLine(this.pos, -1);
            if (this.atBoundary()) break;
          }
          break;
        }
        continue;
      }
      // The line at pos holds a quote: frame one record field by field.
      const s = this.scan(this.pos, eof);
      if (!this.handle(s, eof)) break;
    }
    this.flushRun();
    if (eof && this.pos >= this.len && !this.skipping) this.stopped = true;
  }

  /**
   * Decides LF or CR line breaks from the file's first line break (as csv-parse does): a lone CR there means CR.
   * False while that needs more bytes.
   */
  private discoverLineBreak(eof: boolean): boolean {
    const lf = this.view.indexOf(LF, this.pos);
    const cr = this.view.indexOf(CR, this.pos);
    let lineBreak: LineBreak = 'lf';
    if (cr >= 0 && (lf < 0 || cr < lf)) {
      if (cr + 1 >= this.len && !eof) return false; // a CR that may be the start of a CRLF
      if (this.win[cr + 1] !== LF) lineBreak = 'cr';
    } else if (lf < 0 && this.len - this.pos < DISCOVER_BYTES && !eof) {
      return false;
    }
    this.lineBreak = lineBreak;
    this.eol = lineBreak === 'cr' ? CR : LF;
    return true;
  }

  /**
   * Adds the plain lines [pos, to) (line-aligned) to the run, checking each line's length. Stops early at a line
   * that is too long (rejected, pos after it) or at the stop offset. Returns false when framing must pause.
   */
  private plainLines(to: number): boolean {
    const view = this.view;
    const eol = this.eol;
    // The stop offset falls in these lines: end at the first line start at or after it.
    if (this.base + to > this.stopAt) {
      const rel = this.stopAt - this.base;
      let cut = this.pos;
      if (rel > this.pos) {
        const e = view.indexOf(eol, rel - 1);
        cut = e < 0 ? to : e + 1;
      }
      if (cut < to) to = cut;
    }
    while (this.pos < to) {
      if (!this.lineByLine && to - this.pos <= this.max) {
        this.extendRun(to); // no line here can be longer than the whole stretch
        break;
      }
      // Line by line (until the header is read), or a long stretch: the last line break within max of pos ends
      // lines that are short enough; none means the line at pos is longer, or exactly max with its CRLF.
      const e = this.lineByLine ? view.indexOf(eol, this.pos) : this.lastEol(Math.min(to - 1, this.pos + this.max));
      if (e >= this.pos && e < to && !(this.lineByLine && this.overLong(this.pos, e))) {
        this.extendRun(e + 1);
        if (this.lineByLine) {
          this.flushRun();
          if (this.atBoundary()) return true;
        }
        continue;
      }
      const end = view.indexOf(eol, this.pos);
      const lineEnd = end >= 0 && end < to ? end : -1;
      if (lineEnd >= 0 ? !this.overLong(this.pos, lineEnd) : to - this.pos <= this.max) {
        this.extendRun(lineEnd >= 0 ? lineEnd + 1 : to);
        if (this.lineByLine) {
          this.flushRun();
          if (this.atBoundary()) return true;
        }
        continue;
      }
      this.tooLongLine(this.pos, lineEnd);
      if (this.atBoundary()) return true;
    }
    if (this.base + this.pos >= this.stopAt) this.atBoundary();
    return true;
  }

  private extendRun(to: number): void {
    if (this.runStart < 0) {
      this.runStart = this.pos;
      this.runLine = this.line;
    }
    this.pos = to;
  }

  private flushRun(): void {
    if (this.runStart < 0) return;
    const start = this.runStart;
    this.runStart = -1;
    this.line = this.runLine + this.sink.lines(this.win, start, this.pos, this.runLine);
  }

  /** After a record or a rejected line: stop here if asked or past stopAt. */
  private atBoundary(): boolean {
    if (this.stopRequested || this.base + this.pos >= this.stopAt) {
      this.flushRun();
      this.stopped = true;
      return true;
    }
    return false;
  }

  /**
   * The line at `start` is longer than maxRecordBytes: rejected; `eolAt` is its line break, or −1 when it is not in
   * the window yet (then the rest of the line is dropped as it arrives).
   */
  private tooLongLine(start: number, eolAt: number): void {
    this.flushRun();
    const shown = Math.min(trimCr(this.view, start, eolAt < 0 ? this.len : eolAt), start + RAW_PREFIX);
    this.sink.unparsable(this.line, { kind: 'too-long', lines: 1 }, this.win, start, shown);
    if (eolAt < 0) {
      this.skipping = true;
      this.pos = this.len;
    } else {
      this.pos = eolAt + 1;
      this.line++;
    }
  }

  /** Acts on a scanned record; false when framing must wait for more input. */
  private handle(s: Scan, eof: boolean): boolean {
    const p0 = this.pos;
    const firstEol = this.view.indexOf(this.eol, p0);
    // The scan stopped at maxRecordBytes (+ a CRLF) from the record's start: the record is longer.
    const limited = this.len - p0 >= this.max + 3;
    if (s.kind === 'record') {
      let bytes = s.end - p0;
      if (this.win[s.end - 1] === this.eol) bytes -= this.eol === LF && s.end - 2 >= p0 && this.win[s.end - 2] === CR ? 2 : 1;
      if (bytes > this.max) {
        if (s.lines === 0) this.tooLongLine(p0, firstEol);
        else this.tooLongRecord(p0, firstEol, s.lines + 1);
        this.atBoundary();
        return true;
      }
      // A one-line record joins the run, unless it is a single quoted field: `""` is data, not an empty line, and
      // only `record` can tell the rows reader so.
      if (s.lines === 0 && s.fields > 1 && !this.lineByLine) {
        this.extendRun(s.end);
        if (this.base + this.pos >= this.stopAt) this.atBoundary();
        return true;
      }
      this.flushRun();
      const landed = this.sink.record(this.win, p0, s.end, this.line, s.lines + 1);
      if (landed || s.lines === 0) {
        this.pos = s.end;
        this.line += s.lines + 1;
      } else {
        this.pos = firstEol + 1;
        this.line++;
      }
      this.atBoundary();
      return true;
    }
    if ((s.kind === 'more' || s.kind === 'open') && !limited && !eof) return false; // the record may still end
    if (firstEol < 0 && !eof) {
      // Its first line has not ended yet: wait, unless that line is already too long.
      if (!this.overLong(p0, -1)) return false;
      this.tooLongLine(p0, -1);
      this.atBoundary();
      return true;
    }
    if (this.overLong(p0, firstEol)) {
      this.tooLongLine(p0, firstEol);
      this.atBoundary();
      return true;
    }
    if (s.kind === 'more') {
      // Not an open quote, yet no end within the limit: a record over several lines (a quoted field closed on a
      // later line) that is too long.
      this.tooLongRecord(p0, firstEol, 0);
      this.atBoundary();
      return true;
    }
    this.flushRun();
    const firstEnd = firstEol < 0 ? this.len : firstEol;
    const problem: FrameProblem = s.kind === 'open' ? { kind: 'quote-not-closed', field: s.field, atEof: !limited } : s.problem;
    this.sink.unparsable(this.line, problem, this.win, p0, trimCr(this.view, p0, firstEnd));
    this.pos = firstEol < 0 ? this.len : firstEol + 1;
    this.line++;
    this.atBoundary();
    return true;
  }

  /** A record over several lines that is longer than maxRecordBytes: its first line is rejected, the next read again. */
  private tooLongRecord(p0: number, firstEol: number, lines: number): void {
    this.flushRun();
    this.sink.unparsable(this.line, { kind: 'too-long', lines }, this.win, p0, Math.min(trimCr(this.view, p0, firstEol), p0 + RAW_PREFIX));
    this.pos = firstEol + 1;
    this.line++;
  }

  /**
   * Walks the record at p0 field by field, within maxRecordBytes (+ a CRLF) of its start. `eof`: the window's
   * end is the file's end.
   */
  private scan(p0: number, eof: boolean): Scan {
    const lim = Math.min(this.len, p0 + this.max + 3);
    const v = this.view.subarray(0, lim);
    const final = eof && lim === this.len;
    const eol = this.eol;
    const crlf = eol === LF;
    const d = this.delim;
    const d0 = d[0] as number;
    const dl = d.length;
    let p = p0;
    let field = 0;
    let lines = 0;
    for (;;) {
      if (p < lim && v[p] === QUOTE) {
        // Quoted field: up to a quote that is not followed by another one ("" is an escaped quote).
        let c = p + 1;
        let close: number;
        for (;;) {
          const qq = v.indexOf(QUOTE, c);
          if (qq < 0) return { kind: 'open', field };
          if (qq + 1 >= lim) {
            if (!final) return { kind: 'more' };
            close = qq;
            break;
          }
          if (v[qq + 1] === QUOTE) {
            c = qq + 2;
            continue;
          }
          close = qq;
          break;
        }
        for (let e = v.indexOf(eol, p + 1); e >= 0 && e < close; e = v.indexOf(eol, e + 1)) lines++;
        p = close + 1;
        if (p >= lim) return final ? { kind: 'record', end: lim, lines, fields: field + 1 } : { kind: 'more' };
        const b = v[p] as number;
        if (b === d0 && matchAt(v, p, d)) {
          p += dl;
          field++;
          continue;
        }
        if (b === eol) return { kind: 'record', end: p + 1, lines, fields: field + 1 };
        if (crlf && b === CR) {
          if (p + 1 >= lim) return final ? { kind: 'malformed', problem: { kind: 'closing-quote', field, after: b } } : { kind: 'more' };
          if (v[p + 1] === LF) return { kind: 'record', end: p + 2, lines, fields: field + 1 };
        }
        if (b === d0 && p + dl > lim && !final) return { kind: 'more' };
        return { kind: 'malformed', problem: { kind: 'closing-quote', field, after: b } };
      }
      // Unquoted field: up to the delimiter or the line's end; a quote in it is malformed.
      const e = v.indexOf(eol, p);
      const lineEnd = e < 0 ? lim : e;
      const dAt = lineEnd > p ? v.subarray(p, lineEnd).indexOf(d) : -1;
      const fieldEnd = dAt < 0 ? lineEnd : p + dAt;
      if (fieldEnd > p && v.subarray(p, fieldEnd).indexOf(QUOTE) >= 0) return { kind: 'malformed', problem: { kind: 'opening-quote', field } };
      if (dAt >= 0) {
        p = fieldEnd + dl;
        field++;
        continue;
      }
      if (e >= 0) return { kind: 'record', end: e + 1, lines, fields: field + 1 };
      return final ? { kind: 'record', end: lim, lines, fields: field + 1 } : { kind: 'more' };
    }
  }
}

/** Bytes of a rejected over-long line kept in its reject (raw). */
export const RAW_PREFIX = 1024;

function matchAt(v: Buffer, p: number, d: Buffer): boolean {
  if (p + d.length > v.length) return false;
  for (let i = 1; i < d.length; i++) if (v[p + i] !== d[i]) return false;
  return true;
}

/** End of a line's content: before a CR that ends it. */
function trimCr(v: Buffer, start: number, end: number): number {
  return end > start && v[end - 1] === CR ? end - 1 : end;
}
