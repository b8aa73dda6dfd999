import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TiError } from '../../src/errors.js';
import { addDays, today } from '../../src/dates.js';
import { cpanelSourceSchema, createCpanelReader, type CpanelApiSource } from '../../src/readers/cpanel/index.js';
import { createApiReader, whmBaseUrl } from '../../src/readers/cpanel/api.js';
import { SAMPLE_ACCOUNTS } from '../../src/stand-ins/cpanel-samples/samples.js';
import { startWhmMock, whmMockFailText, type WhmMock, type WhmMockOptions } from '../../src/stand-ins/whm/server.js';
import { byKey, makeContext, runReader, SAMPLE_EXPECTED, SAMPLES, withTempDir } from './helpers.js';
import { writeFile } from 'node:fs/promises';

const TOKEN = 'T0KEN-abcdef0123456789SECRET';
const WINDOW = { from: '2026-11-01', to: '2026-11-03' };
const utc = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h) / 1000;

let mocks: WhmMock[] = [];
afterEach(async () => {
  await Promise.all(mocks.map((m) => m.close()));
  mocks = [];
});

async function mock(opts: Partial<WhmMockOptions> = {}): Promise<WhmMock> {
  const m = await startWhmMock({ accounts: SAMPLE_ACCOUNTS, token: TOKEN, ...opts });
  mocks.push(m);
  return m;
}

const cfg = (over: Record<string, unknown> = {}) =>
  cpanelSourceSchema.parse({ type: 'cpanel', from: 'api', url: 'https://whm.invalid:2087', ...over }) as CpanelApiSource;
const env = (m: WhmMock, extra: Record<string, string> = {}) => ({ WHM_URL: m.url, WHM_API_TOKEN: TOKEN, ...extra });

describe('cpanel api reader (WHM mock)', () => {
  it('lists accounts, queries Bandwidth::query per account and imports exact daily values', async () => {
    const m = await mock();
    const run = await runReader(createCpanelReader(cfg()), { env: env(m), window: WINDOW });
    expect(byKey(run.records)).toEqual(SAMPLE_EXPECTED);
    expect(run.rejects).toEqual([]);
    expect(run.records.find((r) => r.target.domain === 'cpanel-bob.net')!.origin).toEqual({ file: 'bob', line: 0 });

    // concurrency 2: the two account queries may arrive in either order.
    const order = (r: { params: Record<string, string> }) => r.params['cpanel.user'] ?? '';
    m.requests.sort((a, b) => order(a).localeCompare(order(b)));
    expect(m.requests.map((r) => [r.fn, r.params['cpanel.user'], r.authorized])).toEqual([
      ['listaccts', undefined, true],
      ['uapi_cpanel', 'alice', true],
      ['uapi_cpanel', 'bob', true],
    ]);
    expect(m.requests[0]!.params).toEqual({ 'api.version': '1' });
    expect(m.requests[1]!.params).toEqual({
      'api.version': '1',
      'cpanel.user': 'alice',
      'cpanel.module': 'Bandwidth',
      'cpanel.function': 'query',
      grouping: 'year_month_day|protocol',
      protocols: 'smtp|pop3|imap',
      interval: 'daily',
      start: String(utc(2026, 11, 1)),
      end: String(utc(2026, 11, 4) - 1),
      timezone: 'UTC',
    });
  });

  it('without a run window asks for the last `days` days and fills days without rows with 0', async () => {
    const m = await mock();
    const run = await runReader(createCpanelReader(cfg({ days: 3, accounts: ['bob'] })), { env: env(m) });
    const end = today('UTC');
    const from = addDays(end, -2);
    expect(m.requests[1]!.params.start).toBe(String(Date.parse(`${from}T00:00:00Z`) / 1000));
    expect(m.requests[1]!.params.end).toBe(String(Date.parse(`${addDays(end, 1)}T00:00:00Z`) / 1000 - 1));
    // The samples are older than the window: three measured days of zero mail.
    expect(byKey(run.records)).toEqual({
      [`cpanel-bob.net ${from}`]: { smtp_out: 0n, pop3_imap_out: 0n },
      [`cpanel-bob.net ${addDays(end, -1)}`]: { smtp_out: 0n, pop3_imap_out: 0n },
      [`cpanel-bob.net ${end}`]: { smtp_out: 0n, pop3_imap_out: 0n },
    });
  });

  it('checks the inner UAPI status: a failing account is rejected by name with cPanel\'s text, the others imported', async () => {
    const m = await mock({ failUsers: ['bob'] });
    const run = await runReader(createCpanelReader(cfg()), { env: env(m), window: WINDOW });
    expect(byKey(run.records)).toEqual(Object.fromEntries(Object.entries(SAMPLE_EXPECTED).filter(([k]) => k.includes('alice'))));
    expect(run.rejects).toEqual([
      { file: 'bob', line: 0, code: 'R_SOURCE_ERROR', raw: 'bob', reason: `account bob: cPanel: ${whmMockFailText('bob')}` },
    ]);
  });

  it('sums strings and fractions per day and rounds at the end', async () => {
    const accounts = [
      { user: 'carol', domain: 'example.com', days: { '2026-11-01': { smtp: 1000.6, pop3: 100.4, imap: 200.4 } } },
      ...SAMPLE_ACCOUNTS,
    ];
    const m = await mock({ accounts, stringsAndFractions: true });
    const daily = await runReader(createCpanelReader(cfg()), { env: env(m), window: WINDOW });
    expect(byKey(daily.records)['example.com 2026-11-01']).toEqual({ smtp_out: 1001n, pop3_imap_out: 301n });

    // Hourly answers are value/24 as strings ("218453.33333333334"): 24 of them still give the exact day.
    const hourly = await runReader(createCpanelReader(cfg({ interval: 'hourly', accounts: ['alice', 'bob'] })), { env: env(m), window: WINDOW });
    expect(byKey(hourly.records)).toEqual(SAMPLE_EXPECTED);
    expect(m.requests.at(-1)!.params.interval).toBe('hourly');
  });

  it('with interval "hourly" the days are those of `timezone` (cPanel groups hourly rows in that zone)', async () => {
    const m = await mock(); // server in UTC; each day split into 24 whole-byte hours
    const run = await runReader(createCpanelReader(cfg({ interval: 'hourly', timezone: 'Asia/Tokyo', accounts: ['alice'] })), {
      env: env(m),
      window: { from: '2026-11-01', to: '2026-11-04' },
    });
    const got = byKey(run.records);
    // smtp of 2026-11-01 (UTC) = 5242880 = 23 × 218453 + 218461; Tokyo's 1st gets UTC hours 0–14.
    expect(got['cpanel-alice.com 2026-11-01']!.smtp_out).toBe(15n * 218_453n);
    // Tokyo's 2nd: UTC hours 15–23 of the 1st, then hours 0–14 of the 2nd (2097153 = 24 × 87381 + 9).
    expect(got['cpanel-alice.com 2026-11-02']!.smtp_out).toBe(8n * 218_453n + 218_461n + 15n * 87_381n);
    const total = (k: 'smtp_out' | 'pop3_imap_out') => Object.values(got).reduce((s, v) => s + v[k]!, 0n);
    expect(total('smtp_out')).toBe(5_242_880n + 2_097_153n + 7_340_032n);
    expect(total('pop3_imap_out')).toBe(4_194_304n + 2_097_153n + 2_621_441n);
    expect(m.requests[1]!.params).toMatchObject({ timezone: 'Asia/Tokyo', start: String(utc(2026, 10, 31, 15)), end: String(utc(2026, 11, 4, 15) - 1) });
  });

  it('a rejected token is fatal: TiError TI_SOURCE_AUTH (exit 2)', async () => {
    const m = await mock();
    const err = await runReader(createCpanelReader(cfg()), { env: env(m, { WHM_API_TOKEN: 'wrong' }), window: WINDOW }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TiError);
    expect(err).toMatchObject({ code: 'TI_SOURCE_AUTH', exitCode: 2 });
    expect(m.requests).toEqual([{ fn: 'listaccts', params: { 'api.version': '1' }, authorized: false, status: 403 }]);

    const wrongUser = await runReader(createCpanelReader(cfg()), { env: env(m, { WHM_USER: 'reseller' }), window: WINDOW }).catch((e: unknown) => e);
    expect(wrongUser).toMatchObject({ code: 'TI_SOURCE_AUTH' });

    const missing = await runReader(createCpanelReader(cfg()), { env: { WHM_URL: m.url }, window: WINDOW }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'TI_SECRET_MISSING' });
  });

  it('WHM\'s access-denied answer inside HTTP 200, or a permission error of listaccts, is TI_SOURCE_AUTH too', async () => {
    const bodies = [
      { cpanelresult: { apiversion: '2', error: 'Access denied', data: { reason: 'Access denied', result: '0' }, type: 'text' } },
      { metadata: { command: 'listaccts', result: 0, reason: 'Permission denied: the token lacks the “list-accts” privilege.', version: 1 } },
    ];
    for (const body of bodies) {
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const err = await runReader(createCpanelReader(cfg()), { env: { WHM_URL: url, WHM_API_TOKEN: TOKEN }, window: WINDOW }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'TI_SOURCE_AUTH' });
      } finally {
        await new Promise((r) => server.close(r));
      }
    }
  });

  it('never writes the token to logs or errors', async () => {
    const m = await mock({ failUsers: ['bob'] });
    const ok = await runReader(createCpanelReader(cfg()), { env: env(m), window: WINDOW, captureLogs: true });
    expect(ok.logs.length).toBeGreaterThanOrEqual(3); // info, debug of alice, the warning of bob
    const bad = makeContext({ env: env(m, { WHM_API_TOKEN: `${TOKEN}x` }), window: WINDOW, captureLogs: true });
    const err = await createCpanelReader(cfg()).read(bad.ctx, () => {}).catch((e: unknown) => e as Error);
    const everything = [...ok.logs, ...bad.logs, String(err), (err as Error).stack ?? '', JSON.stringify(ok.rejects)].join('\n');
    expect(everything).not.toContain(TOKEN);
    expect(everything).toContain('account bob');
  });

  it('retries transient errors (5xx, 429) and rejects an account that keeps failing', async () => {
    const m = await mock({ transientFailures: 2, httpErrors: { bob: 500 } });
    const run = await runReader(createApiReader(cfg({ retries: 2 }), { retryMinTimeoutMs: 5 }), { env: env(m), window: WINDOW });
    expect(byKey(run.records)).toEqual(Object.fromEntries(Object.entries(SAMPLE_EXPECTED).filter(([k]) => k.includes('alice'))));
    expect(run.rejects).toMatchObject([{ file: 'bob', line: 0, code: 'R_SOURCE_ERROR', reason: expect.stringContaining('HTTP 500') }]);
    expect(m.requests.filter((r) => r.status === 503)).toHaveLength(2);
    expect(m.requests.filter((r) => r.params['cpanel.user'] === 'bob')).toHaveLength(3); // 1 + 2 retries

    const m2 = await mock({ transientFailures: 5 });
    const err = await runReader(createApiReader(cfg({ retries: 1 }), { retryMinTimeoutMs: 5 }), { env: env(m2), window: WINDOW }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TI_SOURCE_UNREADABLE' });
  });

  it('an unreachable WHM is fatal', async () => {
    const m = await mock();
    const url = m.url;
    await m.close();
    mocks = [];
    const err = await runReader(createApiReader(cfg({ retries: 1 }), { retryMinTimeoutMs: 5 }), { env: { WHM_URL: url, WHM_API_TOKEN: TOKEN }, window: WINDOW }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TI_SOURCE_UNREADABLE' });
    expect(String(err)).toContain('ECONNREFUSED');
  });

  it('configured accounts: one WHM does not list is unresolved; accountMap wins over listaccts', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'map.csv'), 'user,domain\nalice,mail-heavy.com\n');
      const m = await mock();
      const run = await runReader(createCpanelReader(cfg({ accounts: ['alice', 'zoe'], accountMap: join(dir, 'map.csv') })), { env: env(m), window: WINDOW });
      expect(Object.keys(byKey(run.records))).toEqual(['mail-heavy.com 2026-11-01', 'mail-heavy.com 2026-11-02', 'mail-heavy.com 2026-11-03']);
      expect(run.unresolved).toEqual([{ name: 'zoe', origin: { file: 'zoe', line: 0 }, reason: expect.stringContaining('does not list account zoe') }]);

      // Every configured account is in the map: listaccts is not needed.
      const m2 = await mock();
      await runReader(createCpanelReader(cfg({ accounts: ['alice'], accountMap: join(dir, 'map.csv') })), { env: env(m2), window: WINDOW });
      expect(m2.requests.map((r) => r.fn)).toEqual(['uapi_cpanel']);
    });
  });

  it('TLS: trusts WHM\'s self-signed certificate through `ca`, refuses it otherwise, accepts it with insecureTls', async () => {
    const tls = { key: readFileSync(join(SAMPLES, 'whm-tls/test-only-key.pem')), cert: readFileSync(join(SAMPLES, 'whm-tls/cert.pem')) };
    const m = await mock({ tls });
    expect(m.url).toMatch(/^https:/);
    const withCa = await runReader(createCpanelReader(cfg({ ca: 'samples/cpanel/whm-tls/cert.pem', accounts: ['alice'] })), { env: env(m), window: WINDOW });
    expect(byKey(withCa.records)['cpanel-alice.com 2026-11-03']).toEqual(SAMPLE_EXPECTED['cpanel-alice.com 2026-11-03']);

    const refused = await runReader(createCpanelReader(cfg({ accounts: ['alice'] })), { env: env(m), window: WINDOW }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'TI_TLS' });

    const insecure = await runReader(createCpanelReader(cfg({ insecureTls: true, accounts: ['alice'] })), { env: env(m), window: WINDOW });
    expect(insecure.records).toHaveLength(3);
  });

  it('WHM_URL overrides `url`; a URL without port gets 2087', async () => {
    expect(whmBaseUrl('https://whm.example.com')).toBe('https://whm.example.com:2087');
    expect(whmBaseUrl('https://whm.example.com/')).toBe('https://whm.example.com:2087');
    expect(whmBaseUrl('http://whm.example.com')).toBe('http://whm.example.com:2086');
    expect(whmBaseUrl('https://whm.example.com:443/proxy/')).toBe('https://whm.example.com/proxy');
    expect(() => whmBaseUrl('https://root:pw@whm.example.com')).toThrow(TiError);
    const m = await mock();
    const run = await runReader(createCpanelReader(cfg({ url: 'https://whm.invalid' })), { env: env(m), window: WINDOW });
    expect(run.records).toHaveLength(6);
  });

  it('check() tells whether the token is accepted', async () => {
    const m = await mock();
    await expect(createCpanelReader(cfg()).check!(makeContext({ env: env(m) }).ctx)).resolves.toContain('token accepted, 2 account(s)');
    await expect(createCpanelReader(cfg()).check!(makeContext({ env: env(m, { WHM_API_TOKEN: 'nope' }) }).ctx)).rejects.toMatchObject({ code: 'TI_SOURCE_AUTH' });
  });
});
