import { mkdir, writeFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { cpanelSourceSchema, createCpanelReader } from '../../src/readers/cpanel/index.js';
import { userFromArchiveName } from '../../src/readers/cpanel/backup.js';
import { cpuserFileText, samplesOfAccount, SAMPLE_ACCOUNTS, writeBackupDump, writeSampleBandwidthDb } from '../../src/stand-ins/cpanel-samples/samples.js';
import { ALICE_EXPECTED, byKey, heldByKey, makeContext, runReader, SAMPLES, withTempDir } from './helpers.js';

const cfg = (over: Record<string, unknown>) => cpanelSourceSchema.parse({ type: 'cpanel', from: 'backup', ...over });
const utc = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h) / 1000;

/** A cpmove-<user> directory built from SAMPLE_ACCOUNTS through a real bandwidth database. */
async function buildCpmove(dir: string, user = 'alice', opts: { cp?: boolean; lineBytes?: number } = {}): Promise<string> {
  const account = SAMPLE_ACCOUNTS.find((a) => a.user === user) ?? { ...SAMPLE_ACCOUNTS[0]!, user };
  const db = join(dir, `${user}.sqlite`);
  await writeSampleBandwidthDb(db, { domains: [account.domain], samples: samplesOfAccount(account) });
  const cpmove = join(dir, `cpmove-${user}`);
  await mkdir(join(cpmove, 'cp'), { recursive: true });
  if (opts.cp !== false) await writeFile(join(cpmove, 'cp', user), cpuserFileText(user, account.domain));
  await writeBackupDump(db, cpmove, { lineBytes: opts.lineBytes ?? 700 });
  return cpmove;
}

async function pack(dir: string, name: string): Promise<string> {
  const file = join(dir, `${name}.tar.gz`);
  await tar.c({ gzip: true, file, cwd: dir }, [name]);
  return file;
}

describe('cpanel backup reader', () => {
  it('reads a .tar.gz built with the tar package, streaming: daily rows only, domain from cp/<user>', async () => {
    await withTempDir(async (dir) => {
      await buildCpmove(dir);
      const archive = await pack(dir, 'cpmove-alice');
      const run = await runReader(createCpanelReader(cfg({ path: archive })));
      expect(byKey(run.records)).toEqual(ALICE_EXPECTED);
      expect(run.rejects).toEqual([]);
      expect(run.records[0]!.origin.file).toBe(`${archive}:cpmove-alice/bandwidth_db_data.json`);
      expect(run.records[0]!.origin.line).toBeGreaterThan(1); // the dump starts with 5min rows
      expect(run.ignored.get('cpanel: http rows (not mail)')).toBe(3);
    });
  });

  it('reads the extracted directory to the same values', async () => {
    await withTempDir(async (dir) => {
      const cpmove = await buildCpmove(dir);
      const run = await runReader(createCpanelReader(cfg({ path: cpmove })));
      expect(byKey(run.records)).toEqual(ALICE_EXPECTED);
      expect(run.records[0]!.origin.file).toBe(join(cpmove, 'bandwidth_db_data.json'));
    });
  });

  it('reads the committed sample archive and directory', async () => {
    for (const path of ['samples/cpanel/backup/cpmove-alice.tar.gz', 'samples/cpanel/backup/cpmove-alice']) {
      const run = await runReader(createCpanelReader(cfg({ path })));
      expect(byKey(run.records)).toEqual(ALICE_EXPECTED);
      expect(run.rejects).toEqual([]);
    }
  });

  it('interval "hourly" reads the hourly rows instead (same totals), re-bucketed into `timezone`', async () => {
    const hourly = await runReader(createCpanelReader(cfg({ path: 'samples/cpanel/backup/cpmove-alice.tar.gz', interval: 'hourly' })));
    expect(byKey(hourly.records)).toEqual(ALICE_EXPECTED);
    const tokyo = await runReader(createCpanelReader(cfg({ path: 'samples/cpanel/backup/cpmove-alice', interval: 'hourly', timezone: 'Asia/Tokyo' })));
    expect(byKey(tokyo.records)['cpanel-alice.com 2026-11-04']).toEqual({ smtp_out: 2_446_678n, pop3_imap_out: 873_815n });
  });

  it('rejects bad lines and rows with their line and JSON path, and reads the rest', async () => {
    await withTempDir(async (dir) => {
      const cpmove = join(dir, 'cpmove-erin');
      await mkdir(join(cpmove, 'cp'), { recursive: true });
      await writeFile(join(cpmove, 'cp', 'erin'), cpuserFileText('erin', 'example.net'));
      await writeFile(join(cpmove, 'bandwidth_db.json'), JSON.stringify({ version: 3, metadata: {}, tables: {}, domains: { 'example.net': 1, UNKNOWN: 2 } }));
      const d1 = utc(2026, 11, 1);
      const lines = [
        JSON.stringify([
          { domain_id: 2, protocol: 'smtp', unixtime: d1, bytes: '1000.6', interval: 'daily' },
          { domain_id: 2, protocol: 'pop3', unixtime: d1, bytes: 0.7, interval: 'daily' },
          { domain_id: 2, protocol: 'imap', unixtime: d1, bytes: '0.7', interval: 'daily' },
          { domain_id: 1, protocol: 'smtp', unixtime: d1, bytes: 555, interval: 'daily' }, // mail under a named domain
          { domain_id: 2, protocol: 'smtp', unixtime: d1 + 3600, bytes: 77, interval: 'hourly' },
        ]),
        '{not json',
        JSON.stringify({ rows: [] }),
        JSON.stringify([
          { domain_id: 2, protocol: 'smtp', unixtime: utc(2026, 11, 2), bytes: 'many', interval: 'daily' },
          { domain_id: 2, protocol: 'smtp', unixtime: 'yesterday', bytes: 1, interval: 'daily' },
          { domain_id: 2, protocol: 'smtp', unixtime: d1, bytes: 1, interval: 'weekly' },
          { domain_id: 'x', protocol: 'imap', unixtime: d1, bytes: 1, interval: 'daily' },
          7,
        ]),
        '',
      ];
      await writeFile(join(cpmove, 'bandwidth_db_data.json'), lines.join('\n'));
      const archive = await pack(dir, 'cpmove-erin');
      const run = await runReader(createCpanelReader(cfg({ path: archive })));
      expect(byKey(run.records)).toEqual({
        // smtp 1000.6 → 1001; domain_id 1 is not UNKNOWN here. pop3 0.7 + imap 0.7 = 1.4 would be 1, but the imap
        // row with domain_id "x" may have been UNKNOWN's: pop3_imap_out is held back (never sent partial).
        'example.net 2026-11-01': { smtp_out: 1001n },
        // smtp "many" is rejected: smtp_out is held back, not sent as 0.
        'example.net 2026-11-02': { pop3_imap_out: 0n },
      });
      expect(heldByKey(run.records)).toEqual({ 'example.net 2026-11-01': ['pop3_imap_out'], 'example.net 2026-11-02': ['smtp_out'] });
      const file = `${archive}:cpmove-erin/bandwidth_db_data.json`;
      expect(run.rejects.map((r) => [r.file, r.line, r.column, r.code])).toEqual([
        [file, 2, undefined, 'R_PARSE'],
        [file, 3, undefined, 'R_PARSE'],
        [file, 4, '[0].bytes', 'R_NOT_NUMERIC'],
        [file, 4, '[1].unixtime', 'R_BAD_DATE'],
        [file, 4, '[2].interval', 'R_PARSE'],
        [file, 4, '[3].domain_id', 'R_PARSE'],
        [file, 4, '[4]', 'R_PARSE'],
      ]);
      expect(run.ignored.get('cpanel: mail rows under a named domain (mail is read from UNKNOWN only)')).toBe(1);
    });
  });

  it('accountMap wins over cp/<user>; without either the account is reported by name', async () => {
    await withTempDir(async (dir) => {
      await buildCpmove(dir);
      const archive = await pack(dir, 'cpmove-alice');
      await writeFile(join(dir, 'map.csv'), 'alice,shop.example.org\n');
      const mapped = await runReader(createCpanelReader(cfg({ path: archive, accountMap: join(dir, 'map.csv') })));
      expect(Object.keys(byKey(mapped.records))).toEqual(['shop.example.org 2026-11-01', 'shop.example.org 2026-11-02', 'shop.example.org 2026-11-03']);

      await rm(join(dir, 'cpmove-alice'), { recursive: true });
      await buildCpmove(dir, 'alice', { cp: false });
      const bare = await pack(dir, 'cpmove-alice');
      const run = await runReader(createCpanelReader(cfg({ path: bare })));
      expect(run.records).toEqual([]);
      expect(run.rejects).toEqual([
        { file: `${bare}:cpmove-alice/bandwidth_db_data.json`, line: 0, code: 'R_NO_DOMAIN', raw: 'alice', reason: expect.stringContaining('account alice has no main domain (no cp/alice in') },
      ]);
    });
  });

  it('an archive without a bandwidth dump, a damaged archive and a missing path are fatal', async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, 'cpmove-frank', 'cp'), { recursive: true });
      await writeFile(join(dir, 'cpmove-frank', 'cp', 'frank'), cpuserFileText('frank', 'example.com'));
      const empty = await pack(dir, 'cpmove-frank');
      await expect(createCpanelReader(cfg({ path: empty })).read(makeContext().ctx, () => {})).rejects.toMatchObject({ code: 'TI_SOURCE_FORMAT' });

      await buildCpmove(dir);
      const good = await readFile(await pack(dir, 'cpmove-alice'));
      const broken = join(dir, 'broken.tar.gz');
      await writeFile(broken, good.subarray(0, Math.floor(good.length / 2)));
      await expect(createCpanelReader(cfg({ path: broken })).read(makeContext().ctx, () => {})).rejects.toMatchObject({ code: 'TI_SOURCE_UNREADABLE' });

      await expect(createCpanelReader(cfg({ path: join(dir, 'nope.tar.gz') })).read(makeContext().ctx, () => {})).rejects.toMatchObject({ code: 'TI_SOURCE_UNREADABLE' });
    });
  });

  it('tells the account from cp/<user> or the archive name', () => {
    expect(userFromArchiveName('/x/cpmove-alice.tar.gz')).toBe('alice');
    expect(userFromArchiveName('/x/backup-11.3.2026_10-00-00_bob.tar.gz')).toBe('bob');
    expect(userFromArchiveName('/x/cpmove-carol')).toBe('carol');
    expect(userFromArchiveName('/x/whatever.tgz')).toBeUndefined();
  });

  it('check() finds the dump in the archive', async () => {
    await expect(createCpanelReader(cfg({ path: 'samples/cpanel/backup/cpmove-alice.tar.gz' })).check!(makeContext().ctx)).resolves.toContain('bandwidth_db.json, bandwidth_db_data.json');
  });
});
