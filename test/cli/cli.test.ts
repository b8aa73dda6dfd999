// The built binary, as an operator runs it: dry-run packets (the seed test vectors), reports, rejects,
// exit codes. No Plesk target: dry-run works offline when the input carries dom_id.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../support/cli.js';
import { seedPackets } from '../support/seeds.js';

/** Packet text without the XML declaration and whitespace between tags. */
function canon(xml: string): string {
  return xml.replace(/<\?xml[^>]*\?>/, '').replace(/>\s+</g, '><').trim();
}

// The seeds' sample packets (test/fixtures/seeds). Seed 001's multi-node sample, as far as it is valid: its
// second node's empty <smtp_in/><smtp_out/> are exactly what we never send; with nothing recorded (offline) they are 0.
const [SEED_000_SITE] = seedPackets('000') as [string];
const [SEED_001_SINGLE, , SEED_001_MULTI_AS_GIVEN] = seedPackets('001') as [string, string, string];
const SEED_001_MULTI = SEED_001_MULTI_AS_GIVEN.replace('<smtp_in/>', '<smtp_in>0</smtp_in>').replace('<smtp_out/>', '<smtp_out>0</smtp_out>');

function workdir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ti-cli-'));
}

function pipeline(dir: string, csv: string, target: Record<string, unknown> = {}, source: Record<string, unknown> = {}): string {
  writeFileSync(path.join(dir, 'traffic.csv'), csv);
  const file = path.join(dir, 'pipeline.json');
  writeFileSync(file, JSON.stringify({
    source: { type: 'csv', path: 'traffic.csv', layout: 'wide', ...source },
    target: { type: 'plesk', url: 'https://plesk.example.com:8443', operator: 'webspace', batchSize: 100, concurrency: 4, ...target },
  }));
  return file;
}

describe('traffic-import run --dry-run (offline, dom_id input)', () => {
  it('writes seed 000 (site) as packet-0001.xml', async () => {
    const dir = workdir();
    const p = pipeline(dir, 'date,dom_id,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out\n2005-12-12,1134,514237124628,6153462547,49769379,7236487263\n', { operator: 'site' });
    const out = path.join(dir, 'out');
    const r = await runCli(['run', p, '--dry-run', '--out', out, '--report', path.join(dir, 'report.json')], cleanEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['diff.jsonl', 'packet-0001.xml']);
    expect(canon(readFileSync(path.join(out, 'packet-0001.xml'), 'utf8'))).toBe(canon(SEED_000_SITE));
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    expect(report.records).toMatchObject({ read: 1, rejected: 0 });
    expect(report.nodes).toMatchObject({ sent: 1, applied: 0, failed: 0, unchanged: 0 });
    expect(report.packets).toBe(1);
    expect(report.targets.unresolved).toBe(0);
    expect(report.run.dryRun).toBe(true);
  });

  it('writes seed 001 single-node and multi-node packets', async () => {
    const dir = workdir();
    const single = pipeline(dir, 'date,dom_id,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out\n2005-12-12,1234,514237124628,6153462547,49769379,7236487263\n');
    let r = await runCli(['run', single, '--dry-run', '--out', path.join(dir, 'one')], cleanEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(canon(readFileSync(path.join(dir, 'one', 'packet-0001.xml'), 'utf8'))).toBe(canon(SEED_001_SINGLE));

    const multi = pipeline(dir, 'date,dom_id,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out\n2005-12-12,1134,127417,342899,384769,37947\n2005-12-12,1135,,,7835683295457,32876583765\n');
    r = await runCli(['run', multi, '--dry-run', '--out', path.join(dir, 'two')], cleanEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(canon(readFileSync(path.join(dir, 'two', 'packet-0001.xml'), 'utf8'))).toBe(canon(SEED_001_MULTI));
    const diff = readFileSync(path.join(dir, 'two', 'diff.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(diff[1]).toMatchObject({ dom_id: 1135, date: '2005-12-12', pop3_imap_in: { recorded: '0', new: '7835683295457' } });
  });

  it('splits nodes into packets of batchSize', async () => {
    const dir = workdir();
    const rows = Array.from({ length: 7 }, (_, i) => `2026-11-0${i + 1},${100 + i},1,2,3,4`).join('\n');
    const p = pipeline(dir, `date,dom_id,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out\n${rows}\n`, { batchSize: 3 });
    const r = await runCli(['run', p, '--dry-run', '--out', path.join(dir, 'o')], cleanEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(path.join(dir, 'o')).filter((f) => f.endsWith('.xml'))).toEqual(['packet-0001.xml', 'packet-0002.xml', 'packet-0003.xml']);
    const third = readFileSync(path.join(dir, 'o', 'packet-0003.xml'), 'utf8');
    expect(third.match(/<set_traffic>/g)).toHaveLength(1);
    expect(third).toContain('<dom_id>106</dom_id>');
  });

  it('rejects bad rows with file and line, imports the rest, exits 1', async () => {
    const dir = workdir();
    const p = pipeline(dir, [
      'date,dom_id,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out',
      '2026-11-01,10,1,2,3,4',
      '2026-02-30,10,1,2,3,4',
      '2026-11-01,11,x,2,3,4',
      '2026-11-02,12,1,2,3,4',
    ].join('\n') + '\n');
    const rejects = path.join(dir, 'rejects.csv');
    const reportFile = path.join(dir, 'report.json');
    const r = await runCli(['run', p, '--dry-run', '--out', path.join(dir, 'o'), '--rejects', rejects, '--report', reportFile], cleanEnv());
    expect(r.code).toBe(1);
    const lines = readFileSync(rejects, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('file,line,column,code,reason,raw');
    expect(lines.slice(1).map((l) => l.split(',').slice(1, 4).join(','))).toEqual(['3,date,R_BAD_DATE', '4,smtp_in,R_NOT_NUMERIC']);
    expect(lines[1]).toContain('traffic.csv');
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.records).toMatchObject({ read: 4, rejected: 2 });
    expect(report.nodes.sent).toBe(2);
    expect(report.exitCode).toBe(1);
    expect(r.stderr).toContain('rejected 2');
  });

  it('skips and counts records outside --from/--to', async () => {
    const dir = workdir();
    const p = pipeline(dir, 'date,dom_id,smtp_in\n2026-10-31,10,1\n2026-11-01,10,1\n2026-11-02,10,1\n2026-11-03,10,1\n');
    const reportFile = path.join(dir, 'report.json');
    const r = await runCli(['run', p, '--dry-run', '--from', '2026-11-01', '--to', '2026-11-02', '--report', reportFile], cleanEnv());
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.records).toMatchObject({ read: 4, skipped: 2, rejected: 0 });
    expect(report.nodes.sent).toBe(2);
    // Not a TTY: the diff goes to stdout as JSON lines.
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).date)).toEqual(['2026-11-01', '2026-11-02']);
  });

  it('counts domain names as unresolved without a target, and uses target.idMap offline', async () => {
    const dir = workdir();
    writeFileSync(path.join(dir, 'ids.csv'), 'domain,dom_id\nexample.com,42\n');
    const p = pipeline(dir, 'date,domain,smtp_in\n2026-11-01,Example.COM.,5\n2026-11-01,unknown.example,6\n', { idMap: 'ids.csv' });
    const reportFile = path.join(dir, 'report.json');
    const r = await runCli(['run', p, '--dry-run', '--out', path.join(dir, 'o'), '--report', reportFile], cleanEnv());
    expect(r.code).toBe(1);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.targets.unresolved).toBe(1);
    expect(report.targets.unresolvedList[0]).toMatchObject({ name: 'unknown.example', rows: 1, firstLine: 3 });
    expect(readFileSync(path.join(dir, 'o', 'packet-0001.xml'), 'utf8')).toContain('<dom_id>42</dom_id>');
  });
});

describe('exit code 2', () => {
  it('for an invalid pipeline, naming the JSON path', async () => {
    const dir = workdir();
    const p = pipeline(dir, 'date,dom_id,smtp_in\n', { batchSize: 'many' });
    const r = await runCli(['run', p, '--dry-run'], cleanEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[TI_CONFIG]');
    expect(r.stderr).toContain('target.batchSize');
  });

  it('for a source without a usable header', async () => {
    const dir = workdir();
    const p = pipeline(dir, 'when,who,what\n1,2,3\n');
    const r = await runCli(['run', p, '--dry-run'], cleanEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TI_SOURCE_HEADER/);
  });

  it('for a missing source file', async () => {
    const dir = workdir();
    const p = pipeline(dir, '');
    const r = await runCli(['run', p.replace('pipeline.json', 'nope.json')], cleanEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[TI_CONFIG_READ]');
  });

  it('for a live run without credentials', async () => {
    const dir = workdir();
    const p = pipeline(dir, 'date,dom_id,smtp_in\n2026-11-01,1,1\n');
    const r = await runCli(['run', p], cleanEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PLESK_LOGIN');
  });

  it('for usage errors', async () => {
    expect((await runCli(['run'], cleanEnv())).code).toBe(2);
    expect((await runCli(['run', 'x.json', '--from', '2026-13-01'], cleanEnv())).stderr).toContain('--from expects a calendar date');
    expect((await runCli(['frobnicate'], cleanEnv())).code).toBe(2);
  });
});

describe('traffic-import validate', () => {
  it('checks the file and the source header without importing', async () => {
    const dir = workdir();
    const p = pipeline(dir, 'date,domain,smtp_in,pop3_imap_out\n2026-11-01,example.com,1,2\n');
    const r = await runCli(['validate', p], cleanEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('OK');
    expect(r.stdout).toMatch(/wide/);
  });
});
