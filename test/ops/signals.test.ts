// SIGTERM and SIGINT with real signals on the built CLI: no new packet after the signal, in-flight packets get
// the grace time, then the report, the metrics (file and Pushgateway) and the run record are written and the
// process exits 143/130; a second signal exits at once; the next run converges without double counting.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import parse, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';
import { startPushgatewayStandIn, type PushgatewayStandIn } from '../../src/stand-ins/pushgateway/server.js';
import { cleanEnv, runCli, startCli } from '../support/cli.js';

let emulator: Emulator | undefined;
let gateway: PushgatewayStandIn | undefined;
afterEach(async () => {
  await emulator?.close();
  await gateway?.close();
  emulator = undefined;
  gateway = undefined;
});

const N = 8;
const DAY = '2026-11-05';

async function panel(latencyMs: number): Promise<Emulator> {
  emulator = await startEmulator({
    fixture: {
      auth: { login: 'admin', password: 'pw', secretKeys: [] },
      subscriptions: Array.from({ length: N }, (_, i) => ({ id: i + 1, name: `s${i + 1}.example` })),
      sites: [], plans: [],
      // Recorded before: additive runs add to it, absolute runs replace it.
      traffic: Array.from({ length: N }, (_, i) => ({ domId: i + 1, date: DAY, http_in: '5', smtp_in: '1000', smtp_out: '0', pop3_imap_in: '0', pop3_imap_out: '0' })),
    },
    port: 0,
    faults: { latencyMs },
  });
  return emulator;
}

/** One node per packet, one packet at a time: the run lasts N × latency, and packet k+1 follows packet k. */
function pipeline(dir: string, mode: 'absolute' | 'additive'): string {
  writeFileSync(path.join(dir, 'in.csv'), `date,domain,smtp_in\n${Array.from({ length: N }, (_, i) => `${DAY},s${i + 1}.example,${(i + 1) * 10}`).join('\n')}\n`);
  const file = path.join(dir, 'nightly.json');
  writeFileSync(file, JSON.stringify({
    source: { type: 'csv', path: 'in.csv' },
    target: { type: 'plesk', url: emulator!.url, batchSize: 1, concurrency: 1 },
    reconcile: { mode },
  }));
  return file;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

/**
 * Holds the set_traffic packet after the `applied`-th one at the emulator, and resolves once it has arrived: it is
 * in flight for as long as the test wants (no latency race). Returns the function that lets it be answered.
 */
async function holdPacketInFlight(e: Emulator, applied: number): Promise<() => void> {
  // Armed now, closed by the emulator the moment the `applied`-th node lands: the next packet cannot slip past.
  const release = e.hold({ afterNodes: applied });
  await release.arrived;
  return release;
}

/** Resolves when the child has printed `text` on stderr (the CLI's own signal, not a clock). */
function stderrSays(child: ReturnType<typeof startCli>['child'], text: string): Promise<void> {
  let seen = '';
  return new Promise((resolve) => {
    const on = (d: Buffer): void => {
      seen += d.toString();
      if (seen.includes(text)) {
        child.stderr!.off('data', on);
        resolve();
      }
    };
    child.stderr!.on('data', on);
  });
}

const STOPPING = 'stopping: no new packet';

function metric(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const m = families.find((f) => f.name === name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

const held = (e: Emulator) => Array.from({ length: N }, (_, i) => e.traffic(i + 1, DAY)!.smtp_in);

describe('signals on the built CLI', () => {
  it('SIGTERM mid-run: the packet in flight lands, no new one starts; exit 143 with report, metrics, push and run record; a re-run converges', async () => {
    const e = await panel(20);
    gateway = await startPushgatewayStandIn();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-sigterm-'));
    const p = pipeline(dir, 'absolute');
    const env = cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw', PUSHGATEWAY_URL: gateway.url });
    const args = ['run', p, '--state', path.join(dir, 'state'), '--metrics-file', path.join(dir, 'metrics', 'ti.prom'), '--json-logs'];
    const run = startCli([...args, '--report', path.join(dir, 'r1.json')], env);
    const release = await holdPacketInFlight(e, 3);
    const stopping = stderrSays(run.child, STOPPING);
    run.child.kill('SIGTERM');
    await stopping;
    release();
    const r = await run.done;
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain('"msg":"stopping: no new packet; packets in flight get the grace time (a second signal exits at once)"');
    expect(r.stderr).toContain('traffic-import INTERRUPTED');
    expect(r.stderr).toContain('stopped   by SIGTERM: 4 of 8 planned nodes sent, 4 answered');

    // The fourth packet (in flight at the signal) landed and was counted; nothing after it was sent.
    expect(e.setTrafficNodes).toBe(4);
    expect(held(e)).toEqual([10n, 20n, 30n, 40n, 1000n, 1000n, 1000n, 1000n]);
    const report = JSON.parse(readFileSync(path.join(dir, 'r1.json'), 'utf8'));
    expect(report).toMatchObject({ status: 'interrupted', exitCode: 143, interrupted: { signal: 'SIGTERM' }, packets: 4 });
    expect(report.nodes).toMatchObject({ planned: 8, sent: 4, applied: 4, failed: 0 });

    const m = parse(readFileSync(path.join(dir, 'metrics', 'ti.prom'), 'utf8'));
    expect(metric(m, 'traffic_import_last_exit_code', { pipeline: 'nightly' })).toBe(143);
    expect(metric(m, 'traffic_import_nodes_total', { pipeline: 'nightly', outcome: 'applied' })).toBe(4);
    expect(metric(m, 'traffic_import_nodes_total', { pipeline: 'nightly', outcome: 'not_sent' })).toBe(4);
    expect(metric(m, 'traffic_import_last_success_timestamp_seconds', { pipeline: 'nightly' })).toBeUndefined();
    const pushed = gateway.groups.get('job=traffic-import,pipeline=nightly')!;
    expect(metric(pushed.families, 'traffic_import_last_exit_code')).toBe(143);
    expect(metric(pushed.families, 'traffic_import_packets_total')).toBe(4);

    const runs = JSON.parse((await runCli(['runs', p, '--state', path.join(dir, 'state'), '--json'], env)).stdout);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'interrupted', counts: { nodes: { applied: 4, sent: 4, planned: 8 }, packets: 4 } });

    const again = await runCli([...args, '--report', path.join(dir, 'r2.json')], env);
    expect(again.code, again.stderr).toBe(0);
    expect(held(e)).toEqual([10n, 20n, 30n, 40n, 50n, 60n, 70n, 80n]);
    expect(JSON.parse(readFileSync(path.join(dir, 'r2.json'), 'utf8')).nodes).toMatchObject({ unchanged: 4, applied: 4 });
    const m2 = parse(readFileSync(path.join(dir, 'metrics', 'ti.prom'), 'utf8'));
    expect(metric(m2, 'traffic_import_last_exit_code', { pipeline: 'nightly' })).toBe(0);
    expect(metric(m2, 'traffic_import_last_success_timestamp_seconds', { pipeline: 'nightly' })).toBeGreaterThan(Date.now() / 1000 - 600);
  });

  it('SIGINT: exit 130, status interrupted', async () => {
    const e = await panel(20);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-sigint-'));
    const p = pipeline(dir, 'absolute');
    const run = startCli(['run', p, '--state', path.join(dir, 'state'), '--report', path.join(dir, 'r.json')], cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw' }));
    const release = await holdPacketInFlight(e, 1);
    const stopping = stderrSays(run.child, STOPPING);
    run.child.kill('SIGINT');
    await stopping;
    release();
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(JSON.parse(readFileSync(path.join(dir, 'r.json'), 'utf8'))).toMatchObject({ status: 'interrupted', exitCode: 130, interrupted: { signal: 'SIGINT' } });
    expect(e.setTrafficNodes).toBe(2);
  });

  it('grace over: a packet still in flight is left to the next run, whose intents settle it without double counting (additive)', async () => {
    const e = await panel(20);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-grace-'));
    const p = pipeline(dir, 'additive');
    const env = cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw' });
    const args = ['run', p, '--state', path.join(dir, 'state')];
    const run = startCli([...args, '--grace', '0.2', '--report', path.join(dir, 'r1.json')], env);
    const release = await holdPacketInFlight(e, 1);
    run.child.kill('SIGTERM');
    const r = await run.done;
    // The emulator answers the held packet only now, after the run gave up on it.
    release();
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain('grace time over');
    // The run ended before the emulator answered the second packet; the emulator applies it after all.
    const report = JSON.parse(readFileSync(path.join(dir, 'r1.json'), 'utf8'));
    expect(report.nodes).toMatchObject({ planned: 8, sent: 2, applied: 1, failed: 0 });
    await until(() => e.setTrafficNodes === 2);
    const again = await runCli([...args, '--report', path.join(dir, 'r2.json')], env);
    expect(again.code, again.stderr).toBe(0);
    const r2 = JSON.parse(readFileSync(path.join(dir, 'r2.json'), 'utf8'));
    // The packet in flight was applied by Plesk after the run had gone; the next one (its intent written, waiting
    // for its turn) never left: each settled by reading what Plesk holds.
    expect(r2.intents).toEqual({ settledApplied: 1, settledNotApplied: 1, settledAmbiguous: 0 });
    expect(r2.nodes).toMatchObject({ alreadyApplied: 2, applied: 6 });
    // 1000 recorded before + the slice's value, once each.
    expect(held(e)).toEqual(Array.from({ length: N }, (_, i) => 1000n + BigInt((i + 1) * 10)));
  });

  it('a second signal exits at once (no report); the next run settles the packet that was in flight', async () => {
    const e = await panel(20);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-twice-'));
    const p = pipeline(dir, 'additive');
    const env = cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw' });
    const args = ['run', p, '--state', path.join(dir, 'state')];
    const run = startCli([...args, '--report', path.join(dir, 'r1.json')], env);
    const release = await holdPacketInFlight(e, 2);
    const stopping = stderrSays(run.child, STOPPING);
    run.child.kill('SIGTERM');
    await stopping;
    run.child.kill('SIGTERM');
    const r = await run.done;
    release();
    expect(r.code).toBe(143);
    expect(r.stderr).toContain('second signal: exiting now');
    expect(existsSync(path.join(dir, 'r1.json'))).toBe(false);
    await until(() => e.setTrafficNodes === 3);
    const again = await runCli([...args, '--report', path.join(dir, 'r2.json')], env);
    expect(again.code, again.stderr).toBe(0);
    const r2 = JSON.parse(readFileSync(path.join(dir, 'r2.json'), 'utf8'));
    expect(r2.intents.settledApplied).toBe(1);
    expect(held(e)).toEqual(Array.from({ length: N }, (_, i) => 1000n + BigInt((i + 1) * 10)));
    // The killed run is listed as interrupted.
    const runs = JSON.parse((await runCli(['runs', p, '--state', path.join(dir, 'state'), '--json'], env)).stdout);
    expect(runs.map((x: { status: string }) => x.status)).toEqual(['ok', 'interrupted']);
  });
});
