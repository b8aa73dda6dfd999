// Per-account, per-day sums shared by every cPanel reader, and the byte-value parser they use.
//
// cPanel byte values can be fractional (UAPI answers carry floats such as 11036.0461226852,
// docs/reference/mail-sources.md §4) or JSON strings (docs/reference/cpanel-bandwidth.md §8.14). They are summed as fixed-point
// bigints (nano-bytes) per (account, day, metric) and rounded half-up to whole bytes only when the
// record is emitted: rounding each row first would lose up to half a byte per row.

import { XS_LONG_MAX, type Held, type HoldCause, type Metric, type SourceRecord } from '../../model.js';
import { dayjs, dayOf } from '../../dates.js';
import type { RejectCode } from '../../errors.js';
import type { ReaderContext, Rejection } from '../types.js';

/** Fixed-point scale of the sums: 9 fractional digits (digits beyond the 9th are cut). */
const SCALE = 1_000_000_000n;
const FRACTION_DIGITS = 9;
const MAX_SCALED = XS_LONG_MAX * SCALE;

export type ParsedBytes =
  | { ok: true; scaled: bigint }
  | { ok: false; code: Extract<RejectCode, 'R_NOT_NUMERIC' | 'R_NEGATIVE' | 'R_OVER_LONG'>; reason: string };

// Plain decimals with an optional exponent: "12", "12.5", ".5", "1.2e5" (the legacy importer allows
// digits, e/E and '.', docs/reference/cpanel-bandwidth.md §5.2).
const DECIMAL_RE = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Parse one byte value (number, bigint or numeric string) into nano-bytes. */
export function parseBytes(raw: unknown): ParsedBytes {
  let text: string;
  if (typeof raw === 'bigint') {
    if (raw < 0n) return { ok: false, code: 'R_NEGATIVE', reason: `byte value ${raw} is negative` };
    if (raw > XS_LONG_MAX) return { ok: false, code: 'R_OVER_LONG', reason: `byte value ${raw} exceeds xs:long` };
    return { ok: true, scaled: raw * SCALE };
  } else if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return { ok: false, code: 'R_NOT_NUMERIC', reason: `byte value ${raw} is not a finite number` };
    if (Number.isSafeInteger(raw)) {
      if (raw < 0) return { ok: false, code: 'R_NEGATIVE', reason: `byte value ${raw} is negative` };
      return { ok: true, scaled: BigInt(raw) * SCALE };
    }
    text = String(raw);
  } else if (typeof raw === 'string') {
    text = raw.trim();
  } else {
    return { ok: false, code: 'R_NOT_NUMERIC', reason: `byte value ${JSON.stringify(raw) ?? String(raw)} is not a number` };
  }
  let negative = false;
  if (text.startsWith('-')) {
    negative = true;
    text = text.slice(1);
  } else if (text.startsWith('+')) {
    text = text.slice(1);
  }
  const m = DECIMAL_RE.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) {
    return { ok: false, code: 'R_NOT_NUMERIC', reason: `byte value ${JSON.stringify(raw)} is not a number` };
  }
  const intDigits = m[1] ?? '';
  const fracDigits = m[2] ?? '';
  const exp = m[3] === undefined ? 0 : Number(m[3]);
  if (!Number.isSafeInteger(exp) || exp > 40 || exp < -40) {
    // 1e41 bytes is far beyond xs:long; 1e-41 is zero for any purpose.
    if (exp > 0 && /[1-9]/.test(intDigits + fracDigits)) {
      return { ok: false, code: 'R_OVER_LONG', reason: `byte value ${JSON.stringify(raw)} exceeds xs:long` };
    }
    return { ok: true, scaled: 0n };
  }
  // value = 0.<digits> shifted: digits * 10^(exp - fracDigits.length); scaled = value * 10^9.
  const digits = (intDigits + fracDigits).replace(/^0+(?=\d)/, '') || '0';
  const shift = exp - fracDigits.length + FRACTION_DIGITS;
  let scaled: bigint;
  if (shift >= 0) scaled = BigInt(digits) * 10n ** BigInt(shift);
  else {
    const cut = -shift;
    scaled = cut >= digits.length ? 0n : BigInt(digits.slice(0, digits.length - cut));
  }
  if (negative && scaled !== 0n) return { ok: false, code: 'R_NEGATIVE', reason: `byte value ${JSON.stringify(raw)} is negative` };
  if (scaled > MAX_SCALED) return { ok: false, code: 'R_OVER_LONG', reason: `byte value ${JSON.stringify(raw)} exceeds xs:long` };
  return { ok: true, scaled };
}

/** Nano-bytes to whole bytes, rounding half up (values are never negative). */
export function roundScaled(scaled: bigint): bigint {
  return (scaled + SCALE / 2n) / SCALE;
}

/** The two metrics cPanel measures (docs/reference/cpanel-bandwidth.md §2); the incoming ones stay missing. */
export type CpanelMetric = Extract<Metric, 'smtp_out' | 'pop3_imap_out'>;

/** cPanel protocol → Plesk metric; http and ftp are not mail. */
export function metricOfProtocol(protocol: string): CpanelMetric | 'ignore' | undefined {
  switch (protocol) {
    case 'smtp':
      return 'smtp_out';
    case 'pop3':
    case 'imap':
      return 'pop3_imap_out';
    case 'http':
    case 'ftp':
      return 'ignore';
    default:
      return undefined;
  }
}

/** The Plesk metric of a cPanel protocol; a non-mail or unknown protocol is counted as ignored (never guessed). */
export function mailMetricOf(protocol: string, ignored: IgnoredCounter): CpanelMetric | undefined {
  const metric = metricOfProtocol(protocol);
  if (metric === undefined) ignored.add(`cpanel: rows of unknown protocol "${protocol}"`);
  else if (metric === 'ignore') ignored.add(`cpanel: ${protocol} rows (not mail)`);
  else return metric;
  return undefined;
}

interface DayBucket {
  smtp_out: bigint;
  pop3_imap_out: bigint;
  /** First source line that touched this day (0 for API answers and DB rows). */
  line: number;
  /** Metrics a rejected value of this day belonged to: emitted as held, never as a partial sum or a 0. */
  held?: Held;
}

/** Both metrics cPanel measures: what a rejected row whose protocol is unknown may have belonged to. */
export const CPANEL_METRICS: readonly CpanelMetric[] = ['smtp_out', 'pop3_imap_out'];

/**
 * Mail bytes of one account, per day. A day the source holds for the account (any row, any
 * protocol) gets both metrics; a protocol without rows that day is 0, because cPanel stores no
 * zero rows (docs/reference/cpanel-bandwidth.md §1.3, §8.4). Memory grows with days, never with rows.
 */
export class AccountTally {
  private readonly days = new Map<string, DayBucket>();

  /** Record that the source measured this account on `day` (no bytes added). */
  touch(day: string, line = 0): DayBucket {
    let b = this.days.get(day);
    if (!b) {
      b = { smtp_out: 0n, pop3_imap_out: 0n, line };
      this.days.set(day, b);
    }
    return b;
  }

  add(day: string, metric: CpanelMetric, scaled: bigint, line = 0): void {
    this.touch(day, line)[metric] += scaled;
  }

  /**
   * A value of `day` was rejected (`r`, reported here): the metrics it belonged to are held back for that day.
   * The day is touched: the source did measure the account that day.
   */
  reject(ctx: Pick<ReaderContext, 'reject'>, day: string, metrics: readonly CpanelMetric[], r: Rejection, line = 0): void {
    ctx.reject(r);
    this.hold(day, metrics, { code: r.code, reason: r.reason, file: r.file, line: r.line }, line);
  }

  hold(day: string, metrics: readonly CpanelMetric[], cause: HoldCause, line = 0): void {
    const b = this.touch(day, line);
    for (const m of metrics) (b.held ??= {})[m] ??= cause;
  }

  /** Add every day, sum and held metric of `other` into this tally. */
  merge(other: AccountTally): void {
    for (const [day, b] of other.days) {
      const mine = this.touch(day, b.line);
      mine.smtp_out += b.smtp_out;
      mine.pop3_imap_out += b.pop3_imap_out;
      if (b.held) for (const [m, cause] of Object.entries(b.held) as [CpanelMetric, HoldCause][]) (mine.held ??= {})[m] ??= cause;
    }
  }

  get size(): number {
    return this.days.size;
  }

  /**
   * The records of this account, by day, rounded. A held metric is left out and carried as `held`; a sum
   * beyond xs:long is rejected and held the same way.
   */
  *records(domain: string, file: string, ctx: Pick<ReaderContext, 'reject'>): Generator<SourceRecord> {
    const days = [...this.days.keys()].sort();
    for (const date of days) {
      const b = this.days.get(date)!;
      const metrics: SourceRecord['metrics'] = {};
      let held = b.held;
      for (const metric of CPANEL_METRICS) {
        if (held?.[metric]) continue;
        const value = roundScaled(b[metric]);
        if (value > XS_LONG_MAX) {
          const r: Rejection = {
            file, line: b.line, column: metric, code: 'R_OVER_LONG',
            reason: `${metric} of ${domain} on ${date} sums to ${value}, beyond xs:long`, raw: String(value),
          };
          ctx.reject(r);
          held = { ...held, [metric]: { code: r.code, reason: r.reason, file, line: b.line } };
          continue;
        }
        metrics[metric] = value;
      }
      yield { target: { domain }, date, metrics, origin: { file, line: b.line }, ...(held ? { held } : {}) };
    }
  }
}

/**
 * Unix seconds → calendar day in a zone, cached by input (dayjs tz is slow per call, dates.ts).
 * Also tells whether an instant is a local midnight, to warn when `timezone` is not the zone the
 * cPanel server wrote its daily rows in (docs/reference/cpanel-bandwidth.md §5.1: daily = local midnight).
 */
export class DayMapper {
  private readonly cache = new Map<number, string>();
  private readonly midnight = new Map<number, boolean>();
  constructor(readonly zone: string) {}

  day(unixSeconds: number): string {
    let d = this.cache.get(unixSeconds);
    if (d === undefined) {
      d = dayOf(unixSeconds * 1000, this.zone);
      this.cache.set(unixSeconds, d);
    }
    return d;
  }

  isMidnight(unixSeconds: number): boolean {
    let m = this.midnight.get(unixSeconds);
    if (m === undefined) {
      const t = this.zone === 'UTC' ? dayjs.utc(unixSeconds * 1000) : dayjs(unixSeconds * 1000).tz(this.zone);
      m = t.hour() === 0 && t.minute() === 0 && t.second() === 0;
      this.midnight.set(unixSeconds, m);
    }
    return m;
  }
}

/** Epoch seconds of local midnight starting `day` in `zone`. */
export function midnightOf(day: string, zone: string): number {
  return zone === 'UTC' ? dayjs.utc(day, 'YYYY-MM-DD', true).unix() : dayjs.tz(`${day} 00:00:00`, zone).unix();
}

/** Counts of things dropped on purpose, reported once per kind through ctx.ignored. */
export class IgnoredCounter {
  private readonly counts = new Map<string, number>();
  add(what: string, n = 1): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + n);
  }
  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }
  flush(ctx: Pick<ReaderContext, 'ignored'>): void {
    for (const [what, n] of this.counts) if (n > 0) ctx.ignored(what, n);
    this.counts.clear();
  }
}

/** cPanel accepts sample times between 1996-01-01 and 2^32-1 (CP:Cpanel/BandwidthDB/Constants.pm, §2). */
export const MIN_ACCEPTED_TIMESTAMP = 820454400;
export const MAX_ACCEPTED_TIMESTAMP = 4294967295;

/** A unix-seconds value from a row (number, bigint or numeric string), or undefined when it is not one. */
export function unixSecondsOf(raw: unknown): number | undefined {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'bigint') n = Number(raw);
  else if (typeof raw === 'string' && /^\d+$/.test(raw.trim())) n = Number(raw.trim());
  else return undefined;
  if (!Number.isInteger(n) || n < MIN_ACCEPTED_TIMESTAMP || n > MAX_ACCEPTED_TIMESTAMP) return undefined;
  return n;
}

/** Short printable form of a raw value, for reasons and reject files. */
export function rawText(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'bigint') return raw.toString();
  return JSON.stringify(raw) ?? String(raw);
}
