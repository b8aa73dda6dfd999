// Stage: connect. The Plesk client of the pipeline's target (src/plesk/create.ts). A dry-run may go without a
// target: then only records that carry dom_id (or names in target.idMap) resolve, and nothing recorded is read.

import { createPleskClient } from '../plesk/create.js';
import type { RunContext } from './context.js';

export async function connect(ctx: RunContext): Promise<void> {
  ctx.events.emit('stage.started', { stage: 'connect' });
  if (ctx.opts.api) {
    ctx.api = ctx.opts.api;
    return;
  }
  ctx.api = await createPleskClient(ctx.pipeline, ctx.opts.env, ctx.log, { required: !ctx.opts.dryRun, observer: ctx.events.httpObserver() });
  ctx.ownApi = ctx.api !== undefined;
  if (!ctx.api) ctx.log.info('dry-run without a Plesk target (no URL or credentials): nothing recorded is read; names need target.idMap');
}
