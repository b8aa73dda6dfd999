// `usage` against the emulator through the shared client construction (createPleskClient: PLESK_URL and
// credentials from the environment), with the sample fixture: every status, a customized subscription, one
// without a plan, an add-on site's traffic, a byte count beyond 2^53. Expected outputs are written out whole.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipeline } from '../../src/config.js';
import { today } from '../../src/dates.js';
import { silentLogger } from '../../src/log.js';
import { startEmulator, type Emulator, type EmulatorFixture } from '../../src/stand-ins/plesk/index.js';
import { runUsage, type UsageCommandOptions } from '../../src/usage/index.js';
import { ROOT } from '../support/cli.js';

const SAMPLE = path.join(ROOT, 'samples', 'plesk-fixture.json');
const PIPELINE = path.join(ROOT, 'pipelines', 'csv-wide.json');

function sample(): EmulatorFixture {
  return JSON.parse(readFileSync(SAMPLE, 'utf8')) as EmulatorFixture;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function usage(emu: Emulator, opts: Partial<UsageCommandOptions> = {}, tty = false): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runUsage({
    pipeline: loadPipeline(PIPELINE),
    env: { PLESK_URL: emu.url, PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'emulator-password' },
    log: silentLogger(),
    overOnly: false,
    failOnOver: false,
    stdout: { write: (t: string) => (stdout += t), isTTY: tty },
    stderr: { write: (t: string) => (stderr += t) },
    ...opts,
  });
  return { code, stdout, stderr };
}

const EXPECTED_JSON = {
  month: '2026-11',
  trafficAccounting: 'both',
  subscriptions: [
    // 5652653340 (its own days) + 9443328 (add-on site blog.example.com); mail 17445047 + 6144.
    { id: 1, name: 'example.com', plan: 'Standard 6 GiB', customized: false, overuse: 'block', maxTraffic: 6442450944, maxTrafficSoft: 5368709120, used: 5662096668, usedMail: 17451191, percent: 87.88, status: 'soft' },
    { id: 2, name: 'example.net', plan: 'base_plan', customized: false, overuse: 'notify', maxTraffic: 107374182400, maxTrafficSoft: 85899345920, used: 0, usedMail: 0, percent: 0, status: 'ok' },
    { id: 3, name: 'shop.example.org', plan: 'base_plan', customized: false, overuse: 'notify', maxTraffic: 107374182400, maxTrafficSoft: 85899345920, used: 0, usedMail: 0, percent: 0, status: 'ok' },
    // 9007199254740993 http_in + 9007199254740993 smtp_in + 1 smtp_out: beyond 2^53, so strings.
    { id: 4, name: 'bücher.example', plan: 'base_plan', customized: false, overuse: 'notify', maxTraffic: 107374182400, maxTrafficSoft: 85899345920, used: '18014398509481987', usedMail: '9007199254740994', percent: 16777216, status: 'over' },
    { id: 5, name: 'mail-heavy.com', plan: 'Unlimited', customized: false, overuse: 'normal', maxTraffic: null, maxTrafficSoft: null, used: 0, usedMail: 0, percent: null, status: 'unlimited' },
    { id: 6, name: 'cpanel-alice.com', plan: 'Standard 6 GiB', customized: true, overuse: 'not_suspend_notify', maxTraffic: 21474836480, maxTrafficSoft: 17179869184, used: 0, usedMail: 0, percent: 0, status: 'ok' },
    // 1 GiB in + 2 GiB out + 1 MiB ftp on 2026-11-20.
    { id: 7, name: 'cpanel-bob.net', plan: 'Standard 6 GiB', customized: false, overuse: 'block', maxTraffic: 6442450944, maxTrafficSoft: 5368709120, used: 3222274048, usedMail: 0, percent: 50.01, status: 'ok' },
    { id: 8, name: 'opensrs-one.com', plan: 'base_plan', customized: false, overuse: 'notify', maxTraffic: 107374182400, maxTrafficSoft: 85899345920, used: 0, usedMail: 0, percent: 0, status: 'ok' },
    { id: 9, name: 'opensrs-two.com', plan: null, customized: false, overuse: null, maxTraffic: null, maxTrafficSoft: null, used: 0, usedMail: 0, percent: null, status: 'unlimited' },
    // 59768832 web + 11110 mail on 2026-11-02 (the maillog sample's subscription).
    { id: 13, name: 'alpha.example', plan: 'base_plan', customized: false, overuse: 'notify', maxTraffic: 107374182400, maxTrafficSoft: 85899345920, used: 59779942, usedMail: 11110, percent: 0.05, status: 'ok' },
    { id: 14, name: 'beta.example', plan: 'base_plan', customized: false, overuse: 'notify', maxTraffic: 107374182400, maxTrafficSoft: 85899345920, used: 0, usedMail: 0, percent: 0, status: 'ok' },
  ],
};

const EXPECTED_CSV = `id,name,plan,customized,overuse,maxTraffic,maxTrafficSoft,used,usedMail,percent,status,month,usedWebFtp,subscriptionStatus
1,example.com,Standard 6 GiB,false,block,6442450944,5368709120,5662096668,17451191,87.88,soft,2026-11,5644645477,active
2,example.net,base_plan,false,notify,107374182400,85899345920,0,0,0.00,ok,2026-11,0,active
3,shop.example.org,base_plan,false,notify,107374182400,85899345920,0,0,0.00,ok,2026-11,0,active
4,bücher.example,base_plan,false,notify,107374182400,85899345920,18014398509481987,9007199254740994,16777216.00,over,2026-11,9007199254740993,active
5,mail-heavy.com,Unlimited,false,normal,,,0,0,,unlimited,2026-11,0,active
6,cpanel-alice.com,Standard 6 GiB,true,not_suspend_notify,21474836480,17179869184,0,0,0.00,ok,2026-11,0,active
7,cpanel-bob.net,Standard 6 GiB,false,block,6442450944,5368709120,3222274048,0,50.01,ok,2026-11,3222274048,active
8,opensrs-one.com,base_plan,false,notify,107374182400,85899345920,0,0,0.00,ok,2026-11,0,active
9,opensrs-two.com,,false,,,,0,0,,unlimited,2026-11,0,active
13,alpha.example,base_plan,false,notify,107374182400,85899345920,59779942,11110,0.05,ok,2026-11,59768832,active
14,beta.example,base_plan,false,notify,107374182400,85899345920,0,0,0.00,ok,2026-11,0,active
`;

const EXPECTED_TABLE = `Traffic in 2026-11 (counted: inbound + outbound, all protocols; add-on sites included)

SUBSCRIPTION      ID  STATE   PLAN            CUSTOM       USED       MAIL    WEB/FTP       LIMIT       SOFT             %  STATUS     OVERUSE
example.com        1  active  Standard 6 GiB  no       5.27 GiB  16.64 MiB   5.25 GiB    6.00 GiB   5.00 GiB        87.88%  soft       block (usage cannot go beyond the limit)
example.net        2  active  base_plan       no            0 B        0 B        0 B  100.00 GiB  80.00 GiB         0.00%  ok         notify (overuse allowed; e-mail when a limit is reached)
shop.example.org   3  active  base_plan       no            0 B        0 B        0 B  100.00 GiB  80.00 GiB         0.00%  ok         notify (overuse allowed; e-mail when a limit is reached)
bücher.example     4  active  base_plan       no      16.00 PiB   8.00 PiB   8.00 PiB  100.00 GiB  80.00 GiB  16777216.00%  over       notify (overuse allowed; e-mail when a limit is reached)
mail-heavy.com     5  active  Unlimited       no            0 B        0 B        0 B   unlimited          -             -  unlimited  normal (overuse allowed; suspended when a limit is reached)
cpanel-alice.com   6  active  Standard 6 GiB  yes           0 B        0 B        0 B   20.00 GiB  16.00 GiB         0.00%  ok         not_suspend_notify (overuse allowed; never suspended; e-mail when a limit is reached)
cpanel-bob.net     7  active  Standard 6 GiB  no       3.00 GiB        0 B   3.00 GiB    6.00 GiB   5.00 GiB        50.01%  ok         block (usage cannot go beyond the limit)
opensrs-one.com    8  active  base_plan       no            0 B        0 B        0 B  100.00 GiB  80.00 GiB         0.00%  ok         notify (overuse allowed; e-mail when a limit is reached)
opensrs-two.com    9  active  -               no            0 B        0 B        0 B   unlimited          -             -  unlimited  -
alpha.example     13  active  base_plan       no      57.01 MiB  10.84 KiB  57.00 MiB  100.00 GiB  80.00 GiB         0.05%  ok         notify (overuse allowed; e-mail when a limit is reached)
beta.example      14  active  base_plan       no            0 B        0 B        0 B  100.00 GiB  80.00 GiB         0.00%  ok         notify (overuse allowed; e-mail when a limit is reached)

11 subscription(s): 1 over, 1 soft, 7 ok, 2 unlimited
`;

let emu: Emulator;
let dir: string;
beforeAll(async () => {
  emu = await startEmulator({ fixture: SAMPLE });
  dir = mkdtempSync(path.join(os.tmpdir(), 'ti-usage-'));
});
afterAll(async () => {
  await emu.close();
  expect(emu.violations).toEqual([]);
});

describe('usage against the sample fixture (2026-11)', () => {
  it('JSON: the contract, every status', async () => {
    const r = await usage(emu, { month: '2026-11', format: 'json' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(EXPECTED_JSON);
    // Keys in the contract's order, nothing more.
    expect(Object.keys(JSON.parse(r.stdout).subscriptions[0])).toEqual(['id', 'name', 'plan', 'customized', 'overuse', 'maxTraffic', 'maxTrafficSoft', 'used', 'usedMail', 'percent', 'status']);
    expect(r.stderr).toBe('usage 2026-11: 11 subscription(s): 1 over, 1 soft, 7 ok, 2 unlimited\n');
  });

  it('CSV (bytes) when stdout is no terminal and no --format is given', async () => {
    const r = await usage(emu, { month: '2026-11' });
    expect(r.stdout).toBe(EXPECTED_CSV);
  });

  it('a table with human units on a terminal', async () => {
    const r = await usage(emu, { month: '2026-11' }, true);
    expect(r.stdout).toBe(EXPECTED_TABLE);
    expect(r.stderr).toBe('');
  });

  it('--over-only keeps the over subscriptions; --fail-on-over exits 1 when one is over', async () => {
    const r = await usage(emu, { month: '2026-11', format: 'json', overOnly: true, failOnOver: true });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).subscriptions.map((s: { id: number }) => s.id)).toEqual([4]);
    expect((await usage(emu, { month: '2026-10', format: 'json', failOnOver: true })).code).toBe(0);
  });

  it('a past month: October has only mail-heavy.com\'s day, under its unlimited plan', async () => {
    const r = await usage(emu, { month: '2026-10', format: 'json' });
    const subs = JSON.parse(r.stdout).subscriptions as { id: number; used: number; usedMail: number; status: string }[];
    expect(subs.find((s) => s.id === 5)).toMatchObject({ used: 5190451200, usedMail: 5190451200, status: 'unlimited' });
    expect(subs.filter((s) => s.used !== 0).map((s) => s.id)).toEqual([5]);
  });

  it('--domains LIST and FILE: a site name stands for its subscription; unknown names are reported', async () => {
    const list = await usage(emu, { month: '2026-11', format: 'json', domains: 'blog.example.com, nope.example,MAIL-HEAVY.com' });
    expect(JSON.parse(list.stdout).subscriptions.map((s: { id: number }) => s.id)).toEqual([1, 5]);
    expect(list.stderr).toContain('traffic-import: not found in Plesk (neither a subscription nor a site): nope.example\n');
    const file = path.join(dir, 'domains.txt');
    writeFileSync(file, '# who\nxn--bcher-kva.example\n\ncpanel-bob.net  # bob\n');
    const fromFile = await usage(emu, { month: '2026-11', format: 'json', domains: file, failOnOver: true });
    expect(JSON.parse(fromFile.stdout).subscriptions.map((s: { id: number; status: string }) => [s.id, s.status])).toEqual([[4, 'over'], [7, 'ok']]);
    expect(fromFile.code).toBe(1);
  });

  it('--out FILE: the format follows the extension, the summary goes to stderr', async () => {
    const out = path.join(dir, 'usage.json');
    const r = await usage(emu, { month: '2026-11', out });
    expect(r.stdout).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(EXPECTED_JSON);
    expect(r.stderr).toContain('1 over, 1 soft');
  });

  it('the default month is the current one in the panel\'s time zone (target.timezone)', async () => {
    const pipeline = loadPipeline(PIPELINE);
    pipeline.target.timezone = 'Pacific/Kiritimati';
    const r = await usage(emu, { format: 'json', pipeline });
    expect(JSON.parse(r.stdout).month).toBe(today('Pacific/Kiritimati').slice(0, 7));
  });
});

describe('usage counts what the server counts', () => {
  it('traffic_accounting 2: outbound directions only', async () => {
    const f = sample();
    f.server = { ...f.server, prefs: { traffic_accounting: 2 } };
    const e = await startEmulator({ fixture: f });
    try {
      const r = await usage(e, { month: '2026-11', format: 'json', domains: 'example.com' });
      // Out: 1270530505 (the subscription) + 8392704 (blog.example.com); mail out: 15775830 + 4096.
      expect(JSON.parse(r.stdout)).toMatchObject({ trafficAccounting: 'out', subscriptions: [{ id: 1, used: 1278923209, usedMail: 15779926, percent: 19.85, status: 'ok' }] });
    } finally {
      await e.close();
    }
  });
});

describe('requests: O(N / batch size)', () => {
  /** N subscriptions on three plans, every tenth with an add-on site that has traffic. */
  function big(n: number): EmulatorFixture {
    const f = sample();
    f.subscriptions = [];
    f.sites = [];
    f.traffic = [];
    for (let i = 1; i <= n; i++) {
      f.subscriptions.push({ id: i, name: `s${i}.example`, planId: (i % 3) + 1 });
      f.traffic.push({ domId: i, date: '2026-11-05', smtp_in: String(i * 1000), http_out: String(i) });
      if (i % 10 === 0) {
        f.sites!.push({ id: 100000 + i, name: `addon${i}.example`, webspaceId: i });
        f.traffic.push({ domId: 100000 + i, date: '2026-11-06', smtp_out: '7' });
      }
    }
    return f;
  }

  it.each([[250], [1000], [2000]])('%i subscriptions', async (n) => {
    const e = await startEmulator({ fixture: big(n) });
    try {
      const r = await usage(e, { month: '2026-11', format: 'json' });
      const subs = JSON.parse(r.stdout).subscriptions as { id: number; used: number }[];
      expect(subs).toHaveLength(n);
      expect(subs[9]).toMatchObject({ id: 10, used: 10 * 1000 + 10 + 7 });
      const perPacket = 500; // 100 ids per filter, 5 filters per packet
      const expected = 1 /* server prefs */ + 1 /* list */ + Math.ceil(n / perPacket) /* limits + subscriptions */
        + Math.ceil(n / perPacket) /* add-on sites */ + 1 /* plans: 3 GUIDs */
        + Math.ceil(n / 100) /* webspace get_traffic */ + Math.ceil(n / 10 / 100) /* site get_traffic */;
      expect(e.requests).toBe(expected);
    } finally {
      await e.close();
    }
  });
});
