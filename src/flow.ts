// The whole import, top to bottom:
//   read → normalize → resolve → reconcile → batch → send → commit.
// Each stage lives in its own module; this file only wires them and keeps the run report.

import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { Pipeline } from './config.js';
import { TiError, errorMessage } from './errors.js';
import { Ledger, type Intent } from './ledger/index.js';
import { METRICS, targetLabel, type FullTraffic, type Operator } from './model.js';
import { Normalizer, type HeldMetric } from './normalize.js';
import { createPleskClient } from './plesk/create.js';
import { buildSetTrafficPacket } from './plesk/packet.js';
import type { PleskApi } from './plesk/types.js';
import { createReader } from './readers/index.js';
import type { ReaderContext } from './readers/types.js';
import { mailOf, reconcile, recordedRange, sameMail, type Mail, type PlannedNode, type ResolvedRecord } from './reconcile.js';
import { RejectSink } from './rejects.js';
import { emptyReport, finishReport, writeReport, type HeldBack, type RunReport } from './report.js';
import { loadIdMap, resolveTargets } from './resolve.js';

export interface RunOptions {
  pipeline: Pipeline;
  dryRun: boolean;
  /** Dry-run: write each packet as a numbered .xml file (and diff.jsonl) here. */
  outDir?: string;
  reportPath?: string;
  rejectsPath?: string;
  from?: string;
  to?: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  stdin?: NodeJS.ReadableStream;
  /** Where the dry-run diff is printed. */
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Tests: use this API instead of building a client. */
  api?: PleskApi;
}

const MAX_FAILURES_IN_REPORT = 1000;

export async function runPipeline(opts: RunOptions): Promise<RunReport> {
  const { pipeline: p, log, env } = opts;
  const window = { ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) };
  const report = emptyReport({
    pipeline: p.file,
    source: p.source.type + ('from' in p.source ? `/${String(p.source.from)}` : ''),
    operator: p.target.operator,
    mode: p.reconcile.mode,
    setTrafficSemantics: p.target.setTrafficSemantics,
    dryRun: opts.dryRun,
    window,
    startedAt: new Date().toISOString(),
  });
  const rejects = new RejectSink(opts.rejectsPath);
  let api: PleskApi | undefined = opts.api;
  let ownApi = false;
  let ledger: Ledger | undefined;
  let runId: string | undefined;
  let locked = false;
  try {
    // ── connect (a dry-run may go without a target: then only dom_id / idMap records resolve) ──
    if (!api) {
      api = await createPleskClient(p, env, log, { required: !opts.dryRun });
      ownApi = api !== undefined;
      if (!api) log.info('dry-run without a Plesk target (no URL or credentials): nothing recorded is read; names need target.idMap');
    }

    // ── ledger: lock, run record, open intents of a killed run (never written by a dry-run) ──
    const mode = p.reconcile.mode;
    if (!opts.dryRun) {
      ledger = await Ledger.open(p.statePath, p.file, { logger: log, ...p.state });
      await ledger.acquireLock();
      locked = true;
      runId = ledger.startRun({ pipeline: p.file, window, mode, dryRun: false }).id;
      report.run.id = runId;
      if (api) report.intents = await settleOpenIntents(ledger, api, log);
    } else if (mode === 'additive') {
      // A dry-run reads which slices were applied, and writes nothing.
      ledger = await Ledger.open(p.statePath, p.file, { logger: log, readOnly: true });
    }

    // ── read → normalize ──
    const normalizer = new Normalizer({ window, reject: (r) => { report.records.rejected++; rejects.add(r); } });
    let emitted = 0;
    const unresolvedBySource: RunReport['targets']['unresolvedList'] = [];
    const ctx: ReaderContext = {
      baseDir: p.baseDir,
      window,
      env,
      log,
      reject: (r) => {
        report.records.read++;
        report.records.rejected++;
        rejects.add(r);
        // What the rejected value belonged to is held back, never sent partial or as a made-up 0.
        normalizer.noteRejected(r);
      },
      unresolved: (name, origin, reason) => {
        unresolvedBySource.push({ name, rows: 1, file: origin.file, firstLine: origin.line, lastLine: origin.line, reason });
        rejects.add({ file: origin.file, line: origin.line, code: 'R_UNRESOLVED', reason: `${name}: ${reason}` });
      },
      ignored: (what, count = 1) => { report.ignored[what] = (report.ignored[what] ?? 0) + count; },
      ...(opts.stdin ? { stdin: opts.stdin } : {}),
    };
    await createReader(p.source).read(ctx, (rec) => { emitted++; normalizer.add(rec); });
    report.records.read += emitted;
    report.records.skipped = normalizer.skippedOutsideWindow;
    const dayRecords = normalizer.records();
    report.records.normalized = dayRecords.length;
    noteHeldBack(normalizer.heldBack(), report, log);
    log.info({ read: report.records.read, rejected: report.records.rejected, records: dayRecords.length }, 'source read');

    // ── resolve ──
    const idMap = p.target.idMap ? loadIdMap(path.resolve(p.baseDir, p.target.idMap)) : undefined;
    const resolved = await resolveTargets(dayRecords, {
      operator: p.target.operator,
      ...(idMap ? { idMap } : {}),
      ...(api ? { api } : {}),
    });
    report.targets.resolved = resolved.resolvedTargets;
    report.targets.unresolvedList = [...unresolvedBySource, ...resolved.unresolved];
    report.targets.unresolved = report.targets.unresolvedList.length;
    for (const u of resolved.unresolved) {
      rejects.add({ file: u.file, line: u.firstLine, column: 'domain', code: 'R_UNRESOLVED', reason: `${u.name}: ${u.reason} (${u.rows} rows, lines ${u.firstLine}-${u.lastLine})` });
    }

    // ── reconcile against what Plesk recorded ──
    const unreadable = new Map<string, string>();
    const recorded = api ? await readRecorded(api, resolved.records, mode, unreadable) : new Map<string, Map<string, FullTraffic>>();
    // What Plesk holds for an id could not be read: its records cannot be reconciled safely; they fail.
    const readable = resolved.records.filter((r) => {
      const why = unreadable.get(`${r.operator}|${r.domId}`);
      if (why === undefined) return true;
      report.nodes.failed++;
      if (report.failures.length < MAX_FAILURES_IN_REPORT) report.failures.push({ operator: r.operator, dom_id: r.domId, date: r.date, errtext: why });
      return false;
    });
    const slice = mode === 'additive' ? await sliceId(p) : '';
    const result = reconcile({
      records: readable,
      recorded: (op, id) => recorded.get(`${op}|${id}`),
      mode,
      semantics: p.target.setTrafficSemantics,
      isApplied: (op, id, date) => ledger?.isApplied(slice, op, id, date) ?? false,
    });
    report.nodes.unchanged = result.unchanged;
    report.nodes.alreadyApplied = result.alreadyApplied;
    report.records.resets = result.resets.length;
    for (const r of result.resets) {
      log.warn({ target: targetLabel(r.record.target), date: r.record.date, metric: r.metric }, 'cumulative total lower than recorded: nothing recorded for it');
      rejects.add({
        file: r.record.file, line: r.record.firstLine, column: r.metric, code: 'R_COUNTER_RESET',
        reason: `${targetLabel(r.record.target)} ${r.record.date}: total ${r.total} < ${r.recordedBefore} already recorded for the period's earlier days`,
      });
    }
    for (const r of result.heldWhole) {
      // Additive: a node is applied whole or not at all (the ledger marks the slice per node).
      for (const metric of METRICS) {
        if (r.metrics[metric] === undefined) continue;
        addHeld(report, { target: targetLabel(r.target), date: r.date, metric, code: 'R_HELD_NODE', rejections: 0, file: r.file, line: r.firstLine,
          reason: `additive mode applies a node whole or not at all, and ${r.held!.join(', ')} of this node is held back: fix the input and re-run with the same reconcile.slice` });
      }
    }
    for (const r of result.overflows) {
      report.records.rejected++;
      rejects.add({ file: r.file, line: r.firstLine, code: 'R_OVER_LONG', reason: `${targetLabel(r.target)} ${r.date}: recorded + increment exceeds xs:long` });
    }

    // ── batch → send → commit ──
    const packets = batch(result.nodes, p.target.batchSize);
    report.nodes.sent = result.nodes.length;
    if (opts.dryRun) {
      writeDryRun(packets, result.nodes, p, opts, report);
    } else if (packets.length > 0) {
      if (!api) throw new TiError('TI_INTERNAL', 'no Plesk client for a live run');
      const liveApi = api;
      const activeLedger = ledger!;
      // Packets are built when their turn comes (not all up front): twice the client's in-flight limit keeps
      // the next packet ready while the others travel, and memory holds a few packets, not the whole run.
      const feed = new PQueue({ concurrency: p.target.concurrency * 2 });
      // A fatal error (credentials revoked mid-run, a packet Plesk calls malformed) stops the run: packets not
      // yet started are dropped; those in flight finish and are committed or left as intents.
      let fatal: unknown;
      await feed
        .addAll(packets.map((nodes) => async () => {
          if (fatal !== undefined) return;
          try {
            await sendPacket(nodes, liveApi, activeLedger, slice, mode === 'additive', p, report, log);
          } catch (err) {
            fatal ??= err;
            throw err;
          }
        }))
        .catch(async (err: unknown) => {
          feed.clear();
          await feed.onIdle();
          throw err;
        });
    }
  } catch (err) {
    if (err instanceof TiError) report.error = { code: err.code, message: err.message };
    else {
      log.error({ err }, 'internal error');
      report.error = { code: 'TI_INTERNAL', message: errorMessage(err) };
    }
  } finally {
    if (ownApi) await api?.close().catch(() => undefined);
    report.records.rejectedByCode = { ...rejects.byCode };
    report.rejectSample = rejects.sample;
    await rejects.close().catch(() => undefined);
    finishReport(report);
    if (ledger) {
      if (runId) ledger.finishRun(runId, report.status, { records: report.records, nodes: report.nodes, packets: report.packets });
      if (locked) await ledger.releaseLock().catch(() => undefined);
      await ledger.close().catch(() => undefined);
    }
    if (opts.reportPath) writeReport(opts.reportPath, report);
  }
  return report;
}

/** get_traffic for every resolved id over the run's dates (cumulative: from the period's start). */
async function readRecorded(
  api: PleskApi, records: ResolvedRecord[], mode: Parameters<typeof recordedRange>[1], unreadable: Map<string, string>,
): Promise<Map<string, Map<string, FullTraffic>>> {
  const out = new Map<string, Map<string, FullTraffic>>();
  for (const [op, recs] of byOperator(records)) {
    const range = recordedRange(recs, mode);
    if (!range) continue;
    const ids = [...new Set(recs.map((r) => r.domId))];
    const got = await api.getTraffic(op, ids, range.since, range.to, (id, errcode, errtext) => {
      unreadable.set(`${op}|${id}`, `get_traffic failed: Plesk error ${errcode ?? '?'}: ${errtext}`);
    });
    for (const [id, days] of got) out.set(`${op}|${id}`, days);
  }
  return out;
}

/** Additive slices are named by reconcile.slice, or by the sha256 of the input file. */
async function sliceId(p: Pipeline): Promise<string> {
  if (p.reconcile.slice) return p.reconcile.slice;
  const src = p.source as { path?: unknown };
  if (typeof src.path === 'string' && src.path !== '-') {
    const file = path.resolve(p.baseDir, src.path);
    const hash = createHash('sha256');
    try {
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    } catch (err) {
      throw new TiError('TI_SOURCE_UNREADABLE', `${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    return `sha256:${hash.digest('hex')}`;
  }
  throw new TiError('TI_CONFIG', 'reconcile.slice: additive mode needs a slice name for this source (it has no input file to hash)');
}

/** Held-back metrics into the report (list bounded like failures) and the log. */
function noteHeldBack(held: HeldMetric[], report: RunReport, log: Logger): void {
  for (const h of held) {
    addHeld(report, {
      target: targetLabel(h.target), date: h.date, metric: h.metric, code: h.cause.code, reason: h.cause.reason,
      file: h.cause.file, line: h.cause.line, rejections: h.rejections,
    });
  }
  if (held.length > 0) {
    log.warn({ heldBack: held.length, first: report.heldBack[0] }, 'metrics held back because rejected values belonged to them: Plesk keeps what it recorded for them');
  }
}

function addHeld(report: RunReport, h: HeldBack): void {
  report.records.heldBack++;
  if (report.heldBack.length < MAX_FAILURES_IN_REPORT) report.heldBack.push(h);
}

/** One packet holds one operator's nodes: group by operator, keeping order. */
function byOperator<T extends { operator: Operator }>(items: readonly T[]): Map<Operator, T[]> {
  const out = new Map<Operator, T[]>();
  for (const item of items) {
    let l = out.get(item.operator);
    if (!l) out.set(item.operator, (l = []));
    l.push(item);
  }
  return out;
}

function batch<T extends { operator: Operator }>(nodes: T[], size: number): T[][] {
  const out: T[][] = [];
  for (const l of byOperator(nodes).values()) for (let i = 0; i < l.length; i += size) out.push(l.slice(i, i + size));
  return out;
}

function intentsOf(nodes: PlannedNode[], slice: string): Intent[] {
  return nodes.map((n) => ({ slice, operator: n.operator, domId: n.domId, date: n.date, before: n.before, after: n.after }));
}

async function sendPacket(
  nodes: PlannedNode[], api: PleskApi, ledger: Ledger, slice: string, additive: boolean,
  p: Pipeline, report: RunReport, log: Logger,
): Promise<void> {
  const op = nodes[0]!.operator;
  const intents = intentsOf(nodes, slice);
  // Write-ahead: a kill between Plesk's answer and the commit is settled on the next start.
  if (additive) ledger.writeIntents(intents);
  const outcome = await api.setTraffic(op, nodes.map((n) => n.send), { idempotent: p.target.setTrafficSemantics === 'replace' });
  report.packets++;
  const ok: number[] = [];
  const bad: number[] = [];
  const fail = (i: number, errtext: string, errcode?: number) => {
    bad.push(i);
    const n = nodes[i]!;
    log.error({ operator: op, dom_id: n.domId, date: n.date, errcode }, `set_traffic failed: ${errtext}`);
    if (report.failures.length < MAX_FAILURES_IN_REPORT) {
      report.failures.push({ operator: op, dom_id: n.domId, date: n.date, ...(errcode !== undefined ? { errcode } : {}), errtext });
    }
  };
  if (outcome.kind === 'applied') {
    outcome.results.forEach((r, i) => (r.status === 'ok' ? ok.push(i) : fail(i, r.errtext ?? 'error', r.errcode)));
  } else if (outcome.kind === 'failed') {
    report.requests.packetsFailed++;
    nodes.forEach((_n, i) => fail(i, outcome.error, outcome.errcode));
  } else {
    // The packet may or may not have been applied: re-read what Plesk holds and decide node by node.
    report.requests.packetsUncertain++;
    log.warn({ error: outcome.error, nodes: nodes.length }, 'no usable answer for a packet: re-reading what Plesk holds');
    const held = await heldNow(api, op, nodes);
    nodes.forEach((n, i) => {
      if (sameMail(held(n), n.after)) ok.push(i);
      else fail(i, `not applied (${outcome.error})`);
    });
  }
  report.nodes.applied += ok.length;
  report.nodes.failed += bad.length;
  if (additive) {
    ledger.commit(ok.map((i) => intents[i]!));
    ledger.abort(bad.map((i) => intents[i]!));
  }
}

/** What Plesk holds now for these (dom_id, day) nodes: one get_traffic over their ids and date span. */
async function heldNow(api: PleskApi, op: Operator, items: readonly { domId: number; date: string }[]): Promise<(item: { domId: number; date: string }) => Mail> {
  let since = items[0]!.date;
  let to = since;
  for (const i of items) {
    if (i.date < since) since = i.date;
    if (i.date > to) to = i.date;
  }
  const now = await api.getTraffic(op, [...new Set(items.map((i) => i.domId))], since, to);
  return (item) => mailOf(now.get(item.domId)?.get(item.date));
}

/**
 * Intents neither committed nor aborted were written by a run that was killed mid-packet. What Plesk holds
 * now tells whether each was applied: equal to `after` → applied; equal to `before` → not applied.
 * Anything else means the day changed since: counted as applied, because re-sending could double count.
 */
async function settleOpenIntents(ledger: Ledger, api: PleskApi, log: Logger): Promise<NonNullable<RunReport['intents']>> {
  const open = ledger.openIntents();
  const out = { settledApplied: 0, settledNotApplied: 0, settledAmbiguous: 0 };
  if (open.length === 0) return out;
  log.warn({ intents: open.length }, 'settling open intents of an interrupted run');
  for (const [op, list] of byOperator(open)) {
    const held = await heldNow(api, op, list);
    const applied: Intent[] = [];
    const notApplied: Intent[] = [];
    for (const i of list) {
      const now = held(i);
      if (sameMail(now, i.after)) {
        applied.push(i);
        out.settledApplied++;
      } else if (sameMail(now, i.before)) notApplied.push(i);
      else {
        out.settledAmbiguous++;
        applied.push(i);
        log.warn({ operator: op, dom_id: i.domId, date: i.date }, 'open intent matches neither before nor after: treated as applied (never double count)');
      }
    }
    ledger.commit(applied);
    ledger.abort(notApplied);
    out.settledNotApplied += notApplied.length;
  }
  return out;
}

/** Dry-run: packets as numbered files, the per-node diff as diff.jsonl and on stdout. Nothing is sent or stored. */
function writeDryRun(packets: PlannedNode[][], nodes: PlannedNode[], p: Pipeline, opts: RunOptions, report: RunReport): void {
  report.packets = packets.length;
  const diffLines = nodes.map((n) =>
    JSON.stringify({
      operator: n.operator, dom_id: n.domId, date: n.date, target: targetLabel(n.record.target),
      ...Object.fromEntries(METRICS.map((m) => [m, { recorded: n.before[m].toString(), new: n.after[m].toString() }])),
    }),
  );
  if (opts.outDir) {
    mkdirSync(opts.outDir, { recursive: true });
    const width = Math.max(4, String(packets.length).length);
    packets.forEach((nodesOf, i) => {
      const xml = buildSetTrafficPacket(nodesOf[0]!.operator, nodesOf.map((n) => n.send), p.target.packetVersion);
      writeFileSync(path.join(opts.outDir!, `packet-${String(i + 1).padStart(width, '0')}.xml`), xml);
    });
    writeFileSync(path.join(opts.outDir, 'diff.jsonl'), diffLines.length ? `${diffLines.join('\n')}\n` : '');
  }
  const out = opts.stdout ?? process.stdout;
  if (out.isTTY) out.write(diffTable(nodes));
  else if (!opts.outDir) for (const l of diffLines) out.write(`${l}\n`);
}

const TABLE_ROWS = 200;

function diffTable(nodes: PlannedNode[]): string {
  if (nodes.length === 0) return 'No nodes to send.\n';
  const head = ['operator', 'dom_id', 'date', ...METRICS];
  const rows = nodes.slice(0, TABLE_ROWS).map((n) => [
    n.operator, String(n.domId), n.date,
    ...METRICS.map((m) => (n.before[m] === n.after[m] ? `${n.after[m]}` : `${n.before[m]} → ${n.after[m]}`)),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const fmt = (r: string[]) => r.map((v, c) => v.padEnd(widths[c]!)).join('  ');
  const lines = [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
  if (nodes.length > TABLE_ROWS) lines.push(`… ${nodes.length - TABLE_ROWS} more (use --out DIR for diff.jsonl)`);
  return `${lines.join('\n')}\n`;
}
