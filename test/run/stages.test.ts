// The run's stages one by one (each takes the run context and returns its output), the events they emit, and
// the report built from those events alone.

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/config.js';
import { runPipeline } from '../../src/flow.js';
import { silentLogger } from '../../src/log.js';
import { zeroTraffic, type FullTraffic, type Operator, type ResolvedRecord } from '../../src/model.js';
import type { PacketOutcome, PleskApi, SetTrafficNode } from '../../src/plesk/types.js';
import { createReader } from '../../src/readers/index.js';
import type { RunContext } from '../../src/run/context.js';
import { dryRun } from '../../src/run/dry-run.js';
import { RunEvents, type RunEventMap, type RunEventName } from '../../src/run/events.js';
import { readSource } from '../../src/run/read.js';
import { reconcile } from '../../src/run/reconcile.js';
import { collectReport } from '../../src/run/report.js';
import { resolve } from '../../src/run/resolve.js';
import { batch, send } from '../../src/run/send.js';
import { Ledger } from '../../src/ledger/index.js';

/** A Plesk stand-in in memory: names → ids, recorded days, and a scripted answer per set_traffic packet. */
class FakeApi implements PleskApi {
  readonly held = new Map<string, FullTraffic>();
  readonly packets: SetTrafficNode[][] = [];
  constructor(private readonly ids: Record<string, number>, private readonly answer: (nodes: SetTrafficNode[], index: number) => PacketOutcome | 'apply-silently') {}
  async resolveNames(_op: Operator, names: string[]) {
    return new Map(names.filter((n) => this.ids[n] !== undefined).map((n) => [n, this.ids[n]!] as [string, number]));
  }
  async getTraffic(_op: Operator, ids: number[], since: string, to: string) {
    const out = new Map<number, Map<string, FullTraffic>>();
    for (const [k, v] of this.held) {
      const [id, date] = k.split('|') as [string, string];
      if (!ids.includes(Number(id)) || date < since || date > to) continue;
      if (!out.has(Number(id))) out.set(Number(id), new Map());
      out.get(Number(id))!.set(date, v);
    }
    return out;
  }
  async setTraffic(_op: Operator, nodes: SetTrafficNode[]): Promise<PacketOutcome> {
    const index = this.packets.push(nodes) - 1;
    const a = this.answer(nodes, index);
    if (a === 'apply-silently' || a.kind === 'applied') {
      nodes.forEach((n, i) => {
        if (a !== 'apply-silently' && a.results[i]?.status !== 'ok') return;
        this.held.set(`${n.domId}|${n.date}`, { ...zeroTraffic(), smtp_in: n.smtp_in, smtp_out: n.smtp_out, pop3_imap_in: n.pop3_imap_in, pop3_imap_out: n.pop3_imap_out });
      });
    }
    return a === 'apply-silently' ? { kind: 'uncertain', error: 'connection reset', attempts: 1 } : a;
  }
  async close() {}
}

const okAll = (nodes: SetTrafficNode[]): PacketOutcome => ({ kind: 'applied', attempts: 1, results: nodes.map(() => ({ status: 'ok' as const })) });

function context(csv: string, opts: { api?: PleskApi; dryRun?: boolean; outDir?: string; target?: Record<string, unknown>; reconcile?: Record<string, unknown> } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-stage-'));
  writeFileSync(path.join(dir, 'in.csv'), csv);
  const pipeline = parsePipeline({
    source: { type: 'csv', path: 'in.csv' },
    target: { type: 'plesk', batchSize: 2, ...opts.target },
    reconcile: { mode: 'absolute', ...opts.reconcile },
  }, path.join(dir, 'pipeline.json'));
  const events = new RunEvents();
  const seen: { name: RunEventName; payload: unknown }[] = [];
  for (const name of EVENT_NAMES) events.on(name, (payload) => void seen.push({ name, payload }));
  let stdout = '';
  const ctx: RunContext = {
    pipeline, events, log: silentLogger(), window: {}, reader: createReader(pipeline.source), ownApi: false, locked: false,
    opts: { pipeline, dryRun: opts.dryRun ?? false, env: {}, log: silentLogger(), ...(opts.outDir ? { outDir: opts.outDir } : {}),
      stdout: Object.assign(new (class { write(s: string) { stdout += s; return true; } })(), { isTTY: false }) as unknown as NodeJS.WritableStream },
    ...(opts.api ? { api: opts.api } : {}),
  };
  const report = collectReport(events);
  return { ctx, dir, seen, report, stdout: () => stdout, of: <K extends RunEventName>(name: K) => seen.filter((e) => e.name === name).map((e) => e.payload as RunEventMap[K]) };
}

const EVENT_NAMES: RunEventName[] = [
  'stage.started', 'records.read', 'record.rejected', 'records.skipped', 'records.normalized', 'target.unresolved', 'lookup.done',
  'counter.reset', 'nodes.unchanged', 'nodes.alreadyApplied', 'nodes.planned', 'packet.sent', 'packet.answered', 'nodes.applied',
  'node.failed', 'packets.written',
];

const CSV = 'date,domain,smtp_in,smtp_out\n2026-11-01,a.example,10,1\n2026-11-01,A.EXAMPLE.,5,1\n2026-11-02,b.example,7,x\n2026-11-02,nobody.example,1,1\n';

describe('RunEvents', () => {
  it('calls listeners in subscription order and stops after unsubscribe', () => {
    const events = new RunEvents();
    const calls: string[] = [];
    const off = events.on('records.read', ({ count }) => void calls.push(`a${count}`));
    events.on('records.read', ({ count }) => void calls.push(`b${count}`));
    events.emit('records.read', { count: 1 });
    off();
    events.emit('records.read', { count: 2 });
    expect(calls).toEqual(['a1', 'b1', 'b2']);
  });
});

describe('read → normalize', () => {
  it('sums per (target, day) and reports rows, rejects and records as events', async () => {
    const t = context(CSV);
    const records = await readSource(t.ctx);
    expect(records.map((r) => [r.target.domain, r.date, r.metrics.smtp_in, r.rows])).toEqual([
      ['a.example', '2026-11-01', 15n, 2],
      ['nobody.example', '2026-11-02', 1n, 1],
    ]);
    expect(t.of('records.read').reduce((s, e) => s + e.count, 0)).toBe(4);
    expect(t.of('record.rejected').map((r) => [r.line, r.code, r.column])).toEqual([[4, 'R_NOT_NUMERIC', 'smtp_out']]);
    expect(t.of('records.normalized')).toEqual([{ count: 2 }]);
    expect(t.report.records).toMatchObject({ read: 4, rejected: 1, normalized: 2, skipped: 0 });
  });
});

describe('resolve', () => {
  it('turns names into ids and reports the unknown ones with their rows', async () => {
    const t = context(CSV, { api: new FakeApi({ 'a.example': 7 }, okAll) });
    const resolved = await resolve(t.ctx, await readSource(t.ctx));
    expect(resolved.map((r) => [r.operator, r.domId, r.date])).toEqual([['webspace', 7, '2026-11-01']]);
    expect(t.of('lookup.done')).toEqual([{ resolved: 1, unresolved: 1 }]);
    const [u] = t.of('target.unresolved');
    expect(u!.target).toMatchObject({ name: 'nobody.example', rows: 1, firstLine: 5 });
    expect(u!.rejection).toMatchObject({ code: 'R_UNRESOLVED', line: 5, column: 'domain' });
    expect(t.report.targets).toMatchObject({ resolved: 1, unresolved: 1 });
  });
});

const rec = (domId: number, date: string, smtp_in: bigint): ResolvedRecord => ({
  operator: 'webspace', domId, date, target: { domId }, metrics: { smtp_in }, rows: 1, file: 'in.csv', firstLine: 2, lastLine: 2,
});

describe('reconcile', () => {
  it('keeps what is recorded, skips what is unchanged, and plans the rest', async () => {
    const api = new FakeApi({}, okAll);
    api.held.set('1|2026-11-01', { ...zeroTraffic(), smtp_in: 5n, pop3_imap_in: 9n });
    api.held.set('2|2026-11-01', { ...zeroTraffic(), smtp_in: 3n });
    const t = context(CSV, { api });
    const plan = await reconcile(t.ctx, [rec(1, '2026-11-01', 6n), rec(2, '2026-11-01', 3n)]);
    expect(plan.nodes.map((n) => [n.domId, n.before.smtp_in, n.after.smtp_in, n.after.pop3_imap_in])).toEqual([[1, 5n, 6n, 9n]]);
    expect(t.of('nodes.unchanged')).toEqual([{ count: 1 }]);
    expect(plan.slice).toBe('');
  });

  it('reports a cumulative total lower than recorded as a counter reset', async () => {
    const api = new FakeApi({}, okAll);
    api.held.set('1|2026-11-01', { ...zeroTraffic(), smtp_in: 50n });
    const t = context(CSV, { api, reconcile: { mode: 'cumulative' } });
    const plan = await reconcile(t.ctx, [rec(1, '2026-11-02', 20n)]);
    expect(plan.nodes).toEqual([]);
    expect(t.of('counter.reset').map((e) => [e.target, e.date, e.metric, e.rejection.code])).toEqual([['dom_id 1', '2026-11-02', 'smtp_in', 'R_COUNTER_RESET']]);
    expect(t.report.records.resets).toBe(1);
  });

  it('names an additive slice by the sha256 of the input the reader names', async () => {
    const t = context(CSV, { api: new FakeApi({}, okAll), reconcile: { mode: 'additive' } });
    const plan = await reconcile(t.ctx, [rec(1, '2026-11-01', 1n)]);
    expect(plan.slice).toBe('sha256:' + (await import('node:crypto')).createHash('sha256').update(CSV).digest('hex'));
  });
});

describe('send', () => {
  it('batches per operator, applies node by node, and reads back a packet whose answer was lost', async () => {
    const api = new FakeApi({}, (nodes, i) =>
      i === 0 ? { kind: 'applied', attempts: 1, results: [{ status: 'ok' }, { status: 'error', errcode: 1013, errtext: 'Object not found.' }] }
        : i === 1 ? 'apply-silently'
          : { kind: 'failed', attempts: 3, error: `HTTP 502 for ${nodes.length} node(s)` });
    const t = context(CSV, { api });
    t.ctx.ledger = await Ledger.open(path.join(t.dir, 'state'), t.ctx.pipeline.file, { logger: silentLogger() });
    const plan = await reconcile(t.ctx, [1, 2, 3, 4, 5].map((id) => rec(id, '2026-11-01', BigInt(id))));
    await send(t.ctx, plan);
    await t.ctx.ledger.close();
    expect(api.packets.map((p) => p.map((n) => n.domId))).toEqual([[1, 2], [3, 4], [5]]);
    expect(t.of('nodes.planned')).toEqual([{ nodes: 5, packets: 3 }]);
    // Packets travel concurrently: their answers are compared in a fixed order.
    expect(t.of('packet.answered').map((e) => [e.outcome, e.applied, e.failed]).sort()).toEqual([['applied', 1, 1], ['failed', 0, 1], ['uncertain', 2, 0]]);
    expect(t.of('node.failed').map((f) => [f.dom_id, f.errcode ?? null, f.errtext]).sort()).toEqual([[2, 1013, 'Object not found.'], [5, null, 'HTTP 502 for 1 node(s)']]);
    expect(t.report.nodes).toMatchObject({ sent: 5, applied: 3, failed: 2 });
    expect(t.report).toMatchObject({ packets: 3, requests: { packetsFailed: 1, packetsUncertain: 1 } });
  });

  it('batch keeps one operator per packet, in order', () => {
    const n = (operator: Operator, id: number) => ({ operator, id });
    expect(batch([n('webspace', 1), n('site', 2), n('webspace', 3), n('webspace', 4)], 2).map((p) => p.map((x) => `${x.operator}${x.id}`)))
      .toEqual([['webspace1', 'webspace3'], ['webspace4'], ['site2']]);
  });
});

describe('dry-run', () => {
  it('writes numbered packets and diff.jsonl, and counts what would be sent', async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'ti-dry-')), 'out');
    const t = context(CSV, { dryRun: true, outDir: out });
    const plan = await reconcile(t.ctx, [1, 2, 3].map((id) => rec(id, '2026-11-01', BigInt(id * 10))));
    await dryRun(t.ctx, plan);
    expect(readdirSync(out).sort()).toEqual(['diff.jsonl', 'packet-0001.xml', 'packet-0002.xml']);
    expect(readFileSync(path.join(out, 'packet-0002.xml'), 'utf8')).toContain('<dom_id>3</dom_id>');
    const diff = readFileSync(path.join(out, 'diff.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { dom_id: number; smtp_in: { recorded: string; new: string } });
    expect(diff.map((d) => [d.dom_id, d.smtp_in.recorded, d.smtp_in.new])).toEqual([[1, '0', '10'], [2, '0', '20'], [3, '0', '30']]);
    expect(t.report).toMatchObject({ packets: 2, nodes: { sent: 3 } });
    expect(t.stdout()).toBe(''); // with --out, the diff goes to the file only
  });
});

describe('runPipeline', () => {
  it('runs the stages in order and builds the report from the events a subscriber also sees', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-flow-'));
    writeFileSync(path.join(dir, 'in.csv'), 'date,dom_id,smtp_in\n2026-11-01,1,5\n2026-11-01,2,x\n2026-11-02,3,7\n');
    // A live run has a panel URL: its ledger is the panel's (the API itself is a fake).
    const pipeline = parsePipeline({ source: { type: 'csv', path: 'in.csv' }, target: { type: 'plesk', url: 'https://plesk.test' } }, path.join(dir, 'p.json'));
    const events = new RunEvents();
    const stages: string[] = [];
    let read = 0;
    let finished: unknown;
    events.on('stage.started', ({ stage }) => void stages.push(stage));
    events.on('records.read', ({ count }) => void (read += count));
    events.on('run.finished', ({ report }) => void (finished = report));
    const api = new FakeApi({}, okAll);
    const report = await runPipeline({ pipeline, dryRun: false, env: {}, log: silentLogger(), api, events });
    expect(stages).toEqual(['connect', 'ledger', 'read', 'resolve', 'reconcile', 'send', 'finish']);
    expect(read).toBe(report.records.read);
    expect(report).toMatchObject({ exitCode: 1, status: 'partial', records: { read: 3, rejected: 1, normalized: 2 }, nodes: { sent: 2, applied: 2 }, packets: 1 });
    expect(finished).toBe(report);
    expect(api.held.get('3|2026-11-02')?.smtp_in).toBe(7n);
  });
});
