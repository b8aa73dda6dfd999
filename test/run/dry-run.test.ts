// The dry-run's diff lines are written as text for speed: they must be exactly the JSON of the node's diff.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { METRICS, XS_INT_MAX, XS_LONG_MAX, targetLabel, type Mail, type Target } from '../../src/model.js';
import type { PlannedNode } from '../../src/reconcile.js';
import { diffLine } from '../../src/run/dry-run.js';

/** What a diff line is: the JSON of this object. */
function reference(n: PlannedNode): string {
  return JSON.stringify({
    operator: n.operator, dom_id: n.domId, date: n.date, target: targetLabel(n.record.target),
    ...Object.fromEntries(METRICS.map((m) => [m, { recorded: n.before[m].toString(), new: n.after[m].toString() }])),
  });
}

const long = fc.bigInt({ min: -XS_LONG_MAX - 1n, max: XS_LONG_MAX });
const mail: fc.Arbitrary<Mail> = fc.record({ smtp_in: long, smtp_out: long, pop3_imap_in: long, pop3_imap_out: long });
const target: fc.Arbitrary<Target> = fc.oneof(
  fc.integer({ min: 1, max: XS_INT_MAX }).map((domId) => ({ domId })),
  fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('a.example', 'xn--bcher-kva.example', 'q"uote\\\\back\n')).map((domain) => ({ domain })),
);

describe('diffLine', () => {
  it('is the JSON of the node diff, for any node', () => {
    fc.assert(
      fc.property(fc.constantFrom('webspace' as const, 'site' as const), fc.integer({ min: 1, max: XS_INT_MAX }), fc.string(), target, mail, mail, (operator, domId, date, t, before, after) => {
        const node = { operator, domId, date, before, after, send: {}, record: { target: t } } as unknown as PlannedNode;
        const line = diffLine(node);
        expect(line).toBe(reference(node));
        expect(JSON.parse(line).smtp_in.new).toBe(after.smtp_in.toString());
      }),
      { numRuns: 500 },
    );
  });
});
