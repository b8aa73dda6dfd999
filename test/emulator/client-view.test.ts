// Issue 14: the emulator as a real Plesk client sees it. Datasets are filled from the fixture or refused
// with 1017 (never an empty <data/>); the `server` operator; authentication with half a login; Plesk's
// 1014 wording; protocol versions. Every answer also passes the response schema (helpers.post).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';
import { KNOWN_PROTOCOLS } from '../../src/stand-ins/plesk/server.js';
import type { XmlElement } from '../../src/stand-ins/plesk/schema/index.js';
import { LOGIN, child, fixture, kids, post, results, systemOf, val } from './helpers.js';

const packet = (operator: string, ops: string, version = '1.6.9.1'): string =>
  `<?xml version="1.0" encoding="UTF-8"?><packet version="${version}"><${operator}>${ops}</${operator}></packet>`;
const wsGet = (filter: string, datasets: string): string =>
  packet('webspace', `<get><filter>${filter}</filter><dataset>${datasets}</dataset></get>`);
/** name → value of the `{name, value}` children named `item` of `el`. */
const pairs = (el: XmlElement | undefined, item: string): Record<string, string> =>
  Object.fromEntries(kids(el, item).map((p) => [val(p, 'name')!, val(p, 'value')!]));
const data = (result: XmlElement): XmlElement => child(result, 'data')!;

let emu: Emulator;
beforeAll(async () => {
  // The panel's today is fixed: "this month" is November 2026 and "the previous day" 2026-11-01.
  emu = await startEmulator({ fixture: fixture(), today: '2026-11-02' });
});
afterAll(async () => {
  await emu.close();
});

describe('webspace datasets', () => {
  it('answers the groups in schema order whatever order the request names them in', async () => {
    const r = await post(emu, wsGet('<id>1</id>', '<resource-usage/><stat/><limits/><gen_info/><subscriptions/><disk_usage/><hosting/><php-settings/><prefs/><performance/>'));
    const [res] = results(r, 'get');
    expect(data(res!).children.map((c) => c.name)).toEqual([
      'gen_info', 'hosting', 'limits', 'stat', 'prefs', 'disk_usage', 'performance', 'subscriptions', 'php-settings', 'resource-usage',
    ]);
  });

  it('limits: the full set, plan values over unlimited, a customization over the plan', async () => {
    const r = await post(emu, wsGet('<id>1</id><id>6</id><id>9</id>', '<limits/>'));
    const [plan, custom, none] = results(r, 'get').map((x) => child(data(x), 'limits')!);
    // Subscription 1: plan "Standard 6 GiB" (overuse block).
    expect(val(plan!, 'overuse')).toBe('block');
    const planLimits = pairs(plan, 'limit');
    expect(planLimits).toMatchObject({ max_traffic: '6442450944', max_traffic_soft: '5368709120', disk_space: '5368709120', max_box: '25', max_db: '5', max_site: '-1', expiration: '-1' });
    expect(Object.keys(planLimits)).toHaveLength(16);
    // Subscription 6: the same plan, its own traffic limits and overuse.
    expect(val(custom!, 'overuse')).toBe('not_suspend_notify');
    expect(pairs(custom, 'limit')).toMatchObject({ max_traffic: '21474836480', max_traffic_soft: '17179869184', disk_space: '5368709120' });
    // Subscription 9: no plan, nothing customized: unlimited throughout, no overuse policy.
    expect(val(none!, 'overuse')).toBeUndefined();
    expect(new Set(Object.values(pairs(none, 'limit')))).toEqual(new Set(['-1']));
  });

  it('subscriptions: plan guid and external id; locked and not synchronized when customized; empty for a custom subscription', async () => {
    const r = await post(emu, wsGet('<id>1</id><id>6</id><id>9</id><id>2</id>', '<subscriptions/>'));
    const subs = results(r, 'get').map((x) => child(data(x), 'subscriptions')!);
    const view = (s: XmlElement): unknown[] => {
      const sub = child(s, 'subscription');
      if (!sub) return [];
      const plan = child(sub, 'plan')!;
      return [val(sub, 'locked'), val(sub, 'synchronized'), val(plan, 'plan-guid'), val(plan, 'plan-external-id')];
    };
    expect(subs.map(view)).toEqual([
      ['false', 'true', '3b9e2a71-5c4d-4f1e-8a2b-6c7d8e9f0a02', 'std-6g'],
      ['true', 'false', '3b9e2a71-5c4d-4f1e-8a2b-6c7d8e9f0a02', 'std-6g'],
      [],
      ['false', 'true', 'dea4315c-a1da-2ea7-4142-ddc42d0902f9', undefined],
    ]);
  });

  it('stat: this month\'s and the previous day\'s counted traffic of the object\'s own row, counters, sites', async () => {
    const [res] = results(await post(emu, wsGet('<id>1</id>', '<stat/>')), 'get');
    const stat = child(data(res!), 'stat')!;
    // 2026-11-01 (5627053340, all eight counters) + 2026-11-02 (25600000); add-on site 11 is not included.
    expect(val(stat, 'traffic')).toBe('5652653340');
    expect(val(stat, 'traffic_prevday')).toBe('5627053340');
    expect([val(stat, 'box'), val(stat, 'db'), val(stat, 'subdom'), val(stat, 'wu'), val(stat, 'mg')]).toEqual(['12', '2', '1', '1', '0']);
    expect([val(stat, 'domains'), val(stat, 'sites')]).toEqual(['2', '2']);
  });

  it('stat counts only the directions the server counts (traffic_accounting 1 = in, 2 = out)', async () => {
    for (const [accounting, expected] of [[1, '4382122835'], [2, '1270530505']] as const) {
      const f = fixture();
      f.server = { ...f.server, prefs: { traffic_accounting: accounting } };
      const e = await startEmulator({ fixture: f, today: '2026-11-30' });
      try {
        const [res] = results(await post(e, wsGet('<id>1</id>', '<stat/>')), 'get');
        expect(val(child(data(res!), 'stat')!, 'traffic')).toBe(expected);
      } finally {
        await e.close();
      }
    }
  });

  it('disk_usage by category, and gen_info/real_size is their sum', async () => {
    const [res] = results(await post(emu, wsGet('<id>1</id>', '<gen_info/><disk_usage/>')), 'get');
    const du = child(data(res!), 'disk_usage')!;
    expect(du.children.map((c) => c.name)).toEqual(['httpdocs', 'httpsdocs', 'subdomains', 'web_users', 'anonftp', 'logs', 'dbases', 'mailboxes', 'maillists', 'domaindumps', 'configs', 'chroot']);
    expect([val(du, 'httpdocs'), val(du, 'mailboxes'), val(du, 'logs'), val(du, 'dbases'), val(du, 'anonftp')]).toEqual(['734003200', '314572800', '20971520', '52428800', '0']);
    expect(val(child(data(res!), 'gen_info')!, 'real_size')).toBe('1121976320');
  });

  it('hosting: the plan\'s vrt_hst properties, the document root and the server\'s address', async () => {
    const [res] = results(await post(emu, wsGet('<id>1</id>', '<hosting/>')), 'get');
    const vrt = child(child(data(res!), 'hosting')!, 'vrt_hst')!;
    expect(pairs(vrt, 'property')).toEqual({ ssl: 'true', php: 'true', php_handler_id: 'plesk-php83-fpm', www_root: '/var/www/vhosts/example.com/httpdocs' });
    expect(kids(vrt, 'ip_address').map((x) => x.text)).toEqual(['203.0.113.10']);
  });

  it('php-settings: PHP defaults ← plan ← subscription', async () => {
    const r = await post(emu, wsGet('<id>1</id><id>6</id><id>2</id>', '<php-settings/>'));
    const [one, six, two] = results(r, 'get').map((x) => pairs(child(data(x), 'php-settings'), 'setting'));
    expect([one!['memory_limit'], one!['max_execution_time'], one!['upload_max_filesize']]).toEqual(['256M', '60', '2M']);
    expect([six!['memory_limit'], six!['max_execution_time']]).toEqual(['512M', '60']);
    expect([two!['memory_limit'], two!['max_execution_time']]).toEqual(['128M', '30']);
  });

  it('resource-usage: disk and this month\'s counted traffic of the subscription with its add-on sites', async () => {
    const [res] = results(await post(emu, wsGet('<id>1</id>', '<resource-usage/>')), 'get');
    const usage = pairs(child(data(res!), 'resource-usage'), 'resource');
    // 5652653340 (the subscription) + 9443328 (blog.example.com, id 11).
    expect(usage).toEqual({ disk_space: '1121976320', max_traffic: '5662096668', max_site: '2', max_subdom: '1', max_wu: '1', max_box: '12', max_db: '2', max_maillists: '0' });
  });

  it('refuses a group it cannot fill with 1017 for the object (filter-id and id kept), never an empty <data/>', async () => {
    const r = await post(emu, wsGet('<name>example.com</name><name>nope.example</name>', '<gen_info/><mail/><permissions/>'));
    const [ok, missing] = results(r, 'get');
    expect(ok!.children.map((c) => c.name)).toEqual(['status', 'errcode', 'errtext', 'filter-id', 'id']);
    expect([val(ok!, 'status'), val(ok!, 'errcode'), val(ok!, 'errtext'), val(ok!, 'filter-id'), val(ok!, 'id')])
      .toEqual(['error', '1017', "Datasets 'permissions', 'mail' are not supported by the emulator.", 'example.com', '1']);
    expect(val(missing!, 'errcode')).toBe('1013');
    const one = results(await post(emu, wsGet('<id>2</id>', '<packages/>')), 'get')[0]!;
    expect(val(one, 'errtext')).toBe("Dataset 'packages' is not supported by the emulator.");
  });
});

describe('site datasets', () => {
  it('hosting, stat and disk_usage of a main site (its subscription\'s) and of an add-on site (its own)', async () => {
    const r = await post(emu, packet('site', '<get><filter><name>example.com</name><name>blog.example.com</name></filter>'
      + '<dataset><stat/><hosting/><disk_usage/><gen_info/><prefs/><performance/></dataset></get>'));
    const [main, blog] = results(r, 'get').map(data);
    expect(main!.children.map((c) => c.name)).toEqual(['gen_info', 'hosting', 'stat', 'prefs', 'disk_usage', 'performance']);
    const root = (d: XmlElement): string => pairs(child(child(d, 'hosting')!, 'vrt_hst'), 'property')['www_root']!;
    expect([root(main!), root(blog!)]).toEqual(['/var/www/vhosts/example.com/httpdocs', '/var/www/vhosts/example.com/blog.example.com']);
    expect([val(child(main!, 'stat')!, 'traffic'), val(child(blog!, 'stat')!, 'traffic')]).toEqual(['5652653340', '9443328']);
    expect([val(child(main!, 'stat')!, 'box'), val(child(blog!, 'stat')!, 'box')]).toEqual(['12', '0']);
    expect([val(child(main!, 'disk_usage')!, 'httpdocs'), val(child(blog!, 'disk_usage')!, 'httpdocs')]).toEqual(['734003200', '0']);
    expect(val(child(main!, 'gen_info')!, 'real_size')).toBe('1121976320');
  });
});

describe('server operator', () => {
  it('get_protos lists every known protocol, 1.6.3.0 and 1.6.6.0 among them', async () => {
    const r = await post(emu, packet('server', '<get_protos/>'));
    const [res] = results(r, 'get_protos');
    const protos = kids(child(res!, 'protos'), 'proto').map((p) => p.text);
    expect(val(res!, 'status')).toBe('ok');
    expect(protos).toEqual([...KNOWN_PROTOCOLS]);
    expect(protos).toEqual(expect.arrayContaining(['1.0.0.0', '1.6.3.0', '1.6.6.0', '1.6.9.1']));
  });

  it('get: gen_info and prefs from the fixture (traffic_accounting), stat from the host, in request order', async () => {
    const r = await post(emu, packet('server', '<get><gen_info/><stat/><prefs/></get>'));
    const [res] = results(r, 'get');
    expect(res!.children.map((c) => c.name)).toEqual(['status', 'gen_info', 'stat', 'prefs']);
    const gen = child(res!, 'gen_info')!;
    expect([val(gen, 'server_name'), val(gen, 'server_guid'), val(gen, 'mode')]).toEqual(['plesk.emulator.test', '5c1f3a9e-7b2d-4e8a-9f60-1d2c3b4a5e6f', 'standard']);
    const prefs = child(res!, 'prefs')!;
    expect([val(prefs, 'traffic_accounting'), val(prefs, 'stat_ttl'), val(prefs, 'restart_apache_interval')]).toEqual(['3', '3', '0']);
    const stat = child(res!, 'stat')!;
    expect(stat.children.map((c) => c.name)).toEqual(['objects', 'version', 'other', 'load_avg', 'mem', 'swap', 'diskspace']);
    // 14 subscriptions (11 + 3 seed ids) and 2 add-on sites; mailboxes and databases from the counters.
    const objects = child(stat, 'objects')!;
    expect([val(objects, 'domains'), val(objects, 'active_domains'), val(objects, 'mail_boxes'), val(objects, 'databases')]).toEqual(['16', '16', '12', '2']);
    expect(val(child(stat, 'version')!, 'plesk_version')).toBe('18.0.80');
    const mem = child(stat, 'mem')!;
    expect(BigInt(val(mem, 'total')!)).toBe(BigInt(val(mem, 'used')!) + BigInt(val(mem, 'free')!));
    expect(Number(val(mem, 'total'))).toBeGreaterThan(0);
  });

  it('a block it does not have refuses the result with 1017; an operation shaped as a bare resultType too', async () => {
    const r = await post(emu, packet('server', '<get><gen_info/><admin/><shells/></get>'));
    const [res] = results(r, 'get');
    expect([val(res!, 'status'), val(res!, 'errcode'), val(res!, 'errtext')])
      .toEqual(['error', '1017', "Server information 'admin', 'shells' is not supported by the emulator."]);
    expect(child(res!, 'gen_info')).toBeUndefined();
    // lic_update answers status/errcode/errtext directly (output tree: lic_update : resultType).
    const lic = await post(emu, packet('server', '<lic_update><filter><key-id>KEY</key-id></filter></lic_update>'));
    const op = kids(lic.root.children[0], 'lic_update')[0]!;
    expect(op.children.map((c) => c.name)).toEqual(['status', 'errcode', 'errtext']);
    expect(val(op, 'errcode')).toBe('1017');
  });
});

describe('authentication', () => {
  const GET = wsGet('<id>1</id>', '<gen_info/>');
  it('a login without its password header (or the other way round) is no method: 1029', async () => {
    const halves: Record<string, string>[] = [
      { HTTP_AUTH_LOGIN: 'admin' },
      { HTTP_AUTH_PASSWD: 'emulator-password' },
      // plesk/api-examples#7: a misspelt password header (HTTP_AUTH_PASSWORD) on a live 1.6.9.1 panel.
      { HTTP_AUTH_LOGIN: 'admin', HTTP_AUTH_PASSWORD: 'emulator-password' },
    ];
    for (const headers of halves) {
      const r = await post(emu, GET, headers);
      expect(r.root.attributes['version']).toBe('1.6.9.1');
      expect(systemOf(r)).toEqual({ errcode: '1029', errtext: 'Authentication method is not specified' });
    }
    // An empty password that does reach the server is a wrong password.
    expect(systemOf(await post(emu, GET, { HTTP_AUTH_LOGIN: 'admin', HTTP_AUTH_PASSWD: '' })).errcode).toBe('1001');
    expect(val(results(await post(emu, GET, LOGIN), 'get')[0]!, 'status')).toBe('ok');
  });
});

describe('1014 in Plesk\'s words', () => {
  it('matches the BoxBilling thread verbatim: prefix, line of the element, ten names at most', async () => {
    // boxbilling/boxbilling#1188 (Plesk 18.0.41): an old client's <client> operator.
    const r = await post(emu, '<?xml version="1.0" encoding="UTF-8"?>\n<packet version="1.6.9.1">\n<client><get><filter/></get></client></packet>');
    expect(systemOf(r)).toEqual({
      errcode: '1014',
      errtext: "Parser error: Request is invalid. Error in line 3: Element 'client': This element is not expected. Expected is one of "
        + '( request-settings, server, customer, webspace, subdomain, dns, db_server, mail, certificate, site-alias ).',
    });
  });

  it('names the line of a bad value and of a parent missing children; types are named as Plesk prints them', async () => {
    const value = await post(emu, '<packet>\n<webspace>\n<get_traffic>\n<filter><id></id></filter>\n</get_traffic>\n</webspace>\n</packet>');
    // plesk/whmcs-plugin#38: "Error in line 5: Element 'id': '' is not a valid value of the atomic type 'id_type'."
    expect(systemOf(value).errtext).toBe("Parser error: Request is invalid. Error in line 4: Element 'id': '' is not a valid value of the atomic type 'id_type'.");
    const missing = await post(emu, '<packet>\n<webspace>\n<set_traffic>\n<dom_id>1</dom_id>\n</set_traffic>\n</webspace>\n</packet>');
    expect(systemOf(missing).errtext).toBe("Parser error: Request is invalid. Error in line 3: Element 'set_traffic': Missing child element(s). Expected is ( date ).");
    const root = await post(emu, '<request/>');
    expect(systemOf(root).errtext).toBe("Parser error: Request is invalid. Error in line 1: Element 'request': No matching global declaration available for the validation root.");
  });

  it('caps a longer list at ten names', async () => {
    const r = await post(emu, packet('webspace', '<get><filter><id>1</id></filter><dataset><gen_info/><bogus/></dataset></get>'));
    const text = systemOf(r).errtext!;
    expect(text).toBe("Parser error: Request is invalid. Error in line 1: Element 'bogus': This element is not expected. Expected is one of "
      + '( hosting, hosting-basic, limits, stat, prefs, disk_usage, performance, subscriptions, permissions, plan-items ).');
  });
});

describe('protocol versions', () => {
  const GET = (v: string): string => packet('webspace', '<get><filter><id>2</id></filter><dataset><gen_info/></dataset></get>', v);

  it('runs 0.1, 1.6, 1.6.5 and every listed version, echoing the version asked for', async () => {
    for (const v of ['0.1', '1.6', '1.6.5', '1.0.0.0', '1.6.3.0', '1.6.9.1']) {
      const r = await post(emu, GET(v));
      expect(r.root.attributes['version']).toBe(v);
      expect(val(results(r, 'get')[0]!, 'id')).toBe('2');
    }
  });

  it('refuses unknown versions with the same code and text as too-new ones', async () => {
    const answers = [];
    for (const v of ['1.6.9.2', '100.0.0', '1.7', 'latest', '1.6.x', '', '1.6.9.1.0', 'v1.6']) answers.push(systemOf(await post(emu, GET(v))));
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ errcode: '1005', errtext: 'XML API protocol version not supported.' })]));
  });
});
