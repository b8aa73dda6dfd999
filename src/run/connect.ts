// Stage: connect. The Plesk client of the pipeline's target (src/plesk/create.ts). A dry-run may go without a
// target: then only records that carry dom_id (or names in target.idMap) resolve, and nothing recorded is read.

import { checkUrls, pleskAuthFromEnv, pleskUrl } from '../config.js';
import type { RunContext } from './context.js';

export async function connect(ctx: RunContext): Promise<void> {
  ctx.events.emit('stage.started', { stage: 'connect' });
  // Before anything logs or sends: no URL of this run may carry user-info (issue 9 §2).
  checkUrls(ctx.pipeline, ctx.opts.env);
  if (ctx.opts.api) {
    ctx.api = ctx.opts.api;
    return;
  }
  // The client (undici, xmlbuilder2, saxes) is loaded only when there is one to build: an offline dry-run starts faster.
  const offline = ctx.opts.dryRun && !(pleskUrl(ctx.pipeline.target, ctx.opts.env) && pleskAuthFromEnv(ctx.opts.env));
  const { createPleskClient } = offline ? { createPleskClient: async () => undefined } : await import('../plesk/create.js');
  ctx.api = await createPleskClient(ctx.pipeline, ctx.opts.env, ctx.log, { required: !ctx.opts.dryRun, observer: ctx.events.httpObserver() });
  ctx.ownApi = ctx.api !== undefined;
  if (!ctx.api) ctx.log.info('dry-run without a Plesk target (no URL or credentials): nothing recorded is read; names need target.idMap');
}
