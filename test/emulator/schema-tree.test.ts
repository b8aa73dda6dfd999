// The schema-tree parser on known nodes, the vendored copies, and the validator's verdicts and wording.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkPacket, findElement, formatOccurs, inputSchema, outputSchema, parseSchemaTree, parseXml, validateDocument,
  type ElementDecl, type Group,
} from '../../src/stand-ins/plesk/schema/index.js';
import { AGENT_INPUT_TREE } from '../../src/stand-ins/plesk/schema/agent-input-tree.js';
import { renderTreeModule, VENDORED_TREES } from '../../src/stand-ins/plesk/schema/vendor.js';
import { simpleCheck } from '../../src/stand-ins/plesk/schema/simple-types.js';
import { SCHEMA_REFERENCE, seedPackets } from '../support/seeds.js';

const REFERENCE = fileURLToPath(SCHEMA_REFERENCE);

function names(g: Group): string[] {
  return g.particles.map((p) => (p.kind === 'element' ? p.name : `(${p.kind})`));
}

describe('schema tree parser', () => {
  it('reads webspace/set_traffic as a sequence of six required elements with their types', () => {
    const st = findElement(inputSchema(), ['packet', 'webspace', 'set_traffic'])!;
    expect(st.line).toBe(810);
    const seq = st.content as Group;
    expect(seq.kind).toBe('sequence');
    expect(formatOccurs(seq.occurs)).toBe('[1..1]');
    const kids = seq.particles as ElementDecl[];
    expect(kids.map((k) => `${k.name}:${k.type}:${formatOccurs(k.occurs)}`)).toEqual([
      'dom_id:int:[1..1]', 'date:date:[1..1]', 'smtp_in:long:[1..1]', 'smtp_out:long:[1..1]',
      'pop3_imap_in:long:[1..1]', 'pop3_imap_out:long:[1..1]',
    ]);
    expect(kids.every((k) => k.content === null)).toBe(true);
  });

  it('reads webspace/get: filter (a choice of repeatable kinds), then dataset as an all group', () => {
    const get = findElement(inputSchema(), ['packet', 'webspace', 'get'])!;
    expect(names(get.content as Group)).toEqual(['filter', 'dataset']);
    const filter = findElement(inputSchema(), ['packet', 'webspace', 'get', 'filter'])!;
    expect(filter.type).toBe('domainFilterType');
    const choice = filter.content as Group;
    expect(choice.kind).toBe('choice');
    expect(names(choice)).toEqual(['id', 'owner-id', 'name', 'owner-login', 'guid', 'owner-guid', 'external-id', 'owner-external-id']);
    expect(choice.particles.every((p) => p.occurs.min === 0 && p.occurs.max === Infinity)).toBe(true);
    const dataset = findElement(inputSchema(), ['packet', 'webspace', 'get', 'dataset'])!;
    const all = dataset.content as Group;
    expect(all.kind).toBe('all');
    expect(names(all).slice(0, 4)).toEqual(['gen_info', 'hosting', 'hosting-basic', 'limits']);
    const genInfo = all.particles[0] as ElementDecl;
    expect([genInfo.type, formatOccurs(genInfo.occurs)]).toEqual(['NoneType', '[0..1]']);
    const performance = all.particles.find((p) => p.kind === 'element' && p.name === 'performance') as ElementDecl;
    expect(performance.anyAttribute).toBe(true);
    expect((performance.content as Group).particles[0]!.kind).toBe('any');
  });

  it('reads the packet root: optional request-settings, then a choice of operators 1..unbounded', () => {
    const packet = inputSchema().roots.get('packet')!;
    const seq = packet.content as Group;
    expect(names(seq)).toEqual(['request-settings', '(choice)']);
    const operators = seq.particles[1] as Group;
    expect(formatOccurs(operators.occurs)).toBe('[1..unbounded]');
    expect(names(operators)).toContain('service-plan');
    expect(names(operators)).toContain('site');
    expect([...inputSchema().roots.keys()]).toEqual(['descriptor', 'packet']);
  });

  it('reads service-plan/get: optional filter choice of 1..unbounded kinds, optional owner choice', () => {
    const get = findElement(inputSchema(), ['packet', 'service-plan', 'get'])!;
    const seq = get.content as Group;
    const filterChoice = (seq.particles[0] as ElementDecl).content as Group;
    expect(formatOccurs(filterChoice.occurs)).toBe('[0..1]');
    expect(filterChoice.particles.map((p) => `${(p as ElementDecl).name}${formatOccurs(p.occurs)}`))
      .toEqual(['name[1..unbounded]', 'id[1..unbounded]', 'guid[1..unbounded]', 'external-id[1..unbounded]']);
    expect(names(seq.particles[1] as Group)).toEqual(['owner-id', 'owner-login', 'owner-all']);
  });

  it('parses every line of both trees except the stray last one', () => {
    expect(inputSchema().skipped).toEqual([{ line: 3554, text: '     : string' }]);
    expect(outputSchema().skipped).toEqual([{ line: 4768, text: '     : string' }]);
    const out = findElement(outputSchema(), ['packet', 'webspace', 'get_traffic', 'result', 'traffic'])!;
    expect(names(out.content as Group)).toEqual([
      'date', 'http_in', 'http_out', 'ftp_in', 'ftp_out', 'smtp_in', 'smtp_out', 'pop3_imap_in', 'pop3_imap_out',
    ]);
  });

  it('handles nested groups, wildcards, attributes and bad cardinalities in a small tree', () => {
    const model = parseSchemaTree([
      'any: / schema',
      '  root',
      '    (sequence)',
      '      a : int [0..2]',
      '      (choice) [1..unbounded]',
      '        b : string',
      '        c : anyType',
      '          (sequence)',
      '            <> [0..unbounded]',
      '          @',
    ].join('\n'));
    const root = model.roots.get('root')!;
    const seq = root.content as Group;
    expect(seq.particles.map((p) => `${p.kind}${formatOccurs(p.occurs)}`)).toEqual(['element[0..2]', 'choice[1..unbounded]']);
    const c = (seq.particles[1] as Group).particles[1] as ElementDecl;
    expect(c.anyAttribute).toBe(true);
    expect(() => parseSchemaTree('any: / schema\n  x : int [3..1]')).toThrow(/max below min/);
  });

  it('vendored modules are exactly what vendor.ts renders from the reference copy in docs/reference', () => {
    for (const t of VENDORED_TREES) {
      const text = readFileSync(path.join(REFERENCE, t.source), 'utf8');
      const rendered = renderTreeModule(text, t.source, t.constName);
      const committed = readFileSync(path.resolve(import.meta.dirname, '../../src/stand-ins/plesk/schema', t.module), 'utf8');
      expect(committed).toBe(rendered);
    }
    expect(AGENT_INPUT_TREE.startsWith('any: / schema\n  descriptor : ObjectDescriptor')).toBe(true);
  });
});

const SET = (fields: string): string => `<packet><webspace><set_traffic>${fields}</set_traffic></webspace></packet>`;
const GOOD = '<dom_id>1</dom_id><date>2026-11-01</date><smtp_in>1</smtp_in><smtp_out>2</smtp_out><pop3_imap_in>3</pop3_imap_in><pop3_imap_out>4</pop3_imap_out>';

describe('packet validation', () => {
  it('accepts a complete set_traffic and values at the xs:long bounds', () => {
    expect(checkPacket(SET(GOOD)).violations).toEqual([]);
    const max = GOOD.replace('<smtp_in>1</smtp_in>', '<smtp_in>9223372036854775807</smtp_in>')
      .replace('<smtp_out>2</smtp_out>', '<smtp_out> -9223372036854775808 </smtp_out>');
    expect(checkPacket(SET(max)).violations).toEqual([]);
  });

  it('refuses an empty long, overflow, a non-date and a bad calendar day with libxml2 wording', () => {
    expect(checkPacket(SET(GOOD.replace('<smtp_in>1</smtp_in>', '<smtp_in/>'))).violations)
      .toEqual(["Element 'smtp_in': '' is not a valid value of the atomic type 'long'."]);
    expect(checkPacket(SET(GOOD.replace('<smtp_in>1</smtp_in>', '<smtp_in>9223372036854775808</smtp_in>'))).violations)
      .toEqual(["Element 'smtp_in': '9223372036854775808' is not a valid value of the atomic type 'long'."]);
    expect(checkPacket(SET(GOOD.replace('2026-11-01', '2026-02-30'))).violations)
      .toEqual(["Element 'date': '2026-02-30' is not a valid value of the atomic type 'date'."]);
    expect(checkPacket(SET(GOOD.replace('2026-11-01', '2026-11-01T00:00:00'))).violations).toHaveLength(1);
    expect(checkPacket(SET(GOOD.replace('2026-11-01', ''))).violations)
      .toEqual(["Element 'date': '' is not a valid value of the atomic type 'date'."]);
    expect(checkPacket(SET(GOOD.replace('2026-11-01', '2026-11-01+02:00'))).violations).toEqual([]);
    expect(checkPacket(SET(GOOD.replace('<dom_id>1</dom_id>', '<dom_id>2147483648</dom_id>'))).violations)
      .toEqual(["Element 'dom_id': '2147483648' is not a valid value of the atomic type 'int'."]);
    expect(checkPacket(SET(GOOD.replace('<smtp_out>2</smtp_out>', '<smtp_out>1.5</smtp_out>'))).violations)
      .toEqual(["Element 'smtp_out': '1.5' is not a valid value of the atomic type 'long'."]);
  });

  it('refuses elements out of order, missing and unknown, naming what was expected', () => {
    const swapped = '<date>2026-11-01</date><dom_id>1</dom_id>' + GOOD.slice(GOOD.indexOf('<smtp_in>'));
    expect(checkPacket(SET(swapped)).violations)
      .toEqual(["Element 'date': This element is not expected. Expected is ( dom_id )."]);
    expect(checkPacket(SET('<dom_id>1</dom_id><smtp_in>1</smtp_in>')).violations)
      .toEqual(["Element 'smtp_in': This element is not expected. Expected is ( date )."]);
    expect(checkPacket(SET('<dom_id>1</dom_id><date>2026-11-01</date>')).violations)
      .toEqual(["Element 'set_traffic': Missing child element(s). Expected is ( smtp_in )."]);
    expect(checkPacket(SET(GOOD + '<http_in>5</http_in>')).violations)
      .toEqual(["Element 'http_in': This element is not expected."]);
    expect(checkPacket('<packet><webspace><get><filter><id>1</id><name>a.com</name></filter><dataset><gen_info/></dataset></get></webspace></packet>').violations)
      .toEqual(["Element 'name': This element is not expected. Expected is ( id )."]);
    const foo = checkPacket('<packet><foo/></packet>').violations[0]!;
    expect(foo).toMatch(/^Element 'foo': This element is not expected\. Expected is one of \( request-settings, server, customer, webspace,/);
  });

  it('applies all-group rules: any order, each at most once; empty types; element-only content', () => {
    const get = (dataset: string): string[] =>
      checkPacket(`<packet><webspace><get><filter><name>a.com</name><name>b.com</name></filter><dataset>${dataset}</dataset></get></webspace></packet>`).violations;
    expect(get('<stat/><gen_info/><limits/>')).toEqual([]);
    expect(get('')).toEqual([]);
    expect(get('<stat/><stat/>')[0]).toMatch(/^Element 'stat': This element is not expected\. Expected is one of \( gen_info, hosting,/);
    expect(get('<gen_info>x</gen_info>')).toEqual(["Element 'gen_info': Character content is not allowed, because the content type is empty."]);
    expect(checkPacket('<packet><webspace><get><filter/></get></webspace></packet>').violations)
      .toEqual(["Element 'get': Missing child element(s). Expected is ( dataset )."]);
    expect(checkPacket('<packet>text<webspace><get_traffic><filter/></get_traffic></webspace></packet>').violations)
      .toEqual(["Element 'packet': Character content other than whitespace is not allowed because the content type is 'element-only'."]);
    expect(checkPacket(SET(GOOD.replace('<smtp_in>1</smtp_in>', '<smtp_in><x/></smtp_in>'))).violations)
      .toEqual(["Element 'smtp_in': Element content is not allowed, because the content type is a simple type."]);
  });

  it('validates every operator generically, request-settings and several operators in one packet', () => {
    expect(checkPacket('<packet><request-settings><setting><name>x</name><value>y</value></setting></request-settings>'
      + '<webspace><get_traffic><filter><id>1</id><id>2</id></filter><since_date>2026-11-01</since_date></get_traffic></webspace>'
      + '<site><get_traffic><filter/></get_traffic></site><service-plan><get><filter/><owner-all/></get></service-plan>'
      + '<server><get_protos/></server><customer><get><filter><login>bob</login></filter><dataset><gen_info/></dataset></get></customer></packet>').violations)
      .toEqual([]);
    expect(checkPacket('<packet><customer><get><filter><login>bob</login></filter></get></customer></packet>').violations)
      .toEqual(["Element 'get': Missing child element(s). Expected is ( dataset )."]);
    expect(checkPacket('<packet/>').violations[0]).toMatch(/^Element 'packet': Missing child element\(s\)\. Expected is one of \( request-settings, server,/);
    // Wildcards: extension/call holds `<> [1..unbounded]`, any element with anything inside, but one at least.
    expect(checkPacket('<packet><extension><call><anything x="1">text<b/></anything></call></extension></packet>').violations).toEqual([]);
    expect(checkPacket('<packet><extension><call/></extension></packet>').violations).toEqual(["Element 'call': Missing child element(s)."]);
    expect(checkPacket('<request/>').violations).toEqual(["Element 'request': No matching global declaration available for the validation root."]);
  });

  it('reports the one bad node of a thousand', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => `<set_traffic>${GOOD.replace('<dom_id>1</dom_id>', `<dom_id>${i + 1}</dom_id>`)}</set_traffic>`);
    nodes[700] = nodes[700]!.replace('<smtp_out>2</smtp_out>', '<smtp_out/>');
    const v = validateDocument(inputSchema(), parseXml(`<packet><webspace>${nodes.join('')}</webspace></packet>`));
    expect(v).toEqual(["Element 'smtp_out': '' is not a valid value of the atomic type 'long'."]);
  });
});

describe('seed packets (test/fixtures/seeds)', () => {
  // The docs indent with U+00A0 (copied from HTML): the packets are checked as they stand.
  const [SEED000_REQUEST, SEED000_RESPONSE] = seedPackets('000') as [string, string];
  // Seed 001: the single-node sample, its response, and the multi-node one with empty <smtp_in/> and <smtp_out/>.
  const [SEED001_SINGLE, , SEED001_MULTI] = seedPackets('001') as [string, string, string];

  it('tolerates the no-break-space indentation between elements only, never inside a value', () => {
    expect(checkPacket(SET(GOOD.replace('<smtp_in>1</smtp_in>', '<smtp_in>\u00a01</smtp_in>'))).violations)
      .toEqual(["Element 'smtp_in': '\u00a01' is not a valid value of the atomic type 'long'."]);
    expect(checkPacket(SET(GOOD.replace('<smtp_in>1</smtp_in>', '<smtp_in>\n 1\t</smtp_in>'))).violations).toEqual([]);
  });

  it('accepts the seed 000 request and response, refuses the seed 001 multi-node sample', () => {
    expect(checkPacket(SEED000_REQUEST).violations).toEqual([]);
    expect(checkPacket(SEED001_SINGLE).violations).toEqual([]);
    expect(checkPacket(SEED000_RESPONSE, 'output').violations).toEqual([]);
    expect(checkPacket(SEED001_MULTI).violations).toEqual([
      "Element 'smtp_in': '' is not a valid value of the atomic type 'long'.",
      "Element 'smtp_out': '' is not a valid value of the atomic type 'long'.",
    ]);
  });
});

describe('content models read in runs, simple types without bigint (the fast paths)', () => {
  // A model of elements and repeated choices of single elements, each with a cardinality; the verdict on
  // random children must be the language's, here as a regular expression over the names.
  const occursArb = fc.constantFrom([0, 1], [1, 1], [0, Infinity], [1, Infinity], [2, 3], [0, 2]);
  const partArb = fc.oneof(
    fc.record({ names: fc.constantFrom(['a'], ['b'], ['c'], ['d']), occurs: occursArb, choice: fc.constant(false) }),
    fc.record({ names: fc.shuffledSubarray(['a', 'b', 'c', 'd', 'e'], { minLength: 1, maxLength: 3 }), occurs: occursArb, choice: fc.constant(true) }),
  );
  const card = ([min, max]: readonly number[]): string => `[${min}..${max === Infinity ? 'unbounded' : max}]`;

  it('gives the verdict of the language on random models and children', () => {
    fc.assert(fc.property(fc.array(partArb, { minLength: 1, maxLength: 4 }), fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 7 }),
      (parts, children) => {
        const lines = ['any: / schema', '  root', '    (sequence)'];
        for (const p of parts) {
          if (p.choice) {
            lines.push(`      (choice) ${card(p.occurs)}`);
            for (const n of p.names) lines.push(`        ${n} : string`);
          } else lines.push(`      ${p.names[0]} : string ${card(p.occurs)}`);
        }
        const model = parseSchemaTree(lines.join('\n'));
        const language = new RegExp(`^${parts.map((p) => `(?:(?:${p.names.join('|')}),){${p.occurs[0]},${p.occurs[1] === Infinity ? '' : p.occurs[1]}}`).join('')}$`);
        const doc = `<root>${children.map((c) => `<${c}/>`).join('')}</root>`;
        const violations = validateDocument(model, parseXml(doc));
        expect(violations.length === 0, `${lines.join(' | ')} ← ${doc}: ${violations.join('; ')}`).toBe(language.test(children.map((c) => `${c},`).join('')));
      }), { numRuns: 2000 });
  });

  it('checks integers as bigint arithmetic would, whatever their length, sign and blanks', () => {
    const ranges: [string, bigint, bigint][] = [
      ['int', -(2n ** 31n), 2n ** 31n - 1n], ['long', -(2n ** 63n), 2n ** 63n - 1n], ['unsignedInt', 0n, 2n ** 32n - 1n], ['unsignedLong', 0n, 2n ** 64n - 1n],
    ];
    const textArb = fc.tuple(fc.constantFrom('', '', ' ', '\n', '+', '-', '-0', '0'), fc.stringMatching(/^\d{0,21}$/), fc.constantFrom('', '', '\t', 'x', '.0'))
      .map(([a, b, c]) => a + b + c);
    fc.assert(fc.property(textArb, (text) => {
      const trimmed = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
      for (const [type, min, max] of ranges) {
        const expected = /^[+-]?\d+$/.test(trimmed) && BigInt(trimmed) >= min && BigInt(trimmed) <= max;
        expect(simpleCheck(type)!.valid(text), `${type} ${JSON.stringify(text)}`).toBe(expected);
      }
    }), { numRuns: 3000 });
    expect(simpleCheck('long')!.valid('999999999999999999')).toBe(true);
    expect(simpleCheck('long')!.valid('9999999999999999999')).toBe(false);
    expect(simpleCheck('int')!.valid('999999999')).toBe(true);
    expect(simpleCheck('int')!.valid('2147483648')).toBe(false);
  });
});
