// Dovecot → pop3_imap_in, pop3_imap_out (docs/sources/maillog.md §Dovecot; the rules: docs/reference/maillog-accounting.md §3).
//
// Only session-end lines of imap(USER) and pop3(USER) count, in any prefix form (2.2 `imap(u): `, 2.3/2.4
// `imap(u)<pid><session>: `, Dovecot's own log with its level) and with any reason text. The byte fields are
// found from the end of the line (the reason can hold text such as "2 B in + 10 B out"):
//   `in=N out=M`                       IMAP default, POP3 when configured
//   `bytes=N/M`                        2.0-style, or added by the site to POP3's format
//   `top=a/b, retr=c/d, del=…, size=…` POP3 default: out = b + d, and no input value
// No state: a session is one line.

import type { RejectCode } from '../../errors.js';
import type { HoldCause } from '../../model.js';
import type { Moment } from './clock.js';

export const DOVECOT_IGNORED = {
  noBytes: 'maillog: Dovecot session ends without byte counts (custom logout format)',
} as const;

export interface DovecotSink {
  /** A session of `user` (an address or a bare login) ended: `input` undefined when the line has none. */
  session(day: string, user: string, input: number | undefined, output: number, file: string, line: number, raw: string): void;
  ignore(reason: string, n?: number): void;
  reject(file: string, line: number, code: RejectCode, reason: string): void;
  /** A session line of `user` was rejected: that domain-day's POP3/IMAP sums are held back (not sent partial). */
  holdSession(day: string, user: string, cause: HoldCause): void;
}

const SESSION_SERVICES = new Set(['imap', 'pop3', 'imap-hibernate']);
const CLIENT_SERVICES = new Set(['imap', 'pop3', 'imap-hibernate', 'imap-login', 'pop3-login']);
const LEVELS = ['Info: ', 'Warning: ', 'Error: ', 'Fatal: ', 'Panic: ', 'Debug: '];
const BYTES_RE = /^(\d{1,15})\/(\d{1,15})(?![\d/])/;
const POP3_DEFAULT_RE = /top=(\d+)\/(\d+), retr=(\d+)\/(\d+)(?:, del=\d+\/\d+, size=\d+)?/;
/** 15 digits: a petabyte per session; more is not a byte count. */
const MAX_DIGITS = 15;

/** dovecotService flags: a line of the IMAP/POP3 service (sessions, logins); a session line (`imap(user)…`). */
export const CLIENT_LINE = 1;
export const SESSION_LINE = 2;

/**
 * The service of a Dovecot message (up to '(' for sessions, ':' for `imap-login:`, `master:`, `auth:`): flags
 * CLIENT_LINE / SESSION_LINE, packed with the index where the name ends (`(end << 2) | flags`).
 */
export function dovecotService(text: string, start: number): number {
  let i = start;
  for (; i < text.length && i - start < 24; i++) {
    const c = text.charCodeAt(i);
    if (c === 40 || c === 58 || c === 32) break;
  }
  const service = text.slice(start, i);
  let flags = CLIENT_SERVICES.has(service) ? CLIENT_LINE : 0;
  if (text.charCodeAt(i) === 40 && SESSION_SERVICES.has(service)) flags |= SESSION_LINE;
  return (i << 2) | flags;
}

export class DovecotAccounting {
  /** A line of Dovecot's IMAP or POP3 service was seen: its metrics are 0 (not missing) where nothing was counted. */
  seen = false;

  constructor(private readonly sink: DovecotSink) {}

  /** One Dovecot message (`text` from `start`: `imap(u)<pid><session>: [Level: ]…`). */
  line(text: string, start: number, moment: Moment, file: string, lineNo: number): void {
    const s = dovecotService(text, start);
    if (s & CLIENT_LINE) this.seen = true;
    if (!(s & SESSION_LINE)) return; // lmtp(…), deliver(…), logins: no client traffic
    const i = s >>> 2;
    const service = text.slice(start, i);
    // The user ends at the ')' that is followed by '<' (2.3 pid/session) or ':' (2.2).
    let close = text.indexOf(')', i + 1);
    while (close >= 0 && text.charCodeAt(close + 1) !== 60 && text.charCodeAt(close + 1) !== 58) close = text.indexOf(')', close + 1);
    if (close < 0) return;
    const user = text.slice(i + 1, close);
    let p = close + 1;
    while (text.charCodeAt(p) === 60) {
      const gt = text.indexOf('>', p);
      if (gt < 0) return;
      p = gt + 1;
    }
    if (text.charCodeAt(p) !== 58) return;
    p += 2;
    for (const level of LEVELS) {
      if (text.startsWith(level, p)) {
        p += level.length;
        break;
      }
    }
    const counts = byteCounts(text, p);
    if (counts === undefined) {
      if (isSessionEnd(text, p)) this.sink.ignore(DOVECOT_IGNORED.noBytes);
      return;
    }
    if (typeof counts === 'string') {
      const reason = `${service}(${user}): ${counts}`;
      this.sink.reject(file, lineNo, 'R_NOT_NUMERIC', reason);
      this.sink.holdSession(moment.day, user, { code: 'R_NOT_NUMERIC', reason, file, line: lineNo });
      return;
    }
    this.sink.session(moment.day, user, counts.input, counts.output, file, lineNo, text);
  }
}

/** The session's byte counts, undefined when the text has none, or why they cannot be read. */
export function byteCounts(text: string, from: number): { input: number | undefined; output: number } | string | undefined {
  const inAt = lastField(text, 'in=', from);
  if (inAt >= 0) {
    const input = digitsAt(text, inAt + 3);
    if (input === undefined) return `in= is not a number: ${JSON.stringify(text.slice(inAt, inAt + 24))}`;
    const outKey = text.indexOf(' out=', inAt + 3);
    const output = outKey < 0 ? undefined : digitsAt(text, outKey + 5);
    if (output === undefined) return `out= is missing or not a number after in=: ${JSON.stringify(text.slice(inAt, inAt + 40))}`;
    return { input, output };
  }
  const bytesAt = lastField(text, 'bytes=', from);
  if (bytesAt >= 0) {
    const m = BYTES_RE.exec(text.slice(bytesAt + 6, bytesAt + 6 + 2 * MAX_DIGITS + 2));
    if (m === null) return `bytes= is not N/M: ${JSON.stringify(text.slice(bytesAt, bytesAt + 30))}`;
    return { input: Number(m[1]), output: Number(m[2]) };
  }
  const topAt = text.indexOf('top=', from);
  if (topAt >= 0) {
    const m = POP3_DEFAULT_RE.exec(text.slice(topAt));
    if (m === null || m[2]!.length > MAX_DIGITS || m[4]!.length > MAX_DIGITS) {
      return `POP3 top=/retr= fields are not numbers: ${JSON.stringify(text.slice(topAt, topAt + 48))}`;
    }
    return { input: undefined, output: Number(m[2]) + Number(m[4]) };
  }
  return undefined;
}

/** Index of the last `key` in text (after `from`) that starts a field: at `from` or after a space, ',' or '('. */
function lastField(text: string, key: string, from: number): number {
  let at = text.lastIndexOf(key);
  while (at >= from) {
    const before = text.charCodeAt(at - 1);
    if (at === from || before === 32 || before === 44 || before === 40) return at;
    at = text.lastIndexOf(key, at - 1);
  }
  return -1;
}

/** The non-negative integer at `i` (ended by the end, a space, ',', ')' or '/'), or undefined. */
function digitsAt(text: string, i: number): number | undefined {
  let j = i;
  while (j < text.length && j - i <= MAX_DIGITS) {
    const c = text.charCodeAt(j);
    if (c < 48 || c > 57) break;
    j++;
  }
  if (j === i || j - i > MAX_DIGITS) return undefined;
  if (j < text.length) {
    const c = text.charCodeAt(j);
    if (c !== 32 && c !== 44 && c !== 41 && c !== 47 && c !== 59) return undefined;
  }
  return Number(text.slice(i, j));
}

function isSessionEnd(text: string, from: number): boolean {
  return text.startsWith('Disconnected', from) || text.startsWith('Logged out', from) || text.startsWith('Connection closed', from);
}
