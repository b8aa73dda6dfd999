// `run --workers N` (issue 13): the built binary's output — packets, diff, report, rejects — is the same with 1
// and with N worker threads, on a file with bad rows, multi-line records, held-back metrics and a window.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ti-workers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeInput(): void {
  const lines = ['date,dom_id,smtp_in,smtp_out,pop3_imap_in,pop3_imap_out,note'];
  for (let i = 0; i < 40000; i++) {
    const day = `2026-11-${String(1 + (i % 6)).padStart(2, '0')}`;
    const id = 1 + ((i * 7) % 2000);
    let row = `${day},${id},${i % 100000},${(i * 31) % 77777},${i % 999},${(i * 13) % 5000},plain`;
    if (i % 101 === 7) row = `${day},${id},${i},1,2,3,"a note\nover two lines"`;
    if (i % 211 === 17) row = `${day},${id},12x,1,2,3,bad`; // held back for its key
    if (i % 307 === 5) row = `${day},"${id},1,1,1,1,never closed`;
    if (i % 401 === 3) row = `${day},${id},1,2`;
    lines.push(row);
  }
  writeFileSync(path.join(dir, 'traffic.csv'), `${lines.join('\n')}\n`);
  writeFileSync(path.join(dir, 'pipeline.json'), JSON.stringify({
    source: { type: 'csv', path: 'traffic.csv' },
    target: { type: 'plesk', batchSize: 250 },
  }));
}

async function dryRun(workers: number): Promise<{ code: number | null; files: Record<string, string>; report: Record<string, unknown>; rejects: string; stderr: string }> {
  const out = path.join(dir, `out-${workers}`);
  const report = path.join(dir, `report-${workers}.json`);
  const rejects = path.join(dir, `rejects-${workers}.csv`);
  const res = await runCli(
    ['run', path.join(dir, 'pipeline.json'), '--dry-run', '--out', out, '--report', report, '--rejects', rejects, '--from', '2026-11-02', '--workers', String(workers)],
    cleanEnv({ LOG_LEVEL: 'warn' }),
  );
  const files = Object.fromEntries(readdirSync(out).sort().map((f) => [f, readFileSync(path.join(out, f), 'utf8')]));
  const r = JSON.parse(readFileSync(report, 'utf8')) as { run: Record<string, unknown> } & Record<string, unknown>;
  // When it ran differs, of course.
  delete r.run.startedAt;
  delete r.run.finishedAt;
  delete r.run.durationMs;
  return { code: res.code, files, report: r, rejects: readFileSync(rejects, 'utf8'), stderr: res.stderr };
}

describe('run --workers N', () => {
  it('writes the same packets, diff, report and rejects as one thread', async () => {
    writeInput();
    const one = await dryRun(1);
    expect(one.code).toBe(1); // rejected rows
    expect(Object.keys(one.files).length).toBeGreaterThan(10);
    expect(one.rejects.split('\n').length).toBeGreaterThan(300);
    expect((one.report as { records: { heldBack: number } }).records.heldBack).toBeGreaterThan(0);
    for (const n of [2, 3]) {
      const many = await dryRun(n);
      expect(many.code).toBe(one.code);
      expect(Object.keys(many.files)).toEqual(Object.keys(one.files));
      for (const [name, text] of Object.entries(one.files)) expect(many.files[name], `${n} workers: ${name}`).toBe(text);
      expect(many.rejects).toBe(one.rejects);
      expect(many.report).toEqual(one.report);
    }
  });

  it('refuses a --workers value that is not a whole number 1..256', async () => {
    const res = await runCli(['run', path.join(dir, 'pipeline.json'), '--dry-run', '--workers', '0'], cleanEnv());
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/\[TI_USAGE\] .*--workers expects a whole number 1\.\.256/);
  });
});
