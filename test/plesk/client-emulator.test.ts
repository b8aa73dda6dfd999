// PleskClient against the Plesk emulator (src/stand-ins/plesk/, written independently from the server's
// side of the contract and validating every packet against the 1.6.9.1 input schema).

import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TiError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/stand-ins/plesk/index.js';
import { PleskClient } from '../../src/plesk/client.js';
import { buildServicePlanGetPacket } from '../../src/plesk/packet.js';
import { parseServicePlanGetResponse } from '../../src/plesk/response.js';
import { Transport } from '../../src/plesk/transport.js';
import type { PleskAuth, SetTrafficNode } from '../../src/plesk/types.js';
import { baseOptions } from './client-helpers.js';

const FIXTURE = fileURLToPath(new URL('../../samples/plesk-fixture.json', import.meta.url));
const LOGIN: PleskAuth = { login: 'admin', password: 'emulator-password' };
const KEY: PleskAuth = { secretKey: 'emulator-secret-key' };

let emu: Emulator | undefined;
let client: PleskClient | undefined;
afterEach(async () => {
  await client?.close();
  await emu?.close();
  // The client's packets must all have passed the emulator's schema checkups.
  expect(emu?.violations ?? []).toEqual([]);
  client = undefined;
  emu = undefined;
});

async function setup(auth: PleskAuth = LOGIN, emuOpts: Partial<EmulatorOptions> = {}, over: Parameters<typeof baseOptions>[1] = {}) {
  emu = await startEmulator({ fixture: FIXTURE, port: 0, ...emuOpts });
  client = new PleskClient(baseOptions(emu.url, { auth, ...over }), silentLogger());
  return { emu, client };
}

const node = (domId: number, date: string, n: bigint): SetTrafficNode => ({
  domId, date, smtp_in: n, smtp_out: n + 1n, pop3_imap_in: n + 2n, pop3_imap_out: n + 3n,
});

describe('against the emulator', () => {
  it.each([['login/password', LOGIN], ['secret key', KEY]] as const)('resolves subscriptions with %s', async (_what, auth) => {
    const { client } = await setup(auth);
    const names = ['example.com', 'example.net', 'shop.example.org', 'xn--bcher-kva.example', 'mail-heavy.com',
      'cpanel-alice.com', 'cpanel-bob.net', 'opensrs-one.com', 'opensrs-two.com', 'unknown.example'];
    const map = await client.resolveNames('webspace', names);
    expect(Object.fromEntries(map)).toEqual({
      'example.com': 1, 'example.net': 2, 'shop.example.org': 3, 'xn--bcher-kva.example': 4, 'mail-heavy.com': 5,
      'cpanel-alice.com': 6, 'cpanel-bob.net': 7, 'opensrs-one.com': 8, 'opensrs-two.com': 9,
    });
  });

  it('resolves sites', async () => {
    const { client } = await setup();
    const map = await client.resolveNames('site', ['example.com', 'blog.example.com', 'store.example.net', 'shop.example.org.invalid']);
    expect(Object.fromEntries(map)).toEqual({ 'example.com': 1, 'blog.example.com': 11, 'store.example.net': 12 });
  });

  it('sets a multi-node webspace packet and reads it back exactly (beyond 2^53)', async () => {
    const { emu, client } = await setup();
    const big = 2n ** 62n + 12345n;
    const nodes = [node(1, '2026-03-01', 100n), node(2, '2026-03-01', big), node(1, '2026-03-02', 7n)];
    const out = await client.setTraffic('webspace', nodes, { idempotent: false });
    expect(out).toEqual({ kind: 'applied', attempts: 1, results: [{ status: 'ok', id: 1 }, { status: 'ok', id: 2 }, { status: 'ok', id: 1 }] });
    expect(emu.traffic(2, '2026-03-01')?.smtp_in).toBe(big);
    const read = await client.getTraffic('webspace', [1, 2, 3], '2026-03-01', '2026-03-31');
    expect(read.get(1)?.get('2026-03-01')).toMatchObject({ smtp_in: 100n, smtp_out: 101n, pop3_imap_in: 102n, pop3_imap_out: 103n });
    expect(read.get(1)?.get('2026-03-02')).toMatchObject({ smtp_in: 7n });
    expect(read.get(2)?.get('2026-03-01')).toMatchObject({ smtp_in: big, pop3_imap_out: big + 3n });
    expect(read.get(3)?.get('2026-03-01')?.smtp_in ?? 0n).toBe(0n);
  });

  it('sets site traffic', async () => {
    const { emu, client } = await setup(KEY);
    const out = await client.setTraffic('site', [node(11, '2026-03-05', 5n), node(12, '2026-03-05', 6n)], { idempotent: true });
    expect(out).toMatchObject({ kind: 'applied', results: [{ status: 'ok' }, { status: 'ok' }] });
    expect(emu.traffic(11, '2026-03-05')?.smtp_in).toBe(5n);
    expect(emu.traffic(12, '2026-03-05')?.pop3_imap_out).toBe(9n);
  });

  it('a per-node error in the middle: the others are applied', async () => {
    const { emu, client } = await setup(LOGIN, { faults: { errorsById: { '2': 1023 } } });
    const out = await client.setTraffic('webspace', [node(1, '2026-03-01', 1n), node(2, '2026-03-01', 2n), node(3, '2026-03-01', 3n)], { idempotent: false });
    expect(out.kind).toBe('applied');
    expect(out.kind === 'applied' && out.results.map((r) => [r.status, r.errcode])).toEqual([['ok', undefined], ['error', 1023], ['ok', undefined]]);
    expect(emu.traffic(1, '2026-03-01')?.smtp_in).toBe(1n);
    expect(emu.traffic(2, '2026-03-01')?.smtp_in ?? 0n).toBe(0n);
    expect(emu.traffic(3, '2026-03-01')?.smtp_in).toBe(3n);
  });

  it('503s and dropped connections are retried to success for idempotent packets', async () => {
    const { emu, client } = await setup(LOGIN, { faults: { error5xxRate: 0.5, dropRate: 0.3, seed: 7 } }, { retry: { attempts: 12, minDelayMs: 1, maxDelayMs: 4 } });
    const outs = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((id) => client.setTraffic('webspace', [node(id, '2026-03-10', BigInt(id) * 1000n)], { idempotent: true })));
    expect(outs.every((o) => o.kind === 'applied')).toBe(true);
    expect(outs.some((o) => o.kind === 'applied' && o.attempts > 1)).toBe(true);
    for (const id of [1, 2, 3, 4, 5, 6, 7, 8]) expect(emu.traffic(id, '2026-03-10')?.smtp_in).toBe(BigInt(id) * 1000n);
    emu.faults.error5xxRate = 0;
    emu.faults.dropRate = 0;
    const read = await client.getTraffic('webspace', [1, 2, 3, 4, 5, 6, 7, 8], '2026-03-10', '2026-03-10');
    expect([...read.values()].map((days) => days.get('2026-03-10')?.smtp_in)).toEqual([1000n, 2000n, 3000n, 4000n, 5000n, 6000n, 7000n, 8000n]);
  });

  it('a drop after the packet ran is uncertain for a non-idempotent packet (and it did run)', async () => {
    const { emu, client } = await setup(LOGIN, { faults: { dropRate: 1, dropAfterApply: true, seed: 1 } });
    const out = await client.setTraffic('webspace', [node(5, '2026-03-11', 42n)], { idempotent: false });
    expect(out).toMatchObject({ kind: 'uncertain', attempts: 1 });
    expect(emu.requests).toBe(1);
    expect(emu.traffic(5, '2026-03-11')?.smtp_in).toBe(42n);
  });

  it('wrong password → TI_PLESK_AUTH after exactly one request', async () => {
    const { emu, client } = await setup({ login: 'admin', password: 'not-the-password' });
    const err = await client.resolveNames('webspace', ['example.com']).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TiError);
    expect((err as TiError).code).toBe('TI_PLESK_AUTH');
    expect((err as TiError).message).not.toContain('not-the-password');
    expect(emu.requests).toBe(1);
  });

  it('wrong secret key → TI_PLESK_AUTH after exactly one request', async () => {
    const { emu, client } = await setup({ secretKey: 'wrong-secret-key' });
    const err = await client.setTraffic('site', [node(11, '2026-03-01', 1n)], { idempotent: true }).then(() => undefined, (e: unknown) => e);
    expect((err as TiError).code).toBe('TI_PLESK_AUTH');
    expect((err as TiError).message).toMatch(/PLESK_SECRET_KEY/);
    expect((err as TiError).message).not.toContain('wrong-secret-key');
    expect(emu.requests).toBe(1);
  });

  it('an unsupported protocol version → TI_PLESK_PACKET', async () => {
    const { client } = await setup(LOGIN, {}, { packetVersion: '100.0.0' });
    const err = await client.getTraffic('webspace', [1], '2026-03-01', '2026-03-02').then(() => undefined, (e: unknown) => e);
    expect((err as TiError).code).toBe('TI_PLESK_PACKET');
    emu!.violations.length = 0; // provoked on purpose
  });

  it('service-plan get packet and parser agree with the emulator', async () => {
    const { emu } = await setup();
    const transport = new Transport(baseOptions(emu.url, { auth: LOGIN }));
    try {
      const answer = await transport.post(buildServicePlanGetPacket('all', '1.6.3.0'));
      const parsed = parseServicePlanGetResponse(answer.body);
      expect(parsed.kind).toBe('ok');
      const plans = parsed.kind === 'ok' ? parsed.value : [];
      expect(plans.map((p) => [p.id, p.name, p.overuse])).toEqual([[1, 'base_plan', 'notify'], [2, 'Standard 6 GiB', 'block'], [3, 'Unlimited', 'normal']]);
      expect(plans[0]!.limits.get('max_traffic')).toBe(107374182400n);
      expect(plans[0]!.limits.get('max_box')).toBe(-1n);
    } finally {
      await transport.close();
    }
  });
});
