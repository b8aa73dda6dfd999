// Crash safety, proved (40 subscriptions × 30 days = 1,200 nodes, 4 per packet, so every kill lands
// before the import could finish): the CLI is SIGKILLed at random moments during a large import against the
// emulator (a separate server in this process), re-run, and the emulator's final values must equal the
// expected ones exactly — for absolute, cumulative and additive — over 10 kill points per mode.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorFixture } from '../../src/stand-ins/plesk/index.js';
import { mulberry32 } from '../../src/stand-ins/plesk/faults.js';
import { cleanEnv, runCli, startCli } from '../support/cli.js';

const SUBS = 40;
const DAYS = 30;
const KILLS = 10;

const day = (d: number) => `2026-11-${String(d).padStart(2, '0')}`;

function fixture(recorded: (i: number, d: number) => bigint | undefined): EmulatorFixture {
  const traffic: NonNullable<EmulatorFixture['traffic']> = [];
  for (let i = 1; i <= SUBS; i++) {
    for (let d = 1; d <= DAYS; d++) {
      const v = recorded(i, d);
      if (v !== undefined) traffic.push({ domId: i, date: day(d), http_in: '777', http_out: '888', smtp_in: v.toString(), smtp_out: '0', pop3_imap_in: '5', pop3_imap_out: '0' });
    }
  }
  return {
    auth: { login: 'admin', password: 'crash-password', secretKeys: [] },
    subscriptions: Array.from({ length: SUBS }, (_, k) => ({ id: k + 1, name: `d${k + 1}.example` })),
    sites: [],
    plans: [],
    traffic,
  };
}

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function killAndRerun(mode: string, csv: string, seed: number): Promise<{ kills: number; midRun: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ti-crash-${mode}-`));
  writeFileSync(path.join(dir, 'traffic.csv'), csv);
  const pipeline = path.join(dir, 'pipeline.json');
  writeFileSync(pipeline, JSON.stringify({
    source: { type: 'csv', path: 'traffic.csv', layout: 'wide' },
    target: { type: 'plesk', url: emulator!.url, operator: 'webspace', batchSize: 4, concurrency: 2, retry: { attempts: 3, minDelayMs: 10, maxDelayMs: 50 } },
    reconcile: { mode },
    state: { path: './state' },
  }));
  const env = cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'crash-password', LOG_LEVEL: 'warn' });
  const random = mulberry32(seed); // deterministic, so a failure can be replayed
  let kills = 0;
  let midRun = 0;
  for (let k = 0; k < KILLS; k++) {
    const before = emulator!.setTrafficNodes;
    const { child, done } = startCli(['run', pipeline], env);
    let timer: NodeJS.Timeout;
    if (k % 3 === 2) {
      // A kill at a random moment of start-up, reading, resolving or the first packets.
      timer = setTimeout(() => child.kill('SIGKILL'), 100 + Math.floor(random() * 400));
    } else {
      // A kill once a random number of nodes of this run has been applied: squarely mid-send.
      const after = 1 + Math.floor(random() * 40);
      timer = setInterval(() => { if (emulator!.setTrafficNodes - before >= after) child.kill('SIGKILL'); }, 1);
    }
    const r = await done;
    clearInterval(timer);
    if (r.signal === 'SIGKILL') {
      kills++;
      if (emulator!.setTrafficNodes > before) midRun++;
    } else {
      expect(r.code, r.stderr).toBeLessThanOrEqual(1);
    }
  }
  const final = await runCli(['run', pipeline, '--report', path.join(dir, 'report.json')], env);
  expect(final.code, final.stderr).toBe(0);
  // A further run finds nothing to do.
  const again = await runCli(['run', pipeline, '--report', path.join(dir, 'again.json')], env);
  expect(again.code, again.stderr).toBe(0);
  const { readFileSync } = await import('node:fs');
  const report = JSON.parse(readFileSync(path.join(dir, 'again.json'), 'utf8'));
  expect(report.nodes.sent).toBe(0);
  return { kills, midRun };
}

function csvOf(value: (i: number, d: number) => bigint, column: string): string {
  const rows = [`date,domain,${column}`];
  for (let d = 1; d <= DAYS; d++) for (let i = 1; i <= SUBS; i++) rows.push(`${day(d)},d${i}.example,${value(i, d)}`);
  return `${rows.join('\n')}\n`;
}

describe('SIGKILL at random moments, then re-run', () => {
  it('absolute: final values equal the source exactly', async () => {
    emulator = await startEmulator({ fixture: fixture((i, d) => (d % 3 === 0 ? BigInt(i) : undefined)), port: 0, faults: { latencyMs: 8 } });
    const v = (i: number, d: number) => 9007199254740993n + BigInt(i * 1000 + d);
    const { kills, midRun } = await killAndRerun('absolute', csvOf(v, 'smtp_in'), 1);
    expect(kills).toBeGreaterThanOrEqual(KILLS - 1);
    expect(midRun).toBeGreaterThanOrEqual(5);
    for (let i = 1; i <= SUBS; i++) {
      for (let d = 1; d <= DAYS; d++) {
        const t = emulator.traffic(i, day(d))!;
        expect(t.smtp_in).toBe(v(i, d));
        expect(t.pop3_imap_in).toBe(d % 3 === 0 ? 5n : 0n);
        if (d % 3 === 0) expect(t.http_in).toBe(777n);
      }
    }
  });

  it('cumulative: month-to-date totals become exact per-day values', async () => {
    emulator = await startEmulator({ fixture: fixture(() => undefined), port: 0, faults: { latencyMs: 8 } });
    const daily = (i: number, d: number) => BigInt(i * 100 + ((d * 37) % 11));
    const total = (i: number, d: number) => { let s = 0n; for (let x = 1; x <= d; x++) s += daily(i, x); return s; };
    const { kills, midRun } = await killAndRerun('cumulative', csvOf(total, 'smtp_out'), 2);
    expect(kills).toBeGreaterThanOrEqual(KILLS - 1);
    expect(midRun).toBeGreaterThanOrEqual(5);
    for (let i = 1; i <= SUBS; i++) for (let d = 1; d <= DAYS; d++) expect(emulator.traffic(i, day(d))!.smtp_out).toBe(daily(i, d));
  });

  it('additive: every increment lands exactly once', async () => {
    const recorded = (i: number, d: number) => BigInt(1000 * i + d);
    emulator = await startEmulator({ fixture: fixture(recorded), port: 0, faults: { latencyMs: 8 } });
    const inc = (i: number, d: number) => BigInt(7 * i + d);
    const { kills, midRun } = await killAndRerun('additive', csvOf(inc, 'smtp_in'), 3);
    expect(kills).toBeGreaterThanOrEqual(KILLS - 1);
    expect(midRun).toBeGreaterThanOrEqual(5);
    for (let i = 1; i <= SUBS; i++) for (let d = 1; d <= DAYS; d++) expect(emulator.traffic(i, day(d))!.smtp_in).toBe(recorded(i, d) + inc(i, d));
  });
});
