// The client's panel-wide reads (issue 12: webspace get with gen_info/limits/subscriptions/stat, service-plan
// get by GUID, server prefs, add-on sites, site owners): packets that pass the emulator's schema checkup,
// answers parsed exactly, many ids per filter (requests counted at the emulator), and the parsers alone on
// answers the emulator never gives (percent soft limits, seed 004).

import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { PleskClient } from '../../src/plesk/client.js';
import { buildAddonSitesPacket, buildServerGetPacket, buildServicePlanByGuidPacket, buildWebspaceGetPacket } from '../../src/plesk/packet.js';
import { parseServicePlanGetResponse, parseWebspaceDetailsResponse, parseServerGetResponse } from '../../src/plesk/response.js';
import { startEmulator, type Emulator, type EmulatorFixture } from '../../src/stand-ins/plesk/index.js';
import { checkPacket } from '../../src/stand-ins/plesk/schema/index.js';
import { fixture as sampleFixture } from '../emulator/helpers.js';
import { baseOptions, seedPackets } from './client-helpers.js';

let emu: Emulator | undefined;
let client: PleskClient | undefined;
afterEach(async () => {
  await client?.close();
  await emu?.close();
  expect(emu?.violations ?? []).toEqual([]);
  client = undefined;
  emu = undefined;
});

async function setup(f: EmulatorFixture = sampleFixture()): Promise<{ emu: Emulator; client: PleskClient }> {
  emu = await startEmulator({ fixture: f, today: '2026-11-02' });
  client = new PleskClient(baseOptions(emu.url, { auth: { login: 'admin', password: 'emulator-password' } }), silentLogger());
  return { emu, client };
}

describe('packets', () => {
  it('are valid requests (1.6.9.1 input schema)', () => {
    for (const xml of [
      buildWebspaceGetPacket('all', ['gen_info']),
      buildWebspaceGetPacket([{ ids: [1, 2, 3] }, { ids: [4] }], ['stat', 'subscriptions', 'limits', 'gen_info'], '1.6.3.0'),
      buildWebspaceGetPacket({ names: ['example.com'] }, ['limits']),
      buildAddonSitesPacket([[1, 2], [3]]),
      buildServerGetPacket(['prefs', 'gen_info']),
      buildServicePlanByGuidPacket([['a-b'], ['c', 'd']]),
    ]) expect(checkPacket(xml).violations, xml).toEqual([]);
    expect(buildWebspaceGetPacket({ ids: [7] }, ['subscriptions', 'gen_info'], '1.6.3.0')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><packet version="1.6.3.0"><webspace><get><filter><id>7</id></filter>'
      + '<dataset><gen_info/><subscriptions/></dataset></get></webspace></packet>');
    expect(() => buildWebspaceGetPacket('all', [])).toThrow(/without a dataset/);
    expect(() => buildAddonSitesPacket([[]])).toThrow(/without parent ids/);
  });
});

describe('against the emulator', () => {
  it('serverPrefs: traffic_accounting and stat_ttl', async () => {
    const { client } = await setup();
    expect(await client.serverPrefs()).toEqual({ trafficAccounting: 3, statTtl: 3 });
  });

  it('listSubscriptions: every subscription in one request', async () => {
    const { emu, client } = await setup();
    const all = await client.listSubscriptions();
    expect(emu.requests).toBe(1);
    expect(all.map((s) => s.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 1134, 1135, 1234]);
    expect(all[3]).toEqual({ id: 4, name: 'bücher.example', asciiName: 'xn--bcher-kva.example', status: 0 });
  });

  it('subscriptionDetails: limits, plan GUIDs, lock flags and stat; unknown ids are absent', async () => {
    const { client } = await setup();
    const d = await client.subscriptionDetails([1, 6, 9, 4242], ['gen_info', 'limits', 'subscriptions', 'stat']);
    expect([...d.keys()].sort((a, b) => a - b)).toEqual([1, 6, 9]);
    const one = d.get(1)!;
    expect(one.genInfo?.name).toBe('example.com');
    expect(one.limits?.overuse).toBe('block');
    expect(one.limits?.values.get('max_traffic')).toBe(6442450944n);
    expect(one.limits?.values.get('max_site')).toBe(-1n);
    expect(one.subscription).toEqual({ locked: false, synchronized: true, planGuids: ['3b9e2a71-5c4d-4f1e-8a2b-6c7d8e9f0a02'] });
    expect(one.stat).toEqual({ traffic: 5652653340n, trafficPrevday: 5627053340n });
    expect(d.get(6)?.subscription).toMatchObject({ locked: true, synchronized: false });
    expect(d.get(6)?.limits?.values.get('max_traffic')).toBe(21474836480n);
    expect(d.get(9)?.subscription).toBeUndefined();
  });

  it('servicePlans by GUID, any case; a GUID that is no service plan is absent', async () => {
    const { client } = await setup();
    const plans = await client.servicePlans(['3B9E2A71-5C4D-4F1E-8A2B-6C7D8E9F0A02', 'dea4315c-a1da-2ea7-4142-ddc42d0902f9', '00000000-0000-0000-0000-00000000beef']);
    expect([...plans.keys()].sort()).toEqual(['3b9e2a71-5c4d-4f1e-8a2b-6c7d8e9f0a02', 'dea4315c-a1da-2ea7-4142-ddc42d0902f9']);
    const std = plans.get('3b9e2a71-5c4d-4f1e-8a2b-6c7d8e9f0a02')!;
    expect([std.id, std.name, std.externalId, std.overuse, std.limits.get('max_traffic_soft')]).toEqual([2, 'Standard 6 GiB', 'std-6g', 'block', 5368709120n]);
  });

  it('addonSites by parent id and siteOwners by name', async () => {
    const { client } = await setup();
    expect(Object.fromEntries(await client.addonSites([1, 2, 3, 4242]))).toEqual({ 1: [11], 2: [12] });
    expect(Object.fromEntries(await client.siteOwners(['Blog.Example.com.', 'store.example.net', 'example.com', 'nope.example'])))
      .toEqual({ 'blog.example.com': 1, 'store.example.net': 2, 'example.com': 1 });
  });

  it('batches: 1000 ids in two packets of five filters of a hundred', async () => {
    const f: EmulatorFixture = { auth: { login: 'admin', password: 'emulator-password' }, subscriptions: [] };
    for (let i = 1; i <= 1000; i++) f.subscriptions.push({ id: i, name: `s${i}.example` });
    const { emu, client } = await setup(f);
    const ids = Array.from({ length: 1000 }, (_, i) => i + 1);
    const d = await client.subscriptionDetails(ids, ['limits', 'subscriptions']);
    expect(d.size).toBe(1000);
    expect(emu.requests).toBe(2);
    expect((await client.addonSites(ids)).size).toBe(0);
    expect(emu.requests).toBe(4);
  });
});

describe('parsers', () => {
  it('seed 004 (service-plan/get) still parses, limits as LimitValue', () => {
    const parsed = parseServicePlanGetResponse(seedPackets('004')[1]!);
    expect(parsed.kind).toBe('ok');
    const [plan] = parsed.kind === 'ok' ? parsed.value : [];
    expect([plan!.name, plan!.overuse, [...plan!.limits]]).toEqual(['base_plan', 'notify', [['max_db', 10n]]]);
  });

  it('takes a percentage soft limit as a live panel may write it, and refuses garbage', () => {
    const answer = (value: string): string => '<packet><webspace><get><result><status>ok</status><filter-id>1</filter-id><id>1</id><data>'
      + `<limits><overuse>notify</overuse><limit><name>max_traffic</name><value>1000</value></limit><limit><name>max_traffic_soft</name><value>${value}</value></limit></limits>`
      + '</data></result></get></webspace></packet>';
    const ok = parseWebspaceDetailsResponse(answer('80%'));
    expect(ok.kind === 'ok' && ok.value[0]!.details?.limits?.values.get('max_traffic_soft')).toEqual({ percent: 80 });
    expect(() => parseWebspaceDetailsResponse(answer('lots'))).toThrow(/is not an xs:long/);
  });

  it('server get: an error result is reported, prefs only when present', () => {
    const err = parseServerGetResponse('<packet><server><get><result><status>error</status><errcode>1006</errcode><errtext>Permission denied</errtext></result></get></server></packet>');
    expect(err).toEqual({ kind: 'ok', value: { status: 'error', errcode: 1006, errtext: 'Permission denied' } });
  });
});
