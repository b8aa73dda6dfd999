// `traffic-import usage` as an operator runs it: the built binary against the emulator, exit codes 0/1/2.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';
import { ROOT, cleanEnv, runCli } from '../support/cli.js';

const PIPELINE = path.join(ROOT, 'pipelines', 'csv-wide.json');
let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ fixture: path.join(ROOT, 'samples', 'plesk-fixture.json') });
});
afterAll(async () => {
  await emu.close();
});

const env = (): NodeJS.ProcessEnv => cleanEnv({ PLESK_URL: emu.url, PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'emulator-password', LOG_LEVEL: 'warn' });

describe('traffic-import usage', () => {
  it('exits 1 with --fail-on-over when a subscription is over, 0 without it', async () => {
    const over = await runCli(['usage', PIPELINE, '--month', '2026-11', '--format', 'json', '--over-only', '--fail-on-over'], env());
    expect(over.code, over.stderr).toBe(1);
    expect(JSON.parse(over.stdout).subscriptions.map((s: { name: string }) => s.name)).toEqual(['bücher.example']);
    const plain = await runCli(['usage', PIPELINE, '--month', '2026-11', '--format', 'csv'], env());
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout.split('\n')[2]).toBe('2,example.net,base_plan,false,notify,107374182400,85899345920,0,0,0.00,ok,2026-11,0,active');
  });

  it('exits 2 for a bad --month or --format, and without credentials', async () => {
    const month = await runCli(['usage', PIPELINE, '--month', '2026-13'], env());
    expect([month.code, month.stderr]).toEqual([2, 'traffic-import: [TI_USAGE] Command-line usage error: --month expects YYYY-MM, got "2026-13"\n']);
    const format = await runCli(['usage', PIPELINE, '--format', 'xml'], env());
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format is table, csv or json');
    const noAuth = await runCli(['usage', PIPELINE, '--month', '2026-11'], cleanEnv({ PLESK_URL: emu.url }));
    expect(noAuth.code).toBe(2);
    expect(noAuth.stderr).toContain('[TI_SECRET_MISSING]');
  });
});
