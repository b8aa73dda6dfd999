// The whole import, top to bottom:
//   connect → open ledger → read and normalize → resolve → reconcile → send (or dry-run) → finish.
// Each stage is a module of src/run/ that takes the run context and returns its output. Stages report what
// happens as run events (src/run/events.ts); the report, the reject file and the logs subscribe to them.

import { TiError, errorMessage } from './errors.js';
import { createReader } from './readers/index.js';
import { connect } from './run/connect.js';
import type { RunContext, RunOptions } from './run/context.js';
import { dryRun } from './run/dry-run.js';
import { RunEvents } from './run/events.js';
import { finish } from './run/finish.js';
import { openLedger } from './run/ledger.js';
import { logEvents } from './run/log.js';
import { readSource } from './run/read.js';
import { reconcile } from './run/reconcile.js';
import { RejectSink } from './run/rejects.js';
import { collectReport, type RunReport } from './run/report.js';
import { resolve } from './run/resolve.js';
import { send } from './run/send.js';
import { stopIfAsked, stopSignalOf } from './run/interrupt.js';

export type { RunOptions } from './run/context.js';

export async function runPipeline(opts: RunOptions): Promise<RunReport> {
  const ctx = startRun(opts);
  const report = collectReport(ctx.events);
  const rejects = new RejectSink(opts.rejectsPath).subscribe(ctx.events);
  logEvents(ctx.events, ctx.log, report);
  ctx.events.emit('run.started', header(ctx));
  try {
    await connect(ctx);
    await openLedger(ctx);
    stopIfAsked(ctx);
    const records = await readSource(ctx);
    stopIfAsked(ctx);
    const resolved = await resolve(ctx, records);
    stopIfAsked(ctx);
    const plan = await reconcile(ctx, resolved);
    stopIfAsked(ctx);
    if (opts.dryRun) await dryRun(ctx, plan);
    else await send(ctx, plan);
    stopIfAsked(ctx);
  } catch (err) {
    // SIGTERM/SIGINT: whatever the stage threw on its way out (an aborted read), the run was stopped.
    const signal = stopSignalOf(opts.signal);
    if (signal) ctx.events.emit('run.interrupted', { signal });
    else {
      if (!(err instanceof TiError)) ctx.log.error({ err }, 'internal error');
      ctx.events.emit('run.failed', err instanceof TiError ? { code: err.code, message: err.message } : { code: 'TI_INTERNAL', message: errorMessage(err) });
    }
  }
  return finish(ctx, report, rejects);
}

function startRun(opts: RunOptions): RunContext {
  return {
    pipeline: opts.pipeline,
    opts,
    log: opts.log,
    events: opts.events ?? new RunEvents(),
    window: { ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) },
    reader: createReader(opts.pipeline.source),
    ownApi: false,
    locked: false,
  };
}

function header(ctx: RunContext): RunReport['run'] {
  const p = ctx.pipeline;
  return {
    pipeline: p.file,
    source: ctx.reader.label,
    operator: p.target.operator,
    mode: p.reconcile.mode,
    setTrafficSemantics: p.target.setTrafficSemantics,
    dryRun: ctx.opts.dryRun,
    window: ctx.window,
    startedAt: new Date().toISOString(),
  };
}
