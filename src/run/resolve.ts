// Stage: resolve. Domain names → Plesk ids (target.idMap wins, then lookups in batches); names nobody knows
// become `target.unresolved` events (counted, listed, written to the reject file).

import path from 'node:path';
import type { DayRecord, ResolvedRecord } from '../model.js';
import { loadIdMap, resolveTargets } from '../resolve.js';
import type { RunContext } from './context.js';

export async function resolve(ctx: RunContext, records: DayRecord[]): Promise<ResolvedRecord[]> {
  const { events, pipeline: p } = ctx;
  events.emit('stage.started', { stage: 'resolve' });
  const idMap = p.target.idMap ? loadIdMap(path.resolve(p.baseDir, p.target.idMap)) : undefined;
  const resolved = await resolveTargets(records, {
    operator: p.target.operator,
    ...(idMap ? { idMap } : {}),
    ...(ctx.api ? { api: ctx.api } : {}),
  });
  for (const u of resolved.unresolved) {
    events.emit('target.unresolved', {
      target: u,
      rejection: { file: u.file, line: u.firstLine, column: 'domain', code: 'R_UNRESOLVED', reason: `${u.name}: ${u.reason} (${u.rows} rows, lines ${u.firstLine}-${u.lastLine})` },
    });
  }
  events.emit('lookup.done', { resolved: resolved.resolvedTargets, unresolved: resolved.unresolved.length });
  return resolved.records;
}
