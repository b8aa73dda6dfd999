import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { TiError } from '../../src/errors.js';
import { cpanelSourceSchema, createCpanelReader } from '../../src/readers/cpanel/index.js';
import { createSqliteReader } from '../../src/readers/cpanel/sqlite.js';
import { cpuserFileText, samplesOfAccount, SAMPLE_ACCOUNTS, writeSampleBandwidthDb } from '../../src/stand-ins/cpanel-samples/samples.js';
import { byKey, heldByKey, makeContext, runReader, SAMPLE_EXPECTED, SAMPLES, withTempDir } from './helpers.js';

const cfg = (over: Record<string, unknown>) => cpanelSourceSchema.parse({ type: 'cpanel', from: 'sqlite', ...over });
const utc = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min) / 1000;

describe('cpanel sqlite reader', () => {
  it('reads the committed samples: daily rows only, mail from UNKNOWN, main domain from DNS=', async () => {
    const run = await runReader(createCpanelReader(cfg({ path: 'samples/cpanel/sqlite', usersPath: 'samples/cpanel/users' })));
    expect(byKey(run.records)).toEqual(SAMPLE_EXPECTED);
    expect(run.rejects).toEqual([]);
    // http and ftp are counted, not imported: alice has http on 3 days, ftp on 1; bob http on 2.
    expect(run.ignored.get('cpanel: http rows (not mail)')).toBe(5);
    expect(run.ignored.get('cpanel: ftp rows (not mail)')).toBe(1);
    expect(run.records[0]).toMatchObject({ origin: { file: join(SAMPLES, 'sqlite/alice.sqlite'), line: 0 } });
    expect(run.records[0]!.metrics).not.toHaveProperty('smtp_in');
    expect(run.records[0]!.metrics).not.toHaveProperty('pop3_imap_in');
  });

  it('takes exactly one interval: hourly gives the same totals as daily, never the sum of both', async () => {
    // The sample databases hold every byte three times (5min, hourly, daily), as cPanel writes them.
    const run = await runReader(createCpanelReader(cfg({ path: 'samples/cpanel/sqlite', usersPath: 'samples/cpanel/users', interval: 'hourly' })));
    expect(byKey(run.records)).toEqual(SAMPLE_EXPECTED);
  });

  it('re-buckets hourly rows into the days of another zone', async () => {
    // Samples are measured at 01:05, 09:40 and 18:55 UTC: in Tokyo (+9) the last third moves to the next day.
    const run = await runReader(
      createCpanelReader(cfg({ path: 'samples/cpanel/sqlite/alice.sqlite', usersPath: 'samples/cpanel/users', interval: 'hourly', timezone: 'Asia/Tokyo' })),
    );
    expect(byKey(run.records)).toEqual({
      'cpanel-alice.com 2026-11-01': { smtp_out: 3_495_252n, pop3_imap_out: 2_796_202n },
      'cpanel-alice.com 2026-11-02': { smtp_out: 3_145_730n, pop3_imap_out: 2_796_202n },
      'cpanel-alice.com 2026-11-03': { smtp_out: 5_592_405n, pop3_imap_out: 2_446_679n },
      'cpanel-alice.com 2026-11-04': { smtp_out: 2_446_678n, pop3_imap_out: 873_815n },
    });
  });

  it('turns daily rows into dates with the server zone, and warns when the zone does not fit', async () => {
    await withTempDir(async (dir) => {
      // A server in Tokyo writes daily rows at Tokyo midnight (15:00 UTC the day before).
      await writeSampleBandwidthDb(join(dir, 'alice.sqlite'), {
        domains: ['cpanel-alice.com'],
        samples: samplesOfAccount(SAMPLE_ACCOUNTS[0]!, 'Asia/Tokyo'),
        timezone: 'Asia/Tokyo',
      });
      await writeFile(join(dir, 'alice'), cpuserFileText('alice', 'cpanel-alice.com'));
      const right = await runReader(createCpanelReader(cfg({ path: dir, usersPath: dir, timezone: 'Asia/Tokyo' })), { captureLogs: true });
      expect(byKey(right.records)).toEqual(Object.fromEntries(Object.entries(SAMPLE_EXPECTED).filter(([k]) => k.includes('alice'))));
      expect(right.logs.join('')).not.toContain('not at midnight');

      const wrong = await runReader(createCpanelReader(cfg({ path: dir, usersPath: dir })), { captureLogs: true });
      expect(wrong.records.map((r) => r.date)).toEqual(['2026-10-31', '2026-11-01', '2026-11-02']);
      expect(wrong.logs.join('')).toContain('not at midnight');
    });
  });

  it('sums fractional and string values per day and rounds at the end; reports bad rows by rowid', async () => {
    await withTempDir(async (dir) => {
      const day = utc(2026, 11, 1);
      await writeSampleBandwidthDb(join(dir, 'carol.sqlite'), {
        domains: ['carol.example'],
        rows: [
          { interval: 'daily', protocol: 'pop3', unixtime: day, bytes: 100.4 },
          { interval: 'daily', protocol: 'imap', unixtime: day, bytes: '200.4' },
          { interval: 'daily', protocol: 'smtp', unixtime: day, bytes: 10 },
          { interval: 'daily', domain: 'carol.example', protocol: 'smtp', unixtime: day, bytes: 999 }, // mail under a named domain
          { interval: 'daily', protocol: 'smtp', unixtime: utc(2026, 11, 2), bytes: 'lots' },
          { interval: 'daily', protocol: 'pop3', unixtime: utc(2026, 11, 2), bytes: -5 },
          { interval: 'daily', protocol: 'imap', unixtime: 12, bytes: 1 },
          { interval: 'daily', protocol: 'gopher', unixtime: day, bytes: 1 },
          { interval: 'hourly', protocol: 'smtp', unixtime: day, bytes: 10 },
          { interval: '5min', protocol: 'smtp', unixtime: day, bytes: 10 },
        ],
      });
      await writeFile(join(dir, 'map.csv'), 'user,domain\ncarol,Carol.Example.\n');
      const run = await runReader(createCpanelReader(cfg({ path: dir, accountMap: join(dir, 'map.csv') })));
      expect(byKey(run.records)).toEqual({
        // 100.4 + 200.4 = 300.8 → 301; rounding per row would give 300.
        'carol.example 2026-11-01': { smtp_out: 10n, pop3_imap_out: 301n },
        // The day was measured, but both of its mail rows were rejected: both metrics are held back (never a
        // made-up 0 over what Plesk recorded).
        'carol.example 2026-11-02': {},
      });
      expect(heldByKey(run.records)).toEqual({ 'carol.example 2026-11-02': ['pop3_imap_out', 'smtp_out'] });
      const file = join(dir, 'carol.sqlite');
      expect(run.rejects).toEqual([
        { file, line: 5, column: 'bytes', code: 'R_NOT_NUMERIC', reason: expect.stringContaining('"lots"'), raw: 'lots' },
        { file, line: 6, column: 'bytes', code: 'R_NEGATIVE', reason: expect.stringContaining('negative'), raw: '-5' },
        { file, line: 7, column: 'unixtime', code: 'R_BAD_DATE', reason: expect.stringContaining('12'), raw: '12' },
      ]);
      expect(run.ignored.get('cpanel: mail rows under a named domain (mail is read from UNKNOWN only)')).toBe(1);
      expect(run.ignored.get('cpanel: rows of unknown protocol "gopher"')).toBe(1);
    });
  });

  it('refuses another schema version: one file of a directory is rejected, a single file is fatal', async () => {
    await withTempDir(async (dir) => {
      await writeSampleBandwidthDb(join(dir, 'old.sqlite'), { version: 2, samples: [{ protocol: 'smtp', unixtime: utc(2026, 11, 1, 5), bytes: 5 }] });
      await copyFile(join(SAMPLES, 'sqlite/bob.sqlite'), join(dir, 'bob.sqlite'));
      await writeFile(join(dir, 'junk.sqlite'), 'this is not a database at all, not even close...........................................................................');
      const run = await runReader(createCpanelReader(cfg({ path: dir, usersPath: join(SAMPLES, 'users') })));
      expect(byKey(run.records)).toEqual(Object.fromEntries(Object.entries(SAMPLE_EXPECTED).filter(([k]) => k.includes('bob'))));
      expect(run.rejects).toHaveLength(2);
      expect(run.rejects[0]).toMatchObject({ file: join(dir, 'junk.sqlite'), line: 0, code: 'R_PARSE' });
      expect(run.rejects[1]).toMatchObject({ file: join(dir, 'old.sqlite'), line: 0, code: 'R_PARSE', raw: 'old' });
      expect(run.rejects[1]!.reason).toContain('schema version 2');

      const single = createCpanelReader(cfg({ path: join(dir, 'old.sqlite') }));
      const err = await single.read(makeContext().ctx, () => {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TiError);
      expect(err).toMatchObject({ code: 'TI_SOURCE_FORMAT' });
      expect((err as Error).message).toContain(join(dir, 'old.sqlite'));
      expect((err as Error).message).toContain('version 2');
    });
  });

  it('a path that does not exist is fatal', async () => {
    const reader = createCpanelReader(cfg({ path: 'samples/cpanel/nowhere' }));
    await expect(reader.read(makeContext().ctx, () => {})).rejects.toMatchObject({ code: 'TI_SOURCE_UNREADABLE' });
  });

  it('accountMap wins over cpuser files; an account without a main domain is reported by name', async () => {
    await withTempDir(async (dir) => {
      const db = join(dir, 'db');
      const users = join(dir, 'users');
      await mkdir(db);
      await mkdir(users);
      for (const a of SAMPLE_ACCOUNTS) await copyFile(join(SAMPLES, `sqlite/${a.user}.sqlite`), join(db, `${a.user}.sqlite`));
      await copyFile(join(SAMPLES, 'sqlite/bob.sqlite'), join(db, 'dave.sqlite'));
      await writeFile(join(users, 'alice'), cpuserFileText('alice', 'cpanel-alice.com'));
      await writeFile(join(users, 'bob'), cpuserFileText('bob', 'cpanel-bob.net'));
      await writeFile(join(dir, 'map.csv'), '# user,domain\nalice,mail-heavy.com\nbroken\n');
      const run = await runReader(createCpanelReader(cfg({ path: db, usersPath: users, accountMap: join(dir, 'map.csv') })));
      const got = byKey(run.records);
      expect(Object.keys(got).sort()).toEqual([
        'cpanel-bob.net 2026-11-01', 'cpanel-bob.net 2026-11-02', 'cpanel-bob.net 2026-11-03',
        'mail-heavy.com 2026-11-01', 'mail-heavy.com 2026-11-02', 'mail-heavy.com 2026-11-03',
      ]);
      expect(got['mail-heavy.com 2026-11-01']).toEqual(SAMPLE_EXPECTED['cpanel-alice.com 2026-11-01']);
      expect(run.rejects).toEqual([
        { file: join(dir, 'map.csv'), line: 3, code: 'R_COLUMN_COUNT', reason: expect.any(String), raw: 'broken' },
        { file: join(db, 'dave.sqlite'), line: 0, code: 'R_NO_DOMAIN', raw: 'dave', reason: expect.stringContaining('account dave has no main domain') },
      ]);
      expect(run.rejects[1]!.reason).toContain('3 day(s)');
    });
  });

  it('retries a database locked by a writer (SQLITE_BUSY) and then reads what was committed', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'alice.sqlite');
      await copyFile(join(SAMPLES, 'sqlite/alice.sqlite'), file);
      const writer = new Database(file);
      writer.exec('BEGIN EXCLUSIVE');
      writer.prepare('UPDATE bandwidth_daily SET bytes = bytes + 1000 WHERE protocol = ? AND unixtime = ?').run('smtp', utc(2026, 11, 1));
      const release = setTimeout(() => {
        writer.exec('COMMIT');
        writer.close();
      }, 150);
      try {
        const reader = createSqliteReader(
          cfg({ path: file, usersPath: join(SAMPLES, 'users') }) as Parameters<typeof createSqliteReader>[0],
          { busyTimeoutMs: 5, retryDelaysMs: [100, 100, 200, 400] },
        );
        const run = await runReader(reader, { captureLogs: true });
        expect(byKey(run.records)['cpanel-alice.com 2026-11-01']).toEqual({ smtp_out: 5_243_880n, pop3_imap_out: 4_194_304n });
        expect(run.rejects).toEqual([]);
        expect(run.logs.filter((l) => l.includes('database busy, retrying')).length).toBeGreaterThanOrEqual(1);
      } finally {
        clearTimeout(release);
        if (writer.open) writer.close();
      }
    });
  });

  it('check() names the usable databases', async () => {
    const reader = createCpanelReader(cfg({ path: 'samples/cpanel/sqlite' }));
    await expect(reader.check!(makeContext().ctx)).resolves.toContain('2 of 2 usable (alice, bob)');
  });
});
