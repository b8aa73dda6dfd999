// Metrics: the text exposition prom-client writes, read back with a real parser of the format; the atomic file;
// pushes to a loopback Pushgateway stand-in, which keeps what it received.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import parse, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { RunMetrics, createPusher, exposition, groupingPath, writeMetricsFile } from '../../src/metrics/index.js';
import { emptyReport, finishReport, type RunReport } from '../../src/run/report.js';
import { startPushgatewayStandIn, type PushgatewayStandIn } from '../../src/stand-ins/pushgateway/server.js';

let gateway: PushgatewayStandIn | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

function report(over: (r: RunReport) => void): RunReport {
  const r = emptyReport({
    pipeline: '/p/nightly.json', source: 'csv', operator: 'webspace', mode: 'absolute', setTrafficSemantics: 'replace',
    dryRun: false, window: {}, startedAt: '2026-12-01T05:30:00.000Z',
  });
  over(r);
  finishReport(r);
  r.run.finishedAt = '2026-12-01T05:31:15.500Z';
  r.run.durationMs = 75_500;
  return r;
}

/** One sample's value, looked up by family name and labels (a family missing → undefined). */
function value(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.find((x) => x.name === name);
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v) && Object.keys(s.labels ?? {}).length === Object.keys(labels).length);
  return m?.value === undefined ? undefined : Number(m.value);
}

function sampleRun(name = 'nightly'): RunMetrics {
  const m = new RunMetrics(name);
  for (const ms of [40, 180, 900, 2600]) m.requestDone({ client: 'plesk', durationMs: ms });
  m.retried({ client: 'plesk' });
  m.retried({ client: 'plesk' });
  m.finished(report((r) => {
    Object.assign(r.records, { read: 120, rejected: 3, skipped: 10, normalized: 90 });
    r.records.open = 7;
    Object.assign(r.nodes, { unchanged: 40, alreadyApplied: 0, planned: 50, sent: 48, applied: 44, failed: 2 });
    r.packets = 5;
    r.targets.unresolved = 1;
  }), 1);
  return m;
}

describe('exposition (parsed back with parse-prometheus-text-format)', () => {
  it('names, types and values of every metric', async () => {
    const text = await exposition([sampleRun()], { pipelineLabel: true });
    const f = parse(text);
    const types = Object.fromEntries(f.map((x) => [x.name, x.type]));
    expect(types).toEqual({
      traffic_import_records_total: 'COUNTER', traffic_import_nodes_total: 'COUNTER', traffic_import_packets_total: 'COUNTER',
      traffic_import_retries_total: 'COUNTER', traffic_import_request_duration_seconds: 'HISTOGRAM',
      traffic_import_unresolved_targets: 'GAUGE', traffic_import_run_duration_seconds: 'GAUGE',
      traffic_import_last_run_timestamp_seconds: 'GAUGE', traffic_import_last_success_timestamp_seconds: 'GAUGE',
      traffic_import_last_exit_code: 'GAUGE',
    });
    const p = { pipeline: 'nightly' };
    // 120 read = 100 accepted + 3 rejected + 10 skipped + 7 open.
    expect(['accepted', 'rejected', 'skipped', 'open'].map((outcome) => value(f, 'traffic_import_records_total', { ...p, outcome }))).toEqual([100, 3, 10, 7]);
    // 50 planned, 48 sent: 44 applied, 2 failed, 2 never sent, 2 sent without an answer.
    expect(['unchanged', 'already_applied', 'applied', 'failed', 'not_sent', 'unanswered'].map((outcome) => value(f, 'traffic_import_nodes_total', { ...p, outcome }))).toEqual([40, 0, 44, 2, 2, 2]);
    expect(value(f, 'traffic_import_packets_total', p)).toBe(5);
    expect(value(f, 'traffic_import_retries_total', { ...p, client: 'plesk' })).toBe(2);
    expect(value(f, 'traffic_import_unresolved_targets', p)).toBe(1);
    expect(value(f, 'traffic_import_run_duration_seconds', p)).toBe(75.5);
    expect(value(f, 'traffic_import_last_run_timestamp_seconds', p)).toBe(Date.parse('2026-12-01T05:31:15.500Z') / 1000);
    expect(value(f, 'traffic_import_last_success_timestamp_seconds', p)).toBe(Date.parse('2026-12-01T05:31:15.500Z') / 1000);
    expect(value(f, 'traffic_import_last_exit_code', p)).toBe(1);
    // Cumulative buckets: 0.04 s, 0.18 s, 0.9 s, 2.6 s.
    const h = f.find((x) => x.name === 'traffic_import_request_duration_seconds')!.metrics[0]!;
    expect(h.buckets).toMatchObject({ '0.05': '1', '0.1': '1', '0.25': '2', '1': '3', '2.5': '3', '5': '4', '+Inf': '4' });
    expect(text).toContain('traffic_import_request_duration_seconds_count{pipeline="nightly",client="plesk"} 4');
    expect(text).toContain('traffic_import_request_duration_seconds_sum{pipeline="nightly",client="plesk"} 3.72');
  });

  it('a failed run keeps no success timestamp of its own; several pipelines share one file', async () => {
    const failed = new RunMetrics('other');
    failed.finished(report((r) => { r.error = { code: 'TI_PLESK_TRANSPORT', message: 'down' }; }), 2);
    const f = parse(await exposition([sampleRun(), failed], { pipelineLabel: true }));
    expect(value(f, 'traffic_import_last_exit_code', { pipeline: 'other' })).toBe(2);
    expect(value(f, 'traffic_import_last_exit_code', { pipeline: 'nightly' })).toBe(1);
    expect(value(f, 'traffic_import_last_success_timestamp_seconds', { pipeline: 'other' })).toBeUndefined();
    // An earlier success, known from the run records, is carried.
    failed.lastSuccessSeconds = 1_764_000_000;
    const g = parse(await exposition([failed], { pipelineLabel: true }));
    expect(value(g, 'traffic_import_last_success_timestamp_seconds', { pipeline: 'other' })).toBe(1_764_000_000);
  });

  it('for a push, series carry no pipeline label (the grouping key does)', async () => {
    const text = await exposition([sampleRun()], { pipelineLabel: false });
    expect(text).not.toContain('pipeline=');
    expect(value(parse(text), 'traffic_import_last_exit_code')).toBe(1);
  });
});

describe('metrics file', () => {
  it('is replaced atomically: the old content or the new, never a temp file left beside it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-metrics-'));
    const file = path.join(dir, 'textfile', 'traffic_import.prom');
    writeMetricsFile(file, 'old 1\n');
    writeMetricsFile(file, await exposition([sampleRun()], { pipelineLabel: true }));
    expect(readdirSync(path.dirname(file))).toEqual(['traffic_import.prom']);
    expect(value(parse(readFileSync(file, 'utf8')), 'traffic_import_packets_total', { pipeline: 'nightly' })).toBe(5);
  });
});

describe('Pushgateway', () => {
  it('grouping paths: plain values as they are, others in base64url', () => {
    expect(groupingPath('http://gw:9091/', 'traffic-import', { pipeline: 'panel-a' })).toBe('http://gw:9091/metrics/job/traffic-import/pipeline/panel-a');
    expect(groupingPath('http://gw:9091', 'traffic-import', { pipeline: 'über panel' }))
      .toBe(`http://gw:9091/metrics/job/traffic-import/pipeline@base64/${Buffer.from('über panel').toString('base64url')}`);
  });

  it('PUTs each pipeline to its own group; the stand-in parses and keeps it; a retry gets past a 503', async () => {
    gateway = await startPushgatewayStandIn({ failFirst: 1 });
    const pusher = createPusher(gateway.url, silentLogger());
    for (const m of [sampleRun('panel-a'), sampleRun('über panel')]) {
      expect(await pusher.push('traffic-import', { pipeline: m.pipeline }, await exposition([m], { pipelineLabel: false }))).toBe(true);
    }
    await pusher.close();
    expect([...gateway.groups.keys()].sort()).toEqual(['job=traffic-import,pipeline=panel-a', 'job=traffic-import,pipeline=über panel']);
    const g = gateway.groups.get('job=traffic-import,pipeline=panel-a')!;
    expect(value(g.families, 'traffic_import_nodes_total', { outcome: 'applied' })).toBe(44);
    expect(gateway.requests.map((r) => [r.method, r.status])).toEqual([['PUT', 503], ['PUT', 200], ['PUT', 200]]);
    expect(gateway.requests[1]!.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('a refused or unreachable push is reported as false (and logged), never thrown', async () => {
    gateway = await startPushgatewayStandIn();
    const pusher = createPusher(gateway.url, silentLogger());
    // A series whose label contradicts the grouping key: the Pushgateway answers 400.
    expect(await pusher.push('traffic-import', { pipeline: 'a' }, await exposition([sampleRun('b')], { pipelineLabel: true }))).toBe(false);
    await pusher.close();
    const closed = gateway.url;
    await gateway.close();
    gateway = undefined;
    const dead = createPusher(closed, silentLogger());
    expect(await dead.push('traffic-import', { pipeline: 'a' }, 'x 1\n')).toBe(false);
    await dead.close();
  });
});
