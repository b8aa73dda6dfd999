#!/usr/bin/env node
// Derives the other maillog samples from the real logs captured by scripts/maillog-samples.sh
// (samples/maillog/capture/). Only time stamps are rewritten and files split; every line is a real line.
//   journal/mail.json        capture/mail-rfc3339.log as `journalctl -o json` would export it (one object a line)
//   days/mail.log*           capture/mail.log spread over 2026-10-31 .. 2026-11-04, rotated as logrotate leaves it
//                            (mail.log, mail.log.1, mail.log.2.gz): whole days 11-01 .. 11-03
//   rollover/                capture/postfix.log + capture/dovecot.log over 2026-12-30 .. 2027-01-02 (no year in the
//                            stamps: the year comes from the files' mtime), whole days 12-31 and 01-01
// Deterministic: run it again and nothing changes (gzip without a name or time in its header).
// Usage: node scripts/maillog-derive.mjs

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'samples', 'maillog');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const read = (name) => readFileSync(path.join(DIR, 'capture', name), 'utf8').replace(/\n$/, '').split('\n');
const write = (name, lines, gzip = false) => {
  const file = path.join(DIR, name);
  mkdirSync(path.dirname(file), { recursive: true });
  const text = `${lines.join('\n')}\n`;
  writeFileSync(file, gzip ? gzipSync(text) : text);
};

/** Seconds of the day of a classic stamp (`Dec  2 05:29:26` / `Dec 02 05:29:26`). */
const secondsOf = (line) => Number(line.slice(7, 9)) * 3600 + Number(line.slice(10, 12)) * 60 + Number(line.slice(13, 15));

/** A classic stamp for a local wall time (Date used as a plain calendar, in UTC), zero- or space-padded day. */
function classic(wall, zeroPad) {
  const d = new Date(wall);
  const day = String(d.getUTCDate()).padStart(2, zeroPad ? '0' : ' ');
  const hms = [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  return `${MONTHS[d.getUTCMonth()]} ${day} ${hms}`;
}

/**
 * Rewrites the stamps of `lines` segment by segment: segment k (lines from[k] .. up to the next segment, 1-based)
 * starts at wall time at[k] (`YYYY-MM-DDTHH:MM:SS`, local) and keeps the offsets of its lines from its first line.
 */
function respread(lines, segments, zeroPad) {
  const out = [];
  segments.forEach((seg, k) => {
    const to = k + 1 < segments.length ? segments[k + 1].from - 1 : lines.length;
    const base = secondsOf(lines[seg.from - 1]);
    const start = Date.parse(`${seg.at}Z`);
    for (let i = seg.from; i <= to; i++) {
      const line = lines[i - 1];
      out.push(classic(start + (secondsOf(line) - base) * 1000, zeroPad) + line.slice(15));
    }
  });
  return out;
}

// ── journal: RFC 3339 lines (host tag[pid]: message) → journald JSON export ──
{
  const lines = read('mail-rfc3339.log');
  const boot = '5f0c3e3b9a6e4d2fa1c7b0d8e9f60a11';
  const out = lines.map((line, i) => {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?([+-]\d\d:\d\d|Z) (\S+) ([^:[]+)(?:\[(\d+)\])?: (.*)$/.exec(line);
    if (!m) throw new Error(`mail-rfc3339.log:${i + 1} is not host tag: message`);
    const [, hms, frac = '', off, host, ident, pid, message] = m;
    const us = BigInt(Date.parse(`${hms}${off}`)) * 1000n + BigInt(frac.padEnd(6, '0').slice(0, 6));
    const entry = {
      __CURSOR: `s=3d5c1f0e2b7a4c8d9e6f5a4b3c2d1e0f;i=${(0x1a2b00 + i).toString(16)};b=${boot};m=${(91_000_000 + i * 1000).toString(16)};t=${us.toString(16)};x=${(0xabc000 + i).toString(16)}`,
      __REALTIME_TIMESTAMP: us.toString(),
      __MONOTONIC_TIMESTAMP: String(91_000_000 + i * 1000),
      _BOOT_ID: boot,
      _TRANSPORT: 'syslog',
      PRIORITY: ident.startsWith('dovecot') && /Warning/.test(message) ? '4' : '6',
      SYSLOG_FACILITY: '2',
      SYSLOG_IDENTIFIER: ident,
      ...(pid ? { SYSLOG_PID: pid, _PID: pid } : {}),
      _HOSTNAME: host,
      MESSAGE: message,
    };
    return JSON.stringify(entry);
  });
  write('journal/mail.json', out);
}

// ── days: five days, three whole, rotated ──
{
  const lines = read('mail.log');
  const spread = respread(lines, [
    { from: 1, at: '2026-10-31T22:10:00' }, //   start-up                                    (partial first day)
    { from: 5, at: '2026-11-01T23:40:00' }, //   first half of the mail
    { from: 121, at: '2026-11-01T23:59:59' }, // second half, just before midnight
    { from: 183, at: '2026-11-02T00:00:01' }, // the slow filter's link to a copy delivered the day before
    { from: 191, at: '2026-11-02T10:00:00' }, // IMAP and POP3 sessions
    { from: 202, at: '2026-11-03T08:00:00' }, // the deferred message goes out; the other one expires
    { from: 254, at: '2026-11-04T00:20:00' }, // Dovecot stops                               (partial last day)
  ], false);
  write('days/mail.log.2.gz', spread.slice(0, 120), true);
  write('days/mail.log.1', spread.slice(120, 201));
  write('days/mail.log', spread.slice(201));
}

// ── rollover: New Year in the middle, Postfix's maillog_file and Dovecot's log_path ──
{
  const postfix = respread(read('postfix.log'), [
    { from: 1, at: '2026-12-30T23:50:00' },
    { from: 3, at: '2026-12-31T23:45:00' },
    { from: 164, at: '2027-01-01T00:00:03' },
    { from: 167, at: '2027-01-01T09:00:00' },
  ], true);
  write('rollover/mail.log.1', postfix.slice(0, 163));
  write('rollover/mail.log', postfix.slice(163));
  const dovecot = read('dovecot.log');
  const sessions = dovecot.findIndex((l) => l.includes('imap-login: Info: Login:')) + 1;
  const late = dovecot.findIndex((l, i) => i >= sessions && l.includes('lmtp(')) + 1;
  write('rollover/dovecot.log', respread(dovecot, [
    { from: 1, at: '2026-12-30T23:49:59' },
    { from: 2, at: '2026-12-31T23:45:00' },
    { from: sessions, at: '2027-01-01T10:00:00' },
    { from: late, at: '2027-01-01T11:00:00' },
    { from: dovecot.length, at: '2027-01-02T00:05:00' },
  ], true));
}
console.error('derived: journal/mail.json, days/mail.log{,.1,.2.gz}, rollover/{mail.log,mail.log.1,dovecot.log}');
