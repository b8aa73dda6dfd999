// Prometheus metrics of a run, for node_exporter's textfile collector (--metrics-file) and the Pushgateway
// (--pushgateway): the Prometheus conventions for batch jobs. What a run did comes from its report (built from the
// run events) and from the HTTP attempts the run events carry; prom-client renders the text exposition format.
//
// Counters hold what this run did (they start at zero every run, as a batch job's do); the gauges say when the
// pipeline last ran and last succeeded, which the alert rules in docs/operations.md watch.

import type { Registry } from 'prom-client';
import type { RunReport } from '../run/report.js';

/** Seconds; Plesk packets of 100 nodes on a busy panel take seconds, lookups and WHM calls less. */
export const REQUEST_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** What one pipeline's run contributes to the metrics. */
export class RunMetrics {
  /** Durations (seconds) of every HTTP attempt, per client (`plesk`, `whm`, `opensrs`). */
  readonly requests = new Map<string, number[]>();
  readonly retries = new Map<string, number>();
  report: RunReport | undefined;
  /** Exit code as the process reports it for this pipeline (143/130 after a signal). */
  exitCode: number | undefined;
  /** Unix seconds of the last run that finished with exit 0 or 1 (this one or an earlier one), when known. */
  lastSuccessSeconds: number | undefined;

  constructor(readonly pipeline: string) {}

  requestDone(e: { client: string; durationMs: number }): void {
    let l = this.requests.get(e.client);
    if (!l) this.requests.set(e.client, (l = []));
    l.push(e.durationMs / 1000);
  }

  retried(e: { client: string }): void {
    this.retries.set(e.client, (this.retries.get(e.client) ?? 0) + 1);
  }

  finished(report: RunReport, exitCode: number): void {
    this.report = report;
    this.exitCode = exitCode;
    if (!report.run.dryRun && (exitCode === 0 || exitCode === 1)) this.lastSuccessSeconds = Date.parse(report.run.finishedAt ?? new Date().toISOString()) / 1000;
  }
}

/**
 * A registry holding the runs' metrics. `pipelineLabel`: every series carries `pipeline` (a metrics file holds
 * several pipelines); without it, one run's series only (a Pushgateway push, whose grouping key names the pipeline).
 */
export async function registryOf(runs: readonly RunMetrics[], opts: { pipelineLabel: boolean }): Promise<Registry> {
  // prom-client is loaded only by a run that writes or pushes metrics: at start-up it costs ~70 ms a run would pay
  // for nothing (issue 13: the whole process is what a user times).
  const { Counter, Gauge, Histogram, Registry } = await import('prom-client');
  const registry = new Registry();
  const p = opts.pipelineLabel ? ['pipeline'] : [];
  const labels = (m: RunMetrics, extra: Record<string, string> = {}) => ({ ...(opts.pipelineLabel ? { pipeline: m.pipeline } : {}), ...extra });
  const registers = [registry];
  const records = new Counter({ name: 'traffic_import_records_total', help: 'Rows (or API entries) read from the source in the last run, by outcome: accepted (went on to import), rejected, skipped (outside --from/--to), open (day not over yet).', labelNames: [...p, 'outcome'], registers });
  const nodes = new Counter({ name: 'traffic_import_nodes_total', help: 'Subscription/site days in the last run, by outcome: unchanged, already_applied, applied, failed, not_sent (planned, never sent: a stop signal or a fatal answer came first), unanswered (sent, no answer before the run ended: settled by the next run).', labelNames: [...p, 'outcome'], registers });
  const packets = new Counter({ name: 'traffic_import_packets_total', help: 'set_traffic packets sent in the last run.', labelNames: p, registers });
  const retries = new Counter({ name: 'traffic_import_retries_total', help: 'HTTP attempts retried after a transient failure in the last run, by client.', labelNames: [...p, 'client'], registers });
  const duration = new Histogram({ name: 'traffic_import_request_duration_seconds', help: 'Duration of each HTTP attempt in the last run, by client (plesk, whm, opensrs).', labelNames: [...p, 'client'], buckets: REQUEST_BUCKETS, registers });
  const unresolved = new Gauge({ name: 'traffic_import_unresolved_targets', help: 'Domains of the last run that Plesk does not know.', labelNames: p, registers });
  const runSeconds = new Gauge({ name: 'traffic_import_run_duration_seconds', help: 'Duration of the last run.', labelNames: p, registers });
  const lastRun = new Gauge({ name: 'traffic_import_last_run_timestamp_seconds', help: 'When the last run finished, whatever its outcome (Unix time).', labelNames: p, registers });
  const lastSuccess = new Gauge({ name: 'traffic_import_last_success_timestamp_seconds', help: 'When a run last finished and imported what it could, exit code 0 or 1 (Unix time).', labelNames: p, registers });
  const lastExit = new Gauge({ name: 'traffic_import_last_exit_code', help: 'Exit code of the last run: 0 ok, 1 partial, 2 fatal, 130/143 interrupted by SIGINT/SIGTERM.', labelNames: p, registers });

  for (const m of runs) {
    const r = m.report;
    if (r) {
      const rec = r.records;
      const open = rec.open;
      const accepted = Math.max(0, rec.read - rec.rejected - rec.skipped - open);
      for (const [outcome, n] of Object.entries({ accepted, rejected: rec.rejected, skipped: rec.skipped, open })) records.inc(labels(m, { outcome }), n);
      const n = r.nodes;
      const dry = r.run.dryRun;
      const notSent = dry ? n.planned : Math.max(0, n.planned - n.sent);
      const unanswered = dry ? 0 : Math.max(0, n.sent - n.applied - n.failed);
      for (const [outcome, v] of Object.entries({ unchanged: n.unchanged, already_applied: n.alreadyApplied, applied: n.applied, failed: n.failed, not_sent: notSent, unanswered })) nodes.inc(labels(m, { outcome }), v);
      packets.inc(labels(m), r.run.dryRun ? 0 : r.packets);
      unresolved.set(labels(m), r.targets.unresolved);
      runSeconds.set(labels(m), (r.run.durationMs ?? 0) / 1000);
      lastRun.set(labels(m), Date.parse(r.run.finishedAt ?? r.run.startedAt) / 1000);
    }
    for (const [client, list] of m.requests) for (const s of list) duration.observe(labels(m, { client }), s);
    for (const [client, count] of m.retries) retries.inc(labels(m, { client }), count);
    if (m.exitCode !== undefined) lastExit.set(labels(m), m.exitCode);
    if (m.lastSuccessSeconds !== undefined) lastSuccess.set(labels(m), m.lastSuccessSeconds);
  }
  return registry;
}

/** The text exposition format of those runs. */
export async function exposition(runs: readonly RunMetrics[], opts: { pipelineLabel: boolean }): Promise<string> {
  return (await registryOf(runs, opts)).metrics();
}

/** The exposition format's content type, as prom-client names it (loaded when a push needs it). */
export async function contentType(): Promise<string> {
  return (await import('prom-client')).Registry.PROMETHEUS_CONTENT_TYPE;
}
