// The sample files the demo and the docs use: read each one end to end (reader + Normalizer) and check every figure.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { Normalizer } from '../../src/normalize.js';
import { createCsvReader, csvSourceSchema, type CsvSourceInput } from '../../src/readers/csv/index.js';
import type { Rejection } from '../../src/readers/types.js';

const samples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../samples');

async function ingest(cfg: Omit<CsvSourceInput, 'type'>) {
  const rejects: Rejection[] = [];
  const ignored: Record<string, number> = {};
  const normalizer = new Normalizer({ reject: (r) => rejects.push(r) });
  let emitted = 0;
  await createCsvReader(csvSourceSchema.parse({ type: 'csv', ...cfg })).read(
    {
      baseDir: samples,
      window: {},
      env: {},
      log: silentLogger(),
      reject: (r) => {
        rejects.push(r);
        normalizer.noteRejected(r); // as the flow does
      },
      unresolved: () => {},
      ignored: (what, count = 1) => {
        ignored[what] = (ignored[what] ?? 0) + count;
      },
    },
    (rec) => {
      emitted++;
      normalizer.add(rec);
    },
  );
  const table = normalizer.records().map((r) => [r.target.domain, r.date, r.metrics.smtp_in, r.metrics.smtp_out, r.metrics.pop3_imap_in, r.metrics.pop3_imap_out, r.rows, r.firstLine, r.lastLine]);
  return { rejects, ignored, emitted, table, normalizer };
}

describe('samples/traffic-wide.csv', () => {
  it('is UTF-8 with a BOM and a non-ASCII name', () => {
    const bytes = readFileSync(path.join(samples, 'traffic-wide.csv'));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.toString('utf8')).toContain('bücher.example');
  });

  it('normalizes to one record per domain and day, exact beyond 2^53', async () => {
    const { rejects, emitted, table } = await ingest({ path: 'traffic-wide.csv' });
    expect(rejects).toEqual([]);
    expect(emitted).toBe(20);
    expect(table).toEqual([
      ['example.com', '2026-11-01', 1052672n, 526336n, 2105344n, 132096n, 2, 2, 17],
      ['example.com', '2026-11-02', 1157529n, 500121n, 2210201n, 141024n, 2, 7, 18],
      ['example.com', '2026-11-03', 1002340n, 512048n, 1998192n, 126524n, 2, 12, 19],
      ['example.net', '2026-11-01', 204800n, 102400n, 409600n, 51200n, 1, 3, 3],
      ['example.net', '2026-11-02', 187392n, 99840n, 433152n, 48128n, 1, 8, 8],
      ['example.net', '2026-11-03', 215040n, 105472n, 401408n, 53248n, 1, 13, 13],
      ['mail-heavy.com', '2026-11-01', 9007199254740993n, 4503599627370496n, 1099511627776n, 549755813888n, 1, 6, 6],
      ['mail-heavy.com', '2026-11-02', 9007199254741001n, 4503599627370500n, 1099511628000n, 549755814000n, 1, 11, 11],
      ['mail-heavy.com', '2026-11-03', 9007199254740993n, 4503599627370497n, 1099511627777n, 549755813889n, 1, 16, 16],
      ['shop.example.org', '2026-11-01', 3145728n, 1572864n, 786432n, 98304n, 1, 4, 4],
      ['shop.example.org', '2026-11-02', 2946012n, 1615612n, 812646n, 101376n, 2, 9, 20],
      ['shop.example.org', '2026-11-03', 3365443n, 1473006n, 760217n, 95000n, 2, 14, 21],
      ['xn--bcher-kva.example', '2026-11-01', 65536n, 32768n, 131072n, 16384n, 1, 5, 5],
      ['xn--bcher-kva.example', '2026-11-02', 70000n, 35000n, 140000n, 17500n, 1, 10, 10],
      ['xn--bcher-kva.example', '2026-11-03', 61440n, 30720n, 122880n, 15360n, 1, 15, 15],
    ]);
  });
});

describe('samples/traffic-long.csv', () => {
  it('has CRLF line endings and a quoted field', () => {
    const text = readFileSync(path.join(samples, 'traffic-long.csv'), 'utf8');
    expect(text.split('\r\n')).toHaveLength(25);
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
    expect(text).toContain('"shop.example.org"');
  });

  it('pivots protocol/direction rows (mixed case) into metrics; the rest stays missing', async () => {
    const { rejects, emitted, table } = await ingest({ path: 'traffic-long.csv', layout: 'long' });
    expect(rejects).toEqual([]);
    expect(emitted).toBe(23);
    const u = undefined;
    expect(table).toEqual([
      ['example.com', '2026-11-01', 1048576n, 524288n, 131072n, 2097152n, 5, 2, 6],
      ['example.com', '2026-11-02', 1153433n, u, u, 2202009n, 3, 13, 15],
      ['example.com', '2026-11-03', 998244n, u, u, u, 1, 20, 20],
      ['example.net', '2026-11-01', 204800n, 102400n, u, u, 2, 7, 8],
      ['example.net', '2026-11-02', u, u, 48128n, u, 1, 16, 16],
      ['example.net', '2026-11-03', u, u, 401408n, u, 1, 21, 21],
      ['mail-heavy.com', '2026-11-01', 9007199254740993n, u, u, u, 1, 12, 12],
      ['mail-heavy.com', '2026-11-02', u, 4503599627370500n, u, u, 1, 19, 19],
      ['mail-heavy.com', '2026-11-03', u, u, u, 549755813889n, 1, 24, 24],
      ['shop.example.org', '2026-11-01', 3145728n, u, u, 786432n, 2, 9, 10],
      ['shop.example.org', '2026-11-02', u, 1610612n, u, u, 1, 17, 17],
      ['shop.example.org', '2026-11-03', u, u, 95000n, u, 1, 22, 22],
      ['xn--bcher-kva.example', '2026-11-01', u, u, u, 131072n, 1, 11, 11],
      ['xn--bcher-kva.example', '2026-11-02', 70000n, u, u, u, 1, 18, 18],
      ['xn--bcher-kva.example', '2026-11-03', u, 30720n, u, u, 1, 23, 23],
    ]);
  });
});

describe('samples/bad-rows.csv', () => {
  it('rejects one row of each kind and keeps the good ones', async () => {
    const { rejects, ignored, emitted, table, normalizer } = await ingest({ path: 'bad-rows.csv', layout: 'long' });
    expect(rejects.map((r) => [r.file, r.line, r.column, r.code])).toEqual([
      ['bad-rows.csv', 3, 'bytes', 'R_NOT_NUMERIC'],
      ['bad-rows.csv', 4, 'bytes', 'R_NEGATIVE'],
      ['bad-rows.csv', 5, 'bytes', 'R_OVER_LONG'],
      ['bad-rows.csv', 6, 'date', 'R_BAD_DATE'],
      ['bad-rows.csv', 7, 'domain', 'R_EMPTY_TARGET'],
      ['bad-rows.csv', 8, undefined, 'R_COLUMN_COUNT'],
      ['bad-rows.csv', 9, 'protocol', 'R_BAD_PROTOCOL'],
      ['bad-rows.csv', 10, 'direction', 'R_BAD_DIRECTION'],
      ['bad-rows.csv', 11, 'unit', 'R_BAD_UNIT'],
      ['bad-rows.csv', 12, 'domain', 'R_PARSE'],
      ['bad-rows.csv', 13, 'domain', 'R_BAD_TARGET'],
      // the sum of two rows passes xs:long: the second row is rejected by the normalizer
      ['bad-rows.csv', 17, 'smtp_in', 'R_OVER_LONG'],
    ]);
    expect(ignored).toEqual({ 'csv protocol http': 1 });
    expect(emitted).toBe(5);
    expect(normalizer.rowsAdded).toBe(4);
    const u = undefined;
    // Every metric a rejected row had a value for is held back for its key (never sent partial): with an
    // unknown protocol every metric of its direction, with an unknown direction both of its protocol.
    // mail-heavy.com lost row 17's smtp_in, so no record is left for it.
    expect(normalizer.heldBack().map((h) => [h.target.domain, h.date, h.metric, h.cause.line, h.rejections])).toEqual([
      ['example.com', '2026-11-01', 'smtp_out', 3, 1],
      ['example.net', '2026-11-01', 'smtp_in', 4, 3],
      ['example.net', '2026-11-01', 'smtp_out', 5, 2],
      ['example.net', '2026-11-01', 'pop3_imap_in', 9, 2],
      ['mail-heavy.com', '2026-11-02', 'smtp_in', 17, 1],
    ]);
    expect(table).toEqual([
      ['example.com', '2026-11-01', 1000n, u, u, u, 1, 2, 2],
      ['shop.example.org', '2026-11-02', u, u, 1500000n, u, 1, 14, 14],
      ['xn--bcher-kva.example', '2026-11-03', u, u, u, 2048n, 1, 18, 18],
    ]);
  });
});
