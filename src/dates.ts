// Calendar days and time zones. Dates travel as `YYYY-MM-DD` strings, never as instants:
// an instant is turned into a day once, at the edge, in the pipeline's zone.
// dayjs strict parsing does the calendar checks; its tz plugin is slow per call (dayjs #1236),
// so callers on hot paths cache by input string.

import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc.js';
import timezone from 'dayjs/plugin/timezone.js';
import customParseFormat from 'dayjs/plugin/customParseFormat.js';

dayjs.extend(utc);
dayjs.extend(timezone);
dayjs.extend(customParseFormat);

export { dayjs };

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** A valid calendar day `YYYY-MM-DD` (2026-02-30 is not). */
export function isValidDate(s: string): boolean {
  return DAY_RE.test(s) && dayjs.utc(s, 'YYYY-MM-DD', true).isValid();
}

/** True when `zone` is an IANA time zone name the runtime knows. */
export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The calendar day of an instant (ms since epoch) in `zone`. */
export function dayOf(epochMs: number, zone: string): string {
  return zone === 'UTC' ? dayjs.utc(epochMs).format('YYYY-MM-DD') : dayjs(epochMs).tz(zone).format('YYYY-MM-DD');
}

/** Days from `from` to `to` inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  let d = dayjs.utc(from, 'YYYY-MM-DD', true);
  const end = dayjs.utc(to, 'YYYY-MM-DD', true);
  while (!d.isAfter(end)) {
    out.push(d.format('YYYY-MM-DD'));
    d = d.add(1, 'day');
  }
  return out;
}

/** `day` shifted by `n` days. */
export function addDays(day: string, n: number): string {
  return dayjs.utc(day, 'YYYY-MM-DD', true).add(n, 'day').format('YYYY-MM-DD');
}

/** Today in `zone`. */
export function today(zone = 'UTC'): string {
  return dayOf(Date.now(), zone);
}
