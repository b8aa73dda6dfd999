// Reconcile: what Plesk already holds + what the source says → the nodes to send.
// Plesk stays the source of truth for values (get_traffic); the ledger only remembers additive slices.
// Modelled on seed 003's billing module: read what the server says, read what is already recorded,
// record only the difference.

import { METRICS, XS_LONG_MAX, mailOf, sameMail, zeroMail, type FullTraffic, type Mail, type Metric, type Operator, type ResolvedRecord } from './model.js';
import type { SetTrafficNode } from './plesk/types.js';

export type Mode = 'absolute' | 'cumulative' | 'additive';
export type Semantics = 'replace' | 'add';

/** One node to send: the day's values before and after, and what goes on the wire. */
export interface PlannedNode {
  operator: Operator;
  domId: number;
  date: string;
  before: Mail;
  after: Mail;
  /** replace: `after`; add: `after − before`. */
  send: SetTrafficNode;
  record: ResolvedRecord;
}

export interface CounterReset {
  record: ResolvedRecord;
  metric: Metric;
  total: bigint;
  recordedBefore: bigint;
}

export interface ReconcileInput {
  records: ResolvedRecord[];
  /** What Plesk holds: (operator, domId) → date → full day. Missing days hold 0. */
  recorded: (operator: Operator, domId: number) => Map<string, FullTraffic> | undefined;
  mode: Mode;
  semantics: Semantics;
  /** Additive mode: has this slice already been applied to this node? */
  isApplied?: (operator: Operator, domId: number, date: string) => boolean;
}

export interface ReconcileResult {
  nodes: PlannedNode[];
  unchanged: number;
  alreadyApplied: number;
  resets: CounterReset[];
  /** Additive sums that would exceed xs:long. */
  overflows: ResolvedRecord[];
  /** Additive records with a held-back metric: not sent at all (a node's slice is applied whole or not at all). */
  heldWhole: ResolvedRecord[];
}

function toNode(domId: number, date: string, v: Mail): SetTrafficNode {
  return { domId, date, smtp_in: v.smtp_in, smtp_out: v.smtp_out, pop3_imap_in: v.pop3_imap_in, pop3_imap_out: v.pop3_imap_out };
}

function plan(rec: ResolvedRecord, before: Mail, after: Mail, semantics: Semantics): PlannedNode {
  const wire: Mail =
    semantics === 'replace'
      ? after
      : { smtp_in: after.smtp_in - before.smtp_in, smtp_out: after.smtp_out - before.smtp_out,
          pop3_imap_in: after.pop3_imap_in - before.pop3_imap_in, pop3_imap_out: after.pop3_imap_out - before.pop3_imap_out };
  return { operator: rec.operator, domId: rec.domId, date: rec.date, before, after, send: toNode(rec.domId, rec.date, wire), record: rec };
}

/** First day of the period a cumulative total runs over (month-to-date, as cPanel and seed 003 count). */
export function periodStart(date: string): string {
  return `${date.slice(0, 8)}01`;
}

export function reconcile(input: ReconcileInput): ReconcileResult {
  const out: ReconcileResult = { nodes: [], unchanged: 0, alreadyApplied: 0, resets: [], overflows: [], heldWhole: [] };
  if (input.mode === 'cumulative') return reconcileCumulative(input, out);
  for (const rec of input.records) {
    const before = mailOf(input.recorded(rec.operator, rec.domId)?.get(rec.date));
    let after: Mail;
    if (input.mode === 'absolute') {
      // The source states the day's full values; a metric it lacks keeps what Plesk recorded.
      const m = rec.metrics;
      after = {
        smtp_in: m.smtp_in ?? before.smtp_in,
        smtp_out: m.smtp_out ?? before.smtp_out,
        pop3_imap_in: m.pop3_imap_in ?? before.pop3_imap_in,
        pop3_imap_out: m.pop3_imap_out ?? before.pop3_imap_out,
      };
    } else {
      // additive: the source states increments; a slice already applied is never applied twice.
      if (input.isApplied?.(rec.operator, rec.domId, rec.date)) {
        out.alreadyApplied++;
        continue;
      }
      // Sending the other metrics would mark this slice applied to the node, and the held one could then never
      // be added: hold the node whole until the input is fixed (re-run with the same slice name).
      if (rec.held !== undefined && rec.held.length > 0) {
        out.heldWhole.push(rec);
        continue;
      }
      after = { ...before };
      let overflow = false;
      for (const m of METRICS) {
        const v = rec.metrics[m];
        if (v !== undefined) after[m] = before[m] + v;
        if (after[m] > XS_LONG_MAX) overflow = true;
      }
      if (overflow) {
        out.overflows.push(rec);
        continue;
      }
    }
    if (sameMail(before, after)) out.unchanged++;
    else out.nodes.push(plan(rec, before, after, input.semantics));
  }
  return out;
}

/**
 * Cumulative: each record is a running total over the period up to and including its day.
 * The day's value = total − what the period's earlier days hold, where "hold" means what Plesk recorded,
 * updated by the values computed earlier in this run (records are processed in date order). Days after the
 * observation day are not part of its total, so re-running an older snapshot computes the same value again.
 */
function reconcileCumulative(input: ReconcileInput, out: ReconcileResult): ReconcileResult {
  const groups = new Map<string, ResolvedRecord[]>();
  for (const rec of input.records) {
    const k = `${rec.operator}|${rec.domId}|${periodStart(rec.date)}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(rec);
  }
  for (const group of groups.values()) {
    group.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    const first = group[0]!;
    const recorded = input.recorded(first.operator, first.domId);
    // Working copy of the period's days: recorded values, overwritten by what this run computes.
    const working = new Map<string, Mail>();
    if (recorded) for (const [d, t] of recorded) working.set(d, mailOf(t));
    for (const rec of group) {
      const start = periodStart(rec.date);
      const prior: Mail = zeroMail();
      for (const [d, v] of working) {
        if (d >= start && d < rec.date) for (const m of METRICS) prior[m] += v[m];
      }
      const before = working.get(rec.date) ?? zeroMail();
      const after = { ...before };
      let reset: CounterReset | undefined;
      for (const m of METRICS) {
        const total = rec.metrics[m];
        if (total === undefined) continue;
        if (total < prior[m]) {
          reset = { record: rec, metric: m, total, recordedBefore: prior[m] };
          break;
        }
        after[m] = total - prior[m];
      }
      if (reset) {
        out.resets.push(reset);
        continue;
      }
      working.set(rec.date, after);
      if (sameMail(before, after)) out.unchanged++;
      else out.nodes.push(plan(rec, before, after, input.semantics));
    }
  }
  // Stable wire order: by operator, id, date.
  out.nodes.sort((a, b) => a.operator.localeCompare(b.operator) || a.domId - b.domId || (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  return out;
}

/** The date range of get_traffic needed to reconcile these records. */
export function recordedRange(records: ResolvedRecord[], mode: Mode): { since: string; to: string } | undefined {
  let since: string | undefined;
  let to: string | undefined;
  for (const r of records) {
    const s = mode === 'cumulative' ? periodStart(r.date) : r.date;
    if (since === undefined || s < since) since = s;
    if (to === undefined || r.date > to) to = r.date;
  }
  return since && to ? { since, to } : undefined;
}
