// Stage: batch → send → commit. Packets of target.batchSize nodes (one operator each), built when their turn
// comes, sent through the client's bounded queue; each node is applied or failed as Plesk's answer says,
// and additive runs write intents ahead and commit or abort them after (src/ledger).

import PQueue from 'p-queue';
import type { Intent, Ledger } from '../ledger/index.js';
import { sameMail, type Operator } from '../model.js';
import type { PleskApi } from '../plesk/types.js';
import type { PlannedNode } from '../reconcile.js';
import type { RunContext } from './context.js';
import { byOperator, heldNow } from './plesk-reads.js';
import type { Plan } from './reconcile.js';
import { stopSignalOf, whenAborted, Interrupted } from './interrupt.js';

/** Packets: at most `size` nodes, one operator each, in the plan's order. */
export function batch<T extends { operator: Operator }>(nodes: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (const l of byOperator(nodes).values()) for (let i = 0; i < l.length; i += size) out.push(l.slice(i, i + size));
  return out;
}

export async function send(ctx: RunContext, plan: Plan): Promise<void> {
  const { events, pipeline: p } = ctx;
  events.emit('stage.started', { stage: 'send' });
  const packets = batch(plan.nodes, p.target.batchSize);
  events.emit('nodes.planned', { nodes: plan.nodes.length, packets: packets.length });
  if (packets.length === 0) return;
  const api = ctx.api!;
  const ledger = ctx.ledger!;
  // Packets are built when their turn comes (not all up front): twice the client's in-flight limit keeps
  // the next packet ready while the others travel, and memory holds a few packets, not the whole run.
  const feed = new PQueue({ concurrency: p.target.concurrency * 2 });
  // A fatal error (credentials revoked mid-run, a packet Plesk calls malformed) stops the run: packets not
  // yet started are dropped; those in flight finish and are committed or left as intents.
  // A signal (opts.signal) starts no new packet either; those in flight get the grace time (opts.deadline).
  let fatal: unknown;
  const stop = ctx.opts.signal;
  const done = feed
    .addAll(packets.map((nodes) => async () => {
      if (fatal !== undefined || stop?.aborted) return;
      try {
        await sendPacket(ctx, api, ledger, nodes, plan.slice);
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
  const graceOver = whenAborted(ctx.opts.deadline).then(() => 'grace over' as const);
  if ((await Promise.race([done, graceOver])) === 'grace over') {
    // Packets still in flight are left: additive intents stay open and are settled by the next run; absolute
    // and cumulative runs re-read what Plesk holds next time. Their late answers change nothing now.
    done.catch(() => undefined);
    feed.clear();
    throw new Interrupted(stopSignalOf(stop) ?? 'SIGTERM');
  }
}

function intentsOf(nodes: PlannedNode[], slice: string): Intent[] {
  return nodes.map((n) => ({ slice, operator: n.operator, domId: n.domId, date: n.date, before: n.before, after: n.after }));
}

async function sendPacket(ctx: RunContext, api: PleskApi, ledger: Ledger, nodes: PlannedNode[], slice: string): Promise<void> {
  const { events, pipeline: p } = ctx;
  const additive = p.reconcile.mode === 'additive';
  const op = nodes[0]!.operator;
  const intents = intentsOf(nodes, slice);
  // Write-ahead: a kill between Plesk's answer and the commit is settled on the next start.
  if (additive) ledger.writeIntents(intents);
  // Counted when the request really goes out (nodes.sent): a packet the client never started after a fatal answer
  // or a stop signal is not "sent". An API that does not tell (a test double) sent it if it answered.
  let sent = false;
  const onSent = (): void => {
    if (sent) return;
    sent = true;
    events.emit('packet.sent', { operator: op, nodes: nodes.length });
  };
  const stop = ctx.opts.signal;
  const outcome = await api.setTraffic(op, nodes.map((n) => n.send), {
    idempotent: p.target.setTrafficSemantics === 'replace', onSent, ...(stop ? { stop } : {}),
  });
  if (outcome.kind === 'notSent') {
    // Stopping: its turn came after the signal. Nothing reached Plesk; its intents are closed as not applied.
    if (additive) ledger.abort(intents);
    return;
  }
  onSent();
  const ok: number[] = [];
  const bad: number[] = [];
  const fail = (i: number, errtext: string, errcode?: number) => {
    bad.push(i);
    const n = nodes[i]!;
    events.emit('node.failed', { operator: op, dom_id: n.domId, date: n.date, ...(errcode !== undefined ? { errcode } : {}), errtext });
  };
  if (outcome.kind === 'applied') {
    outcome.results.forEach((r, i) => (r.status === 'ok' ? ok.push(i) : fail(i, r.errtext ?? 'error', r.errcode)));
  } else if (outcome.kind === 'failed') {
    nodes.forEach((_n, i) => fail(i, outcome.error, outcome.errcode));
  } else {
    // The packet may or may not have been applied: re-read what Plesk holds and decide node by node.
    ctx.log.warn({ error: outcome.error, nodes: nodes.length }, 'no usable answer for a packet: re-reading what Plesk holds');
    const held = await heldNow(api, op, nodes);
    nodes.forEach((n, i) => {
      if (sameMail(held(n), n.after)) ok.push(i);
      else fail(i, `not applied (${outcome.error})`);
    });
  }
  events.emit('nodes.applied', { operator: op, count: ok.length });
  events.emit('packet.answered', { operator: op, nodes: nodes.length, outcome: outcome.kind, applied: ok.length, failed: bad.length });
  if (additive) {
    ledger.commit(ok.map((i) => intents[i]!));
    ledger.abort(bad.map((i) => intents[i]!));
  }
}
