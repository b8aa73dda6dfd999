// Line envelopes, each on real lines: classic syslog (rsyslog, space-padded day), Postfix's maillog_file
// (zero-padded), Dovecot's log_path (no host, a level), RFC 3339 (rsyslog high precision), journald JSON.
// The same mail, logged through each envelope, must give the same records.
import { describe, expect, it } from 'vitest';
import { StreamClock } from '../../src/readers/maillog/clock.js';
import { EnvelopeParser } from '../../src/readers/maillog/envelope.js';
import { captured, readLog, SAMPLE_SOURCE } from './helpers.js';

function parser(zone = 'Europe/Berlin'): EnvelopeParser {
  return new EnvelopeParser(new StreamClock({ zone, year: 2026, provisionalYear: 2026 }));
}

const message = (p: EnvelopeParser, line: string) => {
  const env = p.parse(line);
  if (!env) throw new Error(`no envelope: ${p.failure}`);
  return { kind: env.kind, program: env.program, day: env.moment.day, clock: env.moment.clock, message: env.text.slice(env.start) };
};

describe('envelopes, one real line each', () => {
  it('classic syslog as rsyslog writes it (space-padded day)', () => {
    const line = captured('mail.log').find((l) => l.includes('4jfPsy1sQdzJ9BS: client='))!;
    expect(line.startsWith('Dec  2 05:29:26 mail postfix/smtpd[8306]: ')).toBe(true);
    expect(message(parser(), line)).toEqual({
      kind: 'syslog', program: 'postfix/smtpd', day: '2026-12-02', clock: Date.UTC(2026, 11, 2, 5, 29, 26), message: '4jfPsy1sQdzJ9BS: client=unknown[127.0.0.5]',
    });
  });

  it("Postfix's own maillog_file (zero-padded day, submission tag)", () => {
    const line = captured('postfix.log').find((l) => l.includes('sasl_username=frank@beta.example'))!;
    const m = message(parser(), line);
    expect(m).toMatchObject({ kind: 'syslog', program: 'postfix/submission/smtpd', day: '2026-12-02' });
    expect(m.message).toBe('47CDF20C200: client=unknown[127.0.0.5], sasl_method=PLAIN, sasl_username=frank@beta.example');
  });

  it("Dovecot's own log_path: no host, no tag, a level; the message keeps the prefix", () => {
    const line = captured('dovecot.log').find((l) => l.includes('imap(alice@alpha.example)'))!;
    const m = message(parser(), line);
    expect(m).toMatchObject({ kind: 'dovecot', program: 'dovecot', day: '2026-12-02' });
    expect(m.message.startsWith('imap(alice@alpha.example)<5214><K+duEZ9hYpF/AAAB>: Info: Disconnected: Logged out in=30205 out=20243')).toBe(true);
  });

  it('RFC 3339 with fraction and offset: an instant, put into the zone', () => {
    const line = captured('mail-rfc3339.log').find((l) => l.includes('4jfPsy1sQdzJ9BS: client='))!;
    expect(line.startsWith('2026-12-02T05:29:26.')).toBe(true);
    expect(line.slice(26, 32)).toBe('+01:00');
    expect(message(parser('Europe/Berlin'), line)).toMatchObject({ kind: 'rfc3339', program: 'postfix/smtpd', day: '2026-12-02', clock: Date.UTC(2026, 11, 2, 5, 29, 26) });
    // 04:29:26 UTC is still the evening before in Los Angeles.
    expect(message(parser('America/Los_Angeles'), line)).toMatchObject({ day: '2026-12-01', clock: Date.UTC(2026, 11, 1, 20, 29, 26) });
  });

  it('journalctl -o json: __REALTIME_TIMESTAMP, SYSLOG_IDENTIFIER, MESSAGE (also as a byte array)', () => {
    const line = captured('../journal/mail.json').find((l) => l.includes('4jfPsy1sQdzJ9BS: client='))!;
    expect(message(parser(), line)).toMatchObject({ kind: 'journal', program: 'postfix/smtpd', day: '2026-12-02', message: '4jfPsy1sQdzJ9BS: client=unknown[127.0.0.5]' });
    const entry = JSON.parse(line) as Record<string, unknown>;
    entry.MESSAGE = [...Buffer.from(entry.MESSAGE as string)];
    expect(message(parser(), JSON.stringify(entry)).message).toBe('4jfPsy1sQdzJ9BS: client=unknown[127.0.0.5]');
  });

  it('Dovecot log_timestamp with a year ("%Y-%m-%d %H:%M:%S "): local time with its date', () => {
    const line = captured('dovecot.log').find((l) => l.includes('pop3(frank@beta.example)'))!.replace(/^Dec 02/, '2026-12-02');
    expect(message(parser(), line)).toMatchObject({ kind: 'dovecot', day: '2026-12-02', clock: Date.UTC(2026, 11, 2, 5, 28, 0) });
  });

  it('says why a line has no envelope', () => {
    const p = parser();
    expect(p.parse('Dec 32 05:29:26 mail postfix/smtpd[1]: x')).toBeUndefined();
    expect(p.failure).toBe('bad time stamp');
    expect(p.parse('-- Journal begins at Mon 2026-11-30 --')).toBeUndefined();
    expect(p.failure).toBe('no time stamp');
    expect(p.parse('{"MESSAGE":"no time"}')).toBeUndefined();
    expect(p.failure).toBe('bad journal entry');
  });
});

// Capture B: one mail run logged through rsyslog into both files at once, and the journal form derived from it.
// Values by hand from the lines (docs/sources/maillog.md, "Sample values"):
//   alpha smtp_in  4429 (copy to alice) + 12377 (copy to bob) + 2 × 9403 (sales@ → alice, bob) + 1155 (root → alice)
//   alpha smtp_out 7478 (webmail, trusted client) + 1667 (pickup info@) + 3689 (alice, after a retry)
//   beta  smtp_in  12377 (copy to frank) + 20162 (frank → carol) + 150427 (copy to carol)
//   beta  smtp_out 6428 (forwarder fwd@ → friend@remote) + 20162 × 2 (frank → friend, carol) + 5188 (legacy → dave)
//   alpha IMAP     in 30205 + 86, out 20267 + 23169;  beta POP3 bytes= 37/13716 + 37/172031, IMAP legacy 50/847
const CAPTURE_B = {
  alpha: { smtp_in: 36767n, smtp_out: 12834n, pop3_imap_in: 30291n, pop3_imap_out: 43436n },
  beta: { smtp_in: 182966n, smtp_out: 51940n, pop3_imap_in: 124n, pop3_imap_out: 186594n },
};

describe('the same mail through every envelope', () => {
  for (const file of ['capture/mail.log', 'capture/mail-rfc3339.log', 'journal/mail.json']) {
    it(`${file}: hand-computed values`, async () => {
      const r = await readLog({ ...SAMPLE_SOURCE, paths: file, userMap: 'users.csv' });
      expect(r.rejects).toEqual([]);
      expect(r.rows).toEqual([
        { date: '2026-12-02', domain: 'alpha.example', metrics: CAPTURE_B.alpha },
        { date: '2026-12-02', domain: 'beta.example', metrics: CAPTURE_B.beta },
      ]);
      expect(r.ignored).toMatchObject({
        'maillog: filter hops (counted on the re-injected copy)': 10,
        'maillog: deliveries of null-sender mail (bounces, DSNs)': 3,
        'maillog: local forwards (counted on the forwarded copy)': 1,
        'maillog: bytes of ignoreDomains names': 1,
      });
    });
  }

  it("capture A: Postfix's maillog_file and Dovecot's log_path read together (two files over the same minutes)", async () => {
    const r = await readLog({ ...SAMPLE_SOURCE, paths: ['capture/postfix.log', 'capture/dovecot.log'], userMap: 'users.csv' });
    expect(r.rejects).toEqual([]);
    // POP3 in Dovecot's default format logs no input: beta's input is the IMAP session of `legacy` alone.
    expect(r.rows).toEqual([
      { date: '2026-12-02', domain: 'alpha.example', metrics: { smtp_in: 4421n + 12369n + 2n * 9395n + 1147n, smtp_out: 7470n + 1663n + 3685n, pop3_imap_in: 30205n + 86n, pop3_imap_out: 20243n + 23153n } },
      { date: '2026-12-02', domain: 'beta.example', metrics: { smtp_in: 12369n + 20158n + 150419n, smtp_out: 6420n + 20158n * 2n + 5184n, pop3_imap_in: 50n, pop3_imap_out: 1023n + 12579n + 837n + 171118n + 847n } },
    ]);
  });
});
