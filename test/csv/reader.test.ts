import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { TiError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { SourceRecord } from '../../src/model.js';
import { Normalizer } from '../../src/normalize.js';
import { createCsvReader, csvSourceSchema, type CsvSourceInput } from '../../src/readers/csv/index.js';
import type { ReaderContext, Rejection } from '../../src/readers/types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ti-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function writeCsv(content: string | Buffer, name = `f${++fileNo}.csv`): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

interface Collected {
  records: SourceRecord[];
  rejects: Rejection[];
  ignored: Record<string, number>;
}

function makeCtx(extra: Partial<ReaderContext> = {}): { ctx: ReaderContext; got: Collected } {
  const got: Collected = { records: [], rejects: [], ignored: {} };
  const ctx: ReaderContext = {
    baseDir: dir,
    window: {},
    env: {},
    log: silentLogger(),
    reject: (r) => got.rejects.push(r),
    unresolved: () => {
      throw new Error('a CSV reader never reports unresolved names');
    },
    ignored: (what, count = 1) => {
      got.ignored[what] = (got.ignored[what] ?? 0) + count;
    },
    ...extra,
  };
  return { ctx, got };
}

async function read(cfg: Omit<CsvSourceInput, 'type'>, extra: Partial<ReaderContext> = {}): Promise<Collected> {
  const { ctx, got } = makeCtx(extra);
  await createCsvReader(csvSourceSchema.parse({ type: 'csv', ...cfg })).read(ctx, (r) => got.records.push(r));
  return got;
}

async function readText(text: string | Buffer, cfg: Omit<CsvSourceInput, 'type' | 'path'> = {}): Promise<Collected & { file: string }> {
  const file = writeCsv(text);
  return { ...(await read({ ...cfg, path: file })), file };
}

/** Compact view: [line, target, date, metrics]. */
function rows(got: Collected): [number, string, string, Record<string, bigint>][] {
  return got.records.map((r) => [r.origin.line, r.target.domain ?? `#${r.target.domId}`, r.date, { ...r.metrics }]);
}

async function expectTiError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TiError);
  expect((err as TiError).code).toBe(code);
  expect((err as TiError).message).toMatch(message);
}

const WIDE_HEADER = 'date,domain,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out\n';

describe('config schema', () => {
  it('applies defaults', () => {
    expect(csvSourceSchema.parse({ type: 'csv', path: 'x.csv' })).toEqual({
      type: 'csv',
      path: 'x.csv',
      layout: 'wide',
      unit: 'B',
      timezone: 'UTC',
      delimiter: ',',
      maxRecordBytes: 4194304,
    });
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', maxRecordBytes: 100 }).success).toBe(false);
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', maxRecordBytes: 1.5e6 }).success).toBe(true);
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', maxRecordBytes: '4MiB' }).success).toBe(false);
  });

  it('rejects unknown keys, units, zones and misplaced column mappings', () => {
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', unit: 'kb' }).success).toBe(false);
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', unit: 'PB' }).success).toBe(false);
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', timezone: 'Mars/Olympus' }).success).toBe(false);
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', timezone: 'Europe/Berlin' }).success).toBe(true);
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', colums: {} }).success).toBe(false);
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', columns: { domian: 'D' } }).success).toBe(false);
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', delimiter: '"' }).success).toBe(false);
    expect(csvSourceSchema.safeParse({ type: 'csv', path: '' }).success).toBe(false);
    const wrongLayout = csvSourceSchema.safeParse({ type: 'csv', path: 'x', columns: { protocol: 'Proto' } });
    expect(wrongLayout.success).toBe(false);
    expect(wrongLayout.error?.issues[0]).toMatchObject({ path: ['columns', 'protocol'], message: '"protocol" is not a column of the wide layout' });
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', layout: 'long', columns: { smtp_in: 'In' } }).success).toBe(false);
    expect(csvSourceSchema.safeParse({ type: 'csv', path: 'x', layout: 'long', columns: { bytes: 'Octets', unit: 'U' } }).success).toBe(true);
  });
});

describe('wide layout', () => {
  it('reads every metric column, exact beyond 2^53, with physical line numbers', async () => {
    const got = await readText(
      WIDE_HEADER +
        '2026-11-01,example.com,1,2,3,4\n' +
        '2026-11-02,Example.COM.,9007199254740993,0,9223372036854775807,10\n' +
        '2026-11-01,bücher.example,5,6,7,8\n',
    );
    expect(got.rejects).toEqual([]);
    expect(rows(got)).toEqual([
      [2, 'example.com', '2026-11-01', { smtp_in: 1n, smtp_out: 2n, pop3_imap_in: 3n, pop3_imap_out: 4n }],
      [3, 'example.com', '2026-11-02', { smtp_in: 9007199254740993n, smtp_out: 0n, pop3_imap_in: 9223372036854775807n, pop3_imap_out: 10n }],
      [4, 'xn--bcher-kva.example', '2026-11-01', { smtp_in: 5n, smtp_out: 6n, pop3_imap_in: 7n, pop3_imap_out: 8n }],
    ]);
    expect(got.records[0]?.origin).toEqual({ file: got.file, line: 2 });
  });

  it('an absent metric column is missing, an empty cell is missing for that row, 0 is zero', async () => {
    const got = await readText('date,domain,smtp_out,smtp_in\n2026-11-01,a.com,0,5\n2026-11-01,b.com,,7\n2026-11-01,c.com, ,\n');
    expect(got.rejects).toEqual([]);
    expect(rows(got)).toEqual([
      [2, 'a.com', '2026-11-01', { smtp_out: 0n, smtp_in: 5n }],
      [3, 'b.com', '2026-11-01', { smtp_in: 7n }],
      [4, 'c.com', '2026-11-01', {}],
    ]);
    for (const r of got.records) {
      expect('pop3_imap_in' in r.metrics).toBe(false);
      expect('pop3_imap_out' in r.metrics).toBe(false);
    }
  });

  it('names targets by dom_id, and prefers a non-empty domain when both columns exist', async () => {
    const only = await readText('date,dom_id,smtp_in\n2026-11-01,17,100\n2026-11-01, 2147483647 ,1\n');
    expect(rows(only)).toEqual([
      [2, '#17', '2026-11-01', { smtp_in: 100n }],
      [3, '#2147483647', '2026-11-01', { smtp_in: 1n }],
    ]);
    expect(only.records[0]?.target).toEqual({ domId: 17 });

    const both = await readText('date,domain,dom_id,smtp_in\n2026-11-01,a.com,5,1\n2026-11-01,,6,2\n2026-11-01,,,3\n');
    expect(rows(both)).toEqual([
      [2, 'a.com', '2026-11-01', { smtp_in: 1n }],
      [3, '#6', '2026-11-01', { smtp_in: 2n }],
    ]);
    expect(both.rejects).toEqual([
      { file: both.file, line: 4, column: 'domain', code: 'R_EMPTY_TARGET', reason: 'domain and dom_id are both empty', raw: '2026-11-01,,,3' },
    ]);
  });

  it('maps columns to other header names, trimmed and case-insensitive', async () => {
    const got = await readText(
      'Day , Domain Name,SMTP Sent,smtp received,Notes\n2026-11-01,example.net,100,200,"hello, world"\n',
      { columns: { date: 'day', domain: 'domain name', smtp_out: 'SMTP Sent', smtp_in: 'SMTP Received' } },
    );
    expect(got.rejects).toEqual([]);
    expect(rows(got)).toEqual([[2, 'example.net', '2026-11-01', { smtp_out: 100n, smtp_in: 200n }]]);
  });

  it('a header named after one role but mapped to another belongs to the mapped role only', async () => {
    const got = await readText('date,dom_id,smtp_in\n2026-11-01,shop.example.org,1\n', { columns: { domain: 'dom_id' } });
    expect(got.rejects).toEqual([]);
    expect(got.records[0]?.target).toEqual({ domain: 'shop.example.org' });
  });

  it('reads another delimiter', async () => {
    const got = await readText('date;domain;smtp_in\n2026-11-01;a.com;1\n', { delimiter: ';' });
    expect(rows(got)).toEqual([[2, 'a.com', '2026-11-01', { smtp_in: 1n }]]);
  });

  it('converts each unit exactly, decimals rounded half up', async () => {
    const expected: Record<string, [bigint, bigint]> = {
      B: [3n, 0n], // "0.0" is a whole number of bytes
      KB: [3000n, 1500n],
      MB: [3000000n, 1500000n],
      GB: [3000000000n, 1500000000n],
      TB: [3000000000000n, 1500000000000n],
      KiB: [3072n, 1536n],
      MiB: [3145728n, 1572864n],
      GiB: [3221225472n, 1610612736n],
      TiB: [3298534883328n, 1649267441664n],
    };
    for (const [unit, [three, oneHalf]] of Object.entries(expected)) {
      const half = unit === 'B' ? '0.0' : '1.5';
      const got = await readText(`date,domain,smtp_in,smtp_out,pop3_imap_in\n2026-11-01,a.com,3,${half},0.0005\n`, { unit: unit as 'B' });
      if (unit === 'B') {
        expect(got.rejects.map((r) => [r.column, r.code])).toEqual([['pop3_imap_in', 'R_NOT_NUMERIC']]);
        continue;
      }
      expect(got.rejects, unit).toEqual([]);
      const m = got.records[0]?.metrics;
      expect([m?.smtp_in, m?.smtp_out], unit).toEqual([three, oneHalf]);
    }
    const kb = await readText('date,domain,smtp_in,smtp_out\n2026-11-01,a.com,0.0005,0.0004\n', { unit: 'KB' });
    expect(kb.records[0]?.metrics).toEqual({ smtp_in: 1n, smtp_out: 0n });
  });
});

describe('long layout', () => {
  it('maps protocol and direction in any case; pop3 and imap both count as pop3_imap', async () => {
    const got = await readText(
      'date,domain,protocol,direction,bytes\n' +
        '2026-11-01,a.com,SMTP,in,1\n' +
        '2026-11-01,a.com,smtp,OUT,2\n' +
        '2026-11-01,a.com,pop3,In,3\n' +
        '2026-11-01,a.com,IMAP,out,4\n' +
        '2026-11-01,a.com,pop3_imap,in,5\n' +
        '2026-11-01,a.com,Pop3-Imap,out,6\n' +
        '2026-11-01,a.com,http,in,7\n' +
        '2026-11-01,a.com,FTP,out,8\n' +
        '2026-11-01,a.com,http,out,9\n',
      { layout: 'long' },
    );
    expect(got.rejects).toEqual([]);
    expect(rows(got)).toEqual([
      [2, 'a.com', '2026-11-01', { smtp_in: 1n }],
      [3, 'a.com', '2026-11-01', { smtp_out: 2n }],
      [4, 'a.com', '2026-11-01', { pop3_imap_in: 3n }],
      [5, 'a.com', '2026-11-01', { pop3_imap_out: 4n }],
      [6, 'a.com', '2026-11-01', { pop3_imap_in: 5n }],
      [7, 'a.com', '2026-11-01', { pop3_imap_out: 6n }],
    ]);
    // web/ftp traffic is not mail: counted, not rejected
    expect(got.ignored).toEqual({ 'csv protocol http': 2, 'csv protocol ftp': 1 });

    const n = new Normalizer({ reject: () => {} });
    for (const r of got.records) n.add(r);
    expect(n.records()[0]?.metrics).toEqual({ smtp_in: 1n, smtp_out: 2n, pop3_imap_in: 8n, pop3_imap_out: 10n });
  });

  it('takes a per-row unit over the configured one; unknown unit → R_BAD_UNIT', async () => {
    const got = await readText(
      'date,domain,protocol,direction,bytes,unit\n' +
        '2026-11-01,a.com,smtp,in,2,\n' +
        '2026-11-01,a.com,smtp,out,1.5,mb\n' +
        '2026-11-01,a.com,imap,in,1,KiB\n' +
        '2026-11-01,a.com,imap,out,1,XB\n' +
        '2026-11-01,a.com,imap,out,7,B\n',
      { layout: 'long', unit: 'KB' },
    );
    expect(rows(got)).toEqual([
      [2, 'a.com', '2026-11-01', { smtp_in: 2000n }],
      [3, 'a.com', '2026-11-01', { smtp_out: 1500000n }],
      [4, 'a.com', '2026-11-01', { pop3_imap_in: 1024n }],
      [6, 'a.com', '2026-11-01', { pop3_imap_out: 7n }],
    ]);
    expect(got.rejects).toEqual([
      {
        file: got.file,
        line: 5,
        column: 'unit',
        code: 'R_BAD_UNIT',
        reason: 'unknown unit "XB" (expected one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)',
        raw: '2026-11-01,a.com,imap,out,1,XB',
        affects: { target: { domain: 'a.com' }, date: '2026-11-01', metrics: ['pop3_imap_out'] },
      },
    ]);
  });

  it('maps long-layout columns', async () => {
    const got = await readText('When,Site,Service,Way,Octets\n2026-11-01,a.com,smtp,in,9\n', {
      layout: 'long',
      columns: { date: 'When', domain: 'Site', protocol: 'Service', direction: 'Way', bytes: 'Octets' },
    });
    expect(rows(got)).toEqual([[2, 'a.com', '2026-11-01', { smtp_in: 9n }]]);
  });
});

describe('dates and time zones', () => {
  const csv = (dates: string[]): string => 'date,domain,smtp_in\n' + dates.map((d, i) => `${d},a.com,${i}\n`).join('');

  it('reads days, compact days, ISO timestamps and epoch seconds in UTC', async () => {
    const got = await readText(
      csv([
        '2026-11-01',
        '20261102',
        '2026-11-01T23:30:00Z',
        '2026-11-01T23:30:00.123456z',
        '2026-11-01T23:30:00-02:00', // 2026-11-02T01:30Z
        '2026-11-02T01:30:00+0530', // 2026-11-01T20:00Z
        '2026-11-02T04:00+05', // 2026-11-01T23:00Z
        '2026-11-01 23:59:59',
        '1793575800', // 2026-11-01T23:30:00Z
        '1793590200', // 2026-11-02T03:30:00Z
        ' 2026-11-03 ',
      ]),
    );
    expect(got.rejects).toEqual([]);
    expect(got.records.map((r) => r.date)).toEqual([
      '2026-11-01',
      '2026-11-02',
      '2026-11-01',
      '2026-11-01',
      '2026-11-02',
      '2026-11-01',
      '2026-11-01',
      '2026-11-01',
      '2026-11-01',
      '2026-11-02',
      '2026-11-03',
    ]);
  });

  it('puts instants into the days of a non-UTC zone; offset-less times are local to it', async () => {
    const dates = [
      '2026-11-02T03:30:00Z', // 2026-11-01 22:30 EST
      '2026-11-01T23:30:00', // local: stays 2026-11-01
      '2026-11-02T00:30:00', // local: stays 2026-11-02
      '2026-11-01T23:30:00-05:00', // 2026-11-02T04:30Z = 2026-11-01 23:30 EST
      '1793590200', // 2026-11-02T03:30Z = 2026-11-01 22:30 EST
      '2026-11-01', // a day is a day in any zone
    ];
    const ny = await readText(csv(dates), { timezone: 'America/New_York' });
    expect(ny.rejects).toEqual([]);
    expect(ny.records.map((r) => r.date)).toEqual(['2026-11-01', '2026-11-01', '2026-11-02', '2026-11-01', '2026-11-01', '2026-11-01']);

    const tokyo = await readText(csv(['2026-11-01T16:00:00Z', '1793575800', '2026-11-01T23:30:00']), { timezone: 'Asia/Tokyo' });
    expect(tokyo.records.map((r) => r.date)).toEqual(['2026-11-02', '2026-11-02', '2026-11-01']);
  });

  it('rejects impossible dates and unknown forms with R_BAD_DATE', async () => {
    const bad = ['2026-02-30', '2026-13-01', '20260230', '2026-11-01T24:00:00Z', '2026-11-01T10:61', 'yesterday', '1793575800000', '11/01/2026', '', '2026-11'];
    const got = await readText(csv(bad));
    expect(got.records).toEqual([]);
    expect(got.rejects.map((r) => [r.line, r.column, r.code])).toEqual(bad.map((_, i) => [i + 2, 'date', 'R_BAD_DATE']));
    expect(got.rejects[0]).toEqual({
      file: got.file,
      line: 2,
      column: 'date',
      code: 'R_BAD_DATE',
      reason: 'not a valid date or timestamp: "2026-02-30"',
      raw: '2026-02-30,a.com,0',
    });
  });
});

describe('bad rows', () => {
  it('rejects each kind with file, line, column and code, and keeps the good rows', async () => {
    const text = [
      'date,domain,protocol,direction,bytes,unit', // 1
      '2026-11-01,a.com,smtp,in,10,', // 2 good
      '2026-11-01,a.com,smtp,in,12abc,', // 3 not numeric
      '2026-11-01,a.com,smtp,in,-5,', // 4 negative
      '2026-11-01,a.com,smtp,in,9223372036854775808,', // 5 over long
      '2026-11-01,a.com,smtp,in,9223372036854775.808,KB', // 6 over long after the unit
      '2026-02-30,a.com,smtp,in,1,', // 7 bad date
      '2026-11-01,  ,smtp,in,1,', // 8 empty domain
      '2026-11-01,a.com,smtp,in,1', // 9 column count
      '2026-11-01,a.com,smtp,in,1,,extra', // 10 column count
      '2026-11-01,a.com,uucp,in,1,', // 11 protocol
      '2026-11-01,a.com,smtp,up,1,', // 12 direction
      '2026-11-01,a.com,smtp,in,1,XB', // 13 unit
      '2026-11-01,a"b.com,smtp,in,1,', // 14 malformed quoting
      '2026-11-01,not a domain!,smtp,in,1,', // 15 bad domain
      '2026-11-01,a.com,smtp,in,2.5,', // 16 fractional bytes
      '2026-11-01,a.com,smtp,in,,', // 17 empty bytes
      '2026-11-01,a.com,smtp,out,20,', // 18 good
      '',
    ].join('\n');
    const got = await readText(text, { layout: 'long' });
    expect(rows(got)).toEqual([
      [2, 'a.com', '2026-11-01', { smtp_in: 10n }],
      [18, 'a.com', '2026-11-01', { smtp_out: 20n }],
    ]);
    expect(got.rejects.map((r) => [r.line, r.column, r.code])).toEqual([
      [3, 'bytes', 'R_NOT_NUMERIC'],
      [4, 'bytes', 'R_NEGATIVE'],
      [5, 'bytes', 'R_OVER_LONG'],
      [6, 'bytes', 'R_OVER_LONG'],
      [7, 'date', 'R_BAD_DATE'],
      [8, 'domain', 'R_EMPTY_TARGET'],
      [9, undefined, 'R_COLUMN_COUNT'],
      [10, undefined, 'R_COLUMN_COUNT'],
      [11, 'protocol', 'R_BAD_PROTOCOL'],
      [12, 'direction', 'R_BAD_DIRECTION'],
      [13, 'unit', 'R_BAD_UNIT'],
      [14, 'domain', 'R_PARSE'],
      [15, 'domain', 'R_BAD_TARGET'],
      [16, 'bytes', 'R_NOT_NUMERIC'],
      [17, 'bytes', 'R_NOT_NUMERIC'],
    ]);
    for (const r of got.rejects) expect(r.file).toBe(got.file);
    const byLine = new Map(got.rejects.map((r) => [r.line, r]));
    expect(byLine.get(3)).toMatchObject({ reason: 'bytes: not a number: "12abc"', raw: '2026-11-01,a.com,smtp,in,12abc,' });
    expect(byLine.get(4)?.reason).toBe('bytes: negative value: -5');
    expect(byLine.get(9)).toMatchObject({ reason: 'expected 6 columns as in the header (line 1), got 5', raw: '2026-11-01,a.com,smtp,in,1' });
    expect(byLine.get(11)?.reason).toBe('unknown protocol "uucp" (expected smtp, pop3, imap or pop3_imap)');
    expect(byLine.get(12)?.reason).toBe('unknown direction "up" (expected in or out)');
    expect(byLine.get(14)?.reason).toMatch(/^INVALID_OPENING_QUOTE: /);
    expect(byLine.get(15)?.reason).toBe('not a valid domain name: "not a domain!"');
  });

  it('rejects bad dom_id values as R_BAD_TARGET', async () => {
    const got = await readText('date,dom_id,smtp_in\n2026-11-01,0,1\n2026-11-01,-3,1\n2026-11-01,2147483648,1\n2026-11-01,12a,1\n2026-11-01,1.5,1\n2026-11-01,4,1\n');
    expect(rows(got)).toEqual([[7, '#4', '2026-11-01', { smtp_in: 1n }]]);
    expect(got.rejects.map((r) => [r.line, r.column, r.code])).toEqual([2, 3, 4, 5, 6].map((l) => [l, 'dom_id', 'R_BAD_TARGET']));
    expect(got.rejects[2]?.reason).toBe('dom_id must be an integer 1..2147483647, got "2147483648"');
  });

  it('reports an unclosed quote as R_PARSE on its own line and keeps the rows before and after it', async () => {
    const got = await readText(WIDE_HEADER + '2026-11-01,a.com,1,2,3,4\n2026-11-01,"b.com,1,2,3,4\n2026-11-02,c.com,1,2,3,4\n');
    expect(rows(got).map((r) => r[0])).toEqual([2, 4]);
    expect(got.rejects).toHaveLength(1);
    expect(got.rejects[0]).toMatchObject({ file: got.file, line: 3, column: 'domain', code: 'R_PARSE', reason: expect.stringMatching(/^CSV_QUOTE_NOT_CLOSED: /) });
  });

  it('a wide row with a bad value is rejected whole (first bad column named)', async () => {
    const got = await readText(WIDE_HEADER + '2026-11-01,a.com,1,x,-1,4\n');
    expect(got.records).toEqual([]);
    expect(got.rejects).toEqual([
      {
        file: got.file, line: 2, column: 'smtp_out', code: 'R_NOT_NUMERIC', reason: 'smtp_out: not a number: "x"', raw: '2026-11-01,a.com,1,x,-1,4',
        // every metric the row had a value for is held back for its key (docs/reconcile.md)
        affects: { target: { domain: 'a.com' }, date: '2026-11-01', metrics: ['smtp_in', 'smtp_out', 'pop3_imap_in', 'pop3_imap_out'] },
      },
    ]);
  });

  it('quotes the raw row where needed', async () => {
    const got = await readText('date,domain,smtp_in,note\n2026-11-01,a.com,x,"say ""hi"", bye"\n');
    expect(got.rejects[0]?.raw).toBe('2026-11-01,a.com,x,"say ""hi"", bye"');
  });
});

describe('line numbers', () => {
  it('counts physical lines with CRLF, BOM, quoted multi-line fields and empty lines', async () => {
    const text =
      '\uFEFFdate,domain,smtp_in,note\r\n' + // 1
      '2026-11-01,a.com,1,"one\r\ntwo\r\nthree"\r\n' + // 2-4
      '2026-11-01,b.com,2,plain\r\n' + // 5
      '\r\n' + // 6 (empty)
      '2026-11-01,c.com,3,"x\ny"\r\n' + // 7-8 (LF inside a CRLF file)
      '2026-11-01,d.com,4,"\r\n"\r\n' + // 9-10
      '   \r\n' + // 11 (blanks)
      '2026-11-01,e.com,x,"p\r\nq"\r\n' + // 12-13, rejected
      '2026-11-01,f.com,6,last\r\n'; // 14
    const got = await readText(text);
    expect(rows(got).map((r) => [r[0], r[1]])).toEqual([
      [2, 'a.com'],
      [5, 'b.com'],
      [7, 'c.com'],
      [9, 'd.com'],
      [14, 'f.com'],
    ]);
    // The multi-line record 12-13 did not land: its second line is read again, and rejected with its own number.
    expect(got.rejects.map((r) => [r.line, r.code, r.raw])).toEqual([
      [12, 'R_NOT_NUMERIC', '2026-11-01,e.com,x,"p\r\nq"'],
      [13, 'R_PARSE', 'q"'],
    ]);
  });

  it('reads an LF file with some CRLF lines: values and line numbers stay right', async () => {
    const got = await readText(
      'date,smtp_in,domain\n' + // 1
        '2026-11-01,1,a.com\r\n' + // 2
        '\r\n' + // 3 (empty)
        '2026-11-01,2,b.com\n' + // 4
        '2026-11-01,3,"c\r\n.com"\n' + // 5-6, rejected (bad name) with the right line
        '2026-11-01,4\r\n' + // 7, too few columns
        '2026-11-01,5,d.com\r\n' + // 8
        '\n\n' + // 9, 10
        '2026-11-01,6,e.com', // 11, no final line break
    );
    expect(rows(got)).toEqual([
      [2, 'a.com', '2026-11-01', { smtp_in: 1n }],
      [4, 'b.com', '2026-11-01', { smtp_in: 2n }],
      [8, 'd.com', '2026-11-01', { smtp_in: 5n }],
      [11, 'e.com', '2026-11-01', { smtp_in: 6n }],
    ]);
    expect(got.rejects.map((r) => [r.line, r.code])).toEqual([
      [5, 'R_BAD_TARGET'],
      [6, 'R_PARSE'], // `.com"`: the rejected record's second line, read again
      [7, 'R_COLUMN_COUNT'],
    ]);
    // a value in the last column keeps no CR
    const last = await readText('date,domain,smtp_in\n2026-11-01,a.com,7\r\n2026-11-01,b.com,8\n');
    expect(rows(last)).toEqual([
      [2, 'a.com', '2026-11-01', { smtp_in: 7n }],
      [3, 'b.com', '2026-11-01', { smtp_in: 8n }],
    ]);
  });

  it('a CRLF file with an LF-only line: every line is a row of its own', async () => {
    const got = await readText('date,domain,smtp_in,note\r\n2026-11-01,a.com,1,"x"\n2026-11-01,b.com,2,"y"\r\n2026-11-01,c.com,3,z\r\n');
    expect(rows(got)).toEqual([
      [2, 'a.com', '2026-11-01', { smtp_in: 1n }],
      [3, 'b.com', '2026-11-01', { smtp_in: 2n }],
      [4, 'c.com', '2026-11-01', { smtp_in: 3n }],
    ]);
    expect(got.rejects).toEqual([]);
  });

  it('reads a file whose lines end in lone CRs (classic Mac)', async () => {
    const got = await readText('date,domain,smtp_in,note\r2026-11-01,a.com,1,"two\nparts"\r2026-11-01,b.com,x,n\r2026-11-01,c.com,3,n');
    expect(rows(got)).toEqual([
      [2, 'a.com', '2026-11-01', { smtp_in: 1n }],
      [4, 'c.com', '2026-11-01', { smtp_in: 3n }],
    ]);
    expect(got.rejects.map((r) => [r.line, r.code])).toEqual([[3, 'R_NOT_NUMERIC']]);
  });

  it('stays right across read chunks with many multi-line fields', async () => {
    const lines: string[] = ['date,domain,smtp_in,note'];
    const expected: [number, string][] = [];
    let physical = 2;
    for (let i = 0; i < 20000; i++) {
      const domain = `d${i}.example.com`;
      const multi = i % 7 === 3;
      const crlf = i % 2 === 0;
      const note = multi ? (crlf ? '"a\r\nb\r\nc"' : '"a\nb"') : 'n';
      lines.push(`2026-11-01,${domain},${i},${note}`);
      if (i % 1000 === 0) expected.push([physical, domain]);
      physical += multi ? (crlf ? 3 : 2) : 1;
    }
    const got = await readText(lines.join('\r\n') + '\r\n');
    expect(got.records).toHaveLength(20000);
    const byDomain = new Map(got.records.map((r) => [r.target.domain, r.origin.line]));
    for (const [line, domain] of expected) expect(byDomain.get(domain), domain).toBe(line);
    expect(got.records.at(-1)?.origin.line).toBe(physical - 1);
  });
});

describe('inputs', () => {
  it('reads .gz files', async () => {
    const file = writeCsv(gzipSync(Buffer.from('\uFEFF' + WIDE_HEADER + '2026-11-01,a.com,1,2,3,4\n2026-11-02,a.com,9007199254740993,0,0,0\n')), 'traffic.csv.gz');
    const got = await read({ path: file });
    expect(got.rejects).toEqual([]);
    expect(rows(got)).toEqual([
      [2, 'a.com', '2026-11-01', { smtp_in: 1n, smtp_out: 2n, pop3_imap_in: 3n, pop3_imap_out: 4n }],
      [3, 'a.com', '2026-11-02', { smtp_in: 9007199254740993n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n }],
    ]);
  });

  it('reads standard input for path "-"', async () => {
    const stdin = Readable.from([Buffer.from('date,domain,smtp_in\n2026-11-01,a.'), Buffer.from('com,5\n2026-11-01,b.com,6\n')]);
    const got = await read({ path: '-' }, { stdin });
    expect(rows(got)).toEqual([
      [2, 'a.com', '2026-11-01', { smtp_in: 5n }],
      [3, 'b.com', '2026-11-01', { smtp_in: 6n }],
    ]);
    expect(got.records[0]?.origin.file).toBe('<stdin>');
  });

  it('resolves a relative path against baseDir and reports it as configured', async () => {
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'sub', 'rel.csv'), 'date,domain,smtp_in\n2026-11-01,a.com,x\n');
    const got = await read({ path: 'sub/rel.csv' });
    expect(got.rejects[0]).toMatchObject({ file: 'sub/rel.csv', line: 2, column: 'smtp_in' });
  });

  it('honours an abort signal', async () => {
    const file = writeCsv(WIDE_HEADER + '2026-11-01,a.com,1,2,3,4\n'.repeat(1000));
    const ac = new AbortController();
    ac.abort();
    await expect(read({ path: file }, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('unusable sources', () => {
  it('throws TI_SOURCE_UNREADABLE for a missing file, a directory or broken gzip', async () => {
    await expectTiError(read({ path: 'nope.csv' }), 'TI_SOURCE_UNREADABLE', /nope\.csv.*ENOENT/);
    mkdirSync(path.join(dir, 'adir.csv'), { recursive: true });
    await expectTiError(read({ path: 'adir.csv' }), 'TI_SOURCE_UNREADABLE', /adir\.csv.*EISDIR/);
    const gz = writeCsv('date,domain,smtp_in\n', 'plain.csv.gz');
    await expectTiError(read({ path: gz }), 'TI_SOURCE_UNREADABLE', /plain\.csv\.gz: incorrect header check/);
  });

  it('throws TI_SOURCE_HEADER naming what is missing', async () => {
    const cases: [string, Omit<CsvSourceInput, 'type' | 'path'>, RegExp][] = [
      ['', {}, /the file is empty/],
      ['\n\n', {}, /the file is empty/],
      ['domain,smtp_in\n', {}, /wide layout needs date; header is: domain, smtp_in/],
      ['date,smtp_in\n', {}, /needs domain or dom_id/],
      ['date,domain,bytes\n', {}, /needs a metric column \(any of smtp_in, smtp_out, pop3_imap_in, pop3_imap_out\)/],
      ['date,domain,bytes\n', { layout: 'long' }, /long layout needs protocol, direction/],
      ['date,domain,protocol,direction\n', { layout: 'long' }, /long layout needs bytes/],
      ['date,domain,smtp_in\n', { columns: { domain: 'Domain Name' } }, /column "Domain Name" \(columns\.domain\) is not in the header: date, domain, smtp_in/],
      ['date,domain,smtp_in,SMTP_IN\n', {}, /column "smtp_in" appears twice/],
      ['date,dom"ain,smtp_in\n2026-11-01,a.com,1\n', {}, /the header line cannot be parsed: INVALID_OPENING_QUOTE/],
    ];
    for (const [text, cfg, message] of cases) {
      const file = writeCsv(text);
      await expectTiError(read({ ...cfg, path: file }), 'TI_SOURCE_HEADER', message);
    }
  });

  it('an unclosed quote that would swallow more than maxRecordBytes rejects its own line; the rest lands', async () => {
    const file = writeCsv(WIDE_HEADER + '2026-11-01,a.com,1,2,3,4\n2026-11-01,"b.com,1,2,3,4\n' + '2026-11-02,c.com,1,2,3,4\n'.repeat(60000));
    const got = await read({ path: file, maxRecordBytes: 256 * 1024 });
    expect(got.records).toHaveLength(60001);
    expect(got.records.slice(0, 2).map((r) => r.origin.line)).toEqual([2, 4]);
    expect(got.rejects).toEqual([
      {
        file,
        line: 3,
        column: 'domain',
        code: 'R_PARSE',
        reason: 'CSV_QUOTE_NOT_CLOSED: the quote that opens field "domain" is not closed within maxRecordBytes (262144 bytes)',
        raw: '2026-11-01,"b.com,1,2,3,4',
      },
    ]);
  });

  it('long files of short records never trip the record guard', async () => {
    const file = writeCsv(WIDE_HEADER + '2026-11-02,c.com,1,2,3,4\n'.repeat(20000));
    const { ctx, got } = makeCtx();
    await createCsvReader(csvSourceSchema.parse({ type: 'csv', path: file, maxRecordBytes: 1024 }), { readChunkBytes: 4096 }).read(ctx, (r) => got.records.push(r));
    expect(got.records).toHaveLength(20000);
  });

  it('passes an error thrown by emit through unchanged', async () => {
    const { ctx } = makeCtx();
    const file = writeCsv(WIDE_HEADER + '2026-11-01,a.com,1,2,3,4\n');
    const boom = new Error('downstream failed');
    await expect(
      createCsvReader(csvSourceSchema.parse({ type: 'csv', path: file })).read(ctx, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });

  it('a bad header rejects nothing and emits nothing', async () => {
    const { ctx, got } = makeCtx();
    const file = writeCsv('foo,bar\n1,"x\n2,y\n');
    const reader = createCsvReader(csvSourceSchema.parse({ type: 'csv', path: file }));
    await expect(reader.read(ctx, (r) => got.records.push(r))).rejects.toMatchObject({ code: 'TI_SOURCE_HEADER' });
    expect(got.rejects).toEqual([]);
    expect(got.records).toEqual([]);
  });
});

describe('check', () => {
  it('reads the header only and describes it', async () => {
    const { ctx, got } = makeCtx();
    const file = writeCsv('\uFEFFDate,Domain Name,smtp_in,SMTP_OUT\n2026-11-01,a.com,x,1\n' + '2026-11-01,a.com,1,1\n'.repeat(50000));
    const reader = createCsvReader(csvSourceSchema.parse({ type: 'csv', path: file, columns: { domain: 'Domain Name' }, unit: 'KiB', timezone: 'Europe/Berlin' }));
    const text = await reader.check?.(ctx);
    expect(text).toBe(
      'wide layout, columns: date, domain="Domain Name", smtp_in, smtp_out, (no pop3_imap_in, pop3_imap_out: left as recorded); unit KiB; time zone Europe/Berlin',
    );
    expect(got.rejects).toEqual([]);
  });

  it('describes a long layout and fails on a bad header', async () => {
    const { ctx } = makeCtx();
    const good = writeCsv('date,dom_id,protocol,direction,bytes,unit\n');
    const reader = createCsvReader(csvSourceSchema.parse({ type: 'csv', path: good, layout: 'long' }));
    expect(await reader.check?.(ctx)).toBe('long layout, columns: date, dom_id, protocol, direction, bytes, unit; unit B; time zone UTC');
    const bad = writeCsv('date,domain,bytes\n');
    await expectTiError(createCsvReader(csvSourceSchema.parse({ type: 'csv', path: bad, layout: 'long' })).check?.(ctx) ?? Promise.resolve(), 'TI_SOURCE_HEADER', /needs protocol, direction/);
  });
});
