// Where state lives: --state, TRAFFIC_IMPORT_STATE, the pipeline's state.path; `run` and `runs` agree; a
// pipeline mounted from a ConfigMap keeps its ledger across ConfigMap updates.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPipeline, stateDirOf } from '../../src/config.js';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';
import { cleanEnv, runCli } from '../support/cli.js';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ti-state-'));
}

async function plesk(): Promise<Emulator> {
  emulator = await startEmulator({
    fixture: { auth: { login: 'admin', password: 'pw', secretKeys: [] }, subscriptions: [{ id: 1, name: 'a.example' }, { id: 2, name: 'b.example' }], sites: [], plans: [], traffic: [] },
    port: 0,
  });
  return emulator;
}

function pipelineIn(dir: string, name = 'nightly', extra: Record<string, unknown> = {}): string {
  writeFileSync(path.join(dir, `${name}.csv`), 'date,domain,smtp_in\n2026-11-01,a.example,10\n2026-11-01,b.example,20\n');
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ source: { type: 'csv', path: `${name}.csv` }, target: { type: 'plesk' }, ...extra }));
  return file;
}

describe('stateDirOf', () => {
  it('flag > TRAFFIC_IMPORT_STATE > state.path (beside the pipeline) > ./state', () => {
    const dir = tmp();
    const p = loadPipeline(pipelineIn(dir, 'p', { state: { path: 'custom' } }));
    expect(stateDirOf({ flag: 'x', env: { TRAFFIC_IMPORT_STATE: '/y' }, pipeline: p })).toBe(path.resolve('x'));
    expect(stateDirOf({ env: { TRAFFIC_IMPORT_STATE: '/y' }, pipeline: p })).toBe('/y');
    expect(stateDirOf({ env: {}, pipeline: p })).toBe(path.join(dir, 'custom'));
    expect(stateDirOf({ env: { TRAFFIC_IMPORT_STATE: '' }, pipeline: loadPipeline(pipelineIn(dir, 'q')) })).toBe(path.join(dir, 'state'));
    expect(stateDirOf({ env: {} })).toBe(path.resolve('state'));
  });
});

describe('run and runs find the same state (built binary)', () => {
  it('TRAFFIC_IMPORT_STATE: the ledger goes there, nothing beside the pipeline, and runs lists the run', async () => {
    const e = await plesk();
    const dir = tmp();
    const state = path.join(tmp(), 'state');
    const p = pipelineIn(dir);
    const env = cleanEnv({ PLESK_URL: e.url, PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw', TRAFFIC_IMPORT_STATE: state });
    const r = await runCli(['run', p], env);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'state'))).toBe(false);
    expect(readdirSync(state).some((f) => /^panel-127\.0\.0\.1-[0-9a-f]{10}\.jsonl$/.test(f))).toBe(true); // the panel's ledger
    // From another working directory, with only the variable: the run is there.
    const runs = await runCli(['runs', '--json'], env, { cwd: tmp() });
    const list = JSON.parse(runs.stdout);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ status: 'ok', pipeline: 'nightly', pipelineFile: p });
    expect(list[0].counts.nodes.applied).toBe(2);
  });

  it('without flag or variable, runs PIPELINE looks where run wrote (beside the pipeline); --state wins over the variable', async () => {
    const e = await plesk();
    const dir = tmp();
    const p = pipelineIn(dir);
    const other = pipelineIn(dir, 'other');
    const env = cleanEnv({ PLESK_URL: e.url, PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw' });
    expect((await runCli(['run', p], env, { cwd: tmp() })).code).toBe(0);
    expect((await runCli(['run', other], env, { cwd: tmp() })).code).toBe(0);
    expect(existsSync(path.join(dir, 'state'))).toBe(true);

    const one = JSON.parse((await runCli(['runs', p, '--json'], env, { cwd: tmp() })).stdout);
    expect(one.map((r: { pipeline: string }) => r.pipeline)).toEqual(['nightly']);
    const both = JSON.parse((await runCli(['runs', dir, '--json'], env, { cwd: tmp() })).stdout);
    expect(both.map((r: { pipeline: string }) => r.pipeline).sort()).toEqual(['nightly', 'other']);

    const plain = await runCli(['runs'], env, { cwd: dir });
    expect(plain.stdout).toContain(' nightly '); // runs are listed by pipeline name
    const empty = tmp();
    const none = await runCli(['runs'], env, { cwd: empty });
    expect(none.stdout).toBe(`No runs recorded in ${path.join(empty, 'state')}.\n`);

    const elsewhere = path.join(tmp(), 's');
    expect((await runCli(['run', p, '--state', elsewhere], { ...env, TRAFFIC_IMPORT_STATE: path.join(tmp(), 'ignored') })).code).toBe(0);
    const flagged = JSON.parse((await runCli(['runs', '--state', elsewhere, '--json'], env)).stdout);
    expect(flagged).toHaveLength(1);
    expect(flagged[0].counts.nodes).toMatchObject({ unchanged: 2, sent: 0 });
  });

  it('a pipeline mounted from a ConfigMap keeps its ledger and lock across ConfigMap updates', async () => {
    const e = await plesk();
    const mount = tmp();
    const data = tmp();
    writeFileSync(path.join(data, 'nightly.csv'), 'date,domain,smtp_in\n2026-11-01,a.example,10\n');
    const pipelineText = (v: number) => JSON.stringify({ description: `v${v}`, source: { type: 'csv', path: path.join(data, 'nightly.csv') }, target: { type: 'plesk' } });
    // kubelet's layout: key → ..data/key, ..data → ..<timestamp>; an update writes a new timestamp dir and swaps ..data.
    const publish = (stamp: string, v: number) => {
      mkdirSync(path.join(mount, stamp));
      writeFileSync(path.join(mount, stamp, 'nightly.json'), pipelineText(v));
      symlinkSync(stamp, path.join(mount, '..data_tmp'));
      renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
    };
    publish('..2026_12_01_05_30_00.1234567', 1);
    symlinkSync(path.join('..data', 'nightly.json'), path.join(mount, 'nightly.json'));
    const state = path.join(tmp(), 'state');
    const env = cleanEnv({ PLESK_URL: e.url, PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw', TRAFFIC_IMPORT_STATE: state });
    const first = await runCli(['run', mount], env);
    expect(first.code, first.stderr).toBe(0);
    publish('..2026_12_02_05_30_00.7654321', 2);
    const second = await runCli(['run', mount], env);
    expect(second.code, second.stderr).toBe(0);
    expect(readdirSync(state).filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);
    const runs = JSON.parse((await runCli(['runs', mount, '--json'], env)).stdout);
    expect(runs.map((r: { status: string; pipeline: string; pipelineFile: string }) => [r.status, r.pipeline, r.pipelineFile])).toEqual([
      ['ok', 'nightly', path.join(mount, 'nightly.json')],
      ['ok', 'nightly', path.join(mount, 'nightly.json')],
    ]);
  });
});
