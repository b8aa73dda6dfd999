// Which pipelines a run works on: files and directories, a ConfigMap-shaped directory, shards.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseShard, perPipelinePath, pipelineFiles, shardFromEnv, shareOf } from '../../src/pipeline-set.js';
import { cleanEnv, runCli } from '../support/cli.js';

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ti-set-'));
}

/** A directory laid out as kubelet mounts a ConfigMap: keys are links through ..data to a timestamped dir. */
function configMapDir(files: Record<string, string>, stamp = '..2026_12_01_10_00_00.123456789'): string {
  const dir = tmp();
  mkdirSync(path.join(dir, stamp));
  for (const [k, v] of Object.entries(files)) writeFileSync(path.join(dir, stamp, k), v);
  symlinkSync(stamp, path.join(dir, '..data'));
  for (const k of Object.keys(files)) symlinkSync(path.join('..data', k), path.join(dir, k));
  return dir;
}

describe('pipelineFiles', () => {
  it('keeps argument order, expands a directory to its *.json in name order, drops duplicates', () => {
    const dir = tmp();
    for (const n of ['b.json', 'a.json', 'c.txt', '.hidden.json']) writeFileSync(path.join(dir, n), '{}');
    mkdirSync(path.join(dir, 'sub.json')); // a directory named like a pipeline is not one
    const single = path.join(dir, 'b.json');
    expect(pipelineFiles([single, dir]).map((f) => path.basename(f))).toEqual(['b.json', 'a.json']);
  });

  it('reads a ConfigMap volume: the keys, not ..data or the timestamped directory', () => {
    const dir = configMapDir({ 'panel-b.json': '{}', 'panel-a.json': '{}' });
    expect(readdirSync(dir).length).toBe(4);
    expect(pipelineFiles([dir]).map((f) => path.basename(f))).toEqual(['panel-a.json', 'panel-b.json']);
  });

  it('a missing path or a directory without pipelines is TI_CONFIG_READ', () => {
    expect(() => pipelineFiles([path.join(tmp(), 'nope.json')])).toThrow(/TI_CONFIG_READ|ENOENT/);
    expect(() => pipelineFiles([tmp()])).toThrow(/no pipeline files/);
  });
});

describe('shards', () => {
  it('parses I/N with a 0-based index and refuses the rest', () => {
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard('9/10')).toEqual({ index: 9, count: 10 });
    for (const bad of ['10/10', '1/0', '-1/3', '1', '1/2/3', 'a/b', '']) expect(() => parseShard(bad), bad).toThrow(/--shard expects I\/N/);
  });

  it('every pipeline belongs to exactly one shard, and shares differ by at most one', () => {
    const items = Array.from({ length: 103 }, (_, i) => `p${i}`);
    const shares = Array.from({ length: 10 }, (_, i) => shareOf(items, { index: i, count: 10 }));
    expect(shares.flat().sort()).toEqual([...items].sort());
    expect(Math.max(...shares.map((s) => s.length)) - Math.min(...shares.map((s) => s.length))).toBeLessThanOrEqual(1);
    expect(shares[3]).toEqual(['p3', 'p13', 'p23', 'p33', 'p43', 'p53', 'p63', 'p73', 'p83', 'p93', 'p103'].filter((p) => items.includes(p)));
    expect(shareOf(items, undefined)).toEqual(items);
  });

  it('defaults from JOB_COMPLETION_INDEX and TRAFFIC_IMPORT_SHARDS', () => {
    expect(shardFromEnv({}, 5)).toBeUndefined();
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '3', TRAFFIC_IMPORT_SHARDS: '10' }, 5)).toEqual({ index: 3, count: 10 });
    // An Indexed Job that names one pipeline per pod itself: not a shard.
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '3' }, 1)).toBeUndefined();
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '3' }, 5)).toThrow(/TRAFFIC_IMPORT_SHARDS/);
    expect(() => shardFromEnv({ TRAFFIC_IMPORT_SHARDS: '3' }, 5)).toThrow(/JOB_COMPLETION_INDEX/);
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '4', TRAFFIC_IMPORT_SHARDS: '4' }, 5)).toThrow(/0 ≤ I < N/);
  });

  it('names per-pipeline output files', () => {
    expect(perPipelinePath('out/report.json', 'csv-wide', false)).toBe('out/report.json');
    expect(perPipelinePath('out/report.json', 'csv-wide', true)).toBe('out/report.csv-wide.json');
    expect(perPipelinePath('out/rejects', 'a', true)).toBe('out/rejects.a');
    expect(perPipelinePath('out/{pipeline}/r.jsonl', 'a', false)).toBe('out/a/r.jsonl');
  });
});

describe('run with several pipelines (built binary)', () => {
  function panel(dir: string, name: string, domId: number): void {
    writeFileSync(path.join(dir, `${name}.csv`), `date,dom_id,smtp_in\n2026-11-01,${domId},${domId * 100}\n`);
    writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({
      source: { type: 'csv', path: `${name}.csv` },
      target: { type: 'plesk', url: 'https://plesk.example.com:8443' },
    }));
  }

  it('runs a directory, one report per pipeline; --shard and JOB_COMPLETION_INDEX pick the same share', async () => {
    const dir = tmp();
    for (const [i, n] of ['p0', 'p1', 'p2', 'p3', 'p4'].entries()) panel(dir, n, i + 1);
    const out = tmp();
    const all = await runCli(['run', dir, '--dry-run', '--report', path.join(out, 'all', 'report.json'), '--from', '2026-11-01', '--to', '2026-11-01'], cleanEnv());
    expect(all.code, all.stderr).toBe(0);
    expect(readdirSync(path.join(out, 'all')).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4'].map((p) => `report.${p}.json`));
    const p3 = JSON.parse(readFileSync(path.join(out, 'all', 'report.p3.json'), 'utf8'));
    expect(p3.records.read).toBe(1);
    expect(p3.run.pipeline).toBe(path.join(dir, 'p3.json'));
    expect(all.stderr).toContain('5 pipelines: p0 ok (0), p1 ok (0), p2 ok (0), p3 ok (0), p4 ok (0); exit code 0');

    const flag = await runCli(['run', dir, '--dry-run', '--shard', '1/2', '--report', path.join(out, 'flag', 'report.json')], cleanEnv());
    expect(flag.code, flag.stderr).toBe(0);
    expect(readdirSync(path.join(out, 'flag')).sort()).toEqual(['report.p1.json', 'report.p3.json']);
    const env = await runCli(['run', dir, '--dry-run', '--report', path.join(out, 'env', 'report.json')],
      cleanEnv({ JOB_COMPLETION_INDEX: '1', TRAFFIC_IMPORT_SHARDS: '2' }));
    expect(env.code, env.stderr).toBe(0);
    expect(readdirSync(path.join(out, 'env')).sort()).toEqual(['report.p1.json', 'report.p3.json']);
  });

  it('checks every pipeline before the first runs, and exits with the worst code', async () => {
    const dir = tmp();
    panel(dir, 'good', 1);
    writeFileSync(path.join(dir, 'zz-typo.json'), JSON.stringify({ source: { type: 'csv', path: 'x.csv', layot: 'wide' }, target: { type: 'plesk' } }));
    const r = await runCli(['run', dir, '--dry-run', '--report', path.join(dir, 'r.json')], cleanEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('source.layot: unknown key');
    expect(readdirSync(dir)).not.toContain('r.good.json'); // nothing ran

    const v = await runCli(['validate', dir], cleanEnv());
    expect(v.code).toBe(2);
    expect(v.stdout).toContain(`${path.join(dir, 'good.json')}: OK`);
    expect(v.stderr).toContain('zz-typo.json: [TI_CONFIG]');
  });
});
