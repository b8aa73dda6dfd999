// Issue 9 §1: a rejected value never zeroes (or partly replaces) what Plesk recorded. For every reader, a
// (target, day) that lost a value of a metric to a rejection sends nothing for that metric — Plesk keeps its
// recorded value — and the report says which target, day and metric were held back and why.
// Whole flow, in-process: pipeline → reader → normalizer → real client over loopback → emulator.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/config.js';
import { runPipeline } from '../../src/flow.js';
import { silentLogger } from '../../src/log.js';
import { midnightOf } from '../../src/readers/cpanel/tally.js';
import { cpuserFileText, writeSampleBandwidthDb } from '../../src/stand-ins/cpanel-samples/samples.js';
import { startOpensrsMock, type OpensrsMock } from '../../src/stand-ins/opensrs/server.js';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';
import { startWhmMock, type WhmMock } from '../../src/stand-ins/whm/server.js';
import type { RunReport } from '../../src/run/report.js';

const AUTH = { PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw-held' };
const DAY = '2026-11-01';
const OVER = '9223372036854775808'; // xs:long max + 1
/** What Plesk recorded before the run: 1 byte in every mail metric of the day. */
const RECORDED = { smtp_in: '1', smtp_out: '1', pop3_imap_in: '1', pop3_imap_out: '1' };

let emulator: Emulator | undefined;
let whm: WhmMock | undefined;
let opensrs: OpensrsMock | undefined;
afterEach(async () => {
  await emulator?.close();
  await whm?.close();
  await opensrs?.close();
  emulator = whm = opensrs = undefined;
});

async function startPanel(): Promise<Emulator> {
  emulator = await startEmulator({
    fixture: {
      auth: { login: 'admin', password: 'pw-held', secretKeys: [] },
      subscriptions: [{ id: 6, name: 'cpanel-alice.com' }, { id: 8, name: 'opensrs-one.com' }, { id: 9, name: 'a.example' }],
      traffic: [6, 8, 9].map((domId) => ({ domId, date: DAY, ...RECORDED })),
    },
    port: 0,
  });
  return emulator;
}

async function run(dir: string, source: Record<string, unknown>, env: Record<string, string> = {}, reconcile: Record<string, unknown> = {}): Promise<RunReport> {
  const pipeline = parsePipeline({
    source,
    target: { type: 'plesk', url: emulator!.url, batchSize: 10, concurrency: 1 },
    reconcile: { mode: 'absolute', ...reconcile },
    state: { path: './state' },
  }, path.join(dir, 'pipeline.json'));
  return runPipeline({ pipeline, dryRun: false, env: { ...AUTH, ...env }, log: silentLogger(), rejectsPath: path.join(dir, 'rejects.csv') });
}

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ti-held-'));
}

const mail = (domId: number) => {
  const t = emulator!.traffic(domId, DAY)!;
  return { smtp_in: t.smtp_in, smtp_out: t.smtp_out, pop3_imap_in: t.pop3_imap_in, pop3_imap_out: t.pop3_imap_out };
};

/** The report's held-back entries, short. */
const held = (r: RunReport) => r.heldBack.map((h) => [h.target, h.date, h.metric, h.code]);

describe('cPanel: the imap value of a day is past xs:long (the reported case)', () => {
  const midnight = midnightOf(DAY, 'UTC');

  it('api: pop3_imap_out keeps the 1 byte Plesk recorded; smtp_out is imported', async () => {
    await startPanel();
    whm = await startWhmMock({
      accounts: [{ user: 'alice', domain: 'cpanel-alice.com', days: {} }],
      token: 'tok',
      dataFor: { alice: { [String(midnight)]: { smtp: 100, imap: OVER } } },
    });
    const r = await run(tmp(), { type: 'cpanel', from: 'api', url: whm.url }, { WHM_API_TOKEN: 'tok' }, {});
    expect(r.exitCode).toBe(1);
    expect(mail(6)).toEqual({ smtp_in: 1n, smtp_out: 100n, pop3_imap_in: 1n, pop3_imap_out: 1n });
    expect(held(r)).toEqual([['cpanel-alice.com', DAY, 'pop3_imap_out', 'R_OVER_LONG']]);
    expect(r.records.heldBack).toBe(1);
    expect(r.heldBack[0]).toMatchObject({ file: 'alice', rejections: 1, reason: expect.stringContaining('exceeds xs:long') });
  }, 30_000);

  it('sqlite: a 1e19 row holds pop3_imap_out back', async () => {
    await startPanel();
    const dir = tmp();
    await writeSampleBandwidthDb(path.join(dir, 'alice.sqlite'), {
      rows: [
        { interval: 'daily', protocol: 'smtp', unixtime: midnight, bytes: 100 },
        { interval: 'daily', protocol: 'pop3', unixtime: midnight, bytes: 5 },
        { interval: 'daily', protocol: 'imap', unixtime: midnight, bytes: 1e19 },
      ],
    });
    writeFileSync(path.join(dir, 'map.csv'), 'alice,cpanel-alice.com\n');
    const r = await run(dir, { type: 'cpanel', from: 'sqlite', path: 'alice.sqlite', accountMap: 'map.csv' });
    expect(r.exitCode).toBe(1);
    // pop3's 5 bytes alone would be a partial value: nothing is sent for the metric.
    expect(mail(6)).toEqual({ smtp_in: 1n, smtp_out: 100n, pop3_imap_in: 1n, pop3_imap_out: 1n });
    expect(held(r)).toEqual([['cpanel-alice.com', DAY, 'pop3_imap_out', 'R_OVER_LONG']]);
  }, 30_000);

  it('backup: a row past xs:long in bandwidth_db_data.json holds the metric back', async () => {
    await startPanel();
    const dir = tmp();
    const dump = path.join(dir, 'cpmove-alice');
    mkdirSync(path.join(dump, 'cp'), { recursive: true });
    writeFileSync(path.join(dump, 'cp', 'alice'), cpuserFileText('alice', 'cpanel-alice.com'));
    writeFileSync(path.join(dump, 'bandwidth_db.json'), JSON.stringify({ version: 3, domains: { UNKNOWN: 1 } }));
    writeFileSync(path.join(dump, 'bandwidth_db_data.json'), `${JSON.stringify([
      { domain_id: 1, protocol: 'smtp', unixtime: midnight, bytes: 100, interval: 'daily' },
      { domain_id: 1, protocol: 'imap', unixtime: midnight, bytes: OVER, interval: 'daily' },
    ])}\n`);
    const r = await run(dir, { type: 'cpanel', from: 'backup', path: 'cpmove-alice' });
    expect(r.exitCode).toBe(1);
    expect(mail(6)).toEqual({ smtp_in: 1n, smtp_out: 100n, pop3_imap_in: 1n, pop3_imap_out: 1n });
    expect(held(r)).toEqual([['cpanel-alice.com', DAY, 'pop3_imap_out', 'R_OVER_LONG']]);
  }, 30_000);

  it('legacy: an imap line of 1e19 holds the metric back', async () => {
    await startPanel();
    const dir = tmp();
    mkdirSync(path.join(dir, 'bw'));
    writeFileSync(path.join(dir, 'bw', 'alice'), '11.1.2026-smtp=100\n11.1.2026-pop3=5\n11.1.2026-imap=1e19\n');
    writeFileSync(path.join(dir, 'map.csv'), 'alice,cpanel-alice.com\n');
    const r = await run(dir, { type: 'cpanel', from: 'legacy', path: 'bw', accountMap: 'map.csv' });
    expect(r.exitCode).toBe(1);
    expect(mail(6)).toEqual({ smtp_in: 1n, smtp_out: 100n, pop3_imap_in: 1n, pop3_imap_out: 1n });
    expect(held(r)).toEqual([['cpanel-alice.com', DAY, 'pop3_imap_out', 'R_OVER_LONG']]);
    expect(r.heldBack[0]).toMatchObject({ file: path.join(dir, 'bw', 'alice'), line: 3 });
  }, 30_000);
});

describe('OpenSRS', () => {
  it('an in_size past xs:long: smtp_in keeps what Plesk recorded and is reported held back', async () => {
    await startPanel();
    opensrs = await startOpensrsMock({ user: 'u', password: 'p', domains: { 'opensrs-one.com': { '20261101': { in_size: OVER, out_size: 7 } } } });
    const r = await run(tmp(), { type: 'opensrs', url: opensrs.url, domains: ['opensrs-one.com'] }, { OPENSRS_USER: 'u', OPENSRS_PASSWORD: 'p' });
    expect(r.exitCode).toBe(1);
    expect(mail(8)).toEqual({ smtp_in: 1n, smtp_out: 7n, pop3_imap_in: 1n, pop3_imap_out: 1n });
    expect(held(r)).toEqual([['opensrs-one.com', DAY, 'smtp_in', 'R_OVER_LONG']]);
  }, 30_000);
});

describe('CSV: a rejected row among several rows of the same key', () => {
  it('wide: every metric the rejected row had a value for is held; the others are summed and sent', async () => {
    await startPanel();
    const dir = tmp();
    writeFileSync(path.join(dir, 'in.csv'), [
      'date,domain,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out',
      `${DAY},a.example,5,10,,2`,
      `${DAY},a.example,x,,,3`, // rejected: it carried smtp_in and pop3_imap_out
      `${DAY},a.example,6,20,4,`,
    ].join('\n'));
    const r = await run(dir, { type: 'csv', path: 'in.csv' });
    expect(r.exitCode).toBe(1);
    // Today's partial sums would have been smtp_in 11 and pop3_imap_out 2: both kept as recorded.
    expect(mail(9)).toEqual({ smtp_in: 1n, smtp_out: 30n, pop3_imap_in: 4n, pop3_imap_out: 1n });
    expect(held(r)).toEqual([['a.example', DAY, 'smtp_in', 'R_NOT_NUMERIC'], ['a.example', DAY, 'pop3_imap_out', 'R_NOT_NUMERIC']]);
    expect(r.heldBack[0]).toMatchObject({ file: 'in.csv', line: 3, reason: 'smtp_in: not a number: "x"' });
    const rejects = readFileSync(path.join(dir, 'rejects.csv'), 'utf8');
    expect(rejects.trim().split('\n')).toHaveLength(2); // header + the one row, no extra column
  }, 30_000);

  it('long: a rejected bytes value holds its metric; unknown protocol holds every metric of its direction', async () => {
    await startPanel();
    const dir = tmp();
    writeFileSync(path.join(dir, 'in.csv'), [
      'date,domain,protocol,direction,bytes',
      `${DAY},a.example,smtp,in,5`,
      `${DAY},a.example,smtp,in,-3`, // rejected: smtp_in
      `${DAY},a.example,imap,out,40`,
      `${DAY},a.example,uucp,out,9`, // rejected, protocol unknown: smtp_out and pop3_imap_out
      `${DAY},a.example,pop3,in,8`,
    ].join('\n'));
    const r = await run(dir, { type: 'csv', path: 'in.csv', layout: 'long' });
    expect(r.exitCode).toBe(1);
    expect(mail(9)).toEqual({ smtp_in: 1n, smtp_out: 1n, pop3_imap_in: 8n, pop3_imap_out: 1n });
    expect(held(r)).toEqual([
      ['a.example', DAY, 'smtp_in', 'R_NEGATIVE'],
      ['a.example', DAY, 'smtp_out', 'R_BAD_PROTOCOL'],
      ['a.example', DAY, 'pop3_imap_out', 'R_BAD_PROTOCOL'],
    ]);
  }, 30_000);

  it('a sum past xs:long over two good rows holds the metric back too', async () => {
    await startPanel();
    const dir = tmp();
    writeFileSync(path.join(dir, 'in.csv'), `date,domain,smtp_in,smtp_out\n${DAY},a.example,5000000000000000000,3\n${DAY},a.example,5000000000000000000,\n`);
    const r = await run(dir, { type: 'csv', path: 'in.csv' });
    expect(mail(9)).toEqual({ smtp_in: 1n, smtp_out: 3n, pop3_imap_in: 1n, pop3_imap_out: 1n });
    expect(held(r)).toEqual([['a.example', DAY, 'smtp_in', 'R_OVER_LONG']]);
  }, 30_000);

  it('additive: the node is held whole, and re-running the fixed input under the same slice applies it once', async () => {
    await startPanel();
    const dir = tmp();
    const file = path.join(dir, 'in.csv');
    writeFileSync(file, `date,domain,smtp_in,smtp_out\n${DAY},a.example,5,7\n${DAY},a.example,x,1\n2026-11-02,a.example,2,2\n`);
    const first = await run(dir, { type: 'csv', path: 'in.csv' }, {}, { mode: 'additive', slice: 'hour-10' });
    expect(first.exitCode).toBe(1);
    // Nothing added to the held node (not even smtp_out): it is not marked applied either.
    expect(mail(9)).toEqual({ smtp_in: 1n, smtp_out: 1n, pop3_imap_in: 1n, pop3_imap_out: 1n });
    expect(emulator!.traffic(9, '2026-11-02')).toMatchObject({ smtp_in: 2n, smtp_out: 2n });
    expect(held(first)).toEqual([
      ['a.example', DAY, 'smtp_in', 'R_NOT_NUMERIC'],
      ['a.example', DAY, 'smtp_out', 'R_NOT_NUMERIC'],
    ]);
    // The operator fixes row 3 and runs the same slice again: only the held node is applied.
    writeFileSync(file, `date,domain,smtp_in,smtp_out\n${DAY},a.example,5,7\n${DAY},a.example,4,1\n2026-11-02,a.example,2,2\n`);
    const second = await run(dir, { type: 'csv', path: 'in.csv' }, {}, { mode: 'additive', slice: 'hour-10' });
    expect(second.exitCode).toBe(0);
    expect(second.nodes).toMatchObject({ alreadyApplied: 1, applied: 1 });
    expect(mail(9)).toEqual({ smtp_in: 10n, smtp_out: 9n, pop3_imap_in: 1n, pop3_imap_out: 1n });
    expect(emulator!.traffic(9, '2026-11-02')).toMatchObject({ smtp_in: 2n, smtp_out: 2n });
  }, 30_000);
});
