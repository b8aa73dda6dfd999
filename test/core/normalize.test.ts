import { describe, expect, it } from 'vitest';
import type { Metrics, SourceRecord, Target } from '../../src/model.js';
import { Normalizer } from '../../src/normalize.js';
import type { Rejection } from '../../src/readers/types.js';

function rec(target: Target, date: string, metrics: Metrics, line: number, file = 'in.csv'): SourceRecord {
  return { target, date, metrics, origin: { file, line } };
}

function setup(window?: { from?: string; to?: string }) {
  const rejects: Rejection[] = [];
  const n = new Normalizer({ ...(window ? { window } : {}), reject: (r) => rejects.push(r) });
  return { n, rejects };
}

const MAX = 9223372036854775807n;

describe('Normalizer', () => {
  it('sums rows per (target, day) and keeps missing metrics missing', () => {
    const { n, rejects } = setup();
    n.add(rec({ domain: 'a.com' }, '2026-11-01', { smtp_in: 10n, smtp_out: 1n }, 2));
    n.add(rec({ domain: 'a.com' }, '2026-11-01', { smtp_in: 5n, pop3_imap_in: 7n }, 9));
    n.add(rec({ domain: 'a.com' }, '2026-11-01', { smtp_in: 1n }, 4));
    n.add(rec({ domain: 'a.com' }, '2026-11-02', {}, 5));
    n.add(rec({ domain: 'a.com' }, '2026-11-02', { pop3_imap_out: 0n }, 6));
    expect(rejects).toEqual([]);
    expect(n.size).toBe(2);
    expect(n.rowsAdded).toBe(5);
    expect(n.records()).toEqual([
      {
        target: { domain: 'a.com' },
        date: '2026-11-01',
        metrics: { smtp_in: 16n, smtp_out: 1n, pop3_imap_in: 7n },
        rows: 3,
        file: 'in.csv',
        firstLine: 2,
        lastLine: 9,
      },
      // zero is a value, not missing
      { target: { domain: 'a.com' }, date: '2026-11-02', metrics: { pop3_imap_out: 0n }, rows: 2, file: 'in.csv', firstLine: 5, lastLine: 6 },
    ]);
  });

  it('sorts by target key then date; dom_id targets are their own keys', () => {
    const { n } = setup();
    n.add(rec({ domain: 'b.com' }, '2026-11-02', { smtp_in: 1n }, 1));
    n.add(rec({ domId: 12 }, '2026-11-01', { smtp_in: 2n }, 2));
    n.add(rec({ domain: 'a.com.x' }, '2026-11-01', { smtp_in: 3n }, 3));
    n.add(rec({ domain: 'a.com' }, '2026-11-03', { smtp_in: 4n }, 4));
    n.add(rec({ domain: 'b.com' }, '2026-11-01', { smtp_in: 5n }, 5));
    n.add(rec({ domain: 'a.com' }, '2026-11-01', { smtp_in: 6n }, 6));
    n.add(rec({ domId: 12 }, '2026-11-01', { smtp_in: 7n }, 7));
    const got = n.records().map((r) => [r.target.domain ?? `#${r.target.domId}`, r.date, r.metrics.smtp_in]);
    expect(got).toEqual([
      ['#12', '2026-11-01', 9n],
      ['a.com', '2026-11-01', 6n],
      ['a.com', '2026-11-03', 4n],
      ['a.com.x', '2026-11-01', 3n],
      ['b.com', '2026-11-01', 5n],
      ['b.com', '2026-11-02', 1n],
    ]);
  });

  it('sums exactly beyond 2^53', () => {
    const { n } = setup();
    n.add(rec({ domain: 'big.com' }, '2026-11-01', { smtp_in: 9007199254740993n, smtp_out: 9007199254740991n }, 1));
    n.add(rec({ domain: 'big.com' }, '2026-11-01', { smtp_in: 1n, smtp_out: 1n }, 2));
    n.add(rec({ domain: 'big.com' }, '2026-11-01', { smtp_in: 3n, smtp_out: 1n }, 3));
    // crossing 2^53 from below, in small steps
    n.add(rec({ domain: 'cross.com' }, '2026-11-01', { pop3_imap_in: 9007199254740990n }, 4));
    n.add(rec({ domain: 'cross.com' }, '2026-11-01', { pop3_imap_in: 1n }, 5));
    n.add(rec({ domain: 'cross.com' }, '2026-11-01', { pop3_imap_in: 1n }, 6));
    n.add(rec({ domain: 'cross.com' }, '2026-11-01', { pop3_imap_in: 1n }, 7));
    n.add(rec({ domain: 'cross.com' }, '2026-11-01', { pop3_imap_in: 1n, pop3_imap_out: 2n }, 8));
    const [big, cross] = n.records();
    expect(big?.metrics).toEqual({ smtp_in: 9007199254740997n, smtp_out: 9007199254740993n });
    expect(cross?.metrics).toEqual({ pop3_imap_in: 9007199254740994n, pop3_imap_out: 2n });
    expect(cross?.rows).toBe(5);
  });

  it('rejects a row whose sum passes xs:long and holds back every metric that row carried for its key', () => {
    const { n, rejects } = setup();
    n.add(rec({ domain: 'a.com' }, '2026-11-01', { smtp_in: MAX - 10n, smtp_out: 5n, pop3_imap_in: 1n }, 2));
    n.add(rec({ domain: 'a.com' }, '2026-11-01', { smtp_out: 1n, smtp_in: 11n }, 3));
    n.add(rec({ domain: 'a.com' }, '2026-11-01', { smtp_in: 10n, smtp_out: 1n, pop3_imap_in: 2n }, 4));
    const reason = `smtp_in: sum ${MAX - 10n} + 11 exceeds xs:long (${MAX}) for a.com 2026-11-01`;
    expect(rejects).toEqual([{ file: 'in.csv', line: 3, column: 'smtp_in', code: 'R_OVER_LONG', reason }]);
    // smtp_in and smtp_out lost row 3's values: a sum without them would be partial, so they are not sent.
    // pop3_imap_in had no value in row 3: its sum is whole.
    expect(n.records()).toEqual([
      { target: { domain: 'a.com' }, date: '2026-11-01', metrics: { pop3_imap_in: 3n }, rows: 2, file: 'in.csv', firstLine: 2, lastLine: 4, held: ['smtp_in', 'smtp_out'] },
    ]);
    const cause = { code: 'R_OVER_LONG', reason, file: 'in.csv', line: 3 };
    expect(n.heldBack()).toEqual([
      { target: { domain: 'a.com' }, date: '2026-11-01', metric: 'smtp_in', cause, rejections: 1 },
      { target: { domain: 'a.com' }, date: '2026-11-01', metric: 'smtp_out', cause, rejections: 1 },
    ]);
    expect(n.rowsAdded).toBe(2);
  });

  it('rejects a first row that is itself out of range without creating the key', () => {
    const { n, rejects } = setup();
    n.add(rec({ domain: 'a.com' }, '2026-11-01', { smtp_in: MAX + 1n }, 7));
    n.add(rec({ domain: 'a.com' }, '2026-11-02', { smtp_in: -1n }, 8));
    expect(rejects.map((r) => [r.line, r.code, r.column])).toEqual([
      [7, 'R_OVER_LONG', 'smtp_in'],
      [8, 'R_NEGATIVE', 'smtp_in'],
    ]);
    expect(n.size).toBe(0);
    expect(n.records()).toEqual([]);
  });

  it('skips records outside the inclusive window and counts them', () => {
    const { n, rejects } = setup({ from: '2026-11-02', to: '2026-11-03' });
    for (const [i, d] of ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-10-31'].entries()) {
      n.add(rec({ domain: 'a.com' }, d, { smtp_in: BigInt(i + 1) }, i + 1));
    }
    expect(rejects).toEqual([]);
    expect(n.skippedOutsideWindow).toBe(3);
    expect(n.rowsAdded).toBe(2);
    expect(n.records().map((r) => [r.date, r.metrics.smtp_in])).toEqual([
      ['2026-11-02', 2n],
      ['2026-11-03', 3n],
    ]);
  });

  it('supports open-ended windows', () => {
    const { n } = setup({ from: '2026-11-02' });
    n.add(rec({ domain: 'a.com' }, '2026-11-01', { smtp_in: 1n }, 1));
    n.add(rec({ domain: 'a.com' }, '2099-01-01', { smtp_in: 1n }, 2));
    expect(n.skippedOutsideWindow).toBe(1);
    expect(n.size).toBe(1);
  });

  it('does not alias the metrics objects it was given', () => {
    const { n } = setup();
    const m: Metrics = { smtp_in: 1n };
    n.add(rec({ domain: 'a.com' }, '2026-11-01', m, 1));
    n.add(rec({ domain: 'a.com' }, '2026-11-01', { smtp_in: 2n }, 2));
    expect(m).toEqual({ smtp_in: 1n });
    expect(n.records()[0]?.metrics).toEqual({ smtp_in: 3n });
  });

  it('finds keys right when days and targets grow past its dense index (and past 64 days, without it)', () => {
    for (const days of [40, 100]) {
      const { n } = setup();
      const want = new Map<string, bigint>();
      let seed = 12345;
      const rnd = (k: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % k);
      for (let line = 1; line <= 40000; line++) {
        const t = rnd(700);
        const d = rnd(days);
        const date = `2026-${String(1 + Math.floor(d / 28)).padStart(2, '0')}-${String(1 + (d % 28)).padStart(2, '0')}`;
        n.add(rec({ domId: 1 + t }, date, { smtp_in: BigInt(line) }, line));
        const key = `${1 + t}|${date}`;
        want.set(key, (want.get(key) ?? 0n) + BigInt(line));
      }
      const got = new Map(n.records().map((r) => [`${r.target.domId}|${r.date}`, r.metrics.smtp_in]));
      expect(got.size, `${days} days`).toBe(want.size);
      for (const [k, v] of want) expect(got.get(k), k).toBe(v);
    }
  });

  it('agrees with a plain bigint reference on many shuffled keys, some beyond 2^53', () => {
    // xorshift32: deterministic, so a failure reproduces
    let seed = 0x2545f491;
    const rnd = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const { n, rejects } = setup();
    const ref = new Map<string, { metrics: Record<string, bigint>; rows: number; first: number; last: number }>();
    const metrics = ['smtp_in', 'smtp_out', 'pop3_imap_in', 'pop3_imap_out'] as const;
    for (let line = 1; line <= 30000; line++) {
      const t: Target = rnd(10) === 0 ? { domId: 1 + rnd(20) } : { domain: `d${rnd(60)}.example` };
      const date = `2026-${String(1 + rnd(2)).padStart(2, '0')}-${String(1 + rnd(10)).padStart(2, '0')}`;
      const m: Metrics = {};
      for (const k of metrics) {
        if (rnd(3) === 0) continue;
        m[k] = rnd(200) === 0 ? 2n ** 60n + BigInt(rnd(1000)) : BigInt(rnd(1_000_000_000));
      }
      n.add(rec(t, date, m, line));
      const key = (t.domId !== undefined ? `#${t.domId}` : t.domain) + '|' + date;
      const r = ref.get(key) ?? { metrics: {}, rows: 0, first: line, last: line };
      for (const [k, v] of Object.entries(m)) r.metrics[k] = (r.metrics[k] ?? 0n) + v;
      r.rows++;
      r.last = line;
      ref.set(key, r);
    }
    expect(rejects).toEqual([]);
    const got = n.records();
    expect(ref.size).toBe(80 * 20); // dense: about 19 rows per key
    expect(n.size).toBe(ref.size);
    expect(got).toHaveLength(ref.size);
    for (const d of got) {
      const key = (d.target.domId !== undefined ? `#${d.target.domId}` : d.target.domain) + '|' + d.date;
      const r = ref.get(key);
      expect({ metrics: d.metrics, rows: d.rows, first: d.firstLine, last: d.lastLine }, key).toEqual({ metrics: r?.metrics, rows: r?.rows, first: r?.first, last: r?.last });
    }
    const order = got.map((d) => [d.target.domId !== undefined ? `#${d.target.domId}` : (d.target.domain as string), d.date] as const);
    const sorted = [...order].sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    expect(order).toEqual(sorted);
  });

  it('grows past its initial capacity', () => {
    const { n } = setup();
    for (let i = 0; i < 5000; i++) n.add(rec({ domId: i + 1 }, '2026-11-01', { smtp_out: BigInt(i) }, i + 2));
    for (let i = 0; i < 5000; i++) n.add(rec({ domId: i + 1 }, '2026-11-01', { smtp_out: 1n }, i + 5002));
    expect(n.size).toBe(5000);
    const byId = new Map(n.records().map((r) => [r.target.domId, r]));
    expect(byId.get(1)?.metrics).toEqual({ smtp_out: 1n });
    expect(byId.get(5000)?.metrics).toEqual({ smtp_out: 5000n });
    expect(byId.get(4097)).toMatchObject({ metrics: { smtp_out: 4097n }, rows: 2, firstLine: 4098, lastLine: 9098 });
  });
});
