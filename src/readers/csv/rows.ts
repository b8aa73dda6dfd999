// Records (arrays of cells, from parse.ts) → rows of the Normalizer: the header first, then per record its target,
// day and metrics in the wide or long layout, or a reject with its line, column, code and reason.
//
// Speed: this runs once per row. A row of the usual file (all four metrics, plain byte counts) costs a date
// comparison, one cache lookup for the target and four digit loops; no SourceRecord, bigint or metrics object is
// made when the sink is the Normalizer (`RowSink` is its indexed API). Targets and days are resolved once per
// distinct cell text.

import { TiError, type RejectCode } from '../../errors.js';
import { METRICS, XS_INT_MAX, canonicalDomain, type HeldKey, type Metric, type SourceRecord, type Target } from '../../model.js';
import { NO_VALUE, type Amount } from '../../normalize.js';
import { UNIT_NAMES, UNITS, parseAmount, smallInt, unitOf, type Unit } from '../../units.js';
import type { Rejection } from '../types.js';
import type { CsvSourceConfig } from './config.js';
import { DayParser } from './dates.js';
import { resolveHeader, type Header, type MetricColumn } from './header.js';

/** Where rows go: the Normalizer's indexed API (or SourceRecords, see EmitSink). */
export interface RowSink {
  targetIndex(t: Target): number;
  dayIndex(date: string): number;
  addRow(ti: number, di: number, a: Amount, b: Amount, c: Amount, d: Amount, line: number, file: string): void;
}

/** Rows as SourceRecords, for `Reader.read(ctx, emit)`. */
export class EmitSink implements RowSink {
  private readonly targets: Target[] = [];
  private readonly days: string[] = [];
  private readonly dayIndexes = new Map<string, number>();
  constructor(private readonly emit: (rec: SourceRecord) => void) {}
  targetIndex(t: Target): number {
    // Called once per distinct target cell (RowReader caches the index).
    return this.targets.push(t) - 1;
  }
  dayIndex(date: string): number {
    let di = this.dayIndexes.get(date);
    if (di === undefined) {
      di = this.days.push(date) - 1;
      this.dayIndexes.set(date, di);
    }
    return di;
  }
  addRow(ti: number, di: number, a: Amount, b: Amount, c: Amount, d: Amount, line: number, file: string): void {
    const metrics: SourceRecord['metrics'] = {};
    if (a !== NO_VALUE) metrics.smtp_in = BigInt(a);
    if (b !== NO_VALUE) metrics.smtp_out = BigInt(b);
    if (c !== NO_VALUE) metrics.pop3_imap_in = BigInt(c);
    if (d !== NO_VALUE) metrics.pop3_imap_out = BigInt(d);
    this.emit({ target: this.targets[ti] as Target, date: this.days[di] as string, metrics, origin: { file, line } });
  }
}

/**
 * What became of a record. Blank: an empty or blank line, neither a row nor an error; Ignored: counted, not a row
 * (web or ftp traffic in a long file).
 */
export const RowResult = { Landed: 0, Rejected: 1, Blank: 2, Header: 3, Ignored: 4 } as const;
export type RowResult = (typeof RowResult)[keyof typeof RowResult];

/** What a reader reports besides rows (ReaderContext's reject and ignored). */
export interface RowEvents {
  reject(r: Rejection): void;
  ignored(what: string, count?: number): void;
}

const PROTOCOLS: Record<string, 'smtp' | 'pop3_imap'> = {
  smtp: 'smtp',
  pop3: 'pop3_imap',
  imap: 'pop3_imap',
  pop3_imap: 'pop3_imap',
  'pop3-imap': 'pop3_imap', // Plesk CLI vocabulary (docs/reference/mail-sources.md §5.1)
};
/** Traffic that is real but not mail: counted as ignored, not rejected. */
const NON_MAIL_PROTOCOLS = new Set(['http', 'https', 'ftp', 'ftps', 'web']);
const LONG_METRIC: Record<string, number> = {
  'smtp|in': 0,
  'smtp|out': 1,
  'pop3_imap|in': 2,
  'pop3_imap|out': 3,
};

/** Lower-case LDH labels (underscore tolerated: real zones have `_dmarc`-style names), ≤ 63 each, ≤ 253 in all. */
const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const DOM_ID_RE = /^\d{1,10}$/;
const SAFE = Number.MAX_SAFE_INTEGER;
/** Caches are keyed by cell text and cleared when full, so memory stays bounded whatever the input. */
const CACHE_MAX = 100_000;

interface CellError {
  code: RejectCode;
  reason: string;
}

/** A blank domain cell: the row may still name its target by dom_id. */
const EMPTY: CellError = { code: 'R_EMPTY_TARGET', reason: 'domain is empty' };

export class RowReader {
  header: Header | undefined;
  headerLine = 0;
  /** Rows handed to the sink. */
  rowsOut = 0;
  private readonly days: DayParser;
  private lastDay: string | null = null;
  private lastDayIndex = 0;
  private readonly domains = new Map<string, number | CellError>();
  private readonly ids = new Map<number, number>();
  /** Targets by the sink's index: a rejected row says which key it belonged to (Rejection.affects). */
  private readonly targets: Target[] = [];
  private readonly ignoredProtocols = new Map<string, number>();
  private readonly unit: Unit;
  /** Bytes per unit as a number (exact: at most 1024^4). */
  private readonly factor: number;
  private readonly wide: boolean;

  constructor(
    private readonly cfg: CsvSourceConfig,
    /** The file name rejects and records carry. */
    readonly file: string,
    private readonly sink: RowSink,
    private readonly events: RowEvents,
    header?: Header,
  ) {
    this.days = new DayParser(cfg.timezone);
    this.unit = cfg.unit;
    this.factor = Number(UNITS[cfg.unit]);
    this.wide = cfg.layout === 'wide';
    this.header = header;
  }

  /** One record that starts on `line`; `quoted`: it has a quoted field (then it is never a blank line). */
  record(cells: string[], line: number, quoted = false): RowResult {
    const h = this.header;
    if (h === undefined) return this.headerRecord(cells, line, quoted);
    if (cells.length !== h.width) {
      // A line of blanks is an empty line, not a row.
      if (cells.length === 1 && !quoted && (cells[0] as string).trim() === '') return RowResult.Blank;
      return this.reject(line, undefined, 'R_COLUMN_COUNT', `expected ${h.width} columns as in the header (line ${this.headerLine}), got ${cells.length}`, cells);
    }
    const day = this.days.day(cells[h.date] as string);
    if (day === null) return this.reject(line, h.names[h.date], 'R_BAD_DATE', `not a valid date or timestamp: ${JSON.stringify(cells[h.date])}`, cells);
    if (day !== this.lastDay) {
      this.lastDayIndex = this.sink.dayIndex(day);
      this.lastDay = day;
    }
    const ti = this.target(cells, h, line);
    if (ti < 0) return RowResult.Rejected;
    return this.wide ? this.wideRow(cells, h, line, ti, this.lastDayIndex, day) : this.longRow(cells, h, line, ti, this.lastDayIndex, day);
  }

  /**
   * A line that is not a record at all (malformed quoting, too long): rejected with its own number. `field` is
   * the index of the field at fault, when known. Before the header, no row can be read: fatal.
   */
  unparsable(line: number, code: RejectCode, reason: string, raw: string, field?: number): void {
    if (this.header === undefined) {
      throw new TiError('TI_SOURCE_HEADER', `${this.file}: the header line cannot be parsed: ${reason}`, { file: this.file, line });
    }
    const column = field === undefined ? undefined : this.header.names[field];
    this.events.reject({ file: this.file, line, ...(column !== undefined ? { column } : {}), code, reason, raw });
  }

  /** Counts kept until the end (in the order first seen). */
  finish(): void {
    for (const [protocol, count] of this.ignoredProtocols) this.events.ignored(`csv protocol ${protocol}`, count);
    this.ignoredProtocols.clear();
  }

  /** Ignored counts without reporting them (a worker hands them back). */
  takeIgnored(): [string, number][] {
    const out = [...this.ignoredProtocols].map(([p, n]): [string, number] => [`csv protocol ${p}`, n]);
    this.ignoredProtocols.clear();
    return out;
  }

  private headerRecord(cells: string[], line: number, quoted: boolean): RowResult {
    // Empty and blank lines before the header are skipped, as everywhere.
    if (cells.length === 1 && !quoted && (cells[0] as string).trim() === '') return RowResult.Blank;
    this.header = resolveHeader(cells, this.cfg, this.file);
    this.headerLine = line;
    return RowResult.Header;
  }

  private wideRow(cells: string[], h: Header, line: number, ti: number, di: number, day: string): RowResult {
    const all = h.allMetrics;
    if (all !== undefined) {
      // Fast path, the usual file: all four columns, all four plain numbers.
      const a = this.plain(cells[all[0]] as string);
      const b = this.plain(cells[all[1]] as string);
      const c = this.plain(cells[all[2]] as string);
      const d = this.plain(cells[all[3]] as string);
      if (a >= 0 && b >= 0 && c >= 0 && d >= 0) {
        this.sink.addRow(ti, di, a, b, c, d, line, this.file);
        this.rowsOut++;
        return RowResult.Landed;
      }
    }
    const values: Amount[] = [NO_VALUE, NO_VALUE, NO_VALUE, NO_VALUE];
    const cols = h.metrics;
    for (let i = 0; i < cols.length; i++) {
      const col = cols[i] as MetricColumn;
      const cell = cells[col.index] as string;
      if (cell === '') continue; // see below
      const v = parseAmount(cell, this.unit);
      if (typeof v !== 'bigint') {
        // An empty cell in a present metric column is missing for this row (unknown, not 0), like an absent
        // column. Checked after parsing failed: the common case, a number, pays nothing for it.
        if (cell.trim() === '') continue;
        // The whole row is refused: every metric it had a value for is held back for its key.
        const lost = cols.filter((c) => (cells[c.index] as string).trim() !== '').map((c) => c.metric);
        return this.reject(line, col.name, v.error, `${col.name}: ${v.reason}`, cells, this.key(ti, day, lost));
      }
      values[METRIC_SLOT[col.metric]] = v;
    }
    this.sink.addRow(ti, di, values[0] as Amount, values[1] as Amount, values[2] as Amount, values[3] as Amount, line, this.file);
    this.rowsOut++;
    return RowResult.Landed;
  }

  /** A plain byte count (digits only) times the unit, as an exact number; −1 for anything else. */
  private plain(cell: string): number {
    const n = smallInt(cell);
    if (n < 0 || this.factor === 1) return n;
    const v = n * this.factor; // exact when the true product is ≤ 2^53 − 1; anything larger shows as > SAFE
    return v <= SAFE ? v : -1;
  }

  private longRow(cells: string[], h: Header, line: number, ti: number, di: number, day: string): RowResult {
    const protoCell = cells[h.protocol] as string;
    const proto = protoCell.trim().toLowerCase();
    const kind = PROTOCOLS[proto];
    if (kind === undefined) {
      if (NON_MAIL_PROTOCOLS.has(proto)) {
        this.ignoredProtocols.set(proto, (this.ignoredProtocols.get(proto) ?? 0) + 1);
        return RowResult.Ignored;
      }
      // Whatever mail metric it was, it is one the direction allows: those are held back for the key.
      const dir = (cells[h.direction] as string).trim().toLowerCase();
      const lost = METRICS.filter((m) => (dir === 'in' || dir === 'out' ? m.endsWith(`_${dir}`) : true));
      return this.reject(line, h.names[h.protocol], 'R_BAD_PROTOCOL', `unknown protocol ${JSON.stringify(protoCell)} (expected smtp, pop3, imap or pop3_imap)`, cells, this.key(ti, day, lost));
    }
    const dirCell = cells[h.direction] as string;
    const slot = LONG_METRIC[`${kind}|${dirCell.trim().toLowerCase()}`];
    if (slot === undefined) {
      const lost = METRICS.filter((m) => m.startsWith(`${kind}_`));
      return this.reject(line, h.names[h.direction], 'R_BAD_DIRECTION', `unknown direction ${JSON.stringify(dirCell)} (expected in or out)`, cells, this.key(ti, day, lost));
    }
    const metric = METRICS[slot] as Metric;
    let unit = this.unit;
    if (h.unit >= 0) {
      const unitCell = cells[h.unit] as string;
      if (unitCell.trim() !== '') {
        const u = unitOf(unitCell);
        if (u === undefined) {
          return this.reject(line, h.names[h.unit], 'R_BAD_UNIT', `unknown unit ${JSON.stringify(unitCell)} (expected one of ${UNIT_NAMES.join(', ')})`, cells, this.key(ti, day, [metric]));
        }
        unit = u;
      }
    }
    const bytesName = h.names[h.bytes] as string;
    const cell = cells[h.bytes] as string;
    const v = cell.trim() === '' ? { error: 'R_NOT_NUMERIC' as const, reason: 'empty value' } : parseAmount(cell, unit);
    if (typeof v !== 'bigint') return this.reject(line, bytesName, v.error, `${bytesName}: ${v.reason}`, cells, this.key(ti, day, [metric]));
    const values: Amount[] = [NO_VALUE, NO_VALUE, NO_VALUE, NO_VALUE];
    values[slot] = v;
    this.sink.addRow(ti, di, values[0] as Amount, values[1] as Amount, values[2] as Amount, values[3] as Amount, line, this.file);
    this.rowsOut++;
    return RowResult.Landed;
  }

  /** The row's target index: the domain when its cell is non-empty, else dom_id; rejects and returns −1 if neither. */
  private target(cells: string[], h: Header, line: number): number {
    if (h.domain >= 0) {
      const cell = cells[h.domain] as string;
      let hit = this.domains.get(cell);
      if (hit === undefined) {
        const domain = checkDomain(cell);
        hit = typeof domain === 'string' ? this.targetIndex({ domain }) : domain;
        if (this.domains.size >= CACHE_MAX) this.domains.clear();
        this.domains.set(cell, hit);
      }
      if (typeof hit === 'number') return hit;
      if (hit !== EMPTY) {
        this.reject(line, h.names[h.domain], hit.code, hit.reason, cells);
        return -1;
      }
    }
    if (h.domId >= 0) {
      const raw = cells[h.domId] as string;
      let id = smallInt(raw);
      if (id < 0) {
        const cell = raw.trim();
        id = cell === '' ? -1 : DOM_ID_RE.test(cell) ? Number(cell) : NaN;
      }
      if (id !== -1) {
        if (!(id >= 1 && id <= XS_INT_MAX)) {
          this.reject(line, h.names[h.domId], 'R_BAD_TARGET', `dom_id must be an integer 1..${XS_INT_MAX}, got ${JSON.stringify(raw.trim())}`, cells);
          return -1;
        }
        let ti = this.ids.get(id);
        if (ti === undefined) {
          ti = this.targetIndex({ domId: id });
          if (this.ids.size >= CACHE_MAX) this.ids.clear();
          this.ids.set(id, ti);
        }
        return ti;
      }
    }
    const column = h.domain >= 0 ? h.names[h.domain] : h.names[h.domId];
    this.reject(line, column, 'R_EMPTY_TARGET', h.domain >= 0 && h.domId >= 0 ? 'domain and dom_id are both empty' : `${column} is empty`, cells);
    return -1;
  }

  private targetIndex(t: Target): number {
    const ti = this.sink.targetIndex(t);
    this.targets[ti] = t;
    return ti;
  }

  /** The key a rejected row belonged to and the metrics it had values for (held back, see normalize.ts). */
  private key(ti: number, date: string, metrics: readonly Metric[]): HeldKey {
    return { target: this.targets[ti] as Target, date, metrics };
  }

  private reject(line: number, column: string | undefined, code: RejectCode, reason: string, cells: string[], affects?: HeldKey): RowResult {
    this.events.reject({
      file: this.file,
      line,
      ...(column !== undefined ? { column } : {}),
      code,
      reason,
      raw: rawRow(cells, this.cfg.delimiter),
      ...(affects !== undefined ? { affects } : {}),
    });
    return RowResult.Rejected;
  }
}

const METRIC_SLOT: Record<Metric, number> = { smtp_in: 0, smtp_out: 1, pop3_imap_in: 2, pop3_imap_out: 3 };

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
function rawRow(cells: string[], delimiter: string): string {
  return cells.map((f) => (f.includes(delimiter) || /["\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(delimiter);
}
