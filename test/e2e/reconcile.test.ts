// Every reconcile mode end to end, in-process: pipeline → real client over loopback → emulator.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/config.js';
import { runPipeline } from '../../src/flow.js';
import { silentLogger } from '../../src/log.js';
import { PleskClient } from '../../src/plesk/client.js';
import { startEmulator, type Emulator, type EmulatorFixture } from '../../src/stand-ins/plesk/index.js';
import type { PleskApi } from '../../src/plesk/types.js';

const AUTH = { PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw-e2e' };

function fixture(traffic: NonNullable<EmulatorFixture['traffic']> = []): EmulatorFixture {
  return {
    auth: { login: 'admin', password: 'pw-e2e', secretKeys: ['key-e2e'] },
    subscriptions: [
      { id: 1, name: 'example.com' },
      { id: 2, name: 'example.net' },
      { id: 4, name: 'bücher.example' },
    ],
    sites: [
      { id: 1, name: 'example.com', webspaceId: 1 },
      { id: 11, name: 'blog.example.com', webspaceId: 1 },
    ],
    plans: [],
    traffic,
  };
}

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function setup(csv: string, extra: { target?: Record<string, unknown>; reconcile?: Record<string, unknown>; source?: Record<string, unknown> } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-e2e-'));
  writeFileSync(path.join(dir, 'in.csv'), csv);
  const pipeline = parsePipeline({
    source: { type: 'csv', path: 'in.csv', layout: 'wide', ...extra.source },
    target: { type: 'plesk', url: emulator!.url, operator: 'webspace', batchSize: 2, concurrency: 2, ...extra.target },
    reconcile: { mode: 'absolute', ...extra.reconcile },
    state: { path: './state' },
  }, path.join(dir, 'pipeline.json'));
  const run = (more: { from?: string; to?: string; dryRun?: boolean; outDir?: string } = {}) =>
    runPipeline({ pipeline, dryRun: more.dryRun ?? false, env: AUTH, log: silentLogger(), rejectsPath: path.join(dir, 'rejects.jsonl'), ...more });
  return { dir, pipeline, run };
}

describe('absolute', () => {
  it('keeps recorded values for metrics the source lacks, and an unchanged re-run sends nothing', async () => {
    emulator = await startEmulator({ fixture: fixture([{ domId: 1, date: '2026-11-01', http_in: '5000', smtp_in: '10', smtp_out: '20', pop3_imap_in: '30', pop3_imap_out: '40' }]), port: 0 });
    const { run } = setup('date,domain,smtp_out,pop3_imap_out\n2026-11-01,example.com,200,400\n2026-11-02,EXAMPLE.NET.,1,2\n');
    const first = await run();
    expect(first.exitCode).toBe(0);
    expect(first.nodes).toMatchObject({ sent: 2, applied: 2, failed: 0, unchanged: 0 });
    expect(emulator.traffic(1, '2026-11-01')).toMatchObject({ http_in: 5000n, smtp_in: 10n, smtp_out: 200n, pop3_imap_in: 30n, pop3_imap_out: 400n });
    expect(emulator.traffic(2, '2026-11-02')).toMatchObject({ smtp_in: 0n, smtp_out: 1n, pop3_imap_in: 0n, pop3_imap_out: 2n });
    const requests = emulator.requests;
    const second = await run();
    expect(second.nodes).toMatchObject({ sent: 0, unchanged: 2, applied: 0 });
    expect(second.packets).toBe(0);
    // Only reads the second time: resolve + get_traffic.
    expect(emulator.requests - requests).toBe(2);
  });

  it('shows recorded → new in a dry-run and changes nothing', async () => {
    emulator = await startEmulator({ fixture: fixture([{ domId: 1, date: '2026-11-01', smtp_in: '10', smtp_out: '20', pop3_imap_in: '30', pop3_imap_out: '40' }]), port: 0 });
    const { pipeline, dir } = setup('date,domain,smtp_out\n2026-11-01,example.com,25\n');
    const out = path.join(dir, 'out');
    const chunks: string[] = [];
    const tty = Object.assign(new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }), { isTTY: true });
    const r = await runPipeline({ pipeline, dryRun: true, outDir: out, env: AUTH, log: silentLogger(), stdout: tty });
    expect(r.nodes).toMatchObject({ sent: 1, applied: 0 });
    expect(emulator.traffic(1, '2026-11-01')!.smtp_out).toBe(20n);
    expect(emulator.setTrafficNodes).toBe(0);
    const diff = JSON.parse(readFileSync(path.join(out, 'diff.jsonl'), 'utf8').trim());
    expect(diff).toMatchObject({ dom_id: 1, smtp_out: { recorded: '20', new: '25' }, smtp_in: { recorded: '10', new: '10' } });
    expect(chunks.join('')).toContain('20 → 25');
  });

  it('counts unknown names as unresolved, resolves IDN names, and lets idMap win', async () => {
    emulator = await startEmulator({ fixture: fixture(), port: 0 });
    const { dir } = setup('date,domain,smtp_in\n2026-11-01,bücher.example,7\n2026-11-01,nowhere.example,8\n2026-11-01,nowhere.example,9\n2026-11-01,mapped.example,3\n');
    writeFileSync(path.join(dir, 'ids.csv'), 'mapped.example,2\n');
    const r = await runPipeline({ pipeline: parsePipeline({
      source: { type: 'csv', path: 'in.csv' },
      target: { type: 'plesk', url: emulator.url, idMap: 'ids.csv' },
    }, path.join(dir, 'p.json')), dryRun: false, env: AUTH, log: silentLogger(), rejectsPath: path.join(dir, 'rejects.jsonl') });
    expect(r.exitCode).toBe(1);
    expect(r.targets.unresolved).toBe(1);
    expect(r.targets.unresolvedList[0]).toMatchObject({ name: 'nowhere.example', rows: 2, firstLine: 3, lastLine: 4 });
    expect(emulator.traffic(4, '2026-11-01')!.smtp_in).toBe(7n);
    expect(emulator.traffic(2, '2026-11-01')!.smtp_in).toBe(3n);
    const rejects = readFileSync(path.join(dir, 'rejects.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rejects).toEqual([expect.objectContaining({ code: 'R_UNRESOLVED', line: 3 })]);
  });

  it('operator auto finds add-on sites after subscriptions', async () => {
    emulator = await startEmulator({ fixture: fixture(), port: 0 });
    const { run } = setup('date,domain,smtp_in\n2026-11-01,example.com,1\n2026-11-01,blog.example.com,2\n', { target: { operator: 'auto' } });
    const r = await run();
    expect(r.exitCode).toBe(0);
    expect(emulator.traffic(1, '2026-11-01')!.smtp_in).toBe(1n);
    expect(emulator.traffic(11, '2026-11-01')!.smtp_in).toBe(2n);
  });

  it('reports a per-node error in the middle of a packet, applies the others, exits 1', async () => {
    emulator = await startEmulator({ fixture: fixture(), port: 0 });
    const { pipeline } = setup('date,domain,smtp_in\n2026-11-01,example.com,1\n2026-11-01,example.net,2\n2026-11-01,bücher.example,3\n', { target: { batchSize: 3 } });
    // The fault starts only when set_traffic is sent, so lookups go through and the packet meets it.
    const client = new PleskClient({ url: emulator.url, auth: { login: 'admin', password: 'pw-e2e' }, concurrency: 2,
      timeouts: { connectMs: 5000, headersMs: 5000, bodyMs: 5000 }, retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 5 } }, silentLogger());
    const em = emulator;
    const api: PleskApi = {
      resolveNames: (...a) => client.resolveNames(...a),
      getTraffic: (...a) => client.getTraffic(...a),
      setTraffic: (...a) => { em.faults.errorsById = { '2': 1023 }; return client.setTraffic(...a); },
      close: () => client.close(),
    };
    const r = await runPipeline({ pipeline, dryRun: false, env: AUTH, log: silentLogger(), api });
    await client.close();
    expect(r.exitCode).toBe(1);
    expect(r.packets).toBe(1);
    expect(r.nodes).toMatchObject({ sent: 3, applied: 2, failed: 1 });
    expect(r.failures).toEqual([expect.objectContaining({ dom_id: 2, date: '2026-11-01', errcode: 1023 })]);
    expect(emulator.traffic(1, '2026-11-01')!.smtp_in).toBe(1n);
    expect(emulator.traffic(2, '2026-11-01')).toBeUndefined();
    expect(emulator.traffic(4, '2026-11-01')!.smtp_in).toBe(3n);
  });

  it('a lookup error for one subscription fails its records only, with Plesk\'s words', async () => {
    emulator = await startEmulator({ fixture: fixture(), port: 0, faults: { errorsById: { '2': 1023 } } });
    const { run, dir } = setup('date,domain,smtp_in\n2026-11-01,example.com,1\n2026-11-01,example.net,2\n');
    const r = await run();
    expect(r.exitCode).toBe(1);
    expect(r.nodes).toMatchObject({ applied: 1, failed: 0 });
    expect(r.targets.unresolvedList).toEqual([expect.objectContaining({ name: 'example.net', reason: expect.stringContaining('1023') })]);
    expect(emulator.traffic(1, '2026-11-01')!.smtp_in).toBe(1n);
    // Through idMap the name needs no lookup, but get_traffic for id 2 fails: that record fails, the rest lands.
    writeFileSync(path.join(dir, 'ids.csv'), 'example.net,2\n');
    const viaMap = await runPipeline({ pipeline: parsePipeline({ source: { type: 'csv', path: 'in.csv' }, target: { type: 'plesk', url: emulator.url, idMap: 'ids.csv' }, state: { path: './state2' } }, path.join(dir, 'p2.json')), dryRun: false, env: AUTH, log: silentLogger() });
    expect(viaMap.exitCode).toBe(1);
    expect(viaMap.nodes).toMatchObject({ failed: 1, unchanged: 1 });
    expect(viaMap.failures[0]).toMatchObject({ dom_id: 2, errtext: expect.stringContaining('get_traffic failed: Plesk error 1023') });
  });

  it('sends differences to a panel whose set_traffic adds', async () => {
    emulator = await startEmulator({ fixture: fixture([{ domId: 1, date: '2026-11-01', smtp_in: '100', smtp_out: '0', pop3_imap_in: '0', pop3_imap_out: '0' }]), port: 0, setTrafficSemantics: 'add' });
    const { run } = setup('date,domain,smtp_in\n2026-11-01,example.com,130\n', { target: { setTrafficSemantics: 'add' } });
    expect((await run()).nodes.applied).toBe(1);
    expect(emulator.traffic(1, '2026-11-01')!.smtp_in).toBe(130n);
    expect((await run()).nodes.sent).toBe(0);
    expect(emulator.traffic(1, '2026-11-01')!.smtp_in).toBe(130n);
  });
});

describe('cumulative', () => {
  it('handles a missing day, a reset and two snapshots in one run; re-running sends nothing', async () => {
    emulator = await startEmulator({ fixture: fixture([{ domId: 1, date: '2026-11-01', smtp_out: '100', smtp_in: '0', pop3_imap_in: '0', pop3_imap_out: '0' }]), port: 0 });
    // example.com: Nov 2 total 250 → 150; Nov 4 total 400 (Nov 3 missing) → 150.
    // example.net: recorded nothing; Nov 5 total 50; then Nov 6 total 20 → reset, nothing recorded.
    const csv = 'date,domain,smtp_out\n2026-11-02,example.com,250\n2026-11-04,example.com,400\n2026-11-05,example.net,50\n2026-11-06,example.net,20\n';
    const { run, dir } = setup(csv, { reconcile: { mode: 'cumulative' } });
    const r = await run();
    expect(r.records.resets).toBe(1);
    expect(r.exitCode).toBe(1);
    expect(emulator.traffic(1, '2026-11-02')!.smtp_out).toBe(150n);
    expect(emulator.traffic(1, '2026-11-03')).toBeUndefined();
    expect(emulator.traffic(1, '2026-11-04')!.smtp_out).toBe(150n);
    expect(emulator.traffic(2, '2026-11-05')!.smtp_out).toBe(50n);
    expect(emulator.traffic(2, '2026-11-06')).toBeUndefined();
    const rejects = readFileSync(path.join(dir, 'rejects.jsonl'), 'utf8');
    expect(rejects).toContain('R_COUNTER_RESET');
    const again = await run();
    expect(again.nodes.sent).toBe(0);
    expect(again.nodes.unchanged).toBe(3);
  });
});

describe('additive', () => {
  it('applies a slice once; the same slice again is skipped; a new slice adds', async () => {
    emulator = await startEmulator({ fixture: fixture([{ domId: 1, date: '2026-11-01', smtp_in: '1000', smtp_out: '0', pop3_imap_in: '0', pop3_imap_out: '0' }]), port: 0 });
    const { run, dir } = setup('date,domain,smtp_in\n2026-11-01,example.com,5\n2026-11-01,example.com,6\n', { reconcile: { mode: 'additive' } });
    expect((await run()).nodes.applied).toBe(1);
    expect(emulator.traffic(1, '2026-11-01')!.smtp_in).toBe(1011n);
    const again = await run();
    expect(again.nodes).toMatchObject({ sent: 0, alreadyApplied: 1 });
    expect(emulator.traffic(1, '2026-11-01')!.smtp_in).toBe(1011n);
    writeFileSync(path.join(dir, 'in.csv'), 'date,domain,smtp_in\n2026-11-01,example.com,100\n');
    expect((await run()).nodes.applied).toBe(1);
    expect(emulator.traffic(1, '2026-11-01')!.smtp_in).toBe(1111n);
  });
});

describe('open intents of a killed run', () => {
  it('settles them by what Plesk holds: applied ones are not sent again, unapplied ones are', async () => {
    emulator = await startEmulator({ fixture: fixture([
      { domId: 1, date: '2026-11-01', smtp_in: '100', smtp_out: '0', pop3_imap_in: '0', pop3_imap_out: '0' },
      { domId: 2, date: '2026-11-01', smtp_in: '200', smtp_out: '0', pop3_imap_in: '0', pop3_imap_out: '0' },
    ]), port: 0 });
    const { run, pipeline } = setup('date,domain,smtp_in\n2026-11-01,example.com,5\n2026-11-01,example.net,7\n', { reconcile: { mode: 'additive', slice: 'hour-07' } });
    // A run was killed after writing its intents; Plesk applied example.com's packet, not example.net's.
    const { Ledger } = await import('../../src/ledger/index.js');
    const { panelOf } = await import('../../src/run/ledger.js');
    const ledger = await Ledger.open(pipeline.statePath, (await panelOf(pipeline, {}))!);
    await ledger.acquireLock();
    const mail = (n: bigint) => ({ smtp_in: n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n });
    ledger.writeIntents([
      { slice: 'hour-07', operator: 'webspace', domId: 1, date: '2026-11-01', before: mail(100n), after: mail(105n) },
      { slice: 'hour-07', operator: 'webspace', domId: 2, date: '2026-11-01', before: mail(200n), after: mail(207n) },
    ]);
    await ledger.releaseLock();
    await ledger.close();
    const { buildSetTrafficPacket } = await import('../../src/plesk/packet.js');
    const { request } = await import('undici');
    const res = await request(`${emulator.url}/enterprise/control/agent.php`, {
      method: 'POST', headers: { 'content-type': 'text/xml', HTTP_AUTH_LOGIN: 'admin', HTTP_AUTH_PASSWD: 'pw-e2e' },
      body: buildSetTrafficPacket('webspace', [{ domId: 1, date: '2026-11-01', ...mail(105n) }]),
    });
    await res.body.text();

    const r = await run();
    expect(r.intents).toEqual({ settledApplied: 1, settledNotApplied: 1, settledAmbiguous: 0 });
    expect(r.nodes).toMatchObject({ alreadyApplied: 1, applied: 1 });
    expect(emulator.traffic(1, '2026-11-01')!.smtp_in).toBe(105n);
    expect(emulator.traffic(2, '2026-11-01')!.smtp_in).toBe(207n);
    expect((await run()).nodes).toMatchObject({ sent: 0, alreadyApplied: 2 });
  });
});

describe('a fatal answer in the middle of sending', () => {
  it('stops the run with exit 2 and starts no further packet', async () => {
    emulator = await startEmulator({ fixture: fixture(), port: 0 });
    const { pipeline } = setup('date,domain,smtp_in\n2026-11-01,example.com,1\n2026-11-02,example.com,2\n2026-11-03,example.com,3\n2026-11-04,example.com,4\n', { target: { batchSize: 1, concurrency: 1 } });
    const client = new PleskClient({ url: emulator.url, auth: { login: 'admin', password: 'pw-e2e' }, concurrency: 1,
      timeouts: { connectMs: 5000, headersMs: 5000, bodyMs: 5000 }, retry: { attempts: 3, minDelayMs: 1, maxDelayMs: 5 } }, silentLogger());
    let sent = 0;
    const api: PleskApi = {
      resolveNames: (...a) => client.resolveNames(...a),
      getTraffic: (...a) => client.getTraffic(...a),
      // The password is changed on the panel once the first packet is answered.
      setTraffic: async (...a) => {
        sent++;
        const out = await client.setTraffic(...a);
        emulator!.state.auth.password = 'rotated';
        return out;
      },
      close: () => client.close(),
    };
    const r = await runPipeline({ pipeline, dryRun: false, env: AUTH, log: silentLogger(), api });
    await client.close();
    expect(r.exitCode).toBe(2);
    expect(r.error?.code).toBe('TI_PLESK_AUTH');
    expect(r.nodes.applied).toBeGreaterThanOrEqual(1);
    expect(emulator.traffic(1, '2026-11-01')!.smtp_in).toBe(1n);
    // The feed runs 2 packets at a time: after the refusal no new packet starts, so the fourth never goes.
    expect(sent).toBeLessThanOrEqual(3);
    expect(emulator.traffic(1, '2026-11-04')).toBeUndefined();
  });
});
