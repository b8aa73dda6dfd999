// Dovecot accounting, one rule per test (docs/reference/maillog-accounting.md §3; docs/sources/maillog.md), on real session-end
// lines of Dovecot 2.3.19 (captures A and B) and, for the older formats, on the public lines quoted in
// docs/sources/maillog.md (Dovecot 2.2 and 2.0 logs from the pastebins cited there).
import { describe, expect, it } from 'vitest';
import { captured, linesWith, readLog, scratch, SAMPLE_SOURCE } from './helpers.js';

const NO_BYTES = 'maillog: Dovecot session ends without byte counts (custom logout format)';
const DAY = '2026-12-02';

async function read(lines: string[], extra: Record<string, unknown> = {}) {
  const dir = scratch({ 'mail.log': lines });
  return readLog({ ...SAMPLE_SOURCE, paths: 'mail.log', ...extra }, { baseDir: dir });
}

/** A public message (docs/sources/maillog.md) in the syslog envelope of a captured Dovecot line. */
const inEnvelope = (message: string) => `Dec  2 05:29:34 mail dovecot: ${message}`;

describe('session-end lines', () => {
  it('IMAP, 2.3 prefix and Dovecot 2.3.15+ text: in= → pop3_imap_in, out= → pop3_imap_out', async () => {
    const r = await read(linesWith('mail.log', 'imap(alice@alpha.example)'));
    expect(r.rows).toEqual([{ date: DAY, domain: 'alpha.example', metrics: { pop3_imap_in: 30205n, pop3_imap_out: 20267n } }]);
  });

  it('any reason text: "Connection closed (FETCH finished …)", and one holding "2 B in + 10 B out" (changed)', async () => {
    const line = linesWith('mail.log', 'imap(bob@alpha.example)')[0]!;
    expect((await read([line])).rows[0]!.metrics).toEqual({ pop3_imap_in: 86n, pop3_imap_out: 23169n });
    const idle = line.replace('Connection closed (FETCH finished 0.004 secs ago)', 'Connection closed (IDLE running for 0.001 + waiting input for 30.120 secs, 2 B in + 10 B out, state=wait-input)');
    expect((await read([idle])).rows[0]!.metrics).toEqual({ pop3_imap_in: 86n, pop3_imap_out: 23169n });
  });

  it('POP3 default format (top=, retr=, no in/out): out = top bytes + retr bytes, input missing', async () => {
    const lines = linesWith('dovecot.log', 'pop3(frank@beta.example)', 'pop3(carol@beta.example)');
    expect(lines[0]).toContain('top=1/1023, retr=1/12579, del=1/1, size=12561');
    const r = await read(lines);
    // No session logged an input value: pop3_imap_in is missing (Plesk keeps its value), not 0.
    expect(r.rows).toEqual([{ date: DAY, domain: 'beta.example', metrics: { pop3_imap_out: 1023n + 12579n + 837n + 171118n } }]);
  });

  it('POP3 with a site-added bytes=%i/%o: bytes= wins over top/retr', async () => {
    const lines = linesWith('mail.log', 'pop3(frank@beta.example)');
    expect(lines[0]).toContain('top=1/1031, retr=1/12587, del=1/1, size=12569, bytes=37/13716');
    expect((await read(lines)).rows[0]!.metrics).toEqual({ pop3_imap_in: 37n, pop3_imap_out: 13716n });
  });

  it("a domain-day's input is the sum of the in values logged: missing only when no session logged one", async () => {
    // capture A: beta has POP3 default sessions (no input) and the IMAP session of legacy (in=50).
    const lines = linesWith('dovecot.log', 'pop3(', 'imap(legacy)');
    const r = await read(lines, { userMap: 'users.csv' }).catch(() => undefined);
    expect(r).toBeUndefined(); // users.csv is not in the scratch directory: the map is a configuration error
    const dir = scratch({ 'mail.log': lines, 'users.csv': ['user,domain', 'legacy,beta.example'] });
    const mapped = await readLog({ ...SAMPLE_SOURCE, paths: 'mail.log', userMap: 'users.csv' }, { baseDir: dir });
    expect(mapped.rows).toEqual([{ date: DAY, domain: 'beta.example', metrics: { pop3_imap_in: 50n, pop3_imap_out: 1023n + 12579n + 837n + 171118n + 847n } }]);
  });

  it("Dovecot 2.2 prefix (no <pid><session>) and 2.0's bytes=N/M (public lines)", async () => {
    const r = await read([
      inEnvelope('imap(gerencia@dominioocultado.es): Disconnected: Logged out in=175 out=1335'),
      inEnvelope('imap(user@domain.com): Disconnected: Logged out bytes=88/1121'),
      inEnvelope('pop3(ovaras@sblogistics.com.mx): Disconnected: Logged out top=0/0, retr=0/0, del=0/388, size=172039508, bytes=24/13730'),
    ]);
    expect(r.rows).toEqual([
      { date: DAY, domain: 'domain.com', metrics: { pop3_imap_in: 88n, pop3_imap_out: 1121n } },
      { date: DAY, domain: 'dominioocultado.es', metrics: { pop3_imap_in: 175n, pop3_imap_out: 1335n } },
      { date: DAY, domain: 'sblogistics.com.mx', metrics: { pop3_imap_in: 24n, pop3_imap_out: 13730n } },
    ]);
  });

  it('a session end in a custom format without byte fields is counted as ignored', async () => {
    // Changed: the stats replaced by a site's own format (pastebin KvJ4NFEt, docs/sources/maillog.md).
    const line = linesWith('mail.log', 'imap(alice@alpha.example)')[0]!.replace(/in=30205 .*$/, 'rcvd=214, sent=3328');
    const r = await read([line]);
    expect(r.rows).toEqual([]);
    expect(r.ignored[NO_BYTES]).toBe(1);
  });
});

describe('attribution', () => {
  it('the domain is the text after the last @ of the user', async () => {
    const r = await read([inEnvelope('imap(first.last@team@Example.ORG)<1><abc>: Disconnected: Logged out in=1 out=2')]);
    expect(r.rows).toEqual([{ date: DAY, domain: 'example.org', metrics: { pop3_imap_in: 1n, pop3_imap_out: 2n } }]);
  });

  it('a bare login goes through userMap; without an entry it is rejected as unattributable (file, line, raw line)', async () => {
    const lines = linesWith('mail.log', 'imap(legacy)', 'imap(alice@alpha.example)');
    const r = await read(lines);
    expect(r.rows.map((x) => x.domain)).toEqual(['alpha.example']);
    expect(r.rejects).toEqual([{ file: 'mail.log', line: 2, code: 'R_UNATTRIBUTABLE', reason: 'Dovecot user "legacy" has no domain and is not in source.userMap', raw: lines[1] }]);
    const dir = scratch({ 'mail.log': [...lines, lines[1]!.replace('imap(legacy)', 'imap(jürgen)')], 'users.csv': ['# user,domain', 'Legacy,beta.example', 'jürgen,bücher.example'] });
    const mapped = await readLog({ ...SAMPLE_SOURCE, paths: 'mail.log', userMap: 'users.csv' }, { baseDir: dir });
    expect(mapped.rejects).toEqual([]);
    expect(mapped.by(DAY, 'beta.example')).toEqual({ pop3_imap_in: 50n, pop3_imap_out: 847n });
    // A login in UTF-8 matches the map's entry; the domain is compared in its ASCII form.
    expect(mapped.by(DAY, 'xn--bcher-kva.example')).toEqual({ pop3_imap_in: 50n, pop3_imap_out: 847n });
  });

  it('lmtp, logins, auth and master lines carry no client traffic', async () => {
    const lines = captured('dovecot.log').filter((l) => !/ (imap|pop3)\(/.test(l));
    expect(lines.some((l) => l.includes('lmtp(alice@alpha.example)'))).toBe(true);
    expect(lines.some((l) => l.includes('imap-login: Info: Login:'))).toBe(true);
    const r = await read(lines);
    expect(r.rows).toEqual([]);
    expect(r.rejects).toEqual([]);
  });
});

describe('lines that look countable but cannot be read', () => {
  it("a cut session line and a count that is not a number are rejected; that domain-day's POP3/IMAP sums are held back", async () => {
    const [alice, bob] = [linesWith('mail.log', 'imap(alice@alpha.example)')[0]!, linesWith('mail.log', 'imap(bob@alpha.example)')[0]!];
    const cut = alice.slice(0, alice.indexOf('out=') + 2);
    const bad = bob.replace('in=86', 'in=8x6');
    const frank = linesWith('mail.log', 'pop3(frank@beta.example)')[0]!.replace('bytes=37/13716', 'bytes=37/');
    const r = await read([cut, bad, frank, alice]);
    expect(r.rejects.map((x) => [x.line, x.code])).toEqual([[1, 'R_NOT_NUMERIC'], [2, 'R_NOT_NUMERIC'], [3, 'R_NOT_NUMERIC']]);
    expect(r.rejects[0]!.reason).toContain('out= is missing');
    expect(r.rows).toEqual([
      { date: DAY, domain: 'alpha.example', metrics: { pop3_imap_in: 30205n, pop3_imap_out: 20267n }, held: ['pop3_imap_in', 'pop3_imap_out'] },
      { date: DAY, domain: 'beta.example', metrics: { pop3_imap_in: 0n, pop3_imap_out: 0n }, held: ['pop3_imap_in', 'pop3_imap_out'] },
    ]);
    // Another day of alpha is not touched.
    const other = await read([cut, alice.replace('Dec  2', 'Dec  3')]);
    expect(other.by('2026-12-03', 'alpha.example')).toEqual({ pop3_imap_in: 30205n, pop3_imap_out: 20267n });
  });
});
