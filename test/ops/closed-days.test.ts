// Closed days only: by default a run imports the days that are over in the panel's zone (target.timezone); today
// and later are skipped and counted (records.open); --include-open-days imports them. And a file source that
// yields nothing exits 1 unless source.allowEmpty.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';
import { cleanEnv, runCli } from '../support/cli.js';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

/** The calendar day `offset` days from today in `zone`, computed with Intl (independently of src/dates). */
function dayIn(zone: string, offset = 0): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date());
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const d = new Date(Date.UTC(get('year'), get('month') - 1, get('day') + offset));
  return d.toISOString().slice(0, 10);
}

async function setup(zone: string | undefined, rows: string[], source: Record<string, unknown> = {}) {
  emulator = await startEmulator({
    fixture: { auth: { login: 'admin', password: 'pw', secretKeys: [] }, subscriptions: [{ id: 1, name: 'a.example' }], sites: [], plans: [], traffic: [] },
    port: 0,
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-open-'));
  writeFileSync(path.join(dir, 'in.csv'), `date,domain,smtp_in\n${rows.join('\n')}${rows.length ? '\n' : ''}`);
  const file = path.join(dir, 'p.json');
  writeFileSync(file, JSON.stringify({
    source: { type: 'csv', path: 'in.csv', ...source },
    target: { type: 'plesk', url: emulator.url, ...(zone ? { timezone: zone } : {}) },
  }));
  const env = cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw' });
  const run = async (...extra: string[]) => {
    const r = await runCli(['run', file, '--state', path.join(dir, 'state'), '--report', path.join(dir, 'r.json'), ...extra], env);
    return { ...r, report: JSON.parse(readFileSync(path.join(dir, 'r.json'), 'utf8')) };
  };
  return { dir, run };
}

describe('closed days only', () => {
  // The two zones furthest apart: at any moment their "today" differs, so the zone decides what is open.
  for (const zone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago']) {
    it(`${zone}: yesterday is imported; today and tomorrow are open, counted, and imported with --include-open-days`, async () => {
      const [y, t, tm] = [dayIn(zone, -1), dayIn(zone, 0), dayIn(zone, 1)];
      const { run } = await setup(zone, [`${y},a.example,100`, `${t},a.example,200`, `${t},a.example,5`, `${tm},a.example,300`]);
      const first = await run();
      expect(first.code, first.stderr).toBe(0);
      expect(first.report.records).toMatchObject({ read: 4, open: 3, skipped: 0, normalized: 1 });
      expect(first.stderr).toContain('open days 3');
      expect(emulator!.traffic(1, y)!.smtp_in).toBe(100n);
      expect(emulator!.traffic(1, t)).toBeUndefined();

      const all = await run('--include-open-days');
      expect(all.code, all.stderr).toBe(0);
      expect(all.report.records).toMatchObject({ read: 4, open: 0, normalized: 3 });
      expect(all.report.nodes).toMatchObject({ unchanged: 1, applied: 2 });
      expect(emulator!.traffic(1, t)!.smtp_in).toBe(205n);
      expect(emulator!.traffic(1, tm)!.smtp_in).toBe(300n);
    });
  }

  it('the default zone is UTC; a row outside --from/--to counts as skipped, not open', async () => {
    const [y, t] = [dayIn('UTC', -1), dayIn('UTC', 0)];
    const { run } = await setup(undefined, [`${y},a.example,1`, `${t},a.example,2`]);
    const r = await run('--to', y);
    expect(r.report.records).toMatchObject({ read: 2, skipped: 1, open: 0 });
    const r2 = await run('--from', y);
    expect(r2.report.records).toMatchObject({ read: 2, skipped: 0, open: 1 });
  });

  it('an invalid target.timezone is a configuration error naming the key', async () => {
    const { dir } = await setup('Mars/Olympus', []);
    for (const cmd of ['validate', 'run']) {
      const v = await runCli([cmd, path.join(dir, 'p.json')], cleanEnv());
      expect(v.code).toBe(2);
      expect(v.stderr).toContain('target.timezone: expected an IANA time zone name');
    }
  });
});

describe('empty exports', () => {
  it('a header-only CSV exits 1 with a clear message; allowEmpty: true makes it exit 0', async () => {
    const { run } = await setup(undefined, []);
    const r = await run();
    expect(r.code).toBe(1);
    expect(r.report.status).toBe('partial');
    expect(r.report.emptySource.message).toMatch(/the source yielded no records \(a header-only export\?\); set source\.allowEmpty: true/);
    expect(r.stderr).toContain('  empty     csv');

    await emulator!.close();
    const ok = await (await setup(undefined, [], { allowEmpty: true })).run();
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.report.emptySource).toBeUndefined();
  });

  it('rows that are all rejected, or all outside the window, are not "empty"', async () => {
    const rejected = await (await setup(undefined, ['2026-11-01,a.example,-5'])).run();
    await emulator!.close();
    expect(rejected.code).toBe(1);
    expect(rejected.report.emptySource).toBeUndefined();
    expect(rejected.report.records.rejected).toBe(1);
    const outside = await (await setup(undefined, ['2026-11-01,a.example,5'])).run('--from', '2026-11-02', '--to', '2026-11-03');
    expect(outside.code, outside.stderr).toBe(0);
    expect(outside.report.records.skipped).toBe(1);
  });

  it('a file without even a header stays fatal (exit 2)', async () => {
    const { dir } = await setup(undefined, []);
    writeFileSync(path.join(dir, 'in.csv'), '');
    const r = await runCli(['run', path.join(dir, 'p.json'), '--state', path.join(dir, 'state')], cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw' }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[TI_SOURCE_HEADER]');
  });
});
