// Log time: every line's time stamp becomes a *local wall clock* in the server's zone (`timezone`) and the day
// it belongs to (docs/sources/maillog.md, "Time stamps and years").
//
// Classic syslog stamps (`Dec  2 05:29:26`) are local time without a year: their day is their own date part,
// and the year comes from `year`, or from the newest file's mtime at the end of the stream. RFC 3339 and
// journald stamps are instants: they are put into the zone, and their date fixes the year ("anchors" the
// stream). Until a stream is anchored, classic years are provisional; when the anchor comes (an instant, or the
// mtime at the end), everything recorded so far is shifted by whole years through `onShift`.
//
// The clock value (ms, Date.UTC of the local wall time) orders lines and measures "one hour after removed";
// it is never turned into an instant.

import { dayjs } from '../../dates.js';

const MONTHS: Record<string, number> = {
  Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12,
};

export function monthOf(abbrev: string): number | undefined {
  return MONTHS[abbrev];
}

const DAY_MS = 86_400_000;
/** Half a year in the ordinal below (months of 31 days): a bigger step between two lines crosses a new year. */
const HALF_YEAR = 183;

/** A line's time: local wall clock (ms) and its day `YYYY-MM-DD` (year provisional until anchored). */
export interface Moment {
  clock: number;
  day: string;
}

export interface ClockOptions {
  /** IANA zone of the server. */
  zone: string;
  /** `year` from the pipeline: the year of the stream's first line; anchors classic stamps. */
  year?: number;
  /** Without `year`: the year classic stamps start with until the stream is anchored. */
  provisionalYear: number;
}

export class StreamClock {
  /** Current year of classic stamps. */
  private cy: number;
  /** (month − 1) × 31 + day of the last line, or −1 before the first. */
  private lastOrd = -1;
  private anchoredBy: 'year' | 'instant' | 'mtime' | undefined;
  /** Last classic stamp (for the mtime anchor at the end): month, day, second of day, year given. */
  private lastClassic: { month: number; day: number; sec: number; year: number } | undefined;
  private readonly dayCache = new Map<number, string>();
  private readonly offsetCache = new Map<number, number>();
  private readonly zone: string;
  /** Called with a number of years when provisional years turn out wrong; shifts what was recorded. */
  onShift: (years: number) => void = () => {};

  constructor(opts: ClockOptions) {
    this.zone = opts.zone;
    this.cy = opts.year ?? opts.provisionalYear;
    if (opts.year !== undefined) this.anchoredBy = 'year';
  }

  get anchored(): boolean {
    return this.anchoredBy !== undefined;
  }

  /** A classic stamp: month 1-12, day 1-31, second of the day. */
  classic(month: number, day: number, sec: number): Moment {
    const ord = (month - 1) * 31 + day;
    // Lines run forward: a step back by more than half a year is December → January (a new year); a step
    // forward by more than half a year happens only when a file overlaps an earlier one across New Year.
    if (this.lastOrd >= 0) {
      if (ord < this.lastOrd - HALF_YEAR) this.cy++;
      else if (ord > this.lastOrd + HALF_YEAR) this.cy--;
    }
    this.lastOrd = ord;
    this.lastClassic = { month, day, sec, year: this.cy };
    return { clock: Date.UTC(this.cy, month - 1, day) + sec * 1000, day: this.dayString(this.cy, month, day) };
  }

  /** A local wall time with its full date (Dovecot's `%Y-%m-%d %H:%M:%S` log_timestamp): anchors like an instant. */
  localDate(year: number, month: number, day: number, sec: number): Moment {
    this.anchor(year, month, day);
    return { clock: Date.UTC(year, month - 1, day) + sec * 1000, day: this.dayString(year, month, day) };
  }

  /** An instant (ms since the epoch): RFC 3339 with an offset, journald. */
  instant(epochMs: number): Moment {
    const local = epochMs + this.offsetMs(epochMs);
    const d = new Date(local);
    const year = d.getUTCFullYear();
    const month = d.getUTCMonth() + 1;
    const day = d.getUTCDate();
    this.anchor(year, month, day);
    return { clock: local, day: this.dayString(year, month, day) };
  }

  /**
   * End of the stream: a stream never anchored takes its year from `refMs` (the newest file's mtime, or now for
   * standard input): its last classic line is the latest one not after refMs (a day of slack for clock skew).
   * Returns the years shifted (already passed to onShift).
   */
  finish(refMs: number): number {
    if (this.anchoredBy !== undefined || this.lastClassic === undefined) return 0;
    const ref = new Date(refMs + this.offsetMs(refMs) + DAY_MS);
    const last = this.lastClassic;
    const refYear = ref.getUTCFullYear();
    const lastInRefYear = Date.UTC(refYear, last.month - 1, last.day) + last.sec * 1000;
    const target = lastInRefYear <= ref.getTime() ? refYear : refYear - 1;
    this.anchoredBy = 'mtime';
    const shift = target - last.year;
    if (shift !== 0) this.shift(shift);
    return shift;
  }

  /** The day string of a local date (cached: a stream has few distinct days). */
  dayString(year: number, month: number, day: number): string {
    const key = (year * 13 + month) * 32 + day;
    let s = this.dayCache.get(key);
    if (s === undefined) {
      s = `${String(year).padStart(4, '0')}-${month < 10 ? '0' : ''}${month}-${day < 10 ? '0' : ''}${day}`;
      this.dayCache.set(key, s);
    }
    return s;
  }

  /** Zone offset at an instant, cached per minute (offsets are whole minutes; dayjs tz is slow per call, #1236). */
  offsetMs(epochMs: number): number {
    if (this.zone === 'UTC') return 0;
    const minute = Math.floor(epochMs / 60_000);
    let off = this.offsetCache.get(minute);
    if (off === undefined) {
      off = dayjs(minute * 60_000).tz(this.zone).utcOffset() * 60_000;
      if (this.offsetCache.size > 100_000) this.offsetCache.clear();
      this.offsetCache.set(minute, off);
    }
    return off;
  }

  /** A date with a year anchors the stream: provisional classic years before it are corrected to fit. */
  private anchor(year: number, month: number, day: number): void {
    const ord = (month - 1) * 31 + day;
    if (this.anchoredBy === undefined) {
      this.anchoredBy = 'instant';
      if (this.lastClassic !== undefined) {
        // The year the classic lines so far would have given this date, by the same rule as classic().
        let expected = this.cy;
        if (ord < this.lastOrd - HALF_YEAR) expected++;
        else if (ord > this.lastOrd + HALF_YEAR) expected--;
        if (year !== expected) this.shift(year - expected);
      }
    }
    this.cy = year;
    this.lastOrd = ord;
  }

  private shift(years: number): void {
    this.cy += years;
    if (this.lastClassic) this.lastClassic.year += years;
    this.onShift(years);
  }
}

/** `clock` moved by whole years (local wall clock; Feb 29 of a year without one becomes Mar 1). */
export function shiftClock(clock: number, years: number): number {
  const d = new Date(clock);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.getTime();
}

/** `YYYY-MM-DD` moved by whole years (the string only: a Feb 29 that does not exist is caught when emitted). */
export function shiftDay(day: string, years: number): string {
  return `${String(Number(day.slice(0, 4)) + years).padStart(4, '0')}${day.slice(4)}`;
}
