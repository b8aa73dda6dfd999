// Stage: finish. Whatever happened before: the client closed, the reject file flushed, the exit code and
// status decided, the run record closed, the lock released, the report written.

import { finishReport, writeReport, type RunReport } from './report.js';
import type { RunContext } from './context.js';
import type { RejectSink } from './rejects.js';

export async function finish(ctx: RunContext, report: RunReport, rejects: RejectSink): Promise<RunReport> {
  ctx.events.emit('stage.started', { stage: 'finish' });
  if (ctx.ownApi) {
    const closing = ctx.api?.close().catch(() => undefined);
    // After the grace time, packets may still be in flight: close() would wait for them. The process exits soon.
    if (!ctx.opts.deadline?.aborted) await closing;
  }
  await rejects.close().catch(() => undefined);
  finishReport(report);
  const ledger = ctx.ledger;
  if (ledger) {
    if (ctx.runId) ledger.finishRun(ctx.runId, report.status, { records: report.records, nodes: report.nodes, packets: report.packets });
    if (ctx.locked) await ledger.releaseLock().catch(() => undefined);
    await ledger.close().catch(() => undefined);
  }
  if (ctx.opts.reportPath) writeReport(ctx.opts.reportPath, report);
  ctx.events.emit('run.finished', { report });
  return report;
}
