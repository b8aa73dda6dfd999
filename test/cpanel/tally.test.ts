import { describe, expect, it } from 'vitest';
import { AccountTally, DayMapper, parseBytes, roundScaled } from '../../src/readers/cpanel/tally.js';

const bytes = (raw: unknown) => {
  const p = parseBytes(raw);
  if (!p.ok) throw new Error(p.reason);
  return roundScaled(p.scaled);
};

describe('cPanel byte values', () => {
  it('parses integers, strings, fractions and exponents', () => {
    expect(bytes(1234)).toBe(1234n);
    expect(bytes('1234')).toBe(1234n);
    expect(bytes(' 77 ')).toBe(77n);
    expect(bytes(11036.0461226852)).toBe(11036n);
    expect(bytes('0.5')).toBe(1n); // half up
    expect(bytes('0.49')).toBe(0n);
    expect(bytes('.5')).toBe(1n);
    expect(bytes('1.5e3')).toBe(1500n);
    expect(bytes('25E-1')).toBe(3n);
  });

  it('keeps integers beyond 2^53 exact when they arrive as strings or bigints', () => {
    expect(bytes('9007199254740993')).toBe(9007199254740993n);
    expect(bytes(9007199254740993n)).toBe(9007199254740993n);
    expect(bytes('9223372036854775807')).toBe(9223372036854775807n);
  });

  it('rejects what is not a byte count', () => {
    expect(parseBytes('abc')).toMatchObject({ ok: false, code: 'R_NOT_NUMERIC' });
    expect(parseBytes('')).toMatchObject({ ok: false, code: 'R_NOT_NUMERIC' });
    expect(parseBytes('.')).toMatchObject({ ok: false, code: 'R_NOT_NUMERIC' });
    expect(parseBytes(null)).toMatchObject({ ok: false, code: 'R_NOT_NUMERIC' });
    expect(parseBytes({})).toMatchObject({ ok: false, code: 'R_NOT_NUMERIC' });
    expect(parseBytes(Number.NaN)).toMatchObject({ ok: false, code: 'R_NOT_NUMERIC' });
    expect(parseBytes(-5)).toMatchObject({ ok: false, code: 'R_NEGATIVE' });
    expect(parseBytes('-0.25')).toMatchObject({ ok: false, code: 'R_NEGATIVE' });
    expect(parseBytes('9223372036854775808')).toMatchObject({ ok: false, code: 'R_OVER_LONG' });
    expect(parseBytes(1e21)).toMatchObject({ ok: false, code: 'R_OVER_LONG' });
    expect(parseBytes('1e50')).toMatchObject({ ok: false, code: 'R_OVER_LONG' });
  });

  it('sums fractions and rounds once, at the end', () => {
    const t = new AccountTally();
    for (const v of [100.4, '200.4', 0.1, '0.1']) {
      const p = parseBytes(v);
      if (p.ok) t.add('2026-11-01', 'pop3_imap_out', p.scaled);
    }
    t.touch('2026-11-02');
    const rejects: unknown[] = [];
    const recs = [...t.records('example.com', 'f', { reject: (r) => void rejects.push(r) })];
    // 301.0 exactly; rounding per row would give 100 + 200 + 0 + 0 = 300.
    expect(recs).toEqual([
      { target: { domain: 'example.com' }, date: '2026-11-01', metrics: { smtp_out: 0n, pop3_imap_out: 301n }, origin: { file: 'f', line: 0 } },
      { target: { domain: 'example.com' }, date: '2026-11-02', metrics: { smtp_out: 0n, pop3_imap_out: 0n }, origin: { file: 'f', line: 0 } },
    ]);
    expect(rejects).toEqual([]);
  });

  it('rejects a day whose sum passes xs:long and keeps the other metric', () => {
    const t = new AccountTally();
    const big = parseBytes('9223372036854775807');
    if (!big.ok) throw new Error('parse');
    t.add('2026-11-01', 'smtp_out', big.scaled, 7);
    t.add('2026-11-01', 'smtp_out', big.scaled, 7);
    t.add('2026-11-01', 'pop3_imap_out', 5_000_000_000n, 7);
    const rejects: { code: string; column?: string }[] = [];
    const recs = [...t.records('example.com', 'f', { reject: (r) => void rejects.push(r) })];
    expect(recs[0]!.metrics).toEqual({ pop3_imap_out: 5n });
    expect(rejects).toMatchObject([{ code: 'R_OVER_LONG', column: 'smtp_out' }]);
  });

  it('maps instants to days of a zone and knows its midnights', () => {
    const tokyo = new DayMapper('Asia/Tokyo');
    const t = Date.UTC(2026, 10, 1, 15, 0, 0) / 1000; // 2026-11-02 00:00 in Tokyo
    expect(tokyo.day(t)).toBe('2026-11-02');
    expect(tokyo.day(t - 1)).toBe('2026-11-01');
    expect(tokyo.isMidnight(t)).toBe(true);
    expect(new DayMapper('UTC').isMidnight(t)).toBe(false);
    expect(new DayMapper('UTC').day(t)).toBe('2026-11-01');
  });
});
