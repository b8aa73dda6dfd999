// Days, files and years (docs/reference/maillog-accounting.md §1 and §4): whole days only, rotation with a message split across
// files, .gz, standard input, order by first time stamp (not by name), the December → January step, and metrics
// that are 0 versus missing. Samples: days/ (capture B over 2026-10-31 .. 11-04, rotated) and rollover/ (capture A
// over 2026-12-30 .. 2027-01-02), made by scripts/maillog-derive.mjs (time stamps rewritten, files split).
import { copyFileSync, createReadStream, readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { captured, readLog, SAMPLE_SOURCE, SAMPLES, scratch } from './helpers.js';

const EDGE_DAYS = 'maillog: partial first/last days skipped';
const EDGE_RECORDS = 'maillog: domain-days on skipped partial days';
const NO_SIZE = 'maillog: deliveries without size (qmgr line not in the files read)';
const NO_ORIGIN = 'maillog: remote deliveries without origin (client/pickup line not in the files read)';

// days/: values by hand (docs/sources/maillog.md, "Sample values"): 11-01 is the mail of capture B (the copies,
// the forwarder, the submissions, the pickup), 11-02 its IMAP/POP3 sessions, 11-03 the retried message.
const DAYS = [
  { date: '2026-11-01', domain: 'alpha.example', metrics: { smtp_in: 4429n + 12377n + 2n * 9403n + 1155n, smtp_out: 1667n + 7478n, pop3_imap_in: 0n, pop3_imap_out: 0n } },
  { date: '2026-11-01', domain: 'beta.example', metrics: { smtp_in: 12377n + 20162n + 150427n, smtp_out: 6428n + 2n * 20162n + 5188n, pop3_imap_in: 0n, pop3_imap_out: 0n } },
  { date: '2026-11-02', domain: 'alpha.example', metrics: { smtp_in: 0n, smtp_out: 0n, pop3_imap_in: 30205n + 86n, pop3_imap_out: 20267n + 23169n } },
  { date: '2026-11-02', domain: 'beta.example', metrics: { smtp_in: 0n, smtp_out: 0n, pop3_imap_in: 37n + 37n + 50n, pop3_imap_out: 13716n + 172031n + 847n } },
  { date: '2026-11-03', domain: 'alpha.example', metrics: { smtp_in: 0n, smtp_out: 3689n, pop3_imap_in: 0n, pop3_imap_out: 0n } },
];
const DAYS_SOURCE = { ...SAMPLE_SOURCE, edges: 'drop', userMap: 'users.csv' } as const;

describe('whole days from rotated files', () => {
  it('mail.log, mail.log.1, mail.log.2.gz read as one stream: three whole days, the partial first and last skipped', async () => {
    const r = await readLog({ ...DAYS_SOURCE, paths: 'days/mail.log*' });
    expect(r.rejects).toEqual([]);
    expect(r.rows).toEqual(DAYS);
    // 10-31 and 11-04 hold only start-up and shutdown lines: nothing to drop but the days themselves.
    expect(r.ignored[EDGE_DAYS]).toBe(2);
    expect(r.ignored[EDGE_RECORDS]).toBeUndefined();
  });

  it('messages split by the rotation: their client and size lines in an older file, their deliveries in a newer one', async () => {
    const gz = gunzipSync(readFileSync(path.join(SAMPLES, 'days/mail.log.2.gz'))).toString();
    const one = readFileSync(path.join(SAMPLES, 'days/mail.log.1'), 'utf8');
    expect(gz).toContain('4jfPsy3584zJ9Gh: from=<frank@beta.example>, size=20162');
    expect(one).toMatch(/4jfPsy3584zJ9Gh: to=<carol@beta\.example>.*status=sent/);
    // mail.log.1 alone: five deliveries have no size (frank → carol among them); the copy to carol is whole in it.
    const alone = await readLog({ ...DAYS_SOURCE, edges: 'keep', paths: 'days/mail.log.1' });
    expect(alone.by('2026-11-01', 'beta.example')).toEqual({ smtp_in: 150427n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n });
    expect(alone.ignored[NO_SIZE]).toBe(5);
    const joined = await readLog({ ...DAYS_SOURCE, edges: 'keep', paths: ['days/mail.log.1', 'days/mail.log.2.gz'] });
    expect(joined.by('2026-11-01', 'beta.example')).toEqual(DAYS[1]!.metrics);
    // The retried message: its client line in mail.log.1, the retry (qmgr again, then sent) in mail.log.
    const last = await readLog({ ...DAYS_SOURCE, edges: 'keep', paths: 'days/mail.log' });
    expect(last.by('2026-11-03', 'alpha.example')).toBeUndefined();
    expect(last.ignored[NO_ORIGIN]).toBe(1);
    const both = await readLog({ ...DAYS_SOURCE, edges: 'keep', paths: ['days/mail.log', 'days/mail.log.1'] });
    expect(both.by('2026-11-03', 'alpha.example')).toEqual(DAYS[4]!.metrics);
  });

  it('files are ordered by their first time stamp, not by name or by the order given; gzip is found by content', async () => {
    const dir = scratch({
      'a.log': readFileSync(path.join(SAMPLES, 'days/mail.log')),
      'b.log': readFileSync(path.join(SAMPLES, 'days/mail.log.2.gz')),
      'c.log': readFileSync(path.join(SAMPLES, 'days/mail.log.1')),
    });
    copyFileSync(path.join(SAMPLES, 'users.csv'), path.join(dir, 'users.csv'));
    const r = await readLog({ ...DAYS_SOURCE, paths: ['c.log', '*.log'] }, { baseDir: dir });
    expect(r.rows).toEqual(DAYS);
  });

  it('standard input (`-`) takes its place among the files by its first time stamp, gzip or not', async () => {
    const gz = () => createReadStream(path.join(SAMPLES, 'days/mail.log.2.gz'));
    const r = await readLog({ ...DAYS_SOURCE, paths: ['days/mail.log', '-', 'days/mail.log.1'] }, { stdin: gz() });
    expect(r.rows).toEqual(DAYS);
    const plain = readFileSync(path.join(SAMPLES, 'days/mail.log.1'));
    const r2 = await readLog({ ...DAYS_SOURCE, paths: ['-', 'days/mail.log', 'days/mail.log.2.gz'] }, { stdin: Readable.from([plain.subarray(0, 100), plain.subarray(100)]) });
    expect(r2.rows).toEqual(DAYS);
  });

  it('a day is whole only with lines before it starts and after it ends; edges: "keep" imports the partial ones', async () => {
    // mail.log.2.gz + mail.log.1 run from 10-31 22:10 to 11-02 10:00: 11-02 is the partial last day.
    const paths = ['days/mail.log.2.gz', 'days/mail.log.1'];
    const dropped = await readLog({ ...DAYS_SOURCE, paths });
    expect(dropped.rows).toEqual(DAYS.slice(0, 2));
    expect(dropped.ignored).toMatchObject({ [EDGE_DAYS]: 2, [EDGE_RECORDS]: 2 });
    const kept = await readLog({ ...DAYS_SOURCE, edges: 'keep', paths });
    expect(kept.rows).toEqual(DAYS.slice(0, 4));
    // One file from 11-01 23:59:59 to 11-02 10:00: no whole day at all.
    expect((await readLog({ ...DAYS_SOURCE, paths: 'days/mail.log.1' })).rows).toEqual([]);
  });

  it('reading the same files again gives the same records (absolute values per day)', async () => {
    const again = await readLog({ ...DAYS_SOURCE, paths: 'days/mail.log*' });
    expect(again.rows).toEqual(DAYS);
  });
});

describe('metrics: 0 or missing', () => {
  it("a daemon with no lines in the stream leaves its metrics missing; one with lines gives 0 where nothing counted", async () => {
    const postfixOnly = await readLog({ ...SAMPLE_SOURCE, paths: 'capture/postfix.log' });
    expect(postfixOnly.rows.map((x) => Object.keys(x.metrics))).toEqual([['smtp_in', 'smtp_out'], ['smtp_in', 'smtp_out']]);
    const dovecotOnly = await readLog({ ...SAMPLE_SOURCE, paths: 'capture/dovecot.log', userMap: 'users.csv' });
    expect(dovecotOnly.rows).toEqual([
      { date: '2026-12-02', domain: 'alpha.example', metrics: { pop3_imap_in: 30291n, pop3_imap_out: 43396n } },
      { date: '2026-12-02', domain: 'beta.example', metrics: { pop3_imap_in: 50n, pop3_imap_out: 186404n } },
    ]);
  });
});

describe('years', () => {
  // rollover/: capture A over New Year (values by hand as in envelope.test.ts, split at the day boundary).
  const ROLLOVER = [
    { date: '2026-12-31', domain: 'alpha.example', metrics: { smtp_in: 4421n + 12369n + 2n * 9395n + 1147n, smtp_out: 7470n + 1663n, pop3_imap_in: 0n, pop3_imap_out: 0n } },
    { date: '2026-12-31', domain: 'beta.example', metrics: { smtp_in: 12369n + 20158n + 150419n, smtp_out: 6420n + 2n * 20158n + 5184n, pop3_imap_in: 0n, pop3_imap_out: 0n } },
    { date: '2027-01-01', domain: 'alpha.example', metrics: { smtp_in: 0n, smtp_out: 3685n, pop3_imap_in: 30205n + 86n, pop3_imap_out: 20243n + 23153n } },
    { date: '2027-01-01', domain: 'beta.example', metrics: { smtp_in: 0n, smtp_out: 0n, pop3_imap_in: 50n, pop3_imap_out: 1023n + 12579n + 837n + 171118n + 847n } },
  ];
  /** rollover/ copied with the mtimes logrotate would leave (the newest file last written at `newest`). */
  const rolled = (newest: string) => {
    const dir = scratch({});
    for (const f of ['mail.log', 'mail.log.1', 'dovecot.log']) copyFileSync(path.join(SAMPLES, 'rollover', f), path.join(dir, f));
    copyFileSync(path.join(SAMPLES, 'users.csv'), path.join(dir, 'users.csv'));
    const t = new Date(newest);
    utimesSync(path.join(dir, 'mail.log'), t, t);
    utimesSync(path.join(dir, 'dovecot.log'), t, t);
    utimesSync(path.join(dir, 'mail.log.1'), new Date(Date.parse('2027-01-01T00:00:00+01:00')), new Date(Date.parse('2027-01-01T00:00:00+01:00')));
    return dir;
  };
  const source = { ...SAMPLE_SOURCE, edges: 'drop', userMap: 'users.csv', paths: ['mail.log*', 'dovecot.log'] } as const;

  it('without `year`: from the newest file’s mtime, with the December → January step inside the stream', async () => {
    const { year: _year, ...noYear } = source;
    const r = await readLog(noYear, { baseDir: rolled('2027-01-02T06:25:00+01:00') });
    expect(r.rejects).toEqual([]);
    expect(r.rows).toEqual(ROLLOVER);
    // The same logs found a year later: the year follows the mtime.
    const later = await readLog(noYear, { baseDir: rolled('2028-01-02T06:25:00+01:00') });
    expect(later.rows.map((x) => x.date)).toEqual(['2027-12-31', '2027-12-31', '2028-01-01', '2028-01-01']);
  });

  it('with `year`: the year of the stream’s first line, whatever the mtimes', async () => {
    const r = await readLog({ ...source, year: 2026 }, { baseDir: rolled('2031-05-01T00:00:00Z') });
    expect(r.rows).toEqual(ROLLOVER);
  });

  it('an RFC 3339 line anchors the year of the classic lines read before it', async () => {
    // Capture B: its first lines with classic stamps (no year) in a file whose mtime says 2025 (so they are read
    // first, as December 2024), then the rest in RFC 3339 form, which says 2026: the classic lines move to 2026.
    const dir = scratch({ 'old.log': captured('mail.log').slice(0, 50), 'new.log': captured('mail-rfc3339.log').slice(60) });
    utimesSync(path.join(dir, 'old.log'), new Date('2025-06-01T00:00:00Z'), new Date('2025-06-01T00:00:00Z'));
    const { year: _year, ...noYear } = SAMPLE_SOURCE;
    const r = await readLog({ ...noYear, paths: ['old.log', 'new.log'] }, { baseDir: dir });
    expect(new Set(r.rows.map((x) => x.date))).toEqual(new Set(['2026-12-02']));
  });

  it('gzip by name', async () => {
    const dir = scratch({ 'mail.log.9.gz': gzipSync(captured('mail.log').join('\n') + '\n') });
    const r = await readLog({ ...SAMPLE_SOURCE, paths: 'mail.log.9.gz' }, { baseDir: dir });
    expect(r.rows.map((x) => x.domain)).toEqual(['alpha.example', 'beta.example']);
  });
});
