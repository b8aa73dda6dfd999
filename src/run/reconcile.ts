// Stage: reconcile. What Plesk holds (get_traffic over the run's dates) + what the source says + the ledger's
// applied slices → the nodes to send (src/reconcile.ts decides; this stage does the reading and reporting).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { TiError } from '../errors.js';
import { METRICS, targetLabel, type FullTraffic, type ResolvedRecord } from '../model.js';
import type { PleskApi } from '../plesk/types.js';
import { reconcile as decide, recordedRange, type Mode, type PlannedNode } from '../reconcile.js';
import type { RunContext } from './context.js';
import { byOperator } from './plesk-reads.js';

export interface Plan {
  nodes: PlannedNode[];
  /** Additive mode: the slice this input is ('' otherwise). */
  slice: string;
}

export async function reconcile(ctx: RunContext, records: ResolvedRecord[]): Promise<Plan> {
  const { events, pipeline: p } = ctx;
  events.emit('stage.started', { stage: 'reconcile' });
  const mode = p.reconcile.mode;
  const unreadable = new Map<string, string>();
  const recorded = ctx.api ? await readRecorded(ctx.api, records, mode, unreadable) : new Map<string, Map<string, FullTraffic>>();
  // What Plesk holds for an id could not be read: its records cannot be reconciled safely; they fail.
  const readable = records.filter((r) => {
    const why = unreadable.get(`${r.operator}|${r.domId}`);
    if (why === undefined) return true;
    events.emit('node.failed', { operator: r.operator, dom_id: r.domId, date: r.date, errtext: why });
    return false;
  });
  const slice = mode === 'additive' ? await sliceId(ctx) : '';
  const ledger = ctx.ledger;
  const result = decide({
    records: readable,
    recorded: (op, id) => recorded.get(`${op}|${id}`),
    mode,
    semantics: p.target.setTrafficSemantics,
    isApplied: (op, id, date) => ledger?.isApplied(slice, op, id, date) ?? false,
  });
  events.emit('nodes.unchanged', { count: result.unchanged });
  events.emit('nodes.alreadyApplied', { count: result.alreadyApplied });
  for (const r of result.resets) {
    const target = targetLabel(r.record.target);
    events.emit('counter.reset', {
      target, date: r.record.date, metric: r.metric,
      rejection: {
        file: r.record.file, line: r.record.firstLine, column: r.metric, code: 'R_COUNTER_RESET',
        reason: `${target} ${r.record.date}: total ${r.total} < ${r.recordedBefore} already recorded for the period's earlier days`,
      },
    });
  }
  for (const r of result.heldWhole) {
    // Additive: a node is applied whole or not at all (the ledger marks the slice per node).
    for (const metric of METRICS) {
      if (r.metrics[metric] === undefined) continue;
      events.emit('metric.heldBack', {
        target: targetLabel(r.target), date: r.date, metric, code: 'R_HELD_NODE', rejections: 0, file: r.file, line: r.firstLine,
        reason: `additive mode applies a node whole or not at all, and ${r.held!.join(', ')} of this node is held back: fix the input and re-run with the same reconcile.slice`,
      });
    }
  }
  for (const r of result.overflows) {
    events.emit('record.rejected', { file: r.file, line: r.firstLine, code: 'R_OVER_LONG', reason: `${targetLabel(r.target)} ${r.date}: recorded + increment exceeds xs:long` });
  }
  return { nodes: result.nodes, slice };
}

/** get_traffic for every resolved id over the run's dates (cumulative: from the period's start). */
async function readRecorded(
  api: PleskApi, records: ResolvedRecord[], mode: Mode, unreadable: Map<string, string>,
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

/** Additive slices are named by reconcile.slice, or by the sha256 of the source's input files. */
async function sliceId(ctx: RunContext): Promise<string> {
  const p = ctx.pipeline;
  if (p.reconcile.slice) return p.reconcile.slice;
  const files = ctx.reader.sliceInputs?.(p.baseDir) ?? [];
  if (files.length === 0) {
    throw new TiError('TI_CONFIG', 'reconcile.slice: additive mode needs a slice name for this source (it has no input file to hash)');
  }
  const hash = createHash('sha256');
  for (const file of files) {
    try {
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    } catch (err) {
      throw new TiError('TI_SOURCE_UNREADABLE', `${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  }
  return `sha256:${hash.digest('hex')}`;
}
