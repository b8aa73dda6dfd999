// The held-back mechanism of the normalizer (issue 9 §1), independent of any reader.
import { describe, expect, it } from 'vitest';
import { Normalizer } from '../../src/normalize.js';
import type { Rejection } from '../../src/readers/types.js';

const cause = (line: number) => ({ code: 'R_NOT_NUMERIC' as const, reason: `bad value on line ${line}`, file: 'f', line });

describe('Normalizer: held-back metrics', () => {
  it('holds a metric whatever the order of rows and rejections, counts the rejections, keeps the first cause', () => {
    const n = new Normalizer({ reject: () => undefined });
    n.hold({ target: { domain: 'a.com' }, date: '2026-11-01', metrics: ['smtp_in'] }, cause(1));
    n.add({ target: { domain: 'a.com' }, date: '2026-11-01', metrics: { smtp_in: 5n, smtp_out: 6n }, origin: { file: 'f', line: 2 } });
    n.hold({ target: { domain: 'a.com' }, date: '2026-11-01', metrics: ['smtp_in', 'pop3_imap_in'] }, cause(3));
    expect(n.records()).toEqual([
      { target: { domain: 'a.com' }, date: '2026-11-01', metrics: { smtp_out: 6n }, rows: 1, file: 'f', firstLine: 2, lastLine: 2, held: ['smtp_in', 'pop3_imap_in'] },
    ]);
    expect(n.heldBack().map((h) => [h.metric, h.cause.line, h.rejections])).toEqual([['smtp_in', 1, 2], ['pop3_imap_in', 3, 1]]);
  });

  it('a key left with no metric is not a record, and is still listed; outside the window nothing is held', () => {
    const n = new Normalizer({ window: { from: '2026-11-01', to: '2026-11-01' }, reject: () => undefined });
    n.add({ target: { domId: 7 }, date: '2026-11-01', metrics: { pop3_imap_out: 0n }, origin: { file: 'f', line: 1 }, held: { pop3_imap_out: cause(9) } });
    n.hold({ target: { domId: 7 }, date: '2026-10-31', metrics: ['smtp_in'] }, cause(2));
    expect(n.records()).toEqual([]);
    expect(n.heldBack()).toEqual([{ target: { domId: 7 }, date: '2026-11-01', metric: 'pop3_imap_out', cause: cause(9), rejections: 1 }]);
  });

  it('noteRejected holds what a rejection says it belonged to, and nothing for one that cannot tell', () => {
    const n = new Normalizer({ reject: () => undefined });
    const r: Rejection = { file: 'f', line: 4, code: 'R_NEGATIVE', reason: 'negative', affects: { target: { domain: 'b.com' }, date: '2026-11-02', metrics: ['smtp_out'] } };
    n.noteRejected(r);
    n.noteRejected({ file: 'f', line: 5, code: 'R_BAD_DATE', reason: 'no day' });
    expect(n.heldBack()).toEqual([{ target: { domain: 'b.com' }, date: '2026-11-02', metric: 'smtp_out', cause: { code: 'R_NEGATIVE', reason: 'negative', file: 'f', line: 4 }, rejections: 1 }]);
  });
});
