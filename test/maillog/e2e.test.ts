// The maillog source end to end: the built binary reads a small log on standard input and imports it into the
// Plesk emulator (loopback); the values are computed by hand from the real lines used. A second run of the same
// log sends nothing (absolute values per day). A line that cannot be attributed reaches the reject file.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';
import { cleanEnv, runCli } from '../support/cli.js';
import { captured, linesWith } from './helpers.js';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

/** Lines with their classic stamp replaced (`Nov  2 10:00:00`). */
const restamp = (lines: string[], stamp: string) => lines.map((l) => stamp + l.slice(15));

// 11-01 (partial): Postfix starting. 11-02 (whole): frank@beta.example (SASL) → friend@remote.example and
// carol@beta.example, size 20162; carl@remote.example → alice@alpha.example through the content filter (the copy
// 4jfPsy2pL1zJ9FH, size 4429); alice's IMAP session in=30205 out=20267. 11-03 (partial): Dovecot stopping.
function smallLog(): string {
  const all = captured('mail.log');
  return [
    ...restamp(all.slice(1, 3), 'Nov  1 23:58:00'),
    ...restamp(linesWith('mail.log', '4jfPsy3584zJ9Gh', '4jfPsy1sQdzJ9BS', '4jfPsy2pL1zJ9FH'), 'Nov  2 10:00:00'),
    ...restamp(linesWith('mail.log', 'imap(alice@alpha.example)'), 'Nov  2 10:05:00'),
    ...restamp(all.slice(-1), 'Nov  3 00:01:00'),
  ].join('\n') + '\n';
}

function setup(source: Record<string, unknown> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-maillog-e2e-'));
  const file = path.join(dir, 'maillog.json');
  writeFileSync(file, JSON.stringify({
    source: { type: 'maillog', paths: ['-'], timezone: 'Europe/Berlin', year: 2026, ignoreDomains: ['mail.hosting.example'], ...source },
    target: { type: 'plesk', url: emulator!.url, operator: 'webspace' },
    reconcile: { mode: 'absolute' },
    state: { path: './state' },
  }));
  return { dir, file, env: cleanEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'e2e-pw' }) };
}

const FIXTURE = {
  auth: { login: 'admin', password: 'e2e-pw', secretKeys: [] },
  subscriptions: [{ id: 21, name: 'alpha.example' }, { id: 22, name: 'beta.example' }],
  sites: [],
  plans: [],
  // What Plesk already holds for alpha on 11-02: http stays, the mail values are replaced by the log's.
  traffic: [{ domId: 21, date: '2026-11-02', http_in: '777', http_out: '888', smtp_in: '1', smtp_out: '2', pop3_imap_in: '3', pop3_imap_out: '4' }],
};

describe('maillog end to end (binary, stdin, emulator)', () => {
  it('imports the whole day with hand-computed values; a second run sends nothing', async () => {
    emulator = await startEmulator({ fixture: FIXTURE, port: 0 });
    const { dir, file, env } = setup();
    const report = path.join(dir, 'report.json');
    const r = await runCli(['run', file, '--report', report], env, { input: smallLog() });
    expect(r.code, r.stderr).toBe(0);
    expect(emulator.traffic(21, '2026-11-02')).toMatchObject({ http_in: 777n, http_out: 888n, smtp_in: 4429n, smtp_out: 0n, pop3_imap_in: 30205n, pop3_imap_out: 20267n });
    expect(emulator.traffic(22, '2026-11-02')).toMatchObject({ smtp_in: 20162n, smtp_out: 20162n + 20162n, pop3_imap_in: 0n, pop3_imap_out: 0n });
    expect(emulator.traffic(21, '2026-11-01')).toBeUndefined();
    expect(emulator.traffic(22, '2026-11-03')).toBeUndefined();
    const rep = JSON.parse(readFileSync(report, 'utf8'));
    expect(rep.nodes).toMatchObject({ sent: 2, applied: 2, failed: 0 });
    expect(rep.run.source).toBe('maillog');
    expect(rep.ignored).toMatchObject({
      'maillog: filter hops (counted on the re-injected copy)': 1,
      'maillog: partial first/last days skipped': 2,
    });
    expect(r.stderr).toContain('ignored   1 maillog: filter hops (counted on the re-injected copy)');

    const again = await runCli(['run', file, '--report', report], env, { input: smallLog() });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(readFileSync(report, 'utf8')).nodes).toMatchObject({ sent: 0, unchanged: 2 });
  });

  it('an unattributable Dovecot login is rejected with file, line and reason; the rest is imported; exit 1', async () => {
    emulator = await startEmulator({ fixture: FIXTURE, port: 0 });
    const { dir, file, env } = setup();
    const log = smallLog().replace('\nNov  3', `\n${restamp(linesWith('mail.log', 'imap(legacy)'), 'Nov  2 10:06:00')[0]}\nNov  3`);
    const rejects = path.join(dir, 'rejects.jsonl');
    const r = await runCli(['run', file, '--rejects', rejects], env, { input: log });
    expect(r.code, r.stderr).toBe(1);
    const rows = readFileSync(rejects, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const line = log.split('\n').findIndex((l) => l.includes('imap(legacy)')) + 1;
    expect(rows).toMatchObject([{ file: '<stdin>', line, code: 'R_UNATTRIBUTABLE' }]);
    expect(rows[0].reason).toContain('"legacy"');
    expect(emulator.traffic(21, '2026-11-02')).toMatchObject({ smtp_in: 4429n, pop3_imap_in: 30205n });
  });

  it('validate names the inputs in time order', async () => {
    emulator = await startEmulator({ fixture: FIXTURE, port: 0 });
    const r = await runCli(['validate', path.join(process.cwd(), 'pipelines', 'maillog.json')], cleanEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('3 input(s) in time order: ../samples/maillog/days/mail.log.2.gz, ../samples/maillog/days/mail.log.1, ../samples/maillog/days/mail.log');
  });
});
