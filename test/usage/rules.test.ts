// The arithmetic of `usage` on its own: status rules at their boundaries, limits as Plesk writes them (−1,
// absent, a percentage), percent, byte counts in JSON around 2^53, customization, units.

import { describe, expect, it } from 'vitest';
import { humanBytes, jsonBytes, stateText } from '../../src/usage/format.js';
import {
  accountingOf, countedFields, hardLimit, isCustomized, monthRange, percentOf, softLimit, usageStatus,
} from '../../src/usage/usage.js';
import type { PlanDetails } from '../../src/plesk/types.js';

describe('status', () => {
  it('over at the hard limit, soft from the soft limit up, unlimited without a hard limit', () => {
    expect(usageStatus(1000n, 1000n, 800n)).toBe('over');
    expect(usageStatus(999n, 1000n, 800n)).toBe('soft');
    expect(usageStatus(800n, 1000n, 800n)).toBe('soft');
    expect(usageStatus(799n, 1000n, 800n)).toBe('ok');
    expect(usageStatus(799n, 1000n, null)).toBe('ok');
    expect(usageStatus(10n ** 18n, null, 800n)).toBe('unlimited');
    // A limit of 0: nothing may be used, so anything is over.
    expect(usageStatus(0n, 0n, null)).toBe('over');
  });

  it('hard limit: −1, any negative, absent or a percentage = unlimited', () => {
    expect(hardLimit(-1n)).toBeNull();
    expect(hardLimit(-5n)).toBeNull();
    expect(hardLimit(undefined)).toBeNull();
    expect(hardLimit({ percent: 50 })).toBeNull();
    expect(hardLimit(0n)).toBe(0n);
    expect(hardLimit(9223372036854775807n)).toBe(9223372036854775807n);
  });

  it('soft limit: bytes, or a percentage of the hard limit rounded down', () => {
    expect(softLimit(800n, 1000n)).toBe(800n);
    expect(softLimit(-1n, 1000n)).toBeNull();
    expect(softLimit(undefined, 1000n)).toBeNull();
    expect(softLimit({ percent: 80 }, 6442450944n)).toBe(5153960755n);
    expect(softLimit({ percent: 33.33 }, 1000n)).toBe(333n);
    expect(softLimit({ percent: 80 }, null)).toBeNull();
  });

  it('percent: rounded down to two decimals, exact beyond 2^53, null without a positive limit', () => {
    expect(percentOf(5662096668n, 6442450944n)).toBe(87.88);
    expect(percentOf(99999n, 100000n)).toBe(99.99);
    expect(percentOf(18014398509481987n, 107374182400n)).toBe(16777216);
    expect(percentOf(5n, null)).toBeNull();
    expect(percentOf(5n, 0n)).toBeNull();
  });
});

describe('traffic accounting', () => {
  it('1 in, 2 out, 3 (and anything else) both', () => {
    expect([1, 2, 3, undefined, 7].map(accountingOf)).toEqual(['in', 'out', 'both', 'both', 'both']);
    expect(countedFields('in')).toEqual(['http_in', 'ftp_in', 'smtp_in', 'pop3_imap_in']);
    expect(countedFields('out')).toEqual(['http_out', 'ftp_out', 'smtp_out', 'pop3_imap_out']);
    expect(countedFields('both')).toHaveLength(8);
  });
});

describe('customized', () => {
  const plan: PlanDetails = { guid: 'g', overuse: 'block', limits: new Map<string, bigint | { percent: number }>([['max_traffic', 1000n], ['max_db', 5n]]) };
  const limits = (values: [string, bigint | { percent: number }][], overuse = 'block') => ({ overuse, values: new Map(values) });
  it('equal when every limit matches, absent and −1 alike', () => {
    expect(isCustomized(limits([['max_traffic', 1000n], ['max_db', 5n], ['max_site', -1n]]), plan)).toBe(false);
  });
  it('differs on a value, a percentage, an added limit or the overuse policy', () => {
    expect(isCustomized(limits([['max_traffic', 2000n], ['max_db', 5n]]), plan)).toBe(true);
    expect(isCustomized(limits([['max_traffic', 1000n], ['max_db', 5n], ['max_traffic_soft', { percent: 80 }]]), plan)).toBe(true);
    expect(isCustomized(limits([['max_traffic', 1000n], ['max_db', 5n], ['max_box', 10n]]), plan)).toBe(true);
    expect(isCustomized(limits([['max_traffic', 1000n], ['max_db', 5n]], 'notify'), plan)).toBe(true);
  });
  it('no plan: nothing to differ from', () => {
    expect(isCustomized(limits([['max_traffic', 5n]]), undefined)).toBe(false);
  });
});

describe('formats', () => {
  it('byte counts are JSON numbers below 2^53, strings from 2^53 on', () => {
    expect(jsonBytes(9007199254740991n)).toBe(9007199254740991);
    expect(jsonBytes(9007199254740992n)).toBe('9007199254740992');
    expect(jsonBytes(null)).toBeNull();
  });
  it('human units are binary and exact', () => {
    expect([0n, 1023n, 1024n, 1536n, 6442450944n, 18014398509481987n, 9223372036854775807n].map(humanBytes))
      .toEqual(['0 B', '1023 B', '1.00 KiB', '1.50 KiB', '6.00 GiB', '16.00 PiB', '7.99 EiB']);
  });
  it('subscription states in words', () => {
    expect([0, 16, 64, 256, 2].map(stateText)).toEqual(['active', 'disabled by admin', 'disabled by customer', 'expired', 'status 2']);
  });
  it('months: first and last day, leap years, malformed refused', () => {
    expect(monthRange('2026-11')).toEqual({ since: '2026-11-01', to: '2026-11-30' });
    expect(monthRange('2028-02')).toEqual({ since: '2028-02-01', to: '2028-02-29' });
    for (const bad of ['2026-13', '2026-1', '26-11', 'november']) expect(() => monthRange(bad)).toThrow(/--month expects YYYY-MM/);
  });
});
