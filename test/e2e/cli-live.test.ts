// The built binary against the emulator: a live run, the lock refusing a second run, `runs`, `probe`.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';
import { cleanEnv, runCli, startCli } from '../support/cli.js';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function fixture(subs: number) {
  return {
    auth: { login: 'admin', password: 'live-pw', secretKeys: ['live-key'] },
    subscriptions: Array.from({ length: subs }, (_, i) => ({ id: i + 1, name: `s${i + 1}.example` })),
    sites: [], plans: [],
    traffic: [{ domId: 1, date: '2026-11-01', http_in: '42', smtp_in: '7', smtp_out: '0', pop3_imap_in: '0', pop3_imap_out: '0' }],
  };
}

function pipeline(dir: string, rows: string[], target: Record<string, unknown> = {}): string {
  writeFileSync(path.join(dir, 'in.csv'), `date,domain,smtp_in\n${rows.join('\n')}\n`);
  const file = path.join(dir, 'nightly.json');
  writeFileSync(file, JSON.stringify({
    source: { type: 'csv', path: 'in.csv' },
    target: { type: 'plesk', url: emulator!.url, batchSize: 1, concurrency: 1, ...target },
    state: { path: './state' },
  }));
  return file;
}

describe('live runs of the binary', () => {
  it('imports with the secret key, never prints it, and lists the run', async () => {
    emulator = await startEmulator({ fixture: fixture(3), port: 0 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-live-'));
    const p = pipeline(dir, ['2026-11-01,s1.example,100', '2026-11-01,s2.example,200']);
    const r = await runCli(['run', p, '--report', path.join(dir, 'r.json')], cleanEnv({ PLESK_SECRET_KEY: 'live-key', LOG_LEVEL: 'debug' }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).not.toContain('live-key');
    expect(emulator.traffic(1, '2026-11-01')).toMatchObject({ smtp_in: 100n, http_in: 42n });
    expect(emulator.traffic(2, '2026-11-01')!.smtp_in).toBe(200n);
    const runs = await runCli(['runs', '--state', path.join(dir, 'state'), '--json'], cleanEnv());
    expect(runs.code).toBe(0);
    const list = JSON.parse(runs.stdout);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ status: 'ok', mode: 'absolute' });
    expect(list[0].counts.nodes.applied).toBe(2);
  });

  it('refuses a second run of the same pipeline while one is active (exit 2, TI_LOCKED)', async () => {
    emulator = await startEmulator({ fixture: fixture(40), port: 0, faults: { latencyMs: 40 } });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-lock-'));
    const p = pipeline(dir, Array.from({ length: 40 }, (_, i) => `2026-11-02,s${i + 1}.example,${i + 1}`));
    const env = cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'live-pw' });
    const first = startCli(['run', p], env);
    // Hold the first run's packets at the panel from its first applied node on: it stays active for sure.
    const release = emulator.hold({ afterNodes: 1 });
    await release.arrived;
    const second = await runCli(['run', p], env);
    release();
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('[TI_LOCKED]');
    const done = await first.done;
    expect(done.code, done.stderr).toBe(0);
    expect(emulator.traffic(40, '2026-11-02')!.smtp_in).toBe(40n);
    // Released: a third run goes through (and finds nothing to change).
    expect((await runCli(['run', p], env)).code).toBe(0);
  });

  it('stops at once with exit 2 on wrong credentials, without a retry storm', async () => {
    emulator = await startEmulator({ fixture: fixture(1), port: 0 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-auth-'));
    const p = pipeline(dir, ['2026-11-01,s1.example,1'], { retry: { attempts: 5, minDelayMs: 1, maxDelayMs: 5 } });
    const r = await runCli(['run', p], cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'wrong-pw' }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('TI_PLESK_AUTH');
    expect(r.stderr).not.toContain('wrong-pw');
    expect(emulator.requests).toBe(1);
  });

  it('probe tells replace from add and restores the day', async () => {
    for (const semantics of ['replace', 'add'] as const) {
      emulator = await startEmulator({ fixture: fixture(1), port: 0, setTrafficSemantics: semantics });
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-probe-'));
      const p = pipeline(dir, ['2026-11-01,s1.example,1']);
      const r = await runCli(['probe', p, '--dom-id', '1', '--date', '2026-11-01'], cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'live-pw' }));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`semantics\\s+${semantics}`));
      expect(r.stdout).toMatch(/http\/ftp reset\s+no/);
      if (semantics === 'replace') {
        expect(r.stdout).toMatch(/restored\s+yes/);
        expect(emulator.traffic(1, '2026-11-01')).toMatchObject({ smtp_in: 7n, smtp_out: 0n, http_in: 42n });
      } else {
        // The emulator refuses negative values (1019), so an adding panel keeps the two small probes.
        expect(r.stdout).toMatch(/restored\s+NO: the day now holds smtp_in 9, smtp_out 4/);
        expect(emulator.traffic(1, '2026-11-01')).toMatchObject({ smtp_in: 9n, smtp_out: 4n, http_in: 42n });
      }
      await emulator.close();
      emulator = undefined;
    }
  });
});
