// Issue 9 §4: one silent account does not sink the source. A per-object failure in the WHM or OpenSRS reader — no
// answer (timeout), a 5xx that outlives the retries, a malformed answer — rejects that object by name with the
// reason; the other objects are imported and the run exits 1. Only what concerns every object (the endpoint
// unreachable, credentials refused, TLS) is fatal. Whole flow against the emulator and the stand-ins.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/config.js';
import { runPipeline } from '../../src/flow.js';
import { silentLogger } from '../../src/log.js';
import { SAMPLE_ACCOUNTS } from '../../src/stand-ins/cpanel-samples/samples.js';
import { startOpensrsMock, type OpensrsMock } from '../../src/stand-ins/opensrs/server.js';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';
import { startWhmMock, type WhmMock } from '../../src/stand-ins/whm/server.js';

const AUTH = { PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw-silent' };
/** Short timeouts and two attempts: a silent object costs about a second, not minutes. */
const FAST = { timeouts: { connectMs: 2000, headersMs: 400, bodyMs: 400 }, retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 5 } };

let emulator: Emulator | undefined;
let whm: WhmMock | undefined;
let opensrs: OpensrsMock | undefined;
afterEach(async () => {
  await Promise.all([emulator?.close(), whm?.close(), opensrs?.close()]);
  emulator = whm = opensrs = undefined;
});

async function panel(names: string[]): Promise<Emulator> {
  emulator = await startEmulator({
    fixture: { auth: { login: 'admin', password: 'pw-silent', secretKeys: [] }, subscriptions: names.map((name, i) => ({ id: i + 1, name })) },
    port: 0,
  });
  return emulator;
}

async function run(source: Record<string, unknown>, env: Record<string, string>, window = { from: '2026-11-01', to: '2026-11-03' }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-silent-'));
  const pipeline = parsePipeline({ source, target: { type: 'plesk', url: emulator!.url } }, path.join(dir, 'p.json'));
  return runPipeline({ pipeline, dryRun: false, env: { ...AUTH, ...env }, log: silentLogger(), ...window });
}

const alice = SAMPLE_ACCOUNTS[0]!;
const copyOf = (user: string, domain: string) => ({ user, domain, days: alice.days });

describe('WHM: one account that does not answer', () => {
  it('is rejected by name with the reason; the others are imported; exit 1', async () => {
    await panel(['cpanel-alice.com', 'bob.example', 'carol.example', 'dave.example']);
    whm = await startWhmMock({
      accounts: [alice, copyOf('bob', 'bob.example'), copyOf('carol', 'carol.example'), copyOf('dave', 'dave.example')],
      token: 'tok',
      hangUsers: ['bob'], // never answers: the 2 s timeout of the report, shortened
      httpErrors: { carol: 502 }, // a 5xx to the end of the retries
      rawBodyFor: { dave: '<html>maintenance</html>' }, // an answer that is not JSON
    });
    const r = await run({ type: 'cpanel', from: 'api', url: whm.url, concurrency: 2, ...FAST }, { WHM_API_TOKEN: 'tok' });
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBe(1);
    // alice's three days landed.
    expect(emulator!.traffic(1, '2026-11-01')).toMatchObject({ smtp_out: 5_242_880n, pop3_imap_out: 4_194_304n });
    expect(emulator!.traffic(1, '2026-11-03')).toMatchObject({ smtp_out: 7_340_032n });
    expect(r.nodes).toMatchObject({ applied: 3, failed: 0 });
    const rejected = r.rejectSample.map((x) => [x.file, x.code]).sort();
    expect(rejected).toEqual([['bob', 'R_SOURCE_ERROR'], ['carol', 'R_SOURCE_ERROR'], ['dave', 'R_SOURCE_ERROR']]);
    const reason = (user: string) => r.rejectSample.find((x) => x.file === user)!.reason;
    expect(reason('bob')).toMatch(/^account bob: no answer from WHM uapi_cpanel \(UND_ERR_HEADERS_TIMEOUT.*; 2 attempts\)$/);
    expect(reason('carol')).toMatch(/^account carol: HTTP 502 from WHM uapi_cpanel after 1 retries/);
    expect(reason('dave')).toContain('account dave: WHM uapi_cpanel answered something that is not JSON');
    expect(whm.requests.filter((q) => q.params['cpanel.user'] === 'bob')).toHaveLength(2);
  }, 30_000);

  it('an unreachable WHM is every account\'s problem: fatal, exit 2', async () => {
    await panel(['cpanel-alice.com']);
    whm = await startWhmMock({ accounts: [alice], token: 'tok' });
    const url = whm.url;
    await whm.close();
    whm = undefined;
    const r = await run({ type: 'cpanel', from: 'api', url, ...FAST }, { WHM_API_TOKEN: 'tok' });
    expect(r.exitCode).toBe(2);
    expect(r.error).toMatchObject({ code: 'TI_SOURCE_UNREADABLE', message: expect.stringContaining('ECONNREFUSED') });
  }, 30_000);
});

describe('OpenSRS: one domain that does not answer', () => {
  it('is rejected by name with the reason; the others are imported; exit 1', async () => {
    await panel(['one.example', 'two.example', 'three.example', 'four.example']);
    const day = { '20261101': { in_size: 100, out_size: 200 } };
    opensrs = await startOpensrsMock({
      user: 'u', password: 'p',
      domains: { 'one.example': day, 'two.example': day, 'three.example': day, 'four.example': day },
      hangFor: ['two.example'],
      statusFor: { 'three.example': 502 },
      rawBodyFor: { 'four.example': '{"success": true, "summary": {' },
    });
    const r = await run(
      { type: 'opensrs', url: opensrs.url, domains: ['one.example', 'two.example', 'three.example', 'four.example'], ...FAST },
      { OPENSRS_USER: 'u', OPENSRS_PASSWORD: 'p' },
      { from: '2026-11-01', to: '2026-11-01' },
    );
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBe(1);
    expect(emulator!.traffic(1, '2026-11-01')).toMatchObject({ smtp_in: 100n, smtp_out: 200n });
    expect(r.nodes).toMatchObject({ applied: 1 });
    const reason = (d: string) => r.rejectSample.find((x) => x.file === `opensrs:${d}`)?.reason;
    expect(reason('two.example')).toMatch(/^no answer from OpenSRS for two\.example \(UND_ERR_HEADERS_TIMEOUT.*; 2 attempts\)$/);
    expect(reason('three.example')).toMatch(/^OpenSRS answered HTTP 502 for three\.example/);
    expect(reason('four.example')).toMatch(/^malformed JSON in the OpenSRS answer for four\.example/);
    expect(r.records.rejected).toBe(3);
  }, 30_000);

  it('an unreachable OpenSRS is fatal, exit 2', async () => {
    await panel(['one.example']);
    opensrs = await startOpensrsMock({ user: 'u', password: 'p', domains: {} });
    const url = opensrs.url;
    await opensrs.close();
    opensrs = undefined;
    const r = await run({ type: 'opensrs', url, domains: ['one.example'], ...FAST }, { OPENSRS_USER: 'u', OPENSRS_PASSWORD: 'p' });
    expect(r.exitCode).toBe(2);
    expect(r.error).toMatchObject({ code: 'TI_SOURCE_UNREADABLE', message: expect.stringContaining('ECONNREFUSED') });
  }, 30_000);
});
