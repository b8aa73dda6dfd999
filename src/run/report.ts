// The run report (JSON, --report FILE) and the human summary printed on stderr at the end.
// Field names are a contract operators script against: add fields, never rename them.
// The report is built from the run events (collectReport): no stage writes a report field itself.

import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { EXIT, type ExitCode } from '../errors.js';
import type { Rejection, UnresolvedTarget } from '../model.js';
import type { NodeFailure, RunEvents } from './events.js';

export type { NodeFailure } from './events.js';

/**
 * A metric of a (target, day) held back because a rejected value belonged to it: nothing was sent for it, so
 * Plesk keeps what it recorded (docs/reconcile.md, "Held back").
 */
export interface HeldBack {
  /** Domain or `dom_id N`, as the source named it. */
  target: string;
  date: string;
  metric: string;
  /** Reject code of the first rejection that held it (R_HELD_NODE: additive node held whole for another metric). */
  code: string;
  reason: string;
  /** Where that rejection was (file or API object, line). */
  file: string;
  line: number;
  /** Rejections that belonged to this metric of this key. */
  rejections: number;
}

export interface RunReport {
  version: 1;
  run: {
    id?: string;
    pipeline: string;
    source: string;
    operator: string;
    mode: string;
    setTrafficSemantics: string;
    dryRun: boolean;
    window: { from?: string; to?: string };
    startedAt: string;
    finishedAt?: string;
    durationMs?: number;
  };
  records: {
    /** Rows (or API entries) read from the source, good and rejected. */
    read: number;
    /** Rejected rows/keys, each in the reject file with file, line and reason. */
    rejected: number;
    /** Outside --from/--to: skipped and counted, not rejected. */
    skipped: number;
    /** On days not over yet in the panel's zone (target.timezone): skipped and counted (--include-open-days imports them). */
    open: number;
    /** Distinct (target, day) records after normalizing. */
    normalized: number;
    /** Cumulative totals lower than what is recorded (counter reset or wrong period): nothing recorded. */
    resets: number;
    rejectedByCode: Record<string, number>;
    /** (target, day, metric) held back because a rejected value belonged to them: listed in `heldBack`. */
    heldBack: number;
  };
  targets: {
    resolved: number;
    unresolved: number;
    unresolvedList: UnresolvedTarget[];
  };
  nodes: {
    /** Equal to what Plesk already holds: not sent. */
    unchanged: number;
    /** Additive slices already applied (ledger): not sent again. */
    alreadyApplied: number;
    /** What reconcile decided to send (more than `sent` when a fatal answer or a stop signal came first). */
    planned: number;
    /** Nodes in packets sent (dry-run: that would be sent). */
    sent: number;
    /** Confirmed by Plesk's answer, node by node. */
    applied: number;
    /** Plesk answered with an error, or the packet failed. */
    failed: number;
  };
  /** Packets sent (dry-run: written). */
  packets: number;
  requests: { packetsFailed: number; packetsUncertain: number };
  ignored: Record<string, number>;
  failures: NodeFailure[];
  /** The held-back metrics (first 1000; `records.heldBack` counts them all). */
  heldBack: HeldBack[];
  rejectSample: Rejection[];
  intents?: { settledApplied: number; settledNotApplied: number; settledAmbiguous: number };
  exitCode: ExitCode;
  status: 'ok' | 'partial' | 'failed' | 'interrupted';
  error?: { code: string; message: string };
  /** A file source that yielded no records (exit 1 unless source.allowEmpty). */
  emptySource?: { message: string };
  /** The signal that stopped the run (exit 143 for SIGTERM, 130 for SIGINT). */
  interrupted?: { signal: 'SIGTERM' | 'SIGINT' };
}

/** Failures listed in the report at most (all are counted, and logged). */
export const MAX_FAILURES_IN_REPORT = 1000;
/** Rejections kept in the report's sample (the reject file has them all). */
export const REJECT_SAMPLE_SIZE = 100;

/**
 * The report as the run's events describe it: subscribes to `events` and returns the report object, filled as
 * the run goes. `finishReport` sets the exit code and status at the end.
 */
export function collectReport(events: RunEvents): RunReport {
  const report = emptyReport({
    pipeline: '', source: '', operator: '', mode: '', setTrafficSemantics: '', dryRun: false, window: {}, startedAt: new Date().toISOString(),
  });
  const r = report;
  const sampled = (rej: Rejection): void => {
    r.records.rejectedByCode[rej.code] = (r.records.rejectedByCode[rej.code] ?? 0) + 1;
    if (r.rejectSample.length < REJECT_SAMPLE_SIZE) r.rejectSample.push(rej);
  };
  events.on('run.started', (run) => void (r.run = { ...run }));
  events.on('run.recorded', ({ id }) => void (r.run.id = id));
  events.on('records.read', ({ count }) => void (r.records.read += count));
  events.on('record.rejected', (rej) => {
    r.records.rejected++;
    sampled(rej);
  });
  events.on('records.skipped', ({ count }) => void (r.records.skipped += count));
  events.on('records.open', ({ count }) => void (r.records.open += count));
  events.on('source.empty', ({ message }) => void (r.emptySource = { message }));
  events.on('run.interrupted', ({ signal }) => void (r.interrupted ??= { signal }));
  events.on('records.ignored', ({ what, count }) => void (r.ignored[what] = (r.ignored[what] ?? 0) + count));
  events.on('records.normalized', ({ count }) => void (r.records.normalized = count));
  events.on('metric.heldBack', (h) => {
    r.records.heldBack++;
    if (r.heldBack.length < MAX_FAILURES_IN_REPORT) r.heldBack.push(h);
  });
  events.on('target.unresolved', ({ target, rejection }) => {
    r.targets.unresolvedList.push(target);
    r.targets.unresolved = r.targets.unresolvedList.length;
    sampled(rejection);
  });
  events.on('lookup.done', ({ resolved }) => void (r.targets.resolved = resolved));
  events.on('intents.settled', (s) => void (r.intents = { ...s }));
  events.on('counter.reset', ({ rejection }) => {
    r.records.resets++;
    sampled(rejection);
  });
  events.on('nodes.unchanged', ({ count }) => void (r.nodes.unchanged += count));
  events.on('nodes.alreadyApplied', ({ count }) => void (r.nodes.alreadyApplied += count));
  // Live: nodes and packets in requests that really went out (after a fatal answer nothing more starts).
  // Dry-run: what would be sent.
  let dry = false;
  events.on('stage.started', ({ stage }) => void (dry ||= stage === 'dry-run'));
  events.on('nodes.planned', ({ nodes }) => {
    r.nodes.planned += nodes;
    if (dry) r.nodes.sent += nodes;
  });
  events.on('packet.sent', ({ nodes }) => {
    r.nodes.sent += nodes;
    r.packets++;
  });
  events.on('packets.written', ({ count }) => void (r.packets += count));
  events.on('packet.answered', ({ outcome }) => {
    if (outcome === 'failed') r.requests.packetsFailed++;
    if (outcome === 'uncertain') r.requests.packetsUncertain++;
  });
  events.on('nodes.applied', ({ count }) => void (r.nodes.applied += count));
  events.on('node.failed', (f) => {
    r.nodes.failed++;
    if (r.failures.length < MAX_FAILURES_IN_REPORT) r.failures.push(f);
  });
  events.on('run.failed', ({ code, message }) => void (r.error ??= { code, message }));
  return report;
}

export function emptyReport(run: RunReport['run']): RunReport {
  return {
    version: 1,
    run,
    records: { read: 0, rejected: 0, skipped: 0, open: 0, normalized: 0, resets: 0, rejectedByCode: {}, heldBack: 0 },
    targets: { resolved: 0, unresolved: 0, unresolvedList: [] },
    nodes: { unchanged: 0, alreadyApplied: 0, planned: 0, sent: 0, applied: 0, failed: 0 },
    packets: 0,
    requests: { packetsFailed: 0, packetsUncertain: 0 },
    ignored: {},
    failures: [],
    heldBack: [],
    rejectSample: [],
    exitCode: EXIT.OK,
    status: 'ok',
  };
}

/**
 * 143/130 when a signal stopped the run (whatever else happened: the scheduler must know it was stopped), 2 on a
 * fatal error, 1 when anything was rejected, unresolved or failed or a file source was empty, else 0.
 */
export function exitCodeOf(r: RunReport): ExitCode {
  if (r.interrupted) return r.interrupted.signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM;
  if (r.error) return EXIT.FATAL;
  const bad = r.records.rejected + r.targets.unresolved + r.nodes.failed + r.records.resets + (r.emptySource ? 1 : 0);
  return bad > 0 ? EXIT.PARTIAL : EXIT.OK;
}

export function finishReport(r: RunReport): RunReport {
  r.run.finishedAt = new Date().toISOString();
  r.run.durationMs = Date.parse(r.run.finishedAt) - Date.parse(r.run.startedAt);
  r.exitCode = exitCodeOf(r);
  r.status = r.interrupted ? 'interrupted' : r.exitCode === EXIT.OK ? 'ok' : r.exitCode === EXIT.PARTIAL ? 'partial' : 'failed';
  return r;
}

export function writeReport(file: string, r: RunReport): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, `${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}

/** A few lines for a person, on stderr. */
export function summaryText(r: RunReport): string {
  const dry = r.run.dryRun ? ' (dry-run: nothing was changed)' : '';
  const lines = [
    `traffic-import ${r.status.toUpperCase()}${dry} — ${r.run.pipeline}`,
    `  records   read ${r.records.read}, rejected ${r.records.rejected}, skipped (window) ${r.records.skipped}, ` +
      `${r.records.open ? `open days ${r.records.open}, ` : ''}` +
      `per target/day ${r.records.normalized}${r.records.resets ? `, counter resets ${r.records.resets}` : ''}`,
    `  targets   resolved ${r.targets.resolved}, unresolved ${r.targets.unresolved}`,
    `  nodes     unchanged ${r.nodes.unchanged}, ${r.run.dryRun ? 'would send' : 'sent'} ${r.nodes.sent}, ` +
      `applied ${r.nodes.applied}, failed ${r.nodes.failed}` +
      (r.nodes.alreadyApplied ? `, already applied ${r.nodes.alreadyApplied}` : ''),
    `  packets   ${r.packets}${r.requests.packetsFailed ? ` (failed ${r.requests.packetsFailed})` : ''}`,
  ];
  // What the source left out on purpose (by reason): the reader counted it, nothing was lost silently.
  for (const [what, n] of Object.entries(r.ignored).slice(0, 12)) lines.push(`  ignored   ${n} ${what}`);
  for (const u of r.targets.unresolvedList.slice(0, 10)) {
    lines.push(`  unresolved ${u.name}: ${u.reason} (${u.rows} rows, ${u.file}:${u.firstLine}-${u.lastLine})`);
  }
  if (r.records.heldBack > 0) {
    lines.push(`  held back ${r.records.heldBack} metric(s) a rejected value belonged to: not sent, Plesk keeps what it recorded`);
    for (const h of r.heldBack.slice(0, 10)) lines.push(`  held      ${h.target} ${h.date} ${h.metric}: [${h.code}] ${h.reason} (${h.file}:${h.line})`);
  }
  for (const f of r.failures.slice(0, 10)) {
    lines.push(`  failed    ${f.operator} dom_id ${f.dom_id} ${f.date}: ${f.errcode ? `[${f.errcode}] ` : ''}${f.errtext}`);
  }
  if (r.emptySource) lines.push(`  empty     ${r.emptySource.message}`);
  // Nothing came out of the source (a CSV with only its header, an empty log, no account or day): say so, an OK
  // with "read 0" alone reads like success.
  else if (!r.error && r.records.read === 0) lines.push('  note      the source held no records (a file with only a header, an empty log, no accounts or days): nothing to import');
  if (r.interrupted) {
    const answered = r.nodes.applied + r.nodes.failed;
    lines.push(`  stopped   by ${r.interrupted.signal}: ${r.nodes.sent} of ${r.nodes.planned} planned nodes sent, ${answered} answered; run it again to finish (re-runs converge)`);
  }
  lines.push(`  exit code ${r.exitCode}`);
  // The fatal error last, in the one form every fatal error has (printed once: the CLI adds nothing).
  if (r.error) lines.push(`traffic-import: [${r.error.code}] ${r.error.message}`);
  return lines.join('\n');
}
