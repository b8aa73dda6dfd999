import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpanelSourceSchema, createCpanelReader } from '../../src/readers/cpanel/index.js';
import { classifyLegacyFile, legacyDay } from '../../src/readers/cpanel/legacy.js';
import { cpuserFileText } from '../../src/stand-ins/cpanel-samples/samples.js';
import { byKey, heldByKey, makeContext, runReader, SAMPLE_EXPECTED, SAMPLES, withTempDir } from './helpers.js';

const cfg = (over: Record<string, unknown>) => cpanelSourceSchema.parse({ type: 'cpanel', from: 'legacy', ...over });

describe('cpanel legacy reader', () => {
  it('reads the committed flat files: mail from user datastores only, -all and http ignored', async () => {
    const run = await runReader(createCpanelReader(cfg({ path: 'samples/cpanel/legacy', usersPath: 'samples/cpanel/users' })));
    // The domain datastores repeat the mail (pre-2010 duplication): reading them would double it.
    expect(byKey(run.records)).toEqual(SAMPLE_EXPECTED);
    expect(run.rejects).toEqual([]);
    expect(run.ignored.get('cpanel legacy: domain datastores (mail is read from user files only)')).toBe(2);
    expect(run.ignored.get('cpanel legacy: hourly/5-minute files (the daily file holds the same bytes)')).toBe(2);
    expect(run.ignored.get('cpanel legacy: -all summary lines')).toBe(6);
    expect(run.ignored.get('cpanel: http rows (not mail)')).toBe(5);
    expect(run.ignored.get('cpanel: ftp rows (not mail)')).toBe(1);
    expect(run.records[0]!.origin).toEqual({ file: join(SAMPLES, 'legacy/alice'), line: 1 });
  });

  it('reports bad lines with their line number and keeps the good ones', async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, 'greg-rrd'));
      await writeFile(
        join(dir, 'greg'),
        [
          '6.15.2012-smtp=12345', // 1
          '6.15.2012-smtp=5.5', // 2: same day, summed: 12350.5 → 12351
          '6.15.2012-pop3=100\r', // 3: CRLF
          '6.15.2012-imap=1.5e2', // 4
          '', // 5: empty, skipped
          'garbage', // 6
          '6.15.2012-smtp=12x', // 7
          '6.15.2012-smtp=-3', // 8
          '13.45.2012-smtp=1', // 9
          '6.16.2012=99', // 10: no protocol
          '12.31.1969-smtp=4', // 11: timestamp 0
          '6.16.2012-nntp=7', // 12: unknown protocol
          '6.16.2012-all=106', // 13
          '6.17.2012-http=500', // 14: the day exists, mail is 0
        ].join('\n'),
      );
      await writeFile(join(dir, 'greg.5min'), '2012.6.15.10.5-smtp=1\n');
      await writeFile(join(dir, 'greg.sqlite'), 'not for this reader');
      await writeFile(join(dir, 'map.csv'), 'greg,example.com\n');
      const run = await runReader(createCpanelReader(cfg({ path: dir, accountMap: join(dir, 'map.csv') })));
      expect(byKey(run.records)).toEqual({
        // lines 7 and 8 (smtp) are rejected: smtp_out of the 15th is held back, not sent as 12351 (partial).
        'example.com 2012-06-15': { pop3_imap_out: 250n },
        'example.com 2012-06-16': { smtp_out: 0n, pop3_imap_out: 0n },
        'example.com 2012-06-17': { smtp_out: 0n, pop3_imap_out: 0n },
      });
      expect(heldByKey(run.records)).toEqual({ 'example.com 2012-06-15': ['smtp_out'] });
      expect(run.records[0]!.held!.smtp_out).toMatchObject({ code: 'R_NOT_NUMERIC', line: 7 });
      const file = join(dir, 'greg');
      expect(run.rejects.map((r) => [r.file, r.line, r.code])).toEqual([
        [file, 6, 'R_PARSE'],
        [file, 7, 'R_NOT_NUMERIC'],
        [file, 8, 'R_NEGATIVE'],
        [file, 9, 'R_BAD_DATE'],
        [file, 10, 'R_PARSE'],
      ]);
      expect(run.ignored.get('cpanel legacy: entries dated at timestamp 0 (1969-12-31/1970-01-01)')).toBe(1);
      expect(run.ignored.get('cpanel: rows of unknown protocol "nntp"')).toBe(1);
      expect(run.ignored.get('cpanel legacy: sub-directories (RRD data)')).toBe(1);
      expect(run.ignored.get('cpanel legacy: files that are not flat datastores')).toBe(1);
    });
  });

  it('an account without a cpuser file or map entry is reported; cpuser DNS= gives the domain otherwise', async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, 'bw'));
      await mkdir(join(dir, 'users'));
      await writeFile(join(dir, 'bw', 'hank'), '1.2.2013-smtp=10\n');
      await writeFile(join(dir, 'bw', 'ivy'), '1.2.2013-imap=20\n');
      await writeFile(join(dir, 'users', 'ivy'), cpuserFileText('ivy', 'Bücher.Example'));
      const run = await runReader(createCpanelReader(cfg({ path: join(dir, 'bw'), usersPath: join(dir, 'users') })));
      expect(byKey(run.records)).toEqual({ 'xn--bcher-kva.example 2013-01-02': { smtp_out: 0n, pop3_imap_out: 20n } });
      expect(run.rejects).toEqual([
        { file: join(dir, 'bw', 'hank'), line: 0, code: 'R_NO_DOMAIN', raw: 'hank', reason: expect.stringContaining(`${join(dir, 'users', 'hank')} does not exist`) },
      ]);
    });
  });

  it('a missing path or a directory without user datastores is fatal', async () => {
    await expect(createCpanelReader(cfg({ path: 'samples/cpanel/none' })).read(makeContext().ctx, () => {})).rejects.toMatchObject({ code: 'TI_SOURCE_UNREADABLE' });
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'example.com'), '1.2.2013-http=10\n');
      await expect(createCpanelReader(cfg({ path: dir })).read(makeContext().ctx, () => {})).rejects.toMatchObject({ code: 'TI_SOURCE_UNREADABLE' });
    });
  });

  it('classifies files and parses M.D.YYYY', () => {
    expect(classifyLegacyFile('alice')).toEqual({ kind: 'user', user: 'alice' });
    expect(classifyLegacyFile('alice.hour').kind).toBe('skip');
    expect(classifyLegacyFile('example.com').kind).toBe('skip');
    expect(classifyLegacyFile('*.example.com').kind).toBe('skip');
    expect(legacyDay('6.15.2012')).toBe('2012-06-15');
    expect(legacyDay('2.30.2012')).toBeUndefined();
    expect(legacyDay('2012.6.15')).toBeUndefined();
  });
});
