import { describe, expect, it } from 'vitest';
import type { FullTraffic } from '../../src/model.js';
import type { ResolvedRecord } from '../../src/model.js';
import { reconcile, recordedRange } from '../../src/reconcile.js';

function rec(date: string, metrics: ResolvedRecord['metrics'], domId = 7): ResolvedRecord {
  return { target: { domain: 'example.com' }, date, metrics, rows: 1, file: 'in.csv', firstLine: 2, lastLine: 2, operator: 'webspace', domId };
}
function day(smtp_in: bigint, smtp_out: bigint, pop3_imap_in: bigint, pop3_imap_out: bigint, http = 0n): FullTraffic {
  return { http_in: http, http_out: http, ftp_in: 0n, ftp_out: 0n, smtp_in, smtp_out, pop3_imap_in, pop3_imap_out };
}
function recorded(days: Record<string, FullTraffic>) {
  const m = new Map(Object.entries(days));
  return (_op: string, id: number) => (id === 7 ? m : undefined);
}

describe('absolute', () => {
  it('fills a metric the source lacks from what Plesk recorded, and sends the rest', () => {
    const r = reconcile({
      records: [rec('2026-11-01', { smtp_out: 500n, pop3_imap_out: 900n })],
      recorded: recorded({ '2026-11-01': day(11n, 22n, 33n, 44n, 999n) }),
      mode: 'absolute', semantics: 'replace',
    });
    expect(r.nodes).toHaveLength(1);
    expect(r.nodes[0]!.send).toEqual({ domId: 7, date: '2026-11-01', smtp_in: 11n, smtp_out: 500n, pop3_imap_in: 33n, pop3_imap_out: 900n });
    expect(r.nodes[0]!.before.smtp_out).toBe(22n);
  });

  it('does not send a record equal to what is recorded', () => {
    const r = reconcile({
      records: [rec('2026-11-01', { smtp_in: 11n, smtp_out: 22n })],
      recorded: recorded({ '2026-11-01': day(11n, 22n, 33n, 44n) }),
      mode: 'absolute', semantics: 'replace',
    });
    expect(r.nodes).toHaveLength(0);
    expect(r.unchanged).toBe(1);
  });

  it('treats a day Plesk has no row for as zeros', () => {
    const r = reconcile({ records: [rec('2026-11-02', { smtp_in: 5n })], recorded: () => undefined, mode: 'absolute', semantics: 'replace' });
    expect(r.nodes[0]!.send).toEqual({ domId: 7, date: '2026-11-02', smtp_in: 5n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n });
  });

  it('sends the difference to a panel whose set_traffic adds', () => {
    const r = reconcile({
      records: [rec('2026-11-01', { smtp_in: 100n, smtp_out: 10n })],
      recorded: recorded({ '2026-11-01': day(40n, 22n, 0n, 0n) }),
      mode: 'absolute', semantics: 'add',
    });
    expect(r.nodes[0]!.send).toEqual({ domId: 7, date: '2026-11-01', smtp_in: 60n, smtp_out: -12n, pop3_imap_in: 0n, pop3_imap_out: 0n });
    expect(r.nodes[0]!.after.smtp_in).toBe(100n);
  });

  it('keeps values beyond 2^53 exact', () => {
    const big = 9007199254740993n * 1000n;
    const r = reconcile({ records: [rec('2026-11-01', { pop3_imap_in: big })], recorded: () => undefined, mode: 'absolute', semantics: 'replace' });
    expect(r.nodes[0]!.send.pop3_imap_in).toBe(9007199254740993000n);
  });
});

describe('cumulative', () => {
  it('turns month-to-date totals into per-day values, with a missing day and two snapshots in one run', () => {
    // Recorded: Nov 1 = 100 smtp_out. Snapshots: Nov 2 total 250, Nov 4 total 400 (Nov 3 missing).
    const r = reconcile({
      records: [rec('2026-11-04', { smtp_out: 400n }), rec('2026-11-02', { smtp_out: 250n })],
      recorded: recorded({ '2026-11-01': day(0n, 100n, 0n, 0n) }),
      mode: 'cumulative', semantics: 'replace',
    });
    expect(r.resets).toHaveLength(0);
    expect(r.nodes.map((n) => [n.date, n.after.smtp_out])).toEqual([['2026-11-02', 150n], ['2026-11-04', 150n]]);
  });

  it('sends nothing when the same snapshot is re-run', () => {
    const r = reconcile({
      records: [rec('2026-11-02', { smtp_out: 250n })],
      recorded: recorded({ '2026-11-01': day(0n, 100n, 0n, 0n), '2026-11-02': day(0n, 150n, 0n, 0n) }),
      mode: 'cumulative', semantics: 'replace',
    });
    expect(r.nodes).toHaveLength(0);
    expect(r.unchanged).toBe(1);
  });

  it('re-running an older snapshot after a newer one was applied computes the same day again', () => {
    const r = reconcile({
      records: [rec('2026-11-02', { smtp_out: 250n })],
      recorded: recorded({ '2026-11-01': day(0n, 100n, 0n, 0n), '2026-11-02': day(0n, 150n, 0n, 0n), '2026-11-03': day(0n, 70n, 0n, 0n) }),
      mode: 'cumulative', semantics: 'replace',
    });
    expect(r.nodes).toHaveLength(0);
  });

  it('reports a counter reset and records nothing for it', () => {
    const r = reconcile({
      records: [rec('2026-11-03', { smtp_out: 90n })],
      recorded: recorded({ '2026-11-01': day(0n, 100n, 0n, 0n) }),
      mode: 'cumulative', semantics: 'replace',
    });
    expect(r.nodes).toHaveLength(0);
    expect(r.resets).toEqual([expect.objectContaining({ metric: 'smtp_out', total: 90n, recordedBefore: 100n })]);
  });

  it('does not count days of the previous month', () => {
    const r = reconcile({
      records: [rec('2026-12-01', { smtp_out: 30n })],
      recorded: recorded({ '2026-11-30': day(0n, 1000n, 0n, 0n) }),
      mode: 'cumulative', semantics: 'replace',
    });
    expect(r.nodes[0]!.after.smtp_out).toBe(30n);
  });

  it('keeps metrics the source lacks as recorded', () => {
    const r = reconcile({
      records: [rec('2026-11-02', { smtp_out: 250n })],
      recorded: recorded({ '2026-11-01': day(5n, 100n, 0n, 0n), '2026-11-02': day(9n, 0n, 0n, 0n) }),
      mode: 'cumulative', semantics: 'replace',
    });
    expect(r.nodes[0]!.send).toMatchObject({ smtp_in: 9n, smtp_out: 150n });
  });
});

describe('additive', () => {
  it('adds increments to what is recorded and skips slices already applied', () => {
    const applied = new Set(['7|2026-11-01']);
    const r = reconcile({
      records: [rec('2026-11-01', { smtp_in: 5n }), rec('2026-11-02', { smtp_in: 5n, pop3_imap_out: 1n })],
      recorded: recorded({ '2026-11-02': day(10n, 0n, 0n, 3n) }),
      mode: 'additive', semantics: 'replace',
      isApplied: (_op, id, date) => applied.has(`${id}|${date}`),
    });
    expect(r.alreadyApplied).toBe(1);
    expect(r.nodes).toHaveLength(1);
    expect(r.nodes[0]!.send).toEqual({ domId: 7, date: '2026-11-02', smtp_in: 15n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 4n });
  });

  it('sends only the increment to an adding panel', () => {
    const r = reconcile({
      records: [rec('2026-11-02', { smtp_in: 5n })],
      recorded: recorded({ '2026-11-02': day(10n, 0n, 0n, 3n) }),
      mode: 'additive', semantics: 'add',
    });
    expect(r.nodes[0]!.send).toEqual({ domId: 7, date: '2026-11-02', smtp_in: 5n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n });
  });

  it('refuses an increment that would overflow xs:long', () => {
    const r = reconcile({
      records: [rec('2026-11-02', { smtp_in: 2n })],
      recorded: recorded({ '2026-11-02': day(9223372036854775806n, 0n, 0n, 0n) }),
      mode: 'additive', semantics: 'replace',
    });
    expect(r.nodes).toHaveLength(0);
    expect(r.overflows).toHaveLength(1);
  });
});

describe('recordedRange', () => {
  it('starts cumulative ranges at the first of the month', () => {
    const recs = [rec('2026-11-14', {}), rec('2026-10-20', {})];
    expect(recordedRange(recs, 'cumulative')).toEqual({ since: '2026-10-01', to: '2026-11-14' });
    expect(recordedRange(recs, 'absolute')).toEqual({ since: '2026-10-20', to: '2026-11-14' });
  });
});
