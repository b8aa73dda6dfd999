// set_traffic answers written as text (operations.ts) against the xmlbuilder2 DOM writer they replace: the
// same bytes and the same state for random packets (known and unknown ids, injected errors, negative and
// overflowing values, both operators, replace and add), and the DOM still answers every other packet.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildState, dumpState } from '../../src/stand-ins/plesk/fixture.js';
import { executePacket, executePacketDom, onlySetTraffic, type ExecContext } from '../../src/stand-ins/plesk/operations.js';
import { checkPacket, inputSchema, parseXml, validateDocument } from '../../src/stand-ins/plesk/schema/index.js';
import { fixture } from './helpers.js';

const LONG_MAX = 9223372036854775807n;
const valueArb = fc.oneof(
  fc.bigInt({ min: 0n, max: 10n ** 12n }),
  fc.constantFrom(0n, 1n, -1n, LONG_MAX, LONG_MAX - 1n, -LONG_MAX - 1n),
);
// Ids of the sample fixture (subscriptions 1–9, 13, 14, 1134, 1135, 1234; sites 11, 12) and some unknown ones.
const nodeArb = fc.record({
  domId: fc.constantFrom(1, 2, 3, 9, 11, 12, 13, 1134, 1234, 999, 2147483647),
  date: fc.constantFrom('2026-01-01', '2026-01-02', '2025-12-31', '2024-02-29'),
  values: fc.tuple(valueArb, valueArb, valueArb, valueArb),
});
const operatorArb = fc.record({ op: fc.constantFrom('webspace', 'site'), nodes: fc.array(nodeArb, { minLength: 1, maxLength: 8 }) });
const caseArb: fc.Arbitrary<Case> = fc.record({
  operators: fc.array(operatorArb, { minLength: 1, maxLength: 3 }),
  version: fc.constantFrom('1.6.3.0', '1.6.9.1', '1.6', '0.1'),
  settings: fc.boolean(),
  semantics: fc.constantFrom('replace' as const, 'add' as const),
  errorsById: fc.constantFrom<Record<string, number> | undefined>(undefined, { 3: 1023 }, { 1234: 1019, 12: 1013 }),
});

interface Case {
  operators: { op: string; nodes: { domId: number; date: string; values: [bigint, bigint, bigint, bigint] }[] }[];
  version: string;
  settings: boolean;
  semantics: 'replace' | 'add';
  errorsById: Record<string, number> | undefined;
}

function packetText(c: Case): string {
  const ops = c.operators.map(({ op, nodes }) => `<${op}>${nodes.map((n) => `<set_traffic><dom_id>${n.domId}</dom_id><date>${n.date}</date>`
    + `<smtp_in>${n.values[0]}</smtp_in><smtp_out>${n.values[1]}</smtp_out><pop3_imap_in>${n.values[2]}</pop3_imap_in><pop3_imap_out>${n.values[3]}</pop3_imap_out></set_traffic>`).join('')}</${op}>`);
  const settings = c.settings ? '<request-settings><setting><name>x</name><value>y</value></setting></request-settings>' : '';
  return `<?xml version="1.0" encoding="UTF-8"?><packet version="${c.version}">${settings}${ops.join('')}</packet>`;
}

function run(exec: (ctx: ExecContext) => string, c: Case): { xml: string; applied: number; state: unknown } {
  const state = buildState(fixture());
  let applied = 0;
  const xml = exec({ state, semantics: c.semantics, errorsById: c.errorsById, today: '2026-06-01', onApplied: () => { applied++; } });
  return { xml, applied, state: dumpState(state) };
}

describe('set_traffic answers as text', () => {
  it('are byte for byte what the DOM writer answers, with the same state (random packets)', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const text = packetText(c);
      const root = parseXml(text);
      expect(validateDocument(inputSchema(), root)).toEqual([]);
      expect(onlySetTraffic(root)).toBe(true);
      const fast = run((ctx) => executePacket(root, c.version, ctx), c);
      const dom = run((ctx) => executePacketDom(root, c.version, ctx).end({ prettyPrint: false }), c);
      expect(fast).toEqual(dom);
      expect(checkPacket(fast.xml, 'output').violations).toEqual([]);
    }), { numRuns: 300 });
  });

  it('answers errors with their errcode, errtext and id', () => {
    const c = { operators: [{ op: 'webspace', nodes: [
      { domId: 1, date: '2026-01-01', values: [1n, 2n, 3n, 4n] as [bigint, bigint, bigint, bigint] },
      { domId: 999, date: '2026-01-01', values: [1n, 1n, 1n, 1n] as [bigint, bigint, bigint, bigint] },
      { domId: 2, date: '2026-01-01', values: [-1n, 1n, 1n, 1n] as [bigint, bigint, bigint, bigint] },
    ] }], version: '1.6.3.0', settings: false, semantics: 'replace' as const, errorsById: undefined };
    const { xml, applied } = run((ctx) => executePacket(parseXml(packetText(c)), c.version, ctx), c);
    expect(xml).toBe('<?xml version="1.0" encoding="UTF-8"?><packet version="1.6.3.0"><webspace>'
      + '<set_traffic><result><status>ok</status><id>1</id></result></set_traffic>'
      + '<set_traffic><result><status>error</status><errcode>1013</errcode><errtext>Object not found.</errtext><id>999</id></result></set_traffic>'
      + '<set_traffic><result><status>error</status><errcode>1019</errcode><errtext>Invalid value.</errtext><id>2</id></result></set_traffic>'
      + '</webspace></packet>');
    expect(applied).toBe(1);
  });

  it('leaves packets with any other operation to the DOM writer', () => {
    const mixed = parseXml('<packet version="1.6.3.0"><webspace><set_traffic><dom_id>1</dom_id><date>2026-01-01</date><smtp_in>1</smtp_in>'
      + '<smtp_out>1</smtp_out><pop3_imap_in>1</pop3_imap_in><pop3_imap_out>1</pop3_imap_out></set_traffic>'
      + '<get_traffic><filter><id>1</id></filter><since_date>2026-01-01</since_date><to_date>2026-01-01</to_date></get_traffic></webspace></packet>');
    expect(onlySetTraffic(mixed)).toBe(false);
    const c = { semantics: 'replace' as const, errorsById: undefined } as Case;
    const fast = run((ctx) => executePacket(mixed, '1.6.3.0', ctx), c);
    expect(fast).toEqual(run((ctx) => executePacketDom(mixed, '1.6.3.0', ctx).end({ prettyPrint: false }), c));
    expect(fast.xml).toContain('<get_traffic><result><status>ok</status><filter-id>1</filter-id><id>1</id><traffic><date>2026-01-01</date>');
  });
});
