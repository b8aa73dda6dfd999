import fc from 'fast-check';
import { create } from 'xmlbuilder2';
import { describe, expect, it } from 'vitest';
import { TiError } from '../../src/errors.js';
import { XS_INT_MAX, XS_LONG_MAX } from '../../src/model.js';
import {
  buildGetPacket, buildGetTrafficPacket, buildServicePlanGetPacket, buildSetTrafficPacket, buildSetTrafficPacketDom,
  escapeAttribute, escapeText,
} from '../../src/plesk/packet.js';
import type { SetTrafficNode } from '../../src/plesk/types.js';
import { parseXml } from '../../src/plesk/xml.js';
import { canonical, canonTree, seedPackets, type Canon } from './client-helpers.js';

const seed000 = seedPackets('000');
const seed001 = seedPackets('001');
const seed004 = seedPackets('004');

describe('seed vectors', () => {
  it('the fixtures hold the seed packets (request, response, …)', () => {
    expect(seed000).toHaveLength(2);
    expect(seed001).toHaveLength(3);
    expect(seed004).toHaveLength(2);
  });

  it('seed 000: site set_traffic, one node', () => {
    const built = buildSetTrafficPacket('site', [
      { domId: 1134, date: '2005-12-12', smtp_in: 514237124628n, smtp_out: 6153462547n, pop3_imap_in: 49769379n, pop3_imap_out: 7236487263n },
    ], '1.6.3.0');
    expect(canonical(built)).toEqual(canonical(seed000[0]!));
  });

  it('seed 001: webspace set_traffic, one node', () => {
    const built = buildSetTrafficPacket('webspace', [
      { domId: 1234, date: '2005-12-12', smtp_in: 514237124628n, smtp_out: 6153462547n, pop3_imap_in: 49769379n, pop3_imap_out: 7236487263n },
    ], '1.6.3.0');
    expect(canonical(built)).toEqual(canonical(seed001[0]!));
  });

  it('seed 001: multi-node packet, with the empty <smtp_in/><smtp_out/> of its second node sent as 0', () => {
    const nodes: SetTrafficNode[] = [
      { domId: 1134, date: '2005-12-12', smtp_in: 127417n, smtp_out: 342899n, pop3_imap_in: 384769n, pop3_imap_out: 37947n },
      { domId: 1135, date: '2005-12-12', smtp_in: 0n, smtp_out: 0n, pop3_imap_in: 7835683295457n, pop3_imap_out: 32876583765n },
    ];
    const built = buildSetTrafficPacket('webspace', nodes, '1.6.3.0');
    // The seed as published, except that an empty metric element is what we never send: fill it with 0.
    const seed = canonical(seed001[2]!);
    const fillEmpty = (c: Canon): Canon => ('children' in c ? { ...c, children: c.children.map(fillEmpty) } : c.text === '' && /^smtp_/.test(c.name) ? { ...c, text: '0' } : c);
    const expected = fillEmpty(seed);
    expect(JSON.stringify(expected)).not.toEqual(JSON.stringify(seed)); // the seed really has empty elements
    expect(canonical(built)).toEqual(expected);
    expect(built).not.toMatch(/<[a-z_0-9]+\/>|<([a-z_0-9]+)><\/\1>/);
  });

  it('seed 004: service-plan get by id', () => {
    expect(canonical(buildServicePlanGetPacket({ ids: [11] }, '1.6.3.0'))).toEqual(canonical(seed004[0]!));
  });
});

describe('buildSetTrafficPacket', () => {
  const node = (over: Partial<SetTrafficNode> = {}): SetTrafficNode => ({
    domId: 7, date: '2026-03-01', smtp_in: 1n, smtp_out: 2n, pop3_imap_in: 3n, pop3_imap_out: 4n, ...over,
  });

  it('writes children in schema order and bigint values exactly, beyond 2^53', () => {
    const big = 2n ** 53n + 1n; // 9007199254740993: Number() would round it to …992
    const xml = buildSetTrafficPacket('webspace', [node({ smtp_in: big, pop3_imap_out: XS_LONG_MAX })]);
    const st = parseXml(xml).children[0]!.children[0]!;
    expect(st.children.map((c) => c.name)).toEqual(['dom_id', 'date', 'smtp_in', 'smtp_out', 'pop3_imap_in', 'pop3_imap_out']);
    expect(st.children.map((c) => c.text)).toEqual(['7', '2026-03-01', '9007199254740993', '2', '3', '9223372036854775807']);
  });

  it('omits the version attribute when none is given, and keeps the nodes in order', () => {
    const xml = buildSetTrafficPacket('site', [node({ domId: 3 }), node({ domId: 1 }), node({ domId: 2 })]);
    const root = parseXml(xml);
    expect(root.attributes).toEqual({});
    expect(root.children[0]!.name).toBe('site');
    expect(root.children[0]!.children.map((c) => c.children[0]!.text)).toEqual(['3', '1', '2']);
  });

  it('accepts the whole xs:long range, negatives included (how a panel with add semantics is corrected)', () => {
    const xml = buildSetTrafficPacket('webspace', [node({ smtp_in: -2222n, smtp_out: -XS_LONG_MAX - 1n })]);
    expect(parseXml(xml).children[0]!.children[0]!.children.map((c) => c.text).slice(2, 4)).toEqual(['-2222', '-9223372036854775808']);
    expect(() => buildSetTrafficPacket('webspace', [node({ smtp_in: -XS_LONG_MAX - 2n })])).toThrow(TiError);
  });

  it.each([
    ['no nodes', []],
    ['dom_id 0', [node({ domId: 0 })]],
    ['dom_id beyond xs:int', [node({ domId: 2 ** 31 })]],
    ['a fractional dom_id', [node({ domId: 1.5 })]],
    ['an impossible date', [node({ date: '2026-02-30' })]],
    ['a date with a time', [node({ date: '2026-02-03T00:00:00Z' })]],
    ['a value beyond xs:long', [node({ smtp_out: XS_LONG_MAX + 1n })]],
    ['a missing metric', [{ domId: 1, date: '2026-01-01', smtp_in: 1n, smtp_out: 1n, pop3_imap_in: 1n } as unknown as SetTrafficNode]],
  ])('refuses %s', (_what, nodes) => {
    expect(() => buildSetTrafficPacket('webspace', nodes as SetTrafficNode[])).toThrow(TiError);
  });
});

describe('set_traffic writer: byte-identical to the xmlbuilder2 builder', () => {
  const both = (op: 'webspace' | 'site', nodes: SetTrafficNode[], version?: string): [string, string] => [
    buildSetTrafficPacket(op, nodes, version),
    buildSetTrafficPacketDom(op, nodes, version),
  ];

  it('on every seed set_traffic packet, with and without a version', () => {
    // The nodes of seeds 000 and 001, read from the seed packets themselves (empty elements sent as 0).
    const seeds: ['webspace' | 'site', string][] = [['site', seed000[0]!], ['webspace', seed001[0]!], ['webspace', seed001[2]!]];
    for (const [op, xml] of seeds) {
      const opEl = parseXml(xml).children[0]!;
      expect(opEl.name).toBe(op);
      const nodes: SetTrafficNode[] = opEl.children.map((st) => {
        const v = (name: string): string => st.children.find((c) => c.name === name)?.text.trim() ?? '';
        const n = (name: string): bigint => BigInt(v(name) || '0');
        return { domId: Number(v('dom_id')), date: v('date'), smtp_in: n('smtp_in'), smtp_out: n('smtp_out'), pop3_imap_in: n('pop3_imap_in'), pop3_imap_out: n('pop3_imap_out') };
      });
      expect(nodes.length).toBeGreaterThan(0);
      for (const version of ['1.6.3.0', undefined]) {
        const [text, dom] = both(op, nodes, version);
        expect(text).toBe(dom);
        expect(canonical(text)).toEqual(canonical(dom));
      }
      expect(buildSetTrafficPacket(op, nodes, '1.6.3.0')).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?><packet version="1\.6\.3\.0">/);
    }
  });

  // Strings made of what escaping is about: markup, quotes, entity and character references (real and bogus),
  // control characters, lone surrogates and non-ASCII.
  const tricky = fc
    .array(fc.constantFrom('&', '<', '>', '"', "'", '&amp;', '&lt;', '&#38;', '&#x26;', '&x;', '&;', '&1;', ';', '#', 'a', 'Z', '9', ' ', '\t', '\n', '\r', '\u0000', '\u0007', '\ud800', '\udfff', 'é', '€', '😀', ']]>'), { maxLength: 12 })
    .map((parts) => parts.join(''));
  const dates = fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  const long = fc.oneof(
    fc.bigInt({ min: -XS_LONG_MAX - 1n, max: XS_LONG_MAX }),
    fc.constantFrom(0n, 1n, -1n, XS_LONG_MAX, -XS_LONG_MAX - 1n, 2n ** 53n + 1n, 999999999999999999n, 1000000000000000000n, -1000000000000000000n),
  );
  const nodeArb = fc.record({ domId: fc.oneof(fc.integer({ min: 1, max: XS_INT_MAX }), fc.constantFrom(1, XS_INT_MAX)), date: dates, smtp_in: long, smtp_out: long, pop3_imap_in: long, pop3_imap_out: long });

  it('on random nodes, operators and versions (escaping included)', () => {
    fc.assert(
      fc.property(fc.constantFrom('webspace' as const, 'site' as const), fc.array(nodeArb, { minLength: 1, maxLength: 20 }), fc.option(fc.oneof(tricky, fc.string()), { nil: undefined }), (op, nodes, version) => {
        const [text, dom] = both(op, nodes, version);
        expect(text).toBe(dom);
      }),
      { numRuns: 300 },
    );
  });

  it('escapes text and attribute values exactly as xmlbuilder2 serializes them', () => {
    fc.assert(
      fc.property(fc.oneof(tricky, fc.string(), fc.string({ unit: 'binary' })), (s) => {
        fc.pre(s.length > 0);
        const text = create().ele('x').txt(s).end({ prettyPrint: false, headless: true });
        expect(`<x>${escapeText(s)}</x>`).toBe(text);
        const attr = create().ele('x', { a: s }).end({ prettyPrint: false, headless: true });
        expect(`<x a="${escapeAttribute(s)}"/>`).toBe(attr);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses what the xmlbuilder2 builder refuses, the same way', () => {
    const good: SetTrafficNode = { domId: 7, date: '2026-03-01', smtp_in: 1n, smtp_out: 2n, pop3_imap_in: 3n, pop3_imap_out: 4n };
    const bad: SetTrafficNode[] = [
      { ...good, domId: 0 }, { ...good, domId: 2 ** 31 }, { ...good, domId: 1.5 }, { ...good, date: '2026-02-30' },
      { ...good, smtp_out: XS_LONG_MAX + 1n }, { ...good, pop3_imap_in: -XS_LONG_MAX - 2n }, { ...good, pop3_imap_out: 10000000000000000000n },
      { ...good, smtp_in: 5 as unknown as bigint },
    ];
    for (const node of bad) {
      const messages = [buildSetTrafficPacket, buildSetTrafficPacketDom].map((build) => {
        try {
          build('webspace', [good, node]);
          return 'no error';
        } catch (err) {
          expect(err).toBeInstanceOf(TiError);
          return (err as TiError).message;
        }
      });
      expect(messages[0]).not.toBe('no error');
      expect(messages[0]).toBe(messages[1]);
    }
  });
});

describe('buildGetPacket', () => {
  it('matches the documented many-names get (docs/reference/plesk-api-notes.md §5.1)', () => {
    const expected = '<packet><webspace><get><filter><name>example.com</name><name>sample.com</name></filter><dataset><gen_info/></dataset></get></webspace></packet>';
    expect(canonical(buildGetPacket('webspace', { names: ['example.com', 'sample.com'] }))).toEqual(canonical(expected));
  });

  it('puts several filters in one packet, one <get> each, filter before dataset', () => {
    const xml = buildGetPacket('site', [{ names: ['a.example'] }, { ids: [4, 5] }], '1.6.9.1');
    const site = parseXml(xml).children[0]!;
    expect(site.name).toBe('site');
    expect(canonTree(site)).toEqual(canonical(
      '<site><get><filter><name>a.example</name></filter><dataset><gen_info/></dataset></get>' +
        '<get><filter><id>4</id><id>5</id></filter><dataset><gen_info/></dataset></get></site>',
    ));
  });

  it('escapes markup in names', () => {
    const xml = buildGetPacket('webspace', { names: ['a&b<c>.example'] });
    expect(xml).toContain('<name>a&amp;b&lt;c&gt;.example</name>');
    expect(parseXml(xml).children[0]!.children[0]!.children[0]!.children[0]!.text).toBe('a&b<c>.example');
  });

  it('never builds an empty filter (that would mean every object)', () => {
    expect(() => buildGetPacket('webspace', { names: [] })).toThrow(TiError);
    expect(() => buildGetPacket('webspace', [])).toThrow(TiError);
    expect(() => buildGetTrafficPacket('webspace', [], '2026-01-01', '2026-01-31')).toThrow(TiError);
  });
});

describe('buildGetTrafficPacket', () => {
  it('filter of ids, then since_date and to_date', () => {
    const expected = '<packet version="1.6.3.0"><webspace><get_traffic><filter><id>1</id><id>2</id></filter>' +
      '<since_date>2026-01-01</since_date><to_date>2026-01-31</to_date></get_traffic></webspace></packet>';
    expect(canonical(buildGetTrafficPacket('webspace', [1, 2], '2026-01-01', '2026-01-31', '1.6.3.0'))).toEqual(canonical(expected));
  });

  it('several filters → several get_traffic operations', () => {
    const xml = buildGetTrafficPacket('site', [[1, 2], [3]], '2026-01-01', undefined);
    const ops = parseXml(xml).children[0]!.children;
    expect(ops.map((o) => o.name)).toEqual(['get_traffic', 'get_traffic']);
    expect(ops.map((o) => o.children.map((c) => c.name))).toEqual([['filter', 'since_date'], ['filter', 'since_date']]);
    expect(ops[1]!.children[0]!.children.map((c) => c.text)).toEqual(['3']);
  });
});

describe('buildServicePlanGetPacket', () => {
  it('all plans = an empty filter (there is no <all/>)', () => {
    expect(canonical(buildServicePlanGetPacket('all'))).toEqual(canonical('<packet><service-plan><get><filter/></get></service-plan></packet>'));
  });
});
