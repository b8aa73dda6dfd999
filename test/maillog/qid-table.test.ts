// The queue-id table behaves as a Map under any sequence of sets and deletes (backward-shift deletion is easy to
// get wrong at the wrap-around), and grows when it must.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QidTable } from '../../src/readers/maillog/qid-table.js';

describe('QidTable', () => {
  it('agrees with a Map on random sets, deletes and gets', () => {
    const key = fc.constantFrom(...Array.from({ length: 40 }, (_, i) => `4F2A${i.toString(16).toUpperCase()}`));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key, value: fc.integer() }),
      fc.record({ kind: fc.constant('delete' as const), key }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const t = new QidTable<number>(16);
        const m = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            t.set(o.key, o.value);
            m.set(o.key, o.value);
          } else {
            expect(t.delete(o.key)).toBe(m.delete(o.key));
          }
          expect(t.size).toBe(m.size);
        }
        for (let i = 0; i < 40; i++) {
          const k = `4F2A${i.toString(16).toUpperCase()}`;
          expect(t.get(k)).toBe(m.get(k));
        }
        expect([...t.values()].sort()).toEqual([...m.values()].sort());
      }),
      { numRuns: 300 },
    );
  });
});
