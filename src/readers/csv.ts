// CSV reader (`source.type: "csv"`): the canonical wide and long layouts of docs/reference/mail-sources.md §5.1,
// with a column mapping, units (§5.3) and dates/time zones (§5.4).
//
// Speed: one csv-parse Parser over the file stream, records as arrays (`columns: false`) mapped through header
// indexes, no per-row info objects. csv-parse's own `on_record`/`info` options build an info object per row
// (two object spreads) and roughly halve throughput, so the parser's `push` is overridden instead: it runs
// synchronously inside csv-parse for each record, when `parser.info.lines` is the record's last line, and the
// record never enters the stream buffer. Dates and domains repeat across rows and are cached by cell text.
//
// Lines: origin.line is the 1-based physical line where the row starts. csv-parse counts the line a record
// ends on, and counts a CRLF *inside a quoted field* (or ending a line of an LF file) as two lines; the reader
// corrects both from the line breaks inside the record's fields (see `rowLine`).

import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type CsvError } from 'csv-parse';
import { z } from 'zod';
import { dayOf, isValidDate, isValidTimeZone } from '../dates.js';
import { TiError, errorMessage, type RejectCode } from '../errors.js';
import { METRICS, XS_INT_MAX, canonicalDomain, type HeldKey, type Metric, type Metrics, type SourceRecord, type Target } from '../model.js';
import { UNIT_NAMES, parseAmount, unitOf, type Unit } from '../units.js';
import { STDIN_NAME, openInput, type InputFile } from '../input/files.js';
import type { Reader, ReaderContext } from './types.js';

// ───────────────────────────── config ─────────────────────────────

const WIDE_ROLES = ['date', 'domain', 'dom_id', ...METRICS] as const;
const LONG_ROLES = ['date', 'domain', 'dom_id', 'protocol', 'direction', 'bytes', 'unit'] as const;
type Role = (typeof WIDE_ROLES)[number] | (typeof LONG_ROLES)[number];
const LONG_ONLY: readonly Role[] = ['protocol', 'direction', 'bytes', 'unit'];

const headerName = z.string().trim().min(1);

export const csvSourceSchema = z
  .strictObject({
    type: z.literal('csv'),
    /** File path, relative to the pipeline file; `-` = standard input; `*.gz` is gunzipped while read. */
    path: z.string().min(1),
    /** wide: one row per domain-day with metric columns; long: one row per domain-day-protocol-direction. */
    layout: z.enum(['wide', 'long']).default('wide'),
    /** Our column name → the file's header name (matched trimmed and case-insensitively). */
    columns: z
      .strictObject({
        date: headerName.optional(),
        domain: headerName.optional(),
        dom_id: headerName.optional(),
        smtp_in: headerName.optional(),
        smtp_out: headerName.optional(),
        pop3_imap_in: headerName.optional(),
        pop3_imap_out: headerName.optional(),
        protocol: headerName.optional(),
        direction: headerName.optional(),
        bytes: headerName.optional(),
        unit: headerName.optional(),
      })
      .optional(),
    /** Unit of every value (a long file's `unit` column overrides it per row): KB/MB/GB = 10^3.., KiB/MiB/GiB = 2^10.. */
    unit: z.enum(UNIT_NAMES).default('B'),
    /** IANA zone that defines a day: timestamps are bucketed into its days; offset-less times are local to it. */
    timezone: z.string().refine(isValidTimeZone, { error: 'expected an IANA time zone name such as Europe/Berlin' }).default('UTC'),
    delimiter: z
      .string()
      .min(1)
      .refine((d) => !/["\r\n]/.test(d), { error: 'a delimiter cannot contain a quote or a line break' })
      .default(','),
  })
  .superRefine((cfg, ctx) => {
    // A mapped column the layout never reads is a mistake in the pipeline file, not something to ignore.
    for (const role of Object.keys(cfg.columns ?? {}) as Role[]) {
      const used = cfg.layout === 'wide' ? !LONG_ONLY.includes(role) : !(METRICS as readonly string[]).includes(role);
      if (!used) {
        ctx.addIssue({ code: 'custom', path: ['columns', role], message: `"${role}" is not a column of the ${cfg.layout} layout` });
      }
    }
  });

export type CsvSourceConfig = z.output<typeof csvSourceSchema>;
export type CsvSourceInput = z.input<typeof csvSourceSchema>;

/** Tuning, not configuration (the pipeline file cannot set it). */
export interface CsvReaderOptions {
  /** Input bytes without any record ending before the run stops as an unclosed quote (default 16 MiB). */
  maxRecordBytes?: number;
}

export function createCsvReader(cfg: CsvSourceConfig, opts: CsvReaderOptions = {}): Reader {
  const maxRecordBytes = opts.maxRecordBytes ?? MAX_RECORD_BYTES;
  return {
    label: 'csv',
    sliceInputs: (baseDir) => (cfg.path === '-' ? [] : [path.resolve(baseDir, cfg.path)]),
    read: async (ctx, emit) => {
      await new CsvRun(cfg, ctx, emit, false, maxRecordBytes).run();
    },
    check: async (ctx) => {
      const run = new CsvRun(cfg, ctx, () => {}, true, maxRecordBytes);
      await run.run();
      return run.describe();
    },
  };
}

// ───────────────────────────── dates ─────────────────────────────

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const COMPACT_DAY_RE = /^\d{8}$/;
const EPOCH_RE = /^\d{9,}$/;
const ISO_RE = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;
/** 9999-12-31T23:59:59Z: beyond it a day is not `YYYY-MM-DD` (and 13 digits are milliseconds, not seconds). */
const MAX_EPOCH_S = 253402300799;

/**
 * The day of a date cell in `zone`, or null. Forms (docs/reference/mail-sources.md §5.4): `YYYY-MM-DD`; `YYYYMMDD` (OpenSRS);
 * epoch seconds (all digits, ≥ 9); ISO-8601 `YYYY-MM-DD[T ]HH:MM[:SS[.fff]]` with `Z`/`±HH[:MM]` (an instant,
 * put into `zone`'s day) or without an offset (local time in `zone`: its day is its own date part, no zone maths).
 */
function parseDay(cell: string, dayOfInstant: (ms: number) => string): string | null {
  const s = cell.trim();
  if (DAY_RE.test(s)) return isValidDate(s) ? s : null;
  if (COMPACT_DAY_RE.test(s)) {
    const d = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}`;
    return isValidDate(d) ? d : null;
  }
  if (EPOCH_RE.test(s)) {
    const sec = Number(s);
    return sec <= MAX_EPOCH_S ? dayOfInstant(sec * 1000) : null;
  }
  const m = ISO_RE.exec(s);
  if (!m) return null;
  const [, day = '', hh = '', mi = '', ss = '00', off] = m;
  if (!isValidDate(day) || Number(hh) > 23 || Number(mi) > 59 || Number(ss) > 59) return null;
  if (off === undefined) return day;
  // Sub-seconds are dropped: day boundaries fall on whole minutes, so they cannot change the day.
  const ms = Date.parse(`${day}T${hh}:${mi}:${ss}${normalizeOffset(off)}`);
  return Number.isNaN(ms) ? null : dayOfInstant(ms);
}

/** `Z`, `+05`, `+0530`, `+05:30` → the `Z`/`±HH:MM` form Date.parse reads (ECMA-262 date time string format). */
function normalizeOffset(off: string): string {
  if (off === 'Z' || off === 'z') return 'Z';
  const digits = off.slice(1).replace(':', '');
  return `${off[0]}${digits.slice(0, 2)}:${digits.slice(2) || '00'}`;
}

// ───────────────────────────── values ─────────────────────────────

const PROTOCOLS: Record<string, 'smtp' | 'pop3_imap'> = {
  smtp: 'smtp',
  pop3: 'pop3_imap',
  imap: 'pop3_imap',
  pop3_imap: 'pop3_imap',
  'pop3-imap': 'pop3_imap', // Plesk CLI vocabulary (docs/reference/mail-sources.md §5.1)
};
/** Traffic that is real but not mail: counted as ignored, not rejected. */
const NON_MAIL_PROTOCOLS = new Set(['http', 'https', 'ftp', 'ftps', 'web']);
const LONG_METRIC: Record<string, Metric> = {
  'smtp|in': 'smtp_in',
  'smtp|out': 'smtp_out',
  'pop3_imap|in': 'pop3_imap_in',
  'pop3_imap|out': 'pop3_imap_out',
};

/** Lower-case LDH labels (underscore tolerated: real zones have `_dmarc`-style names), ≤ 63 each, ≤ 253 in all. */
const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const DOM_ID_RE = /^\d{1,10}$/;

/** Caches are keyed by cell text and cleared when full, so memory stays bounded whatever the input. */
const CACHE_MAX = 100_000;
/**
 * A traffic row is well under 1 KiB: this much input without a record ending is an unclosed quote swallowing
 * the file into one field, in memory. Checked per chunk (see `guard`), not with csv-parse's max_record_size,
 * which tests every character and cost ~5% of parsing (callgrind, 100k-row bench file).
 */
const MAX_RECORD_BYTES = 16 << 20;

interface CellError {
  code: RejectCode;
  reason: string;
}

// ───────────────────────────── header ─────────────────────────────

interface MetricColumn {
  metric: Metric;
  index: number;
  name: string;
}

interface Header {
  width: number;
  /** The file's header names, trimmed, by index. */
  names: string[];
  date: number;
  domain: number;
  domId: number;
  metrics: MetricColumn[];
  /** Indexes of smtp_in, smtp_out, pop3_imap_in, pop3_imap_out when all four columns are present. */
  allMetrics: [number, number, number, number] | undefined;
  protocol: number;
  direction: number;
  bytes: number;
  unit: number;
}

function resolveHeader(cells: string[], cfg: CsvSourceConfig, file: string): Header {
  const names = cells.map((c) => c.trim());
  const lower = names.map((n) => n.toLowerCase());
  const mapping: Partial<Record<Role, string>> = cfg.columns ?? {};
  const mapped = new Set(Object.values(mapping).map((n) => n.trim().toLowerCase()));
  const find = (role: Role): number => {
    const wanted = mapping[role];
    const name = (wanted ?? role).trim().toLowerCase();
    // A header named after one of our roles but mapped to another role belongs to that other role only.
    if (wanted === undefined && mapped.has(name)) return -1;
    const first = lower.indexOf(name);
    if (first >= 0 && lower.indexOf(name, first + 1) >= 0) {
      throw new TiError('TI_SOURCE_HEADER', `${file}: column "${names[first]}" appears twice in the header`, { file });
    }
    if (first < 0 && wanted !== undefined) {
      throw new TiError('TI_SOURCE_HEADER', `${file}: column "${wanted}" (columns.${role}) is not in the header: ${names.join(', ')}`, { file });
    }
    return first;
  };
  const h: Header = {
    width: cells.length,
    names,
    date: find('date'),
    domain: find('domain'),
    domId: find('dom_id'),
    metrics: [],
    allMetrics: undefined,
    protocol: -1,
    direction: -1,
    bytes: -1,
    unit: -1,
  };
  const missing: string[] = [];
  if (h.date < 0) missing.push(mapping.date ? `date ("${mapping.date}")` : 'date');
  if (h.domain < 0 && h.domId < 0) missing.push('domain or dom_id');
  if (cfg.layout === 'wide') {
    for (const metric of METRICS) {
      const index = find(metric);
      // A metric column that is absent is *missing* (unknown), not zero: model.ts Metrics.
      if (index >= 0) h.metrics.push({ metric, index, name: names[index] ?? metric });
    }
    if (h.metrics.length === 4) h.allMetrics = h.metrics.map((c) => c.index) as [number, number, number, number];
    if (h.metrics.length === 0) missing.push(`a metric column (any of ${METRICS.join(', ')})`);
  } else {
    h.protocol = find('protocol');
    h.direction = find('direction');
    h.bytes = find('bytes');
    h.unit = find('unit');
    for (const role of ['protocol', 'direction', 'bytes'] as const) if (h[role] < 0) missing.push(role);
  }
  if (missing.length > 0) {
    throw new TiError(
      'TI_SOURCE_HEADER',
      `${file}: ${cfg.layout} layout needs ${missing.join(', ')}; header is: ${names.join(', ') || '(empty)'}`,
      { file, missing },
    );
  }
  return h;
}

// ───────────────────────────── parser ─────────────────────────────

/**
 * csv-parse's stream Parser with `push` taken over: csv-parse calls `this.push(record)` synchronously for every
 * record while it parses a chunk, so `this.info.lines` is exact at that moment and no record is buffered.
 */
class RecordParser extends Parser {
  /** What our own record handler threw: the run's error as it is (not "source unreadable"). */
  handlerError: unknown;
  private failed = false;
  constructor(
    options: ConstructorParameters<typeof Parser>[0],
    private readonly onRecord: (record: string[], endLine: number) => void,
  ) {
    super(options);
  }
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return super.push(null, encoding);
    if (this.failed) return true;
    try {
      this.onRecord(chunk as string[], this.info.lines);
    } catch (err) {
      // Thrown here it would escape through the source stream's 'data' handler: fail the pipeline instead.
      this.failed = true;
      this.handlerError = err;
      this.destroy(err instanceof Error ? err : new Error(String(err)));
    }
    return true;
  }
}

/** Thrown to end a header-only `check` early. */
const STOP = new Error('header read');

class CsvRun {
  private readonly file: string;
  private readonly unit: Unit;
  private readonly wide: boolean;
  private header: Header | undefined;
  private headerLine = 0;
  /** Set once the run cannot go on (bad header) or a check has what it needs. */
  private stopped = false;
  /** Lines csv-parse counted twice so far (CRLF inside quoted fields). */
  private drift = 0;
  /** Corrected last line of the previous record. */
  private lastEnd = 0;
  /** Bytes fed to the parser so far, and when the last record ended. */
  private fed = 0;
  private fedAtRecord = 0;
  private readonly dayCache = new Map<string, string | null>();
  private lastDateCell = '';
  private lastDate: string | null | undefined;
  private readonly minuteCache = new Map<number, string>();
  private readonly domainCache = new Map<string, string | CellError>();
  private readonly ignoredProtocols = new Map<string, number>();
  private readonly dayOfInstant: (ms: number) => string;

  constructor(
    private readonly cfg: CsvSourceConfig,
    private readonly ctx: ReaderContext,
    private readonly emit: (rec: SourceRecord) => void,
    private readonly headerOnly: boolean,
    private readonly maxRecordBytes: number,
  ) {
    this.file = cfg.path === '-' ? STDIN_NAME : cfg.path;
    this.wide = cfg.layout === 'wide';
    this.unit = cfg.unit;
    const zone = cfg.timezone;
    // Zone offsets are whole minutes (tzdb since 1972), so every instant of a minute has the same day:
    // one dayjs tz call per distinct minute instead of per row (the tz plugin is slow per call, dayjs #1236).
    this.dayOfInstant = (ms) => {
      const minute = Math.floor(ms / 60_000);
      let day = this.minuteCache.get(minute);
      if (day === undefined) {
        day = dayOf(minute * 60_000, zone);
        if (this.minuteCache.size >= CACHE_MAX) this.minuteCache.clear();
        this.minuteCache.set(minute, day);
      }
      return day;
    };
  }

  describe(): string {
    const h = this.header;
    if (!h) return `${this.file}: no header`;
    const col = (role: string, i: number): string => (h.names[i]?.toLowerCase() === role ? role : `${role}="${h.names[i]}"`);
    const cols: string[] = [col('date', h.date)];
    if (h.domain >= 0) cols.push(col('domain', h.domain));
    if (h.domId >= 0) cols.push(col('dom_id', h.domId));
    if (this.cfg.layout === 'wide') {
      for (const m of h.metrics) cols.push(col(m.metric, m.index));
      const absent = METRICS.filter((m) => !h.metrics.some((c) => c.metric === m));
      if (absent.length > 0) cols.push(`(no ${absent.join(', ')}: left as recorded)`);
    } else {
      cols.push(col('protocol', h.protocol), col('direction', h.direction), col('bytes', h.bytes));
      if (h.unit >= 0) cols.push(col('unit', h.unit));
    }
    return `${this.cfg.layout} layout, columns: ${cols.join(', ')}; unit ${this.unit}; time zone ${this.cfg.timezone}`;
  }

  async run(): Promise<void> {
    const source = await this.openSource();
    const parser = new RecordParser(
      {
        bom: true,
        delimiter: this.cfg.delimiter,
        // record_delimiter is left to csv-parse's discovery (the first line's ending): listing ['\r\n', '\n', '\r']
        // costs ~7% of parsing (one comparison per delimiter per character). An LF file with some CRLF lines
        // still reads right (the stray CR is trimmed, see rowLine); a CRLF file with LF-only lines merges those
        // rows, which then fail the column count and are rejected, never silently lost.
        skip_empty_lines: true,
        // Column count is checked per row against the header (R_COLUMN_COUNT) instead of failing the file.
        relax_column_count: true,
        // Malformed quoting drops that record (R_PARSE) and parsing goes on where csv-parse can resync.
        skip_records_with_error: true,
        on_skip: (err) => {
          this.onSkip(err);
          return undefined;
        },
      },
      (record, endLine) => this.onRecord(record, endLine),
    );
    parser.resume(); // records never reach the readable side; keep it flowing so 'end' fires
    // Counts the bytes going into the parser; fails when none of the last maxRecordBytes ended a record.
    const guard = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.fed += chunk.length;
        if (this.fed - this.fedAtRecord <= this.maxRecordBytes) return callback(null, chunk);
        this.stopped = true;
        callback(
          new TiError(
            'TI_SOURCE_FORMAT',
            `${this.file}: no record ends in the ${this.maxRecordBytes} bytes after line ${this.lastEnd}: an unclosed quote?`,
            { file: this.file, line: this.lastEnd + 1 },
          ),
        );
      },
    });
    const opts = this.ctx.signal ? { signal: this.ctx.signal } : {};
    try {
      await pipeline(source, guard, parser, opts);
    } catch (err) {
      if (err === STOP) return;
      if (parser.handlerError !== undefined) throw parser.handlerError;
      if (err instanceof TiError || (err as Error)?.name === 'AbortError') throw err;
      throw new TiError('TI_SOURCE_UNREADABLE', `${this.file}: ${errorMessage(err)}`, { file: this.file }, { cause: err });
    }
    if (!this.header) throw new TiError('TI_SOURCE_HEADER', `${this.file}: the file is empty (no header line)`, { file: this.file });
    for (const [protocol, count] of this.ignoredProtocols) this.ctx.ignored(`csv protocol ${protocol}`, count);
  }

  private openSource(): Promise<Readable> {
    const input: InputFile = this.cfg.path === '-' ? { name: STDIN_NAME } : { name: this.cfg.path, path: path.resolve(this.ctx.baseDir, this.cfg.path) };
    return openInput(input, this.ctx);
  }

  // ── per record ──

  /** 1-based physical line where the record starts; see the file comment. */
  private rowLine(record: string[], csvEndLine: number): number {
    let end = csvEndLine - this.drift;
    let start = end;
    // A one-line record right after the previous one: the common case, no scan needed. Any line break inside
    // the record, or a skipped empty/bad line, moves `end` further.
    if (end !== this.lastEnd + 1) {
      let breaks = 0;
      let crlf = 0;
      const lastField = record[record.length - 1] ?? '';
      if (lastField.endsWith('\r')) {
        // A CRLF line in a file whose delimiter is LF: the CR stays in the last field and csv-parse counts
        // the line twice (CR, then LF). It is a line ending, not a line break inside the record.
        crlf++;
        breaks--;
      }
      for (const field of record) {
        if (field.indexOf('\n') < 0 && field.indexOf('\r') < 0) continue;
        for (let i = 0; i < field.length; i++) {
          const c = field.charCodeAt(i);
          if (c === 13) {
            breaks++;
            if (field.charCodeAt(i + 1) === 10) {
              crlf++;
              i++;
            }
          } else if (c === 10) {
            breaks++;
          }
        }
      }
      this.drift += crlf;
      end -= crlf;
      start = end - breaks;
    }
    this.lastEnd = end;
    return start;
  }

  private onSkip(err: CsvError | undefined): void {
    // csv-parse finishes the chunk in hand after the run failed or a check stopped: nothing more to report.
    if (this.stopped) return;
    this.fedAtRecord = this.fed;
    if (this.header === undefined) {
      // Without a header no row can be read (the next row would be taken for it).
      this.stopped = true;
      throw new TiError('TI_SOURCE_HEADER', `${this.file}: the header line cannot be parsed: ${err?.message ?? 'malformed'}`, { file: this.file });
    }
    const csvLine = typeof err?.lines === 'number' ? err.lines : this.lastEnd + 1;
    // With `columns: false` csv-parse gives the field's index as `column`.
    const column = typeof err?.column === 'number' ? this.header?.names[err.column] : undefined;
    this.ctx.reject({
      file: this.file,
      line: Math.max(1, csvLine - this.drift),
      ...(column !== undefined ? { column } : {}),
      code: 'R_PARSE',
      reason: `${err?.code ?? 'CSV_ERROR'}: ${err?.message ?? 'record cannot be parsed'}`,
    });
  }

  private onRecord(record: string[], csvEndLine: number): void {
    this.fedAtRecord = this.fed;
    const line = this.rowLine(record, csvEndLine);
    const h = this.header;
    if (h === undefined) {
      this.stopped = true; // until the header is known good
      this.header = resolveHeader(record, this.cfg, this.file);
      this.headerLine = line;
      if (this.headerOnly) throw STOP;
      this.stopped = false;
      return;
    }
    if (record.length !== h.width) {
      // A line of blanks is an empty line, not a row.
      if (record.length === 1 && (record[0] ?? '').trim() === '') return;
      this.reject(line, undefined, 'R_COLUMN_COUNT', `expected ${h.width} columns as in the header (line ${this.headerLine}), got ${record.length}`, record);
      return;
    }
    const dateCell = record[h.date] as string;
    // Rows come in runs of one date: comparing 10 characters is cheaper than hashing them for the cache.
    let date = dateCell === this.lastDateCell ? this.lastDate : this.dayCache.get(dateCell);
    if (date === undefined) {
      date = parseDay(dateCell, this.dayOfInstant);
      if (this.dayCache.size >= CACHE_MAX) this.dayCache.clear();
      this.dayCache.set(dateCell, date);
    }
    this.lastDateCell = dateCell;
    this.lastDate = date;
    if (date === null) {
      this.reject(line, h.names[h.date], 'R_BAD_DATE', `not a valid date or timestamp: ${JSON.stringify(dateCell)}`, record);
      return;
    }
    const target = this.target(record, h, line);
    if (target === undefined) return;
    if (this.wide) this.wideRow(record, h, line, target, date);
    else this.longRow(record, h, line, target, date);
  }

  private wideRow(record: string[], h: Header, line: number, target: Target, date: string): void {
    const all = h.allMetrics;
    if (all !== undefined) {
      // Fast path, the usual file: all four columns, all four numbers. One object literal (one shape) instead of
      // four keyed stores; anything else (an empty cell, a bad value) takes the general path below.
      const unit = this.unit;
      const a = parseAmount(record[all[0]] as string, unit);
      const b = parseAmount(record[all[1]] as string, unit);
      const c = parseAmount(record[all[2]] as string, unit);
      const d = parseAmount(record[all[3]] as string, unit);
      if (typeof a === 'bigint' && typeof b === 'bigint' && typeof c === 'bigint' && typeof d === 'bigint') {
        this.emit({ target, date, metrics: { smtp_in: a, smtp_out: b, pop3_imap_in: c, pop3_imap_out: d }, origin: { file: this.file, line } });
        return;
      }
    }
    const metrics: Metrics = {};
    const cols = h.metrics;
    for (let i = 0; i < cols.length; i++) {
      const col = cols[i] as MetricColumn;
      const cell = record[col.index] as string;
      if (cell === '') continue; // see below
      const v = parseAmount(cell, this.unit);
      if (typeof v !== 'bigint') {
        // An empty cell in a present metric column is missing for this row (unknown, not 0), like an absent
        // column. Checked after parsing failed: the common case, a number, pays nothing for it.
        if (cell.trim() === '') continue;
        // The whole row is refused: every metric it had a value for is held back for its key.
        const lost = cols.filter((c) => (record[c.index] as string).trim() !== '').map((c) => c.metric);
        this.reject(line, col.name, v.error, `${col.name}: ${v.reason}`, record, { target, date, metrics: lost });
        return;
      }
      metrics[col.metric] = v;
    }
    this.emit({ target, date, metrics, origin: { file: this.file, line } });
  }

  private longRow(record: string[], h: Header, line: number, target: Target, date: string): void {
    const protoCell = record[h.protocol] as string;
    const proto = protoCell.trim().toLowerCase();
    const kind = PROTOCOLS[proto];
    if (kind === undefined) {
      if (NON_MAIL_PROTOCOLS.has(proto)) {
        this.ignoredProtocols.set(proto, (this.ignoredProtocols.get(proto) ?? 0) + 1);
        return;
      }
      const name = h.names[h.protocol] as string;
      // Whatever mail metric it was, it is one the direction allows: those are held back for the key.
      const dir = (record[h.direction] as string).trim().toLowerCase();
      const lost = METRICS.filter((m) => (dir === 'in' || dir === 'out' ? m.endsWith(`_${dir}`) : true));
      this.reject(line, name, 'R_BAD_PROTOCOL', `unknown protocol ${JSON.stringify(protoCell)} (expected smtp, pop3, imap or pop3_imap)`, record, { target, date, metrics: lost });
      return;
    }
    const dirCell = record[h.direction] as string;
    const metric = LONG_METRIC[`${kind}|${dirCell.trim().toLowerCase()}`];
    if (metric === undefined) {
      const name = h.names[h.direction] as string;
      const lost = METRICS.filter((m) => m.startsWith(`${kind}_`));
      this.reject(line, name, 'R_BAD_DIRECTION', `unknown direction ${JSON.stringify(dirCell)} (expected in or out)`, record, { target, date, metrics: lost });
      return;
    }
    let unit = this.unit;
    if (h.unit >= 0) {
      const unitCell = record[h.unit] as string;
      if (unitCell.trim() !== '') {
        const u = unitOf(unitCell);
        if (u === undefined) {
          const name = h.names[h.unit] as string;
          this.reject(line, name, 'R_BAD_UNIT', `unknown unit ${JSON.stringify(unitCell)} (expected one of ${UNIT_NAMES.join(', ')})`, record, { target, date, metrics: [metric] });
          return;
        }
        unit = u;
      }
    }
    const bytesName = h.names[h.bytes] as string;
    const cell = record[h.bytes] as string;
    const v = cell.trim() === '' ? { error: 'R_NOT_NUMERIC' as const, reason: 'empty value' } : parseAmount(cell, unit);
    if (typeof v !== 'bigint') {
      this.reject(line, bytesName, v.error, `${bytesName}: ${v.reason}`, record, { target, date, metrics: [metric] });
      return;
    }
    const metrics: Metrics = {};
    metrics[metric] = v;
    this.emit({ target, date, metrics, origin: { file: this.file, line } });
  }

  /** The row's target: the domain when its cell is non-empty, else dom_id; rejects and returns undefined if neither. */
  private target(record: string[], h: Header, line: number): Target | undefined {
    if (h.domain >= 0) {
      const cell = record[h.domain] as string;
      let domain = this.domainCache.get(cell);
      if (domain === undefined) {
        domain = checkDomain(cell);
        if (this.domainCache.size >= CACHE_MAX) this.domainCache.clear();
        this.domainCache.set(cell, domain);
      }
      if (typeof domain === 'string') return { domain };
      if (domain !== EMPTY) {
        this.reject(line, h.names[h.domain], domain.code, domain.reason, record);
        return undefined;
      }
    }
    if (h.domId >= 0) {
      const cell = (record[h.domId] as string).trim();
      if (cell !== '') {
        const id = DOM_ID_RE.test(cell) ? Number(cell) : NaN;
        if (!(id >= 1 && id <= XS_INT_MAX)) {
          this.reject(line, h.names[h.domId], 'R_BAD_TARGET', `dom_id must be an integer 1..${XS_INT_MAX}, got ${JSON.stringify(cell)}`, record);
          return undefined;
        }
        return { domId: id };
      }
    }
    const column = h.domain >= 0 ? h.names[h.domain] : h.names[h.domId];
    this.reject(line, column, 'R_EMPTY_TARGET', h.domain >= 0 && h.domId >= 0 ? 'domain and dom_id are both empty' : `${column} is empty`, record);
    return undefined;
  }

  /** `affects`: the key and metrics the rejected row had values for (held back, see normalize.ts). */
  private reject(line: number, column: string | undefined, code: RejectCode, reason: string, record: string[], affects?: HeldKey): void {
    this.ctx.reject({
      file: this.file,
      line,
      ...(column !== undefined ? { column } : {}),
      code,
      reason,
      raw: rawRow(record, this.cfg.delimiter),
      ...(affects !== undefined ? { affects } : {}),
    });
  }
}

/** A blank domain cell: the row may still name its target by dom_id. */
const EMPTY: CellError = { code: 'R_EMPTY_TARGET', reason: 'domain is empty' };

function checkDomain(cell: string): string | CellError {
  const name = cell.trim();
  if (name === '') return EMPTY;
  // Checked before canonicalDomain: URL's domainToASCII silently drops tabs and line breaks ("c\r\n.com" → c.com).
  // eslint-disable-next-line no-control-regex
  const domain = /[\x00-\x20\x7f]/.test(name) ? '' : canonicalDomain(name);
  if (domain === '' || !HOSTNAME_RE.test(domain)) {
    return { code: 'R_BAD_TARGET', reason: `not a valid domain name: ${JSON.stringify(cell.trim())}` };
  }
  return domain;
}

/** The row as CSV again (quoted where needed), for the reject file. */
function rawRow(record: string[], delimiter: string): string {
  return record
    .map((f) => (f.includes(delimiter) || /["\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f))
    .join(delimiter);
}
