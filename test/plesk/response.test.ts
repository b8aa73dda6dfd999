import { describe, expect, it } from 'vitest';
import {
  parseGetResponse, parseGetTrafficResponse, parseServicePlanGetResponse, parseSetTrafficResponse, PleskResponseError,
} from '../../src/plesk/response.js';
import type { SetTrafficNode } from '../../src/plesk/types.js';
import { seedPackets } from './client-helpers.js';

const node = (domId: number, date = '2005-12-12'): SetTrafficNode => ({ domId, date, smtp_in: 0n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n });

function ok<T>(p: { kind: 'system' } | { kind: 'ok'; value: T }): T {
  if (p.kind !== 'ok') throw new Error('expected an ok packet');
  return p.value;
}

describe('seed responses', () => {
  it('seed 001: webspace set_traffic ok with the id echoed', () => {
    const response = seedPackets('001')[1]!;
    expect(ok(parseSetTrafficResponse(response, 'webspace', [node(1234)]))).toEqual([{ status: 'ok', id: 1234 }]);
  });

  it('seed 000: site set_traffic ok against its own request, although its id (19) is not the dom_id (1134)', () => {
    const response = seedPackets('000')[1]!;
    expect(ok(parseSetTrafficResponse(response, 'site', [node(1134)]))).toEqual([{ status: 'ok', id: 19 }]);
  });

  it('refuses results whose ids show another order than the request', () => {
    const body = '<packet><webspace><set_traffic><result><status>ok</status><id>2</id></result></set_traffic>' +
      '<set_traffic><result><status>ok</status><id>1</id></result></set_traffic></webspace></packet>';
    expect(() => parseSetTrafficResponse(body, 'webspace', [node(1), node(2)])).toThrow(/out of order: .*answers for id 2/);
    expect(ok(parseSetTrafficResponse(body, 'webspace', [node(2), node(1)]))).toEqual([{ status: 'ok', id: 2 }, { status: 'ok', id: 1 }]);
  });

  it('seed 004: service-plan get with limits (the page elides parts with "...")', () => {
    const plans = ok(parseServicePlanGetResponse(seedPackets('004')[1]!));
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({ status: 'ok', id: 11, name: 'base_plan', guid: 'dea4315c-a1da-2ea7-4142-ddc42d0902f9', overuse: 'notify' });
    expect(plans[0]!.externalId).toBeUndefined();
    expect([...plans[0]!.limits]).toEqual([['max_db', 10n]]);
  });
});

const wrap = (operator: string, inner: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<packet version="1.6.9.1">\n<${operator}>\n${inner}\n</${operator}>\n</packet>\n`;
const okResult = (id: number) => `<set_traffic><result><status>ok</status><id>${id}</id></result></set_traffic>`;

describe('parseSetTrafficResponse', () => {
  const nodes = [node(1), node(2), node(3)];

  it('matches results to nodes by position, per-node error in the middle', () => {
    const xml = wrap('webspace', okResult(1) +
      '<set_traffic><result><status>error</status><errcode>1013</errcode><errtext>Webspace does not exist</errtext><id>2</id></result></set_traffic>' +
      okResult(3));
    expect(ok(parseSetTrafficResponse(xml, 'webspace', nodes))).toEqual([
      { status: 'ok', id: 1 },
      { status: 'error', errcode: 1013, errtext: 'Webspace does not exist', id: 2 },
      { status: 'ok', id: 3 },
    ]);
  });

  it('accepts results without ids, and several results in one set_traffic element', () => {
    const xml = wrap('site', '<set_traffic><result><status>ok</status></result><result><status>ok</status></result><result><status>ok</status><id>3</id></result></set_traffic>');
    expect(ok(parseSetTrafficResponse(xml, 'site', nodes)).map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('a <system> error is the packet\'s answer', () => {
    const xml = '<packet version="1.6.9.1"><system><status>error</status><errcode>1001</errcode><errtext>Authentication failed</errtext></system></packet>';
    expect(parseSetTrafficResponse(xml, 'webspace', nodes)).toEqual({ kind: 'system', error: { errcode: 1001, errtext: 'Authentication failed' } });
  });

  it.each([
    ['a short response', wrap('webspace', okResult(1) + okResult(2))],
    ['a long response', wrap('webspace', okResult(1) + okResult(2) + okResult(3) + okResult(4))],
    ['no result at all', wrap('webspace', '<set_traffic/>')],
    ['results out of order', wrap('webspace', okResult(2) + okResult(1) + okResult(3))],
    ['a bad status', wrap('webspace', okResult(1) + '<set_traffic><result><status>maybe</status></result></set_traffic>' + okResult(3))],
    ['a missing status', wrap('webspace', okResult(1) + '<set_traffic><result><id>2</id></result></set_traffic>' + okResult(3))],
    ['a repeated status', wrap('webspace', okResult(1) + '<set_traffic><result><status>ok</status><status>error</status></result></set_traffic>' + okResult(3))],
    ['a non-numeric id', wrap('webspace', okResult(1) + '<set_traffic><result><status>ok</status><id>two</id></result></set_traffic>' + okResult(3))],
    ['a non-numeric errcode', wrap('webspace', okResult(1) + '<set_traffic><result><status>error</status><errcode>x</errcode></result></set_traffic>' + okResult(3))],
    ['the wrong operator', wrap('site', okResult(1) + okResult(2) + okResult(3))],
    ['another operation', wrap('webspace', okResult(1) + okResult(2) + '<get><result><status>ok</status></result></get>')],
    ['a truncated body', wrap('webspace', okResult(1) + okResult(2) + okResult(3)).slice(0, -20)],
    ['a body cut mid-result', wrap('webspace', okResult(1) + okResult(2) + okResult(3)).slice(0, 150)],
    ['an HTML error page', '<!DOCTYPE html><html><body>502 Bad Gateway</body></html>'],
    ['an HTML page without doctype', '<html><body>502 Bad Gateway</body></html>'],
    ['plain text', 'upstream connect error'],
    ['an entity declaration', `<!DOCTYPE packet [<!ENTITY x "1">]>${wrap('webspace', okResult(1) + okResult(2) + okResult(3))}`],
  ])('fails the packet on %s', (_what, xml) => {
    expect(() => parseSetTrafficResponse(xml, 'webspace', nodes)).toThrow(PleskResponseError);
  });
});

describe('parseGetResponse', () => {
  it('reads filter-id, id and gen_info names; keeps 1013 results', () => {
    const xml = wrap('webspace',
      '<get><result><status>ok</status><filter-id>bücher.example</filter-id><id>4</id><data><gen_info><cr_date>2020-01-01</cr_date>' +
        '<name>bücher.example</name><ascii-name>xn--bcher-kva.example</ascii-name><status>0</status></gen_info></data></result>' +
        '<result><status>error</status><errcode>1013</errcode><errtext>Webspace does not exist</errtext><filter-id>nope.example</filter-id></result></get>');
    expect(ok(parseGetResponse(xml, 'webspace'))).toEqual([
      { status: 'ok', filterId: 'bücher.example', id: 4, name: 'bücher.example', asciiName: 'xn--bcher-kva.example' },
      { status: 'error', errcode: 1013, errtext: 'Webspace does not exist', filterId: 'nope.example' },
    ]);
  });

  it('an operation element without results is no results', () => {
    expect(ok(parseGetResponse(wrap('site', '<get/>'), 'site'))).toEqual([]);
  });
});

describe('parseGetTrafficResponse', () => {
  const row = (date: string, v: string[]) =>
    `<traffic><date>${date}</date>${['http_in', 'http_out', 'ftp_in', 'ftp_out', 'smtp_in', 'smtp_out', 'pop3_imap_in', 'pop3_imap_out'].map((f, i) => `<${f}>${v[i]}</${f}>`).join('')}</traffic>`;

  it('reads all 8 counters as exact bigints, beyond 2^53', () => {
    const v = ['4371212365846', '1234111122', '4121253', '163553', '9223372036854775807', '9007199254740993', '1545682', '0'];
    const xml = wrap('webspace', `<get_traffic><result><status>ok</status><filter-id>1234</filter-id><id>1234</id>${row('2005-12-12', v)}${row('2005-12-13', v)}</result>` +
      '<result><status>ok</status><filter-id>1247</filter-id><id>1247</id></result></get_traffic>');
    const results = ok(parseGetTrafficResponse(xml, 'webspace'));
    expect(results.map((r) => [r.id, [...r.traffic.keys()]])).toEqual([[1234, ['2005-12-12', '2005-12-13']], [1247, []]]);
    expect(results[0]!.traffic.get('2005-12-12')).toEqual({
      http_in: 4371212365846n, http_out: 1234111122n, ftp_in: 4121253n, ftp_out: 163553n,
      smtp_in: 9223372036854775807n, smtp_out: 9007199254740993n, pop3_imap_in: 1545682n, pop3_imap_out: 0n,
    });
  });

  it.each([
    ['a missing counter', `<traffic><date>2005-12-12</date><http_in>1</http_in></traffic>`],
    ['a value beyond xs:long', row('2005-12-12', ['9223372036854775808', '0', '0', '0', '0', '0', '0', '0'])],
    ['a decimal value', row('2005-12-12', ['1.5', '0', '0', '0', '0', '0', '0', '0'])],
    ['an empty value', row('2005-12-12', ['', '0', '0', '0', '0', '0', '0', '0'])],
    ['a bad date', row('2005-13-12', ['0', '0', '0', '0', '0', '0', '0', '0'])],
    ['a repeated day', row('2005-12-12', ['0', '0', '0', '0', '0', '0', '0', '0']).repeat(2)],
  ])('fails on %s', (_what, rows) => {
    const xml = wrap('site', `<get_traffic><result><status>ok</status><id>1</id>${rows}</result></get_traffic>`);
    expect(() => parseGetTrafficResponse(xml, 'site')).toThrow(PleskResponseError);
  });
});
