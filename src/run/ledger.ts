// Stage: open the ledger of the panel. A live run takes its lock, opens its run record, and settles the open
// intents a killed run left behind (by reading what Plesk holds). A dry-run writes nothing: it only reads
// which additive slices were applied.

import path from 'node:path';
import { pleskUrl, type Pipeline } from '../config.js';
import { TiError } from '../errors.js';
import type { Intent, Ledger } from '../ledger/index.js';
import { sameMail } from '../model.js';
import type { PleskApi } from '../plesk/types.js';
import type { RunContext } from './context.js';
import { byOperator, heldNow } from './plesk-reads.js';

export async function openLedger(ctx: RunContext): Promise<void> {
  ctx.events.emit('stage.started', { stage: 'ledger' });
  const p = ctx.pipeline;
  const mode = p.reconcile.mode;
  if (ctx.opts.dryRun && mode !== 'additive') return;
  // Loaded when used: a plain dry-run never opens the ledger (nor loads its lock library).
  const { Ledger, pipelineIdOf } = await import('../ledger/index.js');
  // The ledger of the panel: what slices were applied TO, never which pipeline file applied them (docs/ledger.md).
  const panel = await panelOf(p, ctx.opts.env);
  const opts = { logger: ctx.log, pipeline: p.name, legacyJournal: path.join(p.statePath, `${pipelineIdOf(p.file)}.jsonl`) };
  if (!ctx.opts.dryRun) {
    if (panel === undefined) throw new TiError('TI_CONFIG', 'target.url is not set and PLESK_URL is empty');
    ctx.ledger = await Ledger.open(p.statePath, panel, { ...opts, ...p.state });
    await ctx.ledger.acquireLock();
    ctx.locked = true;
    ctx.runId = ctx.ledger.startRun({ pipeline: p.name, pipelineFile: p.file, window: ctx.window, mode, dryRun: false }).id;
    ctx.events.emit('run.recorded', { id: ctx.runId });
    if (ctx.api) ctx.events.emit('intents.settled', await settleOpenIntents(ctx.ledger, ctx.api, ctx));
  } else if (mode === 'additive') {
    if (panel !== undefined) ctx.ledger = await Ledger.open(p.statePath, panel, { ...opts, readOnly: true });
    else ctx.log.info('dry-run without a panel URL: which additive slices were already applied cannot be read');
  }
}

/** The ledger's panel key: the Plesk endpoint the URL resolves to (PLESK_URL wins), as the client sends to it. */
export async function panelOf(p: Pick<Pipeline, 'target'>, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const url = pleskUrl(p.target, env);
  if (!url) return undefined;
  const { resolveEndpoint } = await import('../plesk/transport.js'); // loaded when used, like the ledger
  return resolveEndpoint(url).label;
}

/**
 * Intents neither committed nor aborted were written by a run that was killed mid-packet. What Plesk holds
 * now tells whether each was applied: equal to `after` → applied; equal to `before` → not applied.
 * Anything else means the day changed since: counted as applied, because re-sending could double count.
 */
async function settleOpenIntents(ledger: Ledger, api: PleskApi, ctx: RunContext) {
  const open = ledger.openIntents();
  const out = { settledApplied: 0, settledNotApplied: 0, settledAmbiguous: 0 };
  if (open.length === 0) return out;
  ctx.log.warn({ intents: open.length }, 'settling open intents of an interrupted run');
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
        ctx.log.warn({ operator: op, dom_id: i.domId, date: i.date }, 'open intent matches neither before nor after: treated as applied (never double count)');
      }
    }
    ledger.commit(applied);
    ledger.abort(notApplied);
    out.settledNotApplied += notApplied.length;
  }
  return out;
}
