// Postfix accounting, one rule of the contract per test (docs/reference/maillog-accounting.md §2; docs/sources/maillog.md), on real
// lines of capture B (samples/maillog/capture/mail.log: Postfix 3.7 with long queue ids, through rsyslog). A test
// that has to change a line says so and changes only the field it is about.
import { describe, expect, it } from 'vitest';
import { linesWith, readLog, scratch, SAMPLE_SOURCE } from './helpers.js';

const IGN = {
  hop: 'maillog: filter hops (counted on the re-injected copy)',
  nullSender: 'maillog: deliveries of null-sender mail (bounces, DSNs)',
  noSize: 'maillog: deliveries without size (qmgr line not in the files read)',
  notSent: 'maillog: delivery attempts not sent (deferred, bounced, expired)',
  forwarded: 'maillog: local forwards (counted on the forwarded copy)',
  ignoredDomain: 'maillog: bytes of ignoreDomains names',
  noOrigin: 'maillog: remote deliveries without origin (client/pickup line not in the files read)',
} as const;

/** Reads `lines` as one file with the samples' settings (Berlin, 2026, edges kept). */
async function read(lines: string[], extra: Record<string, unknown> = {}) {
  const dir = scratch({ 'mail.log': lines });
  return readLog({ ...SAMPLE_SOURCE, paths: 'mail.log', ...extra }, { baseDir: dir });
}

/** Capture B's lines of these queue ids (all of their lines, in log order). */
const B = (...qids: string[]) => linesWith('mail.log', ...qids);
const DAY = '2026-12-02';

/** The same lines at another time of day: `HH:MM:SS` of every stamp replaced. */
const at = (lines: string[], hms: string) => lines.map((l) => `${l.slice(0, 7)}${hms}${l.slice(15)}`);

describe('size, sender and per-recipient counting', () => {
  it("size is the qmgr line's size=, counted once per delivered recipient (authenticated: local and remote)", async () => {
    // frank@beta.example (SASL) → friend@remote.example (smtp) and carol@beta.example (lmtp), size=20162.
    const r = await read(B('4jfPsy3584zJ9Gh'));
    expect(r.rows).toEqual([{ date: DAY, domain: 'beta.example', metrics: { smtp_in: 20162n, smtp_out: 2n * 20162n } }]);
  });

  it('a deferred message repeats its qmgr line at each retry: still one size, counted at the delivery that is sent', async () => {
    const lines = B('4jfPsy4f8lzJ9Gh');
    expect(lines.filter((l) => l.includes('size=3689'))).toHaveLength(2);
    const r = await read(lines);
    expect(r.rows).toEqual([{ date: DAY, domain: 'alpha.example', metrics: { smtp_in: 0n, smtp_out: 3689n } }]);
    expect(r.ignored[IGN.notSent]).toBe(1);
  });

  it('an expired message (qmgr from= without size=, "returned to sender") counts nothing; its DSN has a null sender', async () => {
    const lines = B('4jfPsy4tMxzJ9TH', '4jfPvQ1Vp4zJ9S8');
    expect(lines.some((l) => l.endsWith('status=expired, returned to sender'))).toBe(true);
    const r = await read(lines);
    expect(r.rejects).toEqual([]);
    expect(r.rows).toEqual([]);
    expect(r.ignored[IGN.nullSender]).toBe(1);
    expect(r.ignored[IGN.notSent]).toBe(14);
  });

  it('null sender (a DSN arriving from outside, through the filter) is not counted, in or out', async () => {
    const r = await read(B('4jfPsy2Q6LzJ9DM', '4jfPsy4B1qzJ9hX'));
    expect(r.rows).toEqual([]);
    expect(r.ignored).toMatchObject({ [IGN.nullSender]: 1, [IGN.hop]: 1 });
  });

  it('a bounce (status=bounced) is not counted, nor the DSN Postfix sends back', async () => {
    const r = await read(B('4jfPsy2K8czJ9D7', '4jfPsy4472zJ9R6', '4jfPsy4fxwzJ9Ry'));
    expect(r.rows).toEqual([]);
    expect(r.ignored).toMatchObject({ [IGN.notSent]: 1, [IGN.nullSender]: 1 });
  });

  it('a delivery whose qmgr line was not read has no size: not guessed, counted as ignored', async () => {
    const r = await read(B('4jfPsy3584zJ9Gh').filter((l) => !l.includes('qmgr')));
    expect(r.rows).toEqual([]);
    expect(r.ignored[IGN.noSize]).toBe(2);
  });

  it('recipients are attributed by orig_to (an alias), else to; domains compared lower-cased', async () => {
    // sales@alpha.example → alice, bob: the copy's deliveries say only to=, the filter hop had orig_to=.
    const r = await read(B('4jfPsy22qhzJ9D6', '4jfPsy3ZCwzJ9Ry'));
    expect(r.by(DAY, 'alpha.example')).toEqual({ smtp_in: 2n * 9403n, smtp_out: 0n });
    // Changed: the recipient spelled in capitals.
    const shouted = B('4jfPsy1sQdzJ9BS', '4jfPsy2pL1zJ9FH').map((l) => l.replace('lmtp[8325]: 4jfPsy2pL1zJ9FH: to=<alice@alpha.example>', 'lmtp[8325]: 4jfPsy2pL1zJ9FH: to=<Alice@ALPHA.Example>'));
    expect((await read(shouted)).rows).toEqual([{ date: DAY, domain: 'alpha.example', metrics: { smtp_in: 4429n, smtp_out: 0n } }]);
    // Changed: an internationalized domain (SMTPUTF8) written in UTF-8 by Postfix: compared in its ASCII form.
    const idn = B('4jfPsy1sQdzJ9BS', '4jfPsy2pL1zJ9FH').map((l) => l.replace('4jfPsy2pL1zJ9FH: to=<alice@alpha.example>', '4jfPsy2pL1zJ9FH: to=<anna@Bücher.example>'));
    expect((await read(idn)).rows).toEqual([{ date: DAY, domain: 'xn--bcher-kva.example', metrics: { smtp_in: 4429n, smtp_out: 0n } }]);
  });
});

describe('origin', () => {
  it('authenticated: the domain of sasl_username when it has @ (changed: the envelope sender says another domain)', async () => {
    const lines = B('4jfPsy3584zJ9Gh').map((l) => l.replace('from=<frank@beta.example>', 'from=<frank@alpha.example>'));
    const r = await read(lines);
    expect(r.by(DAY, 'beta.example')).toEqual({ smtp_in: 20162n, smtp_out: 2n * 20162n });
    expect(r.by(DAY, 'alpha.example')).toBeUndefined();
  });

  it('authenticated as a bare login (sasl_username=legacy): the domain of the envelope sender', async () => {
    const r = await read(B('4jfPsy3ZC0zJ9WQ'));
    expect(r.rows).toEqual([{ date: DAY, domain: 'beta.example', metrics: { smtp_in: 0n, smtp_out: 5188n } }]);
  });

  it('local through pickup: the sender domain (Postfix has qualified it)', async () => {
    const r = await read(B('4jfPsy3xTRzJ9R8'));
    expect(r.rows).toEqual([{ date: DAY, domain: 'alpha.example', metrics: { smtp_in: 0n, smtp_out: 1667n } }]);
  });

  it("pickup's from=<root> is root@myorigin in qmgr: ignored with the host name; local(8)'s forward is counted on the copy", async () => {
    const r = await read(B('4jfPsy4SBPzJ9RB', '4jfPsy4X70zJ9DP'));
    // The copy says orig_to=<root> (no domain): attributed by to=<alice@alpha.example>; out goes to mail.hosting.example.
    expect(r.rows).toEqual([{ date: DAY, domain: 'alpha.example', metrics: { smtp_in: 1155n, smtp_out: 0n } }]);
    expect(r.ignored).toMatchObject({ [IGN.forwarded]: 1, [IGN.ignoredDomain]: 1 });
  });

  it('a trusted client (webmail on 127.0.0.1) is local: sender domain; untrusted, the same mail is from outside', async () => {
    const lines = B('4jfPsy3qWwzJ9FH', '4jfPsy4R4CzJ9DP');
    expect((await read(lines)).rows).toEqual([{ date: DAY, domain: 'alpha.example', metrics: { smtp_in: 0n, smtp_out: 7478n } }]);
    // Nothing trusted: mail from outside that leaves again is a forwarder's, counted for the recipient's domain.
    expect((await read(lines, { trustedClients: [] })).rows).toEqual([{ date: DAY, domain: 'remote.example', metrics: { smtp_in: 0n, smtp_out: 7478n } }]);
    // A CIDR range trusts it as well.
    expect((await read(lines, { trustedClients: ['127.0.0.0/8'] })).by(DAY, 'alpha.example')).toEqual({ smtp_in: 0n, smtp_out: 7478n });
  });

  it('outside mail delivered here is smtp_in only', async () => {
    const r = await read(B('4jfPsy4wwGzJ9fc', '4jfPsy4zmbzJ9hX'));
    expect(r.rows).toEqual([{ date: DAY, domain: 'beta.example', metrics: { smtp_in: 150427n, smtp_out: 0n } }]);
  });

  it('a forwarder (outside mail to fwd@beta.example re-sent to friend@remote.example): smtp_out for the forwarding domain', async () => {
    const r = await read(B('4jfPsy21MFzJ9D5', '4jfPsy3S2vzJ9R6'));
    expect(r.rows).toEqual([{ date: DAY, domain: 'beta.example', metrics: { smtp_in: 0n, smtp_out: 6428n } }]);
  });

  it('a remote delivery of a message whose client line was not read has no origin: counted as ignored', async () => {
    const r = await read(B('4jfPsy3584zJ9Gh').filter((l) => !l.includes('client=')));
    // The local delivery is smtp_in whatever the origin; the remote one cannot be attributed.
    expect(r.rows).toEqual([{ date: DAY, domain: 'beta.example', metrics: { smtp_in: 20162n, smtp_out: 0n } }]);
    expect(r.ignored[IGN.noOrigin]).toBe(1);
  });
});

describe('filter hops and their links', () => {
  it('linked both ways: "queued as" in the hop and orig_queue_id= on the copy; the copy is counted with its own size', async () => {
    const lines = B('4jfPsy1sQdzJ9BS', '4jfPsy2pL1zJ9FH');
    expect(lines.some((l) => l.includes('orig_queue_id=4jfPsy1sQdzJ9BS'))).toBe(true);
    expect(lines.some((l) => l.includes('queued as 4jfPsy2pL1zJ9FH'))).toBe(true);
    const r = await read(lines);
    expect(r.rows).toEqual([{ date: DAY, domain: 'alpha.example', metrics: { smtp_in: 4429n, smtp_out: 0n } }]);
    expect(r.ignored[IGN.hop]).toBe(1);
  });

  it('linked by "queued as" only, logged after the copy was delivered and removed', async () => {
    const lines = B('4jfPsy1v7mzJ9Bp', '4jfPsy2wGSzJ9Ft');
    const removed = lines.findIndex((l) => l.includes('4jfPsy2wGSzJ9Ft: removed'));
    const link = lines.findIndex((l) => l.includes('queued as 4jfPsy2wGSzJ9Ft'));
    expect(removed).toBeGreaterThan(0);
    expect(link).toBeGreaterThan(removed);
    expect(lines.some((l) => l.includes('orig_queue_id'))).toBe(false);
    const r = await read(lines);
    expect(r.rows).toEqual([
      { date: DAY, domain: 'alpha.example', metrics: { smtp_in: 12377n, smtp_out: 0n } },
      { date: DAY, domain: 'beta.example', metrics: { smtp_in: 12377n, smtp_out: 0n } },
    ]);
  });

  it('linked by orig_queue_id= only (the filter answered without "queued as")', async () => {
    const lines = B('4jfPsy21MFzJ9D5', '4jfPsy3S2vzJ9R6');
    expect(lines.some((l) => l.includes('queued as'))).toBe(false);
    expect((await read(lines)).by(DAY, 'beta.example')).toEqual({ smtp_in: 0n, smtp_out: 6428n });
  });

  it('without the link, a copy from a trusted client is settled as local one hour after removed (log time)', async () => {
    // Changed: time stamps. The original's hop lines (with the link) come 59 min or 61 min after the copy is removed.
    const original = B('4jfPsy1v7mzJ9Bp');
    const copy = B('4jfPsy2wGSzJ9Ft').filter((l) => !l.includes('4jfPsy1v7mzJ9Bp'));
    const hop = original.filter((l) => l.includes('queued as') || l.includes('removed'));
    const early = original.filter((l) => !hop.includes(l));
    const late = (hms: string) => read([...early, ...copy, ...at(hop, hms)]);
    const inTime = await late('06:28:26');
    expect(inTime.by(DAY, 'alpha.example')).toEqual({ smtp_in: 12377n, smtp_out: 0n });
    expect(inTime.by(DAY, 'remote.example')).toBeUndefined();
    const tooLate = await late('06:30:27');
    // Settled as local mail of its sender carl@remote.example: what the link exists to prevent.
    expect(tooLate.by(DAY, 'remote.example')).toEqual({ smtp_in: 0n, smtp_out: 2n * 12377n });
    expect(tooLate.by(DAY, 'alpha.example')).toEqual({ smtp_in: 12377n, smtp_out: 0n });
  });

  it('filterRelays decides what a hop is: without it the filtered message is counted twice', async () => {
    const lines = B('4jfPsy1sQdzJ9BS', '4jfPsy2pL1zJ9FH');
    const r = await read(lines, { filterRelays: ['127.0.0.1:10026'] });
    // The hop to 127.0.0.1:10024 becomes a remote delivery of outside mail (smtp_out), and the copy is counted too.
    expect(r.by(DAY, 'alpha.example')).toEqual({ smtp_in: 4429n, smtp_out: 4187n });
  });

  it('an IPv6 filter relay is compared as [ADDR]:PORT (changed: the relay written as over ::1)', async () => {
    const lines = B('4jfPsy1sQdzJ9BS', '4jfPsy2pL1zJ9FH').map((l) => l.replace('relay=127.0.0.1[127.0.0.1]:10024', 'relay=localhost[::1]:10024'));
    const r = await read(lines);
    expect(r.by(DAY, 'alpha.example')).toEqual({ smtp_in: 4429n, smtp_out: 0n });
    expect(r.ignored[IGN.hop]).toBe(1);
    expect((await read(lines, { filterRelays: ['127.0.0.1:10024'] })).by(DAY, 'alpha.example')).toEqual({ smtp_in: 4429n, smtp_out: 4187n });
  });

  it("filterTransports: a pipe transport's relay=NAME, or the service in the tag (changed: relay/tag rewritten)", async () => {
    const lines = B('4jfPsy1sQdzJ9BS', '4jfPsy2pL1zJ9FH');
    const piped = lines.map((l) => l.replace('postfix/smtp[8312]: 4jfPsy1sQdzJ9BS: to=<alice@alpha.example>, relay=127.0.0.1[127.0.0.1]:10024', 'postfix/pipe[8312]: 4jfPsy1sQdzJ9BS: to=<alice@alpha.example>, relay=scan'));
    const r = await read(piped, { filterRelays: [], filterTransports: ['scan'] });
    expect(r.by(DAY, 'alpha.example')).toEqual({ smtp_in: 4429n, smtp_out: 0n });
    expect(r.ignored[IGN.hop]).toBe(1);
    const tagged = lines.map((l) => l.replace('postfix/smtp[8312]', 'postfix/scan/smtp[8312]'));
    expect((await read(tagged, { filterRelays: [], filterTransports: ['scan'] })).by(DAY, 'alpha.example')).toEqual({ smtp_in: 4429n, smtp_out: 0n });
  });
});

describe('lines that look countable but cannot be read', () => {
  it('are rejected with file, line and reason; what they would have counted is held back, the rest is counted', async () => {
    const lines = B('4jfPsy3584zJ9Gh', '4jfPsy3xTRzJ9R8');
    const cut = lines.findIndex((l) => l.includes('4jfPsy3584zJ9Gh: to=<carol'));
    const size = lines.findIndex((l) => l.includes('4jfPsy3xTRzJ9R8: from=<info'));
    // Changed: a delivery line cut mid-way (a copytruncate rotation), a size that is not a number.
    lines[cut] = lines[cut]!.slice(0, lines[cut]!.indexOf(', delay='));
    lines[size] = lines[size]!.replace('size=1667', 'size=16x7');
    const r = await read(lines);
    expect(r.rejects.map((x) => [x.file, x.line, x.code])).toEqual([
      ['mail.log', size + 1, 'R_NOT_NUMERIC'],
      ['mail.log', cut + 1, 'R_PARSE'],
    ].sort((a, b) => (a[1] as number) - (b[1] as number)));
    expect(r.rejects.find((x) => x.code === 'R_PARSE')!.reason).toContain('no status=');
    // The cut line was frank's delivery to carol: beta's smtp_in and smtp_out for the day would be partial, so they
    // are held back (sent as missing: Plesk keeps its value). The bad size held info@alpha.example's smtp_out.
    expect(r.rows).toEqual([
      { date: DAY, domain: 'alpha.example', metrics: { smtp_in: 0n, smtp_out: 0n }, held: ['smtp_out'] },
      { date: DAY, domain: 'beta.example', metrics: { smtp_in: 0n, smtp_out: 20162n }, held: ['smtp_in', 'smtp_out'] },
    ]);
    expect(r.ignored[IGN.noSize]).toBeUndefined();
  });

  it('a status=sent line without a time stamp is rejected, not silently dropped', async () => {
    const lines = B('4jfPsy3xTRzJ9R8');
    const i = lines.findIndex((l) => l.includes('status=sent'));
    lines[i] = lines[i]!.slice(16); // changed: the stamp is gone
    const r = await read(lines);
    expect(r.rejects).toMatchObject([{ file: 'mail.log', line: i + 1, code: 'R_BAD_DATE' }]);
  });
});

describe('ignoreDomains', () => {
  it('names and *.suffix are counted as ignored, not sent', async () => {
    const lines = B('4jfPsy3584zJ9Gh', '4jfPsy3xTRzJ9R8');
    const exact = await read(lines, { ignoreDomains: ['beta.example'] });
    expect(exact.rows.map((x) => x.domain)).toEqual(['alpha.example']);
    expect(exact.ignored[IGN.ignoredDomain]).toBe(3);
    const suffix = await read(lines, { ignoreDomains: ['*.example'] });
    expect(suffix.rows).toEqual([]);
    expect(suffix.ignored[IGN.ignoredDomain]).toBe(4);
    // `*.suffix` is the subdomains only.
    expect((await read(lines, { ignoreDomains: ['*.beta.example'] })).rows.map((x) => x.domain)).toEqual(['alpha.example', 'beta.example']);
  });
});
