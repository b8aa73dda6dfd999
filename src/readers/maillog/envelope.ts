// Line envelopes: the time stamp and the program around a log message, detected per line (no setting):
//   classic syslog     `Dec  2 05:29:26 mail postfix/qmgr[8223]: 4jfPsy1sQdzJ9BS: from=<…>` (day space- or zero-padded;
//                      Postfix's own maillog_file writes the same form)
//   Dovecot log_path   `Dec 02 05:28:00 imap(alice@alpha.example)<5214><K+duEZ9hYpF/AAAB>: Info: Disconnected: …`
//                      (no host, no tag: the program is Dovecot, the message keeps the prefix and the level)
//   RFC 3339           `2026-12-02T05:29:26.189284+01:00 mail postfix/smtpd[8306]: …` (rsyslog high precision)
//   journald export    `{"__REALTIME_TIMESTAMP":"1796185766189284","SYSLOG_IDENTIFIER":"postfix/smtpd",…,"MESSAGE":"…"}`
// The parsed envelope is written into one reused object (a line is handled before the next is parsed).

import type { Moment, StreamClock } from './clock.js';
import { monthOf } from './clock.js';

export type EnvelopeKind = 'syslog' | 'rfc3339' | 'dovecot' | 'journal';

export interface Envelope {
  kind: EnvelopeKind;
  moment: Moment;
  /** Syslog tag without `[pid]` (`postfix/submission/smtpd`, `dovecot`); `dovecot` for Dovecot's own log. */
  program: string;
  /** The string holding the message (the line itself, or a journald MESSAGE) and where the message starts. */
  text: string;
  start: number;
}

/** Why a line has no usable envelope. */
export type EnvelopeFailure = 'no time stamp' | 'bad time stamp' | 'bad journal entry';

/** A time stamp alone (to order files before reading): classic (no year) or an instant / dated local time. */
export type Stamp =
  | { kind: 'classic'; month: number; day: number; sec: number }
  | { kind: 'instant'; epochMs: number }
  | { kind: 'local'; year: number; month: number; day: number; sec: number };

const DOVECOT_LEVELS = ['Info: ', 'Warning: ', 'Error: ', 'Fatal: ', 'Panic: ', 'Debug: '];

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -100;
}

function two(s: string, i: number): number {
  return digit(s, i) * 10 + digit(s, i + 1);
}

/** `Dec  2 05:29:26` / `Dec 02 05:29:26` at the start of `s`, followed by a space; undefined if not one. */
export function classicStamp(s: string): { month: number; day: number; sec: number } | undefined {
  if (s.length < 16 || s.charCodeAt(3) !== 32 || s.charCodeAt(6) !== 32 || s.charCodeAt(9) !== 58 || s.charCodeAt(12) !== 58 || s.charCodeAt(15) !== 32) {
    return undefined;
  }
  const month = monthOf(s.slice(0, 3));
  if (month === undefined) return undefined;
  const day = s.charCodeAt(4) === 32 ? digit(s, 5) : two(s, 4);
  const h = two(s, 7);
  const m = two(s, 10);
  const sec = two(s, 13);
  if (!(day >= 1 && day <= 31 && h >= 0 && h <= 23 && m >= 0 && m <= 59 && sec >= 0 && sec <= 60)) return undefined;
  return { month, day, sec: h * 3600 + m * 60 + Math.min(sec, 59) };
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM|±HHMM)` or `YYYY-MM-DD HH:MM:SS` (no zone: local time) at the start of `s`,
 * followed by a space. Returns the stamp and the index of that space.
 */
export function isoStamp(s: string): { stamp: Stamp; end: number } | undefined {
  if (s.length < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const year = two(s, 0) * 100 + two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  const h = two(s, 11);
  const mi = two(s, 14);
  const sec = two(s, 17);
  if (!(year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 60)) {
    return undefined;
  }
  if (day > daysIn(year, month)) return undefined;
  const sep = s.charCodeAt(10);
  const secOfDay = h * 3600 + mi * 60 + Math.min(sec, 59);
  if (sep === 32) {
    return s.charCodeAt(19) === 32 ? { stamp: { kind: 'local', year, month, day, sec: secOfDay }, end: 19 } : undefined;
  }
  if (sep !== 84 && sep !== 116) return undefined; // T / t
  let i = 19;
  if (s.charCodeAt(i) === 46 || s.charCodeAt(i) === 44) {
    i++;
    while (digit(s, i) >= 0) i++;
  }
  let offsetMin: number;
  const c = s.charCodeAt(i);
  if (c === 90 || c === 122) {
    offsetMin = 0;
    i++;
  } else if (c === 43 || c === 45) {
    const oh = two(s, i + 1);
    let om: number;
    let len: number;
    if (s.charCodeAt(i + 3) === 58) {
      om = two(s, i + 4);
      len = 6;
    } else {
      om = two(s, i + 3);
      len = 5;
    }
    if (!(oh >= 0 && oh <= 23 && om >= 0 && om <= 59)) return undefined;
    offsetMin = (c === 45 ? -1 : 1) * (oh * 60 + om);
    i += len;
  } else {
    return undefined;
  }
  if (s.charCodeAt(i) !== 32) return undefined;
  const epochMs = Date.UTC(year, month - 1, day) + secOfDay * 1000 - offsetMin * 60_000;
  return { stamp: { kind: 'instant', epochMs }, end: i };
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The stamp of a line alone, without a clock (ordering files by their first time stamp). */
export function stampOf(line: string): Stamp | undefined {
  const c = line.charCodeAt(0);
  if (c === 123) {
    const j = parseJournal(line);
    return j === undefined ? undefined : { kind: 'instant', epochMs: j.epochMs };
  }
  if (c >= 48 && c <= 57) return isoStamp(line)?.stamp;
  const st = classicStamp(line);
  return st === undefined ? undefined : { kind: 'classic', ...st };
}

interface JournalEntry {
  epochMs: number;
  program: string;
  message: string;
}

/** One `journalctl -o json` line: `__REALTIME_TIMESTAMP` (µs), `SYSLOG_IDENTIFIER` (else `_COMM`), `MESSAGE`. */
function parseJournal(line: string): JournalEntry | undefined {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object') return undefined;
  const rec = o as Record<string, unknown>;
  const ts = rec.__REALTIME_TIMESTAMP;
  if (typeof ts !== 'string' || !/^\d{1,17}$/.test(ts)) return undefined;
  const program = rec.SYSLOG_IDENTIFIER ?? rec._COMM;
  let message = rec.MESSAGE;
  // journald exports a MESSAGE that is not valid UTF-8 as an array of bytes.
  if (Array.isArray(message) && message.every((b) => typeof b === 'number')) message = Buffer.from(message as number[]).toString('utf8');
  if (typeof program !== 'string' || typeof message !== 'string') return undefined;
  return { epochMs: Math.floor(Number(ts) / 1000), program, message };
}

/**
 * Parses envelopes, caching the last time stamp: lines of one second share it, so the clock (and its zone maths)
 * runs once per second of log, not once per line.
 */
export class EnvelopeParser {
  private readonly env: Envelope = { kind: 'syslog', moment: { clock: 0, day: '' }, program: '', text: '', start: 0 };
  /** The last classic stamp (see classicMoment), NaN before the first. */
  private lastK1 = NaN;
  private lastK2 = NaN;
  private lastClassicMoment: Moment = { clock: 0, day: '' };
  private lastIsoKey = '';
  private lastIsoMoment: Moment = { clock: 0, day: '' };
  failure: EnvelopeFailure = 'no time stamp';

  constructor(private readonly clock: StreamClock) {}

  /** The envelope of `line`, or undefined (then `failure` says why). */
  parse(line: string): Envelope | undefined {
    const c = line.charCodeAt(0);
    if (c === 123) return this.journal(line);
    if (c >= 48 && c <= 57) return this.iso(line);
    if ((c >= 65 && c <= 90) && line.length > 16) return this.classic(line);
    this.failure = 'no time stamp';
    return undefined;
  }

  private classic(line: string): Envelope | undefined {
    const moment = this.classicMoment(line);
    if (moment === undefined) return undefined;
    const env = this.env;
    env.moment = moment;
    return this.afterStamp(line, 16, 'syslog');
  }

  private classicMoment(line: string): Moment | undefined {
    // The stamp's characters as two numbers (month and day; the time): comparing them with the last stamp's is
    // the one test every line makes, cheaper than comparing strings. Separators are checked every time.
    const k1 = (((line.charCodeAt(0) * 128 + line.charCodeAt(1)) * 128 + line.charCodeAt(2)) * 128 + line.charCodeAt(4)) * 128 + line.charCodeAt(5);
    const k2 = ((((line.charCodeAt(7) * 128 + line.charCodeAt(8)) * 128 + line.charCodeAt(10)) * 128 + line.charCodeAt(11)) * 128 + line.charCodeAt(13)) * 128 + line.charCodeAt(14);
    if (k1 === this.lastK1 && k2 === this.lastK2 && line.charCodeAt(3) === 32 && line.charCodeAt(6) === 32 && line.charCodeAt(9) === 58 && line.charCodeAt(12) === 58 && line.charCodeAt(15) === 32) {
      return this.lastClassicMoment;
    }
    const st = classicStamp(line);
    if (st === undefined) {
      this.failure = monthOf(line.slice(0, 3)) !== undefined ? 'bad time stamp' : 'no time stamp';
      return undefined;
    }
    this.lastK1 = k1;
    this.lastK2 = k2;
    this.lastClassicMoment = this.clock.classic(st.month, st.day, st.sec);
    return this.lastClassicMoment;
  }

  private iso(line: string): Envelope | undefined {
    const sp = line.indexOf(' ', 19);
    if (sp < 0) {
      this.failure = 'no time stamp';
      return undefined;
    }
    const moment = this.isoMoment(line, sp);
    if (moment === undefined) return undefined;
    const env = this.env;
    env.moment = moment;
    return this.afterStamp(line, sp + 1, 'rfc3339');
  }

  /** The moment of an RFC 3339 (or dated local) stamp ending at `sp`. */
  private isoMoment(line: string, sp: number): Moment | undefined {
    // Cache key: up to the seconds, plus the offset (the fraction differs on every line).
    let offStart = sp;
    for (let i = 19; i < sp; i++) {
      const ch = line.charCodeAt(i);
      if (ch === 43 || ch === 45 || ch === 90 || ch === 122) {
        offStart = i;
        break;
      }
    }
    const key = line.slice(0, 19) + line.slice(offStart, sp);
    if (key === this.lastIsoKey) return this.lastIsoMoment;
    const r = isoStamp(line);
    if (r === undefined) {
      this.failure = 'bad time stamp';
      return undefined;
    }
    const st = r.stamp;
    this.lastIsoMoment = st.kind === 'instant' ? this.clock.instant(st.epochMs) : st.kind === 'local' ? this.clock.localDate(st.year, st.month, st.day, st.sec) : this.clock.classic(st.month, st.day, st.sec);
    this.lastIsoKey = key;
    return this.lastIsoMoment;
  }

  /** After the stamp: `host tag[pid]: message`, or Dovecot's own `prefix: Level: message`. */
  private afterStamp(line: string, at: number, kind: EnvelopeKind): Envelope | undefined {
    const env = this.env;
    env.text = line;
    const sp = line.indexOf(' ', at);
    if (sp < 0) {
      this.failure = 'no time stamp';
      return undefined;
    }
    if (line.charCodeAt(sp - 1) === 58) {
      // The first word ends with ':' — no syslog host does. Dovecot's log_path: the level follows.
      for (const level of DOVECOT_LEVELS) {
        if (line.startsWith(level, sp + 1)) {
          env.kind = 'dovecot';
          env.program = 'dovecot';
          env.start = at;
          return env;
        }
      }
      // A syslog line without a host (`tag: message`).
      env.kind = kind;
      env.program = programOf(line, at, sp - 1);
      env.start = sp + 1;
      return env;
    }
    // `host tag: message`: the tag ends at the first ': ' after the host.
    const colon = line.indexOf(': ', sp + 1);
    if (colon < 0) {
      env.kind = kind;
      env.program = '';
      env.start = line.length;
      return env;
    }
    env.kind = kind;
    env.program = programOf(line, sp + 1, colon);
    env.start = colon + 2;
    return env;
  }

  private journal(line: string): Envelope | undefined {
    const j = parseJournal(line);
    if (j === undefined) {
      this.failure = 'bad journal entry';
      return undefined;
    }
    const env = this.env;
    env.kind = 'journal';
    env.moment = this.clock.instant(j.epochMs);
    env.program = j.program;
    env.text = j.message;
    env.start = 0;
    return env;
  }
}

/** The tag in `line[from, to)` without its `[pid]`. */
function programOf(line: string, from: number, to: number): string {
  const br = line.indexOf('[', from);
  return line.slice(from, br >= 0 && br < to ? br : to);
}
