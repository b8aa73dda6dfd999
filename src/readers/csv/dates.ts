// Date cells → calendar days in the pipeline's zone (docs/reference/mail-sources.md §5.4), cached by cell text.

import { dayOf, isValidDate } from '../../dates.js';

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const COMPACT_DAY_RE = /^\d{8}$/;
const EPOCH_RE = /^\d{9,}$/;
const ISO_RE = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;
/** 9999-12-31T23:59:59Z: beyond it a day is not `YYYY-MM-DD` (and 13 digits are milliseconds, not seconds). */
const MAX_EPOCH_S = 253402300799;
/** Caches are keyed by cell text and cleared when full, so memory stays bounded whatever the input. */
const CACHE_MAX = 100_000;

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

/** Date cells → days, one parse per distinct cell text (rows come in runs of one date). */
export class DayParser {
  private readonly cache = new Map<string, string | null>();
  private readonly minuteCache = new Map<number, string>();
  private lastCell = '';
  private lastDay: string | null = null;
  private readonly dayOfInstant: (ms: number) => string;

  constructor(zone: string) {
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
    // Primed so that an empty first cell is parsed, not taken for the "last" one.
    this.lastCell = '\u0000';
  }

  /** The day of a date cell, or null when it is not a date. */
  day(cell: string): string | null {
    // Comparing 10 characters is cheaper than hashing them for the cache.
    if (cell === this.lastCell) return this.lastDay;
    let day = this.cache.get(cell);
    if (day === undefined) {
      day = parseDay(cell, this.dayOfInstant);
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(cell, day);
    }
    this.lastCell = cell;
    this.lastDay = day;
    return day;
  }
}
