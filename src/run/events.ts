// The run-events seam. Every stage reports what happened as named events (modelled on Vector's component
// specification: every component emits the same named events, which feed logs and metrics alike). The report,
// the reject file, the logs, progress and metrics subscribe; no stage writes a report field itself.
//
// Events are synchronous and cheap: counts come in batches where a per-row event would slow ingest down.

import type { HttpObserver } from '../http/index.js';
import type { Operator, Rejection, UnresolvedTarget } from '../model.js';
import type { HeldBack, RunReport } from './report.js';

export type StageName = 'connect' | 'ledger' | 'read' | 'resolve' | 'reconcile' | 'send' | 'dry-run' | 'finish';

/** A node Plesk refused, or that could not be sent or read back. */
export interface NodeFailure {
  operator: string;
  dom_id: number;
  date: string;
  errcode?: number;
  errtext: string;
}

export interface RunEventMap {
  /** The run's header: what the report's `run` object starts with. */
  'run.started': RunReport['run'];
  'stage.started': { stage: StageName };
  /** The ledger opened a run record (live runs). */
  'run.recorded': { id: string };
  /** Rows (or API entries) read from the source, good and rejected; emitted in batches. */
  'records.read': { count: number };
  /** A row or key that did not land: counted in records.rejected and written to the reject file. */
  'record.rejected': Rejection;
  /** Outside --from/--to: skipped and counted, not rejected. */
  'records.skipped': { count: number };
  /** On a day not over yet in the panel's zone (today or later): skipped and counted, not rejected. */
  'records.open': { count: number; firstOpenDay: string };
  /** A file source yielded no records at all (a header-only export): exit 1 unless source.allowEmpty. */
  'source.empty': { message: string };
  /** Dropped on purpose and counted by reason (http rows, unknown protocols…): not an error. */
  'records.ignored': { what: string; count: number };
  /** A metric of a (target, day) held back because a rejected value belonged to it: not sent, Plesk keeps its value. */
  'metric.heldBack': HeldBack;
  /** Distinct (target, day) records after normalizing. */
  'records.normalized': { count: number };
  /** A name nobody knows: counted in targets.unresolved; `rejection` is its reject-file line. */
  'target.unresolved': { target: UnresolvedTarget; rejection: Rejection };
  'lookup.done': { resolved: number; unresolved: number };
  /** Open intents of an interrupted run, settled by reading what Plesk holds. */
  'intents.settled': { settledApplied: number; settledNotApplied: number; settledAmbiguous: number };
  /** A cumulative total lower than what is recorded: nothing recorded for it. */
  'counter.reset': { target: string; date: string; metric: string; rejection: Rejection };
  'nodes.unchanged': { count: number };
  'nodes.alreadyApplied': { count: number };
  /** What reconcile decided to send, and in how many packets. */
  'nodes.planned': { nodes: number; packets: number };
  /** A packet handed to the Plesk client (live runs). */
  'packet.sent': { operator: Operator; nodes: number };
  /** An HTTP attempt of any client (Plesk, WHM, OpenSRS) failed and will be retried. */
  'request.retried': { client: string; what: string; attempt: number; reason: string; delayMs: number };
  /** One HTTP attempt of any client finished (for request-duration metrics). */
  'request.done': { client: string; what: string; durationMs: number; status?: number; failure?: string };
  /** What became of a packet: Plesk answered node by node, it failed, or its fate had to be read back. */
  'packet.answered': { operator: Operator; nodes: number; outcome: 'applied' | 'failed' | 'uncertain'; applied: number; failed: number };
  'nodes.applied': { operator: Operator; count: number };
  'node.failed': NodeFailure;
  /** Dry-run: packets written (or that would be sent). */
  'packets.written': { count: number };
  /** The run stops with a fatal error. */
  'run.failed': { code: string; message: string };
  /** SIGTERM or SIGINT stopped the run: no new packet was started after it. */
  'run.interrupted': { signal: 'SIGTERM' | 'SIGINT' };
  'run.finished': { report: RunReport };
}

export type RunEventName = keyof RunEventMap;
type Listener<K extends RunEventName> = (payload: RunEventMap[K]) => void;

export class RunEvents {
  readonly #listeners = new Map<RunEventName, Listener<never>[]>();

  /** Subscribe; returns the unsubscribe function. Listeners run synchronously, in subscription order. */
  on<K extends RunEventName>(name: K, fn: Listener<K>): () => void {
    let list = this.#listeners.get(name);
    if (!list) this.#listeners.set(name, (list = []));
    list.push(fn as Listener<never>);
    return () => {
      const l = this.#listeners.get(name);
      if (l) l.splice(l.indexOf(fn as Listener<never>), 1);
    };
  }

  emit<K extends RunEventName>(name: K, payload: RunEventMap[K]): void {
    const list = this.#listeners.get(name);
    if (!list) return;
    for (const fn of list) (fn as Listener<K>)(payload);
  }

  /** HTTP attempts and retries of any client, as run events. */
  httpObserver(): HttpObserver {
    return {
      onRetry: (e) => this.emit('request.retried', e),
      onAttempt: (e) => this.emit('request.done', e),
    };
  }
}
