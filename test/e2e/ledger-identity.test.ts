// Issue 9 §7: what was applied is keyed by what it was applied TO — the panel and the slice — never by the pipeline
// file that described it. Renaming or moving an additive pipeline, or a second pipeline over the same input, never
// applies a slice twice. Whole flow, in-process, against the emulator.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPipeline } from '../../src/config.js';
import { runPipeline } from '../../src/flow.js';
import { listRunsInDir, pipelineIdOf } from '../../src/ledger/index.js';
import { silentLogger } from '../../src/log.js';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';

const AUTH = { PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw-ledger' };
const CSV = 'date,domain,smtp_in\n2026-11-01,a.example,11\n2026-11-02,a.example,5\n2026-11-01,b.example,7\n';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function setup(): Promise<{ base: string; state: string; input: string }> {
  emulator = await startEmulator({
    fixture: { auth: { login: 'admin', password: 'pw-ledger', secretKeys: [] }, subscriptions: [{ id: 1, name: 'a.example' }, { id: 2, name: 'b.example' }] },
    port: 0,
  });
  const base = mkdtempSync(path.join(os.tmpdir(), 'ti-ledger-id-'));
  const input = path.join(base, 'input', 'maillog-10h.csv');
  mkdirSync(path.dirname(input));
  writeFileSync(input, CSV);
  return { base, state: path.join(base, 'state'), input };
}

/** A pipeline file: additive, default slice (the input's sha256), the shared state directory. */
function writePipeline(file: string, input: string, state: string, extra: Record<string, unknown> = {}): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({
    source: { type: 'csv', path: input },
    target: { type: 'plesk', url: emulator!.url },
    reconcile: { mode: 'additive' },
    state: { path: state },
    ...extra,
  }));
  return file;
}

async function run(file: string, opts: { dryRun?: boolean; env?: Record<string, string> } = {}) {
  const out: string[] = [];
  const stdout = new Writable({ write(c, _e, cb) { out.push(String(c)); cb(); } });
  const report = await runPipeline({ pipeline: loadPipeline(file), dryRun: opts.dryRun ?? false, env: { ...AUTH, ...opts.env }, log: silentLogger(), stdout });
  return { report, diff: out.join('') };
}

const smtpIn = () => [emulator!.traffic(1, '2026-11-01')?.smtp_in, emulator!.traffic(1, '2026-11-02')?.smtp_in, emulator!.traffic(2, '2026-11-01')?.smtp_in];

describe('the ledger is keyed by the panel and the slice', () => {
  it('a renamed pipeline never re-applies a slice (dry-run and run)', async () => {
    const { base, state, input } = await setup();
    const first = writePipeline(path.join(base, 'pipelines', 'maillog.json'), input, state);
    expect((await run(first)).report.nodes).toMatchObject({ sent: 3, applied: 3 });
    expect(smtpIn()).toEqual([11n, 5n, 7n]);

    const renamed = path.join(base, 'pipelines', 'maillog-nightly.json');
    renameSync(first, renamed);
    // The reported dry-run showed smtp_in recorded 11 → new 22.
    const dry = await run(renamed, { dryRun: true });
    expect(dry.report.nodes).toMatchObject({ sent: 0, alreadyApplied: 3 });
    expect(dry.diff).toBe('');
    // Another spelling of the same panel URL is the same panel.
    const again = await run(renamed, { env: { PLESK_URL: `${emulator!.url}/` } });
    expect(again.report.exitCode).toBe(0);
    expect(again.report.nodes).toMatchObject({ sent: 0, alreadyApplied: 3 });
    expect(smtpIn()).toEqual([11n, 5n, 7n]);
    // Both runs are listed, under their pipelines' names.
    expect(listRunsInDir(state).map((r) => r.pipeline).sort()).toEqual(['maillog', 'maillog-nightly']);
  }, 30_000);

  it('a pipeline moved to another directory (same state directory) never re-applies a slice', async () => {
    const { base, state, input } = await setup();
    const here = writePipeline(path.join(base, 'etc', 'maillog.json'), input, state);
    await run(here);
    const there = path.join(base, 'opt', 'jobs', 'maillog.json');
    mkdirSync(path.dirname(there), { recursive: true });
    copyFileSync(here, there);
    const moved = await run(there);
    expect(moved.report.nodes).toMatchObject({ sent: 0, alreadyApplied: 3 });
    expect(smtpIn()).toEqual([11n, 5n, 7n]);
  }, 30_000);

  it('two pipelines over one input apply it once', async () => {
    const { base, state, input } = await setup();
    const cpanel = writePipeline(path.join(base, 'p', 'one.json'), input, state, { name: 'mail-a' });
    const other = writePipeline(path.join(base, 'p', 'two.json'), input, state, { name: 'mail-b' });
    await run(cpanel);
    const second = await run(other);
    expect(second.report.nodes).toMatchObject({ sent: 0, alreadyApplied: 3 });
    expect(smtpIn()).toEqual([11n, 5n, 7n]);
    expect(listRunsInDir(state).map((r) => r.pipeline).sort()).toEqual(['mail-a', 'mail-b']);
    // One ledger (journal + lock) for the panel, none per pipeline file.
    expect(readdirSync(state).filter((n) => n.endsWith('.jsonl'))).toEqual([expect.stringMatching(/^panel-127\.0\.0\.1-[0-9a-f]{10}\.jsonl$/)]);
  }, 30_000);

  it('a journal of the former per-pipeline layout is folded in on the first run: nothing is applied twice', async () => {
    const { base, state, input } = await setup();
    const file = writePipeline(path.join(base, 'pipelines', 'maillog.json'), input, state);
    // What an earlier version left after applying the slice to two of the three nodes (and an interrupted run).
    const { createHash } = await import('node:crypto');
    const slice = `sha256:${createHash('sha256').update(CSV).digest('hex')}`;
    mkdirSync(state, { recursive: true });
    const legacy = path.join(state, `${pipelineIdOf(file)}.jsonl`);
    writeFileSync(legacy, [
      { t: 'header', v: 1, pipeline: file, pipelineId: pipelineIdOf(file), createdAt: '2026-11-03T00:00:00.000Z' },
      { t: 'run', id: '20261103T000000Z-0ld000', pipeline: file, startedAt: '2026-11-03T00:00:00.000Z', window: {}, mode: 'additive', dryRun: false, pid: 1, host: 'old-host' },
      { t: 'finish', id: '20261103T000000Z-0ld000', status: 'ok', finishedAt: '2026-11-03T00:00:01.000Z' },
      { t: 'commit', at: '2026-11-03T00:00:01.000Z', nodes: [[slice, 'webspace', 1, '2026-11-01'], [slice, 'webspace', 1, '2026-11-02']] },
    ].map((r) => JSON.stringify(r)).join('\n') + '\n');
    // A dry-run reads it as it is (nothing written).
    const dry = await run(file, { dryRun: true });
    expect(dry.report.nodes).toMatchObject({ sent: 1, alreadyApplied: 2 });
    expect(existsSync(legacy)).toBe(true);
    // The run folds it into the panel's ledger and applies only the third node.
    const r = await run(file);
    expect(r.report.nodes).toMatchObject({ sent: 1, applied: 1, alreadyApplied: 2 });
    expect(smtpIn()).toEqual([undefined, undefined, 7n]);
    expect(existsSync(legacy)).toBe(false);
    expect(existsSync(`${legacy}.migrated`)).toBe(true);
    const runs = listRunsInDir(state);
    expect(runs.map((x) => x.id)).toContain('20261103T000000Z-0ld000');
    expect(runs).toHaveLength(2);
    // And a rename after the fold keeps it.
    renameSync(file, path.join(base, 'pipelines', 'renamed.json'));
    expect((await run(path.join(base, 'pipelines', 'renamed.json'))).report.nodes).toMatchObject({ sent: 0, alreadyApplied: 3 });
    expect(readFileSync(`${legacy}.migrated`, 'utf8')).toContain('"v":1');
  }, 30_000);
});
