// The emulator over real loopback HTTP: checkups, operations, semantics, state. Every XML answer is
// also validated against the response schema (agent_output.tree.txt), so shapes and element order
// are checked on each call, not only where a test looks.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, Client, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { runEmulator, startEmulator, type Emulator, type EmulatorFixture } from '../../src/stand-ins/plesk/index.js';
import type { XmlElement } from '../../src/stand-ins/plesk/schema/index.js';
import { AGENT, LOGIN, SAMPLE, child, fixture, kids, post, results, systemOf, val } from './helpers.js';

const setNode = (domId: number | string, date: string, v: [string, string, string, string]): string =>
  `<set_traffic><dom_id>${domId}</dom_id><date>${date}</date><smtp_in>${v[0]}</smtp_in><smtp_out>${v[1]}</smtp_out>`
  + `<pop3_imap_in>${v[2]}</pop3_imap_in><pop3_imap_out>${v[3]}</pop3_imap_out></set_traffic>`;
const packet = (operator: string, ops: string, version = '1.6.3.0'): string =>
  `<?xml version="1.0" encoding="UTF-8"?><packet version="${version}"><${operator}>${ops}</${operator}></packet>`;

// Verbatim copies of the seeds' packets (test/emulator/schema-tree.test.ts checks they are verbatim).
const SEED000_REQUEST = "<packet version=\"1.6.3.0\">\n<site>\n<set_traffic>\n\u00a0\u00a0\u00a0<dom_id>1134</dom_id>\n\u00a0\u00a0\u00a0<date>2005-12-12</date>\n\u00a0\u00a0\u00a0<smtp_in>514237124628</smtp_in>\n\u00a0\u00a0\u00a0<smtp_out>6153462547</smtp_out>\n\u00a0\u00a0\u00a0<pop3_imap_in>49769379</pop3_imap_in>\n\u00a0\u00a0\u00a0<pop3_imap_out>7236487263</pop3_imap_out>\n</set_traffic>\n</site>\n</packet>";
const SEED001_SINGLE = "<packet version=\"1.6.3.0\">\n<webspace>\n<set_traffic>\n\u00a0\u00a0\u00a0<dom_id>1234</dom_id>\n\u00a0\u00a0\u00a0<date>2005-12-12</date>\n\u00a0\u00a0\u00a0<smtp_in>514237124628</smtp_in>\n\u00a0\u00a0\u00a0<smtp_out>6153462547</smtp_out>\n\u00a0\u00a0\u00a0<pop3_imap_in>49769379</pop3_imap_in>\n\u00a0\u00a0\u00a0<pop3_imap_out>7236487263</pop3_imap_out>\n</set_traffic>\n</webspace>\n</packet>";
const SEED001_MULTI = "<packet version=\"1.6.3.0\">\n<webspace>\n<set_traffic>\n\u00a0\u00a0\u00a0<dom_id>1134</dom_id>\n\u00a0\u00a0\u00a0<date>2005-12-12</date>\n\u00a0\u00a0\u00a0<smtp_in>127417</smtp_in>\n\u00a0\u00a0\u00a0<smtp_out>342899</smtp_out>\n\u00a0\u00a0\u00a0<pop3_imap_in>384769</pop3_imap_in>\n\u00a0\u00a0\u00a0<pop3_imap_out>37947</pop3_imap_out>\n</set_traffic>\n<set_traffic>\n\u00a0\u00a0\u00a0<dom_id>1135</dom_id>\n\u00a0\u00a0\u00a0<date>2005-12-12</date>\n\u00a0\u00a0\u00a0<smtp_in/>\n\u00a0\u00a0\u00a0<smtp_out/>\n\u00a0\u00a0\u00a0<pop3_imap_in>7835683295457</pop3_imap_in>\n\u00a0\u00a0\u00a0<pop3_imap_out>32876583765</pop3_imap_out>\n</set_traffic>\n</webspace>\n</packet>";

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ fixture: fixture() });
});
afterAll(async () => {
  await emu.close();
});

describe('transport and checkups', () => {
  const GET_ONE = packet('webspace', '<get><filter><id>1</id></filter><dataset><gen_info/></dataset></get>');

  it('answers only POST on agent.php; everything else is a 404', async () => {
    const get = await request(`${emu.url}${AGENT}`);
    expect(get.statusCode).toBe(404);
    await get.body.text();
    const other = await request(`${emu.url}/enterprise/control/other.php`, { method: 'POST', body: GET_ONE, headers: { 'Content-Type': 'text/xml', ...LOGIN } });
    expect(other.statusCode).toBe(404);
    expect(String(other.headers['content-type'])).toBe('text/html');
    await other.body.text();
  });

  it('authenticates by login and password, and by secret key', async () => {
    const byLogin = await post(emu, GET_ONE);
    expect(val(results(byLogin, 'get')[0]!, 'status')).toBe('ok');
    const byKey = await post(emu, GET_ONE, { KEY: 'emulator-secret-key' });
    expect(val(results(byKey, 'get')[0]!, 'id')).toBe('1');
  });

  it('answers auth failures with HTTP 200 and a <system> error: 1001, 11003, 1029', async () => {
    const wrong = await post(emu, packet('webspace', '<get><filter/><dataset><gen_info/></dataset></get>', '1.6.9.1'),
      { 'HTTP_AUTH_LOGIN': 'admin', 'HTTP_AUTH_PASSWD': 'nope' });
    expect(wrong.body).toBe('<?xml version="1.0" encoding="UTF-8"?><packet version="1.6.9.1"><system><status>error</status>'
      + '<errcode>1001</errcode><errtext>Authentication failed</errtext></system></packet>');
    expect(systemOf(await post(emu, GET_ONE, { 'HTTP_AUTH_LOGIN': 'root', 'HTTP_AUTH_PASSWD': 'emulator-password' })).errcode).toBe('1001');
    expect(systemOf(await post(emu, GET_ONE, { KEY: 'not-the-key' })).errcode).toBe('11003');
    const none = systemOf(await post(emu, GET_ONE, {}));
    expect(none).toEqual({ errcode: '1029', errtext: 'Authentication method is not specified' });
    const basic = { Authorization: `Basic ${Buffer.from('admin:emulator-password').toString('base64')}` };
    expect(systemOf(await post(emu, GET_ONE, basic)).errcode).toBe('1029');
  });

  it('checks the protocol version: echoed when supported, 1005 when newer or not a version', async () => {
    expect((await post(emu, GET_ONE)).root.attributes['version']).toBe('1.6.3.0');
    const noVersion = await post(emu, '<packet><webspace><get><filter><id>1</id></filter><dataset><gen_info/></dataset></get></webspace></packet>');
    expect(noVersion.root.attributes['version']).toBe('1.6.9.1');
    expect(results(noVersion, 'get')).toHaveLength(1);
    expect(results(await post(emu, packet('webspace', '<get><filter><id>1</id></filter><dataset><gen_info/></dataset></get>', '1.6')), 'get')).toHaveLength(1);
    for (const v of ['1.6.9.2', '1.7', '100.0.0', 'latest', '']) {
      const r = await post(emu, packet('webspace', '<get><filter><id>1</id></filter><dataset><gen_info/></dataset></get>', v));
      expect(systemOf(r).errcode).toBe('1005');
    }
  });

  it('refuses a wrong Content-Type, malformed XML and a DOCTYPE with 1014 and logs them', async () => {
    const before = emu.violations.length;
    expect(systemOf(await post(emu, GET_ONE, LOGIN, { contentType: 'application/x-www-form-urlencoded' })).errcode).toBe('1014');
    for (const bad of [
      '<packet><webspace><get></webspace></get></packet>',
      '<packet><webspace>',
      '<packet><webspace><get><filter><name>a & b</name></filter><dataset><gen_info/></dataset></get></webspace></packet>',
      'not xml',
      '',
    ]) {
      const sys = systemOf(await post(emu, bad));
      expect(sys.errcode).toBe('1014');
      expect(sys.errtext).toMatch(/^XML parsing error: /);
    }
    const xxe = '<?xml version="1.0"?><!DOCTYPE packet [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
      + '<packet><webspace><get><filter><name>&x;</name></filter><dataset><gen_info/></dataset></get></webspace></packet>';
    const r = await post(emu, xxe);
    expect(systemOf(r)).toEqual({ errcode: '1014', errtext: 'XML parsing error: DOCTYPE is not allowed' });
    expect(r.body).not.toContain('root:');
    expect(emu.violations.length - before).toBe(7);
  });
});

describe('webspace and site get', () => {
  it('resolves many names per filter, echoing each filter-id; unknown names answer 1013', async () => {
    const r = await post(emu, packet('webspace', '<get><filter><name>example.com</name><name>EXAMPLE.NET.</name>'
      + '<name>nope.example</name><name>bücher.example</name><name>xn--bcher-kva.example</name></filter>'
      + '<dataset><gen_info/></dataset></get>'));
    const res = results(r, 'get');
    expect(res.map((x) => [val(x, 'status'), val(x, 'filter-id'), val(x, 'id') ?? val(x, 'errcode')])).toEqual([
      ['ok', 'example.com', '1'],
      ['ok', 'EXAMPLE.NET.', '2'],
      ['error', 'nope.example', '1013'],
      ['ok', 'bücher.example', '4'],
      ['ok', 'xn--bcher-kva.example', '4'],
    ]);
    expect(val(res[2]!, 'errtext')).toBe('Webspace does not exist');
    const gen = child(child(res[3]!, 'data')!, 'gen_info')!;
    expect([val(gen, 'name'), val(gen, 'ascii-name'), val(gen, 'status'), val(gen, 'guid')])
      .toEqual(['bücher.example', 'xn--bcher-kva.example', '0', '6f1d5a8e-1c39-4d6b-9a0e-2b1f0c6e0004']);
  });

  it('filters by id and guid; an unknown id answers 1013 with filter-id and id', async () => {
    const r = await post(emu, packet('webspace', '<get><filter><id>3</id><id>999</id></filter><dataset><gen_info/></dataset></get>'
      + '<get><filter><guid>6F1D5A8E-1C39-4D6B-9A0E-2B1F0C6E0005</guid></filter><dataset><gen_info/></dataset></get>'));
    const [three, missing] = results(r, 'get');
    expect(val(child(child(three!, 'data')!, 'gen_info')!, 'name')).toBe('shop.example.org');
    expect([val(missing!, 'errcode'), val(missing!, 'filter-id'), val(missing!, 'id')]).toEqual(['1013', '999', '999']);
    expect(val(results(r, 'get', 1)[0]!, 'id')).toBe('5');
  });

  it('lists every subscription for an empty filter; an empty dataset leaves out the ids', async () => {
    const all = results(await post(emu, packet('webspace', '<get><filter/><dataset><gen_info/></dataset></get>')), 'get');
    expect(all.map((x) => val(x, 'id'))).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '13', '14', '1134', '1135', '1234']);
    expect(all.every((x) => val(x, 'filter-id') === undefined)).toBe(true);
    const bare = results(await post(emu, packet('webspace', '<get><filter><name>example.com</name></filter><dataset/></get>')), 'get');
    expect(bare.map((x) => [val(x, 'status'), val(x, 'filter-id'), val(x, 'id'), child(x, 'data')])).toEqual([['ok', 'example.com', undefined, undefined]]);
  });

  it('site/get: add-on and main sites by name; an unfiltered get lists add-on sites only', async () => {
    const r = await post(emu, packet('site', '<get><filter><name>blog.example.com</name><name>example.com</name><name>example.net</name>'
      + '<name>www.example.com</name></filter><dataset><gen_info/></dataset></get>'));
    const res = results(r, 'get');
    const gen = (x: XmlElement): XmlElement => child(child(x, 'data')!, 'gen_info')!;
    expect(res.slice(0, 3).map((x) => [val(x, 'id'), val(gen(x), 'webspace-id'), val(gen(x), 'name')]))
      .toEqual([['11', '1', 'blog.example.com'], ['1', '1', 'example.com'], ['2', '2', 'example.net']]);
    expect([val(res[3]!, 'errcode'), val(res[3]!, 'errtext'), val(res[3]!, 'filter-id')]).toEqual(['1013', 'Site does not exist', 'www.example.com']);
    // A main site shares its subscription's GUID.
    expect(val(gen(res[1]!), 'guid')).toBe('6f1d5a8e-1c39-4d6b-9a0e-2b1f0c6e0001');
    expect(val(gen(res[1]!), 'webspace-guid')).toBe('6f1d5a8e-1c39-4d6b-9a0e-2b1f0c6e0001');
    const all = results(await post(emu, packet('site', '<get><filter/><dataset><gen_info/></dataset></get>')), 'get');
    expect(all.map((x) => val(x, 'id'))).toEqual(['11', '12']);
    const addOns = results(await post(emu, packet('site', '<get><filter><parent-id>1</parent-id></filter><dataset><gen_info/></dataset></get>')), 'get');
    expect(addOns.map((x) => [val(x, 'filter-id'), val(x, 'id')])).toEqual([['1', '11']]);
  });

  it('answers operations it does not emulate with 1017, next to those it does', async () => {
    const r = await post(emu, '<packet version="1.6.3.0"><customer><get><filter><login>bob</login></filter><dataset><gen_info/></dataset></get></customer>'
      + '<webspace><del><filter><id>9</id></filter></del><get><filter><id>9</id></filter><dataset><gen_info/></dataset></get></webspace></packet>');
    expect(r.root.children.map((c) => c.name)).toEqual(['customer', 'webspace']);
    expect(val(kids(child(r.root, 'customer'), 'get')[0]!.children[0]!, 'errcode')).toBe('1017');
    const ws = child(r.root, 'webspace')!;
    expect(ws.children.map((c) => c.name)).toEqual(['del', 'get']);
    expect(val(child(child(ws, 'del')!, 'result')!, 'errcode')).toBe('1017');
    expect(val(child(child(ws, 'get')!, 'result')!, 'id')).toBe('9');
  });
});

describe('set_traffic', () => {
  let local: Emulator;
  beforeAll(async () => {
    local = await startEmulator({ fixture: fixture() });
  });
  afterAll(async () => {
    await local.close();
  });

  it('answers one <set_traffic><result> per node, in order, and leaves http/ftp of the day alone', async () => {
    const r = await post(local, packet('webspace',
      setNode(1, '2026-11-01', ['10', '20', '30', '9223372036854775807'])
      + setNode(999, '2026-11-01', ['1', '1', '1', '1'])
      + setNode(2, '2026-11-03', ['5', '6', '7', '8'])
      + setNode(1, '2026-11-04', ['0', '0', '0', '0'])));
    const ops = kids(r.root.children[0], 'set_traffic');
    expect(ops).toHaveLength(4);
    expect(ops.map((o) => o.children.map((res) => [val(res, 'status'), val(res, 'errcode'), val(res, 'id')]))).toEqual([
      [['ok', undefined, '1']],
      [['error', '1013', '999']],
      [['ok', undefined, '2']],
      [['ok', undefined, '1']],
    ]);
    expect(local.setTrafficNodes).toBe(3);
    expect(local.traffic(1, '2026-11-01')).toEqual({
      http_in: 4371212365n, http_out: 1234111122n, ftp_in: 4121253n, ftp_out: 163553n,
      smtp_in: 10n, smtp_out: 20n, pop3_imap_in: 30n, pop3_imap_out: 9223372036854775807n,
    });
    expect(local.traffic(2, '2026-11-03')).toEqual({
      http_in: 0n, http_out: 0n, ftp_in: 0n, ftp_out: 0n, smtp_in: 5n, smtp_out: 6n, pop3_imap_in: 7n, pop3_imap_out: 8n,
    });
    expect(local.traffic(1, '2026-11-04')?.smtp_in).toBe(0n);
    expect(local.traffic(999, '2026-11-01')).toBeUndefined();
  });

  it('site/set_traffic on a main site writes the subscription row; an add-on site has its own', async () => {
    await post(local, packet('site', setNode(2, '2026-11-05', ['1', '2', '3', '4']) + setNode(12, '2026-11-05', ['7', '7', '7', '7'])));
    const ws = results(await post(local, packet('webspace', '<get_traffic><filter><id>2</id></filter><since_date>2026-11-05</since_date><to_date>2026-11-05</to_date></get_traffic>')), 'get_traffic');
    expect(val(kids(ws[0], 'traffic')[0]!, 'smtp_in')).toBe('1');
    expect(local.traffic(12, '2026-11-05')?.smtp_in).toBe(7n);
    // webspace/set_traffic takes subscription ids only: an add-on site id is unknown there.
    const r = await post(local, packet('webspace', setNode(12, '2026-11-05', ['1', '1', '1', '1'])));
    expect(val(results(r, 'set_traffic')[0]!, 'errcode')).toBe('1013');
  });

  it('runs the seed 000 and seed 001 single-node packets verbatim, exactly', async () => {
    const site = await post(local, SEED000_REQUEST);
    expect(site.body).toBe('<?xml version="1.0" encoding="UTF-8"?><packet version="1.6.3.0"><site><set_traffic><result>'
      + '<status>ok</status><id>1134</id></result></set_traffic></site></packet>');
    const ws = await post(local, SEED001_SINGLE);
    expect(val(results(ws, 'set_traffic')[0]!, 'id')).toBe('1234');
    expect(local.traffic(1234, '2005-12-12')).toMatchObject({
      smtp_in: 514237124628n, smtp_out: 6153462547n, pop3_imap_in: 49769379n, pop3_imap_out: 7236487263n,
    });
  });

  it('refuses the whole seed 001 multi-node packet (empty <smtp_in/>): 1014, nothing applied', async () => {
    const before = local.setTrafficNodes;
    const row1134 = local.traffic(1134, '2005-12-12');
    const r = await post(local, SEED001_MULTI);
    // Plesk's wording, with the line of the first empty counter (line 14 of the docs' sample).
    const text = "Parser error: Request is invalid. Error in line 14: Element 'smtp_in': '' is not a valid value of the atomic type 'long'.";
    expect(systemOf(r)).toEqual({ errcode: '1014', errtext: text });
    expect(local.violations).toContain(text);
    // The valid first node did not run either: 1134 keeps what seed 000 set.
    expect(local.traffic(1134, '2005-12-12')).toEqual(row1134);
    expect(local.traffic(1134, '2005-12-12')?.smtp_in).toBe(514237124628n);
    expect(local.traffic(1135, '2005-12-12')).toBeUndefined();
    expect(local.setTrafficNodes).toBe(before);
  });

  it('refuses out-of-order elements, 2026-02-30, xs:long overflow and http fields', async () => {
    const cases: [string, string][] = [
      ['<set_traffic><date>2026-11-01</date><dom_id>1</dom_id><smtp_in>1</smtp_in><smtp_out>1</smtp_out><pop3_imap_in>1</pop3_imap_in><pop3_imap_out>1</pop3_imap_out></set_traffic>',
        "Element 'date': This element is not expected. Expected is ( dom_id )."],
      [setNode(1, '2026-02-30', ['1', '1', '1', '1']), "Element 'date': '2026-02-30' is not a valid value of the atomic type 'date'."],
      [setNode(1, '2026-11-01', ['9223372036854775808', '1', '1', '1']), "Element 'smtp_in': '9223372036854775808' is not a valid value of the atomic type 'long'."],
      [setNode(1, '2026-11-01', ['1', '1', '1', '1']).replace('</set_traffic>', '<http_in>1</http_in></set_traffic>'), "Element 'http_in': This element is not expected."],
    ];
    const before = local.setTrafficNodes;
    for (const [node, message] of cases) {
      expect(systemOf(await post(local, packet('webspace', setNode(3, '2026-11-09', ['1', '1', '1', '1']) + node))))
        .toEqual({ errcode: '1014', errtext: `Parser error: Request is invalid. Error in line 1: ${message}` });
    }
    expect(local.setTrafficNodes).toBe(before);
    expect(local.traffic(3, '2026-11-09')).toBeUndefined();
  });

  it('refuses a negative counter per node with 1019 (schema-valid, but not traffic)', async () => {
    const r = await post(local, packet('webspace', setNode(3, '2026-11-10', ['-1', '0', '0', '0']) + setNode(3, '2026-11-11', ['1', '0', '0', '0'])));
    expect(kids(r.root.children[0], 'set_traffic').map((o) => val(o.children[0]!, 'errcode') ?? 'ok')).toEqual(['1019', 'ok']);
    expect(local.traffic(3, '2026-11-10')).toBeUndefined();
  });
});

describe('replace and add semantics', () => {
  it('replace (default) sets the day; add adds to what is recorded', async () => {
    const replace = await startEmulator({ fixture: fixture() });
    const add = await startEmulator({ fixture: fixture(), setTrafficSemantics: 'add' });
    try {
      for (const e of [replace, add]) {
        for (let i = 0; i < 2; i++) await post(e, packet('webspace', setNode(1, '2026-11-01', ['1000', '1', '0', '9007199254740993'])));
      }
      expect(replace.traffic(1, '2026-11-01')).toMatchObject({ smtp_in: 1000n, smtp_out: 1n, pop3_imap_in: 0n, pop3_imap_out: 9007199254740993n, http_in: 4371212365n });
      // Fixture row: smtp_in 123535, smtp_out 341156, pop3_imap_in 1545682, pop3_imap_out 15434674.
      expect(add.traffic(1, '2026-11-01')).toMatchObject({
        smtp_in: 123535n + 2000n, smtp_out: 341156n + 2n, pop3_imap_in: 1545682n, pop3_imap_out: 15434674n + 2n * 9007199254740993n, http_in: 4371212365n,
      });
      // An add past xs:long is refused for that node.
      const r = await post(add, packet('webspace', setNode(1, '2026-11-01', ['9223372036854775807', '0', '0', '0'])));
      expect(val(results(r, 'set_traffic')[0]!, 'errcode')).toBe('1019');
    } finally {
      await replace.close();
      await add.close();
    }
  });
});

describe('get_traffic', () => {
  const q = (filter: string, range = ''): string => packet('webspace', `<get_traffic><filter>${filter}</filter>${range}</get_traffic>`);

  it('returns one row per recorded day in the range, all eight counters in schema order', async () => {
    const r = await post(emu, q('<id>1</id>', '<since_date>2026-11-01</since_date><to_date>2026-11-01</to_date>'));
    const [res] = results(r, 'get_traffic');
    expect([val(res!, 'status'), val(res!, 'filter-id'), val(res!, 'id')]).toEqual(['ok', '1', '1']);
    const rows = kids(res, 'traffic');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.children.map((c) => `${c.name}=${c.text}`)).toEqual([
      'date=2026-11-01', 'http_in=4371212365', 'http_out=1234111122', 'ftp_in=4121253', 'ftp_out=163553',
      'smtp_in=123535', 'smtp_out=341156', 'pop3_imap_in=1545682', 'pop3_imap_out=15434674',
    ]);
  });

  it('bounds the range by since_date and to_date (to_date defaults to today)', async () => {
    const days = async (range: string): Promise<string[]> =>
      kids(results(await post(emu, q('<name>example.com</name>', range)), 'get_traffic')[0], 'traffic').map((t) => val(t, 'date')!);
    expect(await days('<since_date>2026-11-01</since_date>')).toEqual(['2026-11-01', '2026-11-02']);
    expect(await days('<since_date>2026-11-02</since_date><to_date>2026-11-30</to_date>')).toEqual(['2026-11-02']);
    expect(await days('<to_date>2026-10-31</to_date>')).toEqual([]);
    expect(await days('<since_date>2026-11-05</since_date><to_date>2026-11-01</to_date>')).toEqual([]);
    expect(await days('')).toEqual(['2026-11-01', '2026-11-02']);
  });

  it('answers many names in one filter, keeps values beyond 2^53 exact, 1013 for unknown names', async () => {
    const r = await post(emu, q('<name>xn--bcher-kva.example</name><name>gone.example</name><name>mail-heavy.com</name>', '<since_date>2026-10-01</since_date><to_date>2026-11-30</to_date>'));
    const res = results(r, 'get_traffic');
    expect(res.map((x) => [val(x, 'filter-id'), val(x, 'id') ?? val(x, 'errcode')])).toEqual([
      ['xn--bcher-kva.example', '4'], ['gone.example', '1013'], ['mail-heavy.com', '5'],
    ]);
    const row = kids(res[0], 'traffic')[0]!;
    expect([val(row, 'http_in'), val(row, 'smtp_in'), val(row, 'smtp_out'), val(row, 'pop3_imap_in')])
      .toEqual(['9007199254740993', '9007199254740993', '1', '0']);
    expect(kids(res[2], 'traffic').map((t) => val(t, 'date'))).toEqual(['2026-10-31']);
  });

  it('site/get_traffic reads a main site as its subscription and an add-on site by itself', async () => {
    const r = await post(emu, packet('site', '<get_traffic><filter><name>example.com</name><name>blog.example.com</name></filter>'
      + '<since_date>2026-11-01</since_date><to_date>2026-11-01</to_date></get_traffic>'));
    const [main, blog] = results(r, 'get_traffic');
    expect(val(kids(main, 'traffic')[0]!, 'smtp_in')).toBe('123535');
    expect([val(blog!, 'id'), val(kids(blog, 'traffic')[0]!, 'http_out'), val(kids(blog, 'traffic')[0]!, 'smtp_out')]).toEqual(['11', '8388608', '4096']);
  });
});

describe('service-plan get', () => {
  it('answers the shape of seed 004: status, id, name, guid, external-id, then the setting groups', async () => {
    const r = await post(emu, packet('service-plan', '<get><filter><id>1</id></filter></get>'));
    const [plan] = results(r, 'get');
    expect(plan!.children.map((c) => c.name)).toEqual([
      'status', 'id', 'name', 'guid', 'external-id', 'mail', 'limits', 'log-rotation', 'preferences', 'hosting', 'performance', 'permissions',
    ]);
    expect([val(plan!, 'status'), val(plan!, 'id'), val(plan!, 'name'), val(plan!, 'guid'), val(plan!, 'external-id')])
      .toEqual(['ok', '1', 'base_plan', 'dea4315c-a1da-2ea7-4142-ddc42d0902f9', '']);
    const limits = child(plan!, 'limits')!;
    expect(val(limits, 'overuse')).toBe('notify');
    const pairs = Object.fromEntries(kids(limits, 'limit').map((l) => [val(l, 'name'), val(l, 'value')]));
    expect(pairs).toMatchObject({ max_traffic: '107374182400', max_db: '10', disk_space: '10737418240' });
    expect(child(child(child(plan!, 'mail')!, 'nonexistent-user')!, 'reject')).toMatchObject({ name: 'reject', attributes: {}, children: [], text: '' });
    expect(val(child(plan!, 'performance')!, 'bandwidth')).toBe('-1');
  });

  it('filters by name and guid, lists all for an empty filter, 1013 for an unknown plan', async () => {
    const r = await post(emu, '<packet><service-plan><get><filter><name>base_plan</name><name>gold</name></filter></get>'
      + '<get><filter/><owner-all/></get><get><filter><guid>DEA4315C-A1DA-2EA7-4142-DDC42D0902F9</guid></filter></get></service-plan></packet>');
    const byName = results(r, 'get', 0);
    expect(byName.map((x) => [val(x, 'status'), val(x, 'name'), val(x, 'errcode')])).toEqual([['ok', 'base_plan', undefined], ['error', 'gold', '1013']]);
    expect(results(r, 'get', 1).map((x) => val(x, 'id'))).toEqual(['1', '2', '3']);
    expect(results(r, 'get', 2).map((x) => val(x, 'id'))).toEqual(['1']);
  });
});

describe('state', () => {
  it('dump() round-trips: a new emulator from the dump answers the same', async () => {
    const first = await startEmulator({ fixture: fixture() });
    let second: Emulator | undefined;
    try {
      await post(first, packet('webspace', setNode(5, '2026-11-20', ['18446744073709', '2', '3', '9223372036854775807'])));
      await post(first, packet('site', setNode(11, '2026-11-20', ['1', '1', '1', '1'])));
      const dump = first.dump();
      expect(JSON.parse(JSON.stringify(dump))).toEqual(dump);
      expect(dump.traffic).toContainEqual({
        domId: 5, date: '2026-11-20', http_in: '0', http_out: '0', ftp_in: '0', ftp_out: '0',
        smtp_in: '18446744073709', smtp_out: '2', pop3_imap_in: '3', pop3_imap_out: '9223372036854775807',
      });
      expect(dump.sites).toHaveLength(3); // implied main sites are not written back
      second = await startEmulator({ fixture: dump });
      expect(second.dump()).toEqual(dump);
      const ask = packet('webspace', '<get_traffic><filter/><since_date>2000-01-01</since_date><to_date>2026-12-31</to_date></get_traffic>');
      expect((await post(second, ask)).body).toBe((await post(first, ask)).body);
    } finally {
      await first.close();
      await second?.close();
    }
  });

  it('loads a fixture from a path and refuses a broken one with a message', async () => {
    const e = await startEmulator({ fixture: SAMPLE });
    try {
      expect(e.state.subscriptions.get(4)?.asciiName).toBe('xn--bcher-kva.example');
      expect(e.state.sites.get(3)).toMatchObject({ main: true, implied: true, webspaceId: 3 });
    } finally {
      await e.close();
    }
    const bad = fixture();
    bad.traffic!.push({ domId: 1, date: '2026-02-30', smtp_in: '1' });
    await expect(startEmulator({ fixture: bad })).rejects.toThrow(/calendar date/);
    const unknown = fixture();
    unknown.traffic!.push({ domId: 77, date: '2026-01-01' });
    await expect(startEmulator({ fixture: unknown })).rejects.toThrow(/unknown dom_id 77/);
    const twice = fixture();
    twice.subscriptions.push({ id: 50, name: 'Example.COM.' });
    await expect(startEmulator({ fixture: twice })).rejects.toThrow(/share a name/);
  });

  it('counts agent.php requests and keeps connections alive', async () => {
    const e = await startEmulator({ fixture: fixture() });
    const client = new Client(e.url, { pipelining: 1 });
    let connections = 0;
    client.on('connect', () => { connections++; });
    try {
      for (let i = 0; i < 20; i++) await post(e, packet('webspace', setNode(6, `2026-11-${String(i + 1).padStart(2, '0')}`, ['1', '2', '3', '4'])), LOGIN, { dispatcher: client });
      expect(e.requests).toBe(20);
      expect(e.setTrafficNodes).toBe(20);
      expect(connections).toBe(1);
    } finally {
      await client.close();
      await e.close();
    }
  });
});

// A self-signed certificate for 127.0.0.1 (test only; EC P-256, valid until 2126).
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUGXmCf+9kGPio798+rfsnVPXP2IMwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyMzExMDIwMVoYDzIxMjYxMDMw
MTEwMjAxWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARn5rZF2qMe4GkPAldii8tUbEzDqOP2P9a92LcL3uRbuOE12UfvWyV/
2LvrPWILsDvH7xd3SuV7iFN/M7+UAkyho28wbTAdBgNVHQ4EFgQUpacgFOsHnF4d
4mpw5WwWpE9I44wwHwYDVR0jBBgwFoAUpacgFOsHnF4d4mpw5WwWpE9I44wwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSQAwRgIhAJSiUi6EBS0+CxF16UmyRe1xBpNNV4G6j+zsON9Ex9OIAiEA
uL/beRZEKdM6RIFy6yx/4FKTfIbj5ZFWIxGAsYJHcV8=
-----END CERTIFICATE-----
`;
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAMzrYvSSw5pzuGeU
B3v275z1jbMBsjdMw69RM6cKeUmhRANCAARn5rZF2qMe4GkPAldii8tUbEzDqOP2
P9a92LcL3uRbuOE12UfvWyV/2LvrPWILsDvH7xd3SuV7iFN/M7+UAkyh
-----END PRIVATE KEY-----
`;

describe('TLS and the CLI entry', () => {
  it('serves HTTPS with the given certificate', async () => {
    const e = await startEmulator({ fixture: fixture(), tls: { cert: TEST_CERT, key: TEST_KEY } });
    const agent = new Agent({ connect: { ca: TEST_CERT } });
    try {
      expect(e.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const r = await post(e, packet('webspace', '<get><filter><id>2</id></filter><dataset><gen_info/></dataset></get>'), LOGIN, { dispatcher: agent });
      expect(val(results(r, 'get')[0]!, 'id')).toBe('2');
      // Without the CA the certificate is refused: verification stays on.
      await expect(request(`${e.url}${AGENT}`, { method: 'POST', body: '<packet/>' })).rejects.toThrow(/self[- ]signed|certificate/i);
    } finally {
      await agent.close();
      await e.close();
    }
  });

  describe('runEmulator', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'emulator-run-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    afterEach(() => vi.restoreAllMocks());

    it('prints the URL on stdout and writes the dump when stopped', async () => {
      const out: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out.push(String(chunk));
        return true;
      });
      const dumpFile = path.join(dir, 'dump.json');
      const exit = vi.fn();
      const running = await runEmulator({ fixture: SAMPLE, port: 0, dumpOnExit: dumpFile, semantics: 'add' }, silentLogger(), exit);
      vi.restoreAllMocks();
      expect(out).toEqual([`${running.emulator.url}\n`]);
      await post(running.emulator, packet('webspace', setNode(1, '2026-11-01', ['5', '0', '0', '0'])));
      await running.stop();
      const dump = JSON.parse(readFileSync(dumpFile, 'utf8')) as EmulatorFixture;
      expect(dump.traffic!.find((t) => t.domId === 1 && t.date === '2026-11-01')?.smtp_in).toBe('123540');
      expect(exit).not.toHaveBeenCalled();
      expect(process.listeners('SIGTERM').some((l) => l.name === 'onSignal')).toBe(false);
    });
  });
});
