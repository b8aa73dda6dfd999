import { describe, expect, it } from 'vitest';
import { UNITS, UNIT_NAMES, parseAmount, roundBytes, unitOf } from '../../src/units.js';

describe('UNITS', () => {
  it('has SI and IEC factors', () => {
    expect(UNITS).toEqual({
      B: 1n,
      KB: 1000n,
      MB: 1000000n,
      GB: 1000000000n,
      TB: 1000000000000n,
      KiB: 1024n,
      MiB: 1048576n,
      GiB: 1073741824n,
      TiB: 1099511627776n,
    });
    expect(UNIT_NAMES).toEqual(['B', 'KB', 'MB', 'GB', 'TB', 'KiB', 'MiB', 'GiB', 'TiB']);
  });

  it('unitOf matches case-insensitively and trimmed', () => {
    expect(unitOf('kib')).toBe('KiB');
    expect(unitOf(' MB ')).toBe('MB');
    expect(unitOf('b')).toBe('B');
    expect(unitOf('XB')).toBeUndefined();
    expect(unitOf('')).toBeUndefined();
  });
});

describe('parseAmount', () => {
  it('parses plain integers in bytes, exact beyond 2^53', () => {
    expect(parseAmount('0', 'B')).toBe(0n);
    expect(parseAmount('123456789012345', 'B')).toBe(123456789012345n);
    expect(parseAmount('9007199254740993', 'B')).toBe(9007199254740993n);
    expect(parseAmount('9223372036854775807', 'B')).toBe(9223372036854775807n);
    expect(parseAmount(' 42 ', 'B')).toBe(42n);
    expect(parseAmount('+42', 'B')).toBe(42n);
    expect(parseAmount('00017', 'B')).toBe(17n);
  });

  it('multiplies by each unit', () => {
    expect(parseAmount('3', 'KB')).toBe(3000n);
    expect(parseAmount('3', 'MB')).toBe(3000000n);
    expect(parseAmount('3', 'GB')).toBe(3000000000n);
    expect(parseAmount('3', 'TB')).toBe(3000000000000n);
    expect(parseAmount('3', 'KiB')).toBe(3072n);
    expect(parseAmount('3', 'MiB')).toBe(3145728n);
    expect(parseAmount('3', 'GiB')).toBe(3221225472n);
    expect(parseAmount('3', 'TiB')).toBe(3298534883328n);
  });

  it('converts decimals exactly and rounds half up', () => {
    expect(parseAmount('1.5', 'MB')).toBe(1500000n);
    expect(parseAmount('.5', 'KB')).toBe(500n);
    expect(parseAmount('2.', 'KB')).toBe(2000n);
    expect(parseAmount('0.0005', 'KB')).toBe(1n); // 0.5 B → 1
    expect(parseAmount('0.0004', 'KB')).toBe(0n); // 0.4 B → 0
    expect(parseAmount('1.0005', 'KiB')).toBe(1025n); // 1024.512 → 1025
    expect(parseAmount('0.1', 'KiB')).toBe(102n); // 102.4 → 102
    expect(parseAmount('0.5', 'KiB')).toBe(512n);
    // 8589934591.999999999 GB is exact in bigint, not in a double
    expect(parseAmount('8589934591.999999999', 'GB')).toBe(8589934591999999999n);
    expect(parseAmount('12.000', 'B')).toBe(12n);
  });

  it('rejects what is not a number', () => {
    for (const bad of ['', '  ', 'abc', '12abc', '1e6', '1,000', '1.2.3', '.', '0x10']) {
      const r = parseAmount(bad, 'B');
      expect(r, bad).toEqual({ error: 'R_NOT_NUMERIC', reason: expect.any(String) });
    }
    expect(parseAmount('12.5', 'B')).toEqual({ error: 'R_NOT_NUMERIC', reason: expect.stringContaining('fractional byte count 12.5') });
    expect(parseAmount('KB', 'KB')).toMatchObject({ error: 'R_NOT_NUMERIC' });
  });

  it('rejects negatives (but -0 is zero)', () => {
    expect(parseAmount('-1', 'B')).toEqual({ error: 'R_NEGATIVE', reason: 'negative value: -1' });
    expect(parseAmount('-0.5', 'MB')).toMatchObject({ error: 'R_NEGATIVE' });
    expect(parseAmount('-0', 'B')).toBe(0n);
  });

  it('rejects values over xs:long after conversion', () => {
    expect(parseAmount('9223372036854775808', 'B')).toMatchObject({ error: 'R_OVER_LONG' });
    expect(parseAmount('99999999999999999999999', 'B')).toMatchObject({ error: 'R_OVER_LONG' });
    expect(parseAmount('9223372036854775807', 'B')).toBe(9223372036854775807n);
    // 9223372036854775.807 KB = 9223372036854775807 B: the largest that fits
    expect(parseAmount('9223372036854775.807', 'KB')).toBe(9223372036854775807n);
    expect(parseAmount('9223372036854775.808', 'KB')).toMatchObject({ error: 'R_OVER_LONG' });
    expect(parseAmount('8589934592', 'GiB')).toMatchObject({ error: 'R_OVER_LONG' }); // 2^63
    expect(parseAmount('8589934591', 'GiB')).toBe(9223372035781033984n);
  });
});

describe('roundBytes', () => {
  it('rounds numbers half up', () => {
    expect(roundBytes(0)).toBe(0n);
    expect(roundBytes(1.5)).toBe(2n);
    expect(roundBytes(2.4999)).toBe(2n);
    expect(roundBytes(1e6)).toBe(1000000n);
    expect(roundBytes(2 ** 60)).toBe(1152921504606846976n);
  });

  it('converts decimal strings exactly', () => {
    expect(roundBytes('1234.5')).toBe(1235n);
    expect(roundBytes('9007199254740993')).toBe(9007199254740993n);
    expect(roundBytes('9007199254740992.5')).toBe(9007199254740993n);
    expect(roundBytes(' 17 ')).toBe(17n);
    expect(roundBytes('1.5e3')).toBe(1500n);
  });

  it('returns null for negative, non-finite, non-numeric or too big values', () => {
    expect(roundBytes(-1)).toBeNull();
    expect(roundBytes('-3')).toBeNull();
    expect(roundBytes(Number.NaN)).toBeNull();
    expect(roundBytes(Number.POSITIVE_INFINITY)).toBeNull();
    expect(roundBytes('Infinity')).toBeNull();
    expect(roundBytes('abc')).toBeNull();
    expect(roundBytes('')).toBeNull();
    expect(roundBytes('9223372036854775808')).toBeNull();
    expect(roundBytes(2 ** 63)).toBeNull();
  });
});
