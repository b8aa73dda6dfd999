// Per (day, domain) sums of the maillog reader: the only state that outlives messages and sessions. Memory grows
// with distinct domain-days, never with lines. Records are emitted at the end of the stream, when it is known
// which days are whole and which daemons wrote lines at all (docs/sources/maillog.md, "Days").

import { isValidDate } from '../../dates.js';
import { METRICS, type Held, type HoldCause, type Metric, type Metrics, type SourceRecord } from '../../model.js';
import type { Rejection } from '../types.js';
import { shiftDay } from './clock.js';

export const SMTP_IN = 0;
export const SMTP_OUT = 1;
export const POP3_IMAP_IN = 2;
export const POP3_IMAP_OUT = 3;
export type MetricIndex = 0 | 1 | 2 | 3;

const SAFE = Number.MAX_SAFE_INTEGER;

class Cell {
  readonly sums = [0, 0, 0, 0];
  /** Exact sums once one passed 2^53 − 1 (about 9 PB a day: never, but then not wrong either). */
  big: bigint[] | undefined;
  /** Dovecot sessions ended this day, and how many of them logged an input value. */
  sessions = 0;
  inSessions = 0;
  /** Metrics that lost a contribution to a rejected line: sent as missing, never partial (normalize.ts). */
  held: Held | undefined;
  constructor(
    readonly file: string,
    readonly line: number,
  ) {}

  add(metric: MetricIndex, bytes: number): void {
    if (this.big !== undefined) {
      this.big[metric]! += BigInt(bytes);
      return;
    }
    const s = this.sums[metric]! + bytes;
    if (s <= SAFE) {
      this.sums[metric] = s;
      return;
    }
    this.big = this.sums.map((v) => BigInt(v));
    this.big[metric]! += BigInt(bytes);
  }

  value(metric: MetricIndex): bigint {
    return this.big !== undefined ? this.big[metric]! : BigInt(this.sums[metric]!);
  }
}

export interface EmitOptions {
  /** Drop the first and the last day of the stream (they are partial). */
  dropEdges: boolean;
  /** Days of the stream's first and last time-stamped lines. */
  firstDay: string | undefined;
  lastDay: string | undefined;
  /** A Postfix / Dovecot (IMAP, POP3) line was in the stream: its metrics are 0 where nothing was counted. */
  postfixSeen: boolean;
  dovecotSeen: boolean;
}

export interface EmitResult {
  records: number;
  edgeDays: string[];
  edgeRecords: number;
}

export class DayTally {
  private days = new Map<string, Map<string, Cell>>();
  private lastDay = '';
  private lastDomains: Map<string, Cell> | undefined;

  add(day: string, domain: string, metric: MetricIndex, bytes: number, file: string, line: number): void {
    this.cell(day, domain, file, line).add(metric, bytes);
  }

  /** A Dovecot session end: `input` undefined when the line logged no input bytes (POP3's default format). */
  session(day: string, domain: string, input: number | undefined, output: number, file: string, line: number): void {
    const c = this.cell(day, domain, file, line);
    c.sessions++;
    if (input !== undefined) {
      c.inSessions++;
      c.add(POP3_IMAP_IN, input);
    }
    c.add(POP3_IMAP_OUT, output);
  }

  /** A rejected line would have added to `metric` of (day, domain): that sum must not be sent partial. */
  hold(day: string, domain: string, metric: MetricIndex, cause: HoldCause): void {
    const c = this.cell(day, domain, cause.file, cause.line);
    const m = METRICS[metric] as Metric;
    c.held ??= {};
    c.held[m] ??= cause;
  }

  /** Provisional years were wrong by `years`: every day moves. */
  shiftYears(years: number): void {
    const moved = new Map<string, Map<string, Cell>>();
    for (const [day, domains] of this.days) moved.set(shiftDay(day, years), domains);
    this.days = moved;
    this.lastDay = '';
    this.lastDomains = undefined;
  }

  /** Records of the days to import, day by day, domains in name order. */
  emit(opts: EmitOptions, emit: (rec: SourceRecord) => void, reject: (r: Rejection) => void): EmitResult {
    const result: EmitResult = { records: 0, edgeDays: [], edgeRecords: 0 };
    for (const day of [...this.days.keys()].sort()) {
      const domains = this.days.get(day)!;
      if (opts.dropEdges && (day === opts.firstDay || day === opts.lastDay)) {
        result.edgeDays.push(day);
        result.edgeRecords += domains.size;
        continue;
      }
      for (const domain of [...domains.keys()].sort()) {
        const c = domains.get(domain)!;
        if (!isValidDate(day)) {
          // Only a February 29 whose inferred year has none: the year inference is wrong for this log.
          reject({ file: c.file, line: c.line, code: 'R_BAD_DATE', reason: `${day} does not exist: set source.year for this log (${domain})` });
          continue;
        }
        const metrics: Metrics = {};
        if (opts.postfixSeen) {
          metrics.smtp_in = c.value(SMTP_IN);
          metrics.smtp_out = c.value(SMTP_OUT);
        }
        if (opts.dovecotSeen) {
          // Input is missing (Plesk's value kept) only when the day had sessions and none logged an input value.
          if (c.sessions === 0 || c.inSessions > 0) metrics.pop3_imap_in = c.value(POP3_IMAP_IN);
          metrics.pop3_imap_out = c.value(POP3_IMAP_OUT);
        }
        emit({ target: { domain }, date: day, metrics, origin: { file: c.file, line: c.line }, ...(c.held ? { held: c.held } : {}) });
        result.records++;
      }
    }
    return result;
  }

  private cell(day: string, domain: string, file: string, line: number): Cell {
    let domains = day === this.lastDay ? this.lastDomains : this.days.get(day);
    if (domains === undefined) {
      domains = new Map();
      this.days.set(day, domains);
    }
    this.lastDay = day;
    this.lastDomains = domains;
    let c = domains.get(domain);
    if (c === undefined) {
      c = new Cell(file, line);
      domains.set(domain, c);
    }
    return c;
  }
}
