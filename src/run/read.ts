// Stage: read → normalize. The reader pushes records, or adds its rows to the normalizer directly (readInto: the
// CSV reader, possibly on worker threads); the normalizer sums them per (target, day). Rows, rejects, skips and
// ignored rows become run events (counts in batches: a per-row event would slow ingest).

import { targetLabel, type DayRecord } from '../model.js';
import { Normalizer } from '../normalize.js';
import type { ReaderContext } from '../readers/types.js';
import type { RunContext } from './context.js';

/** Rows between two `records.read` events: often enough for a live progress line, rare enough to cost nothing. */
const READ_EVENT_EVERY = 16_384;

export async function readSource(ctx: RunContext): Promise<DayRecord[]> {
  const { events, pipeline: p } = ctx;
  events.emit('stage.started', { stage: 'read' });
  const normalizer = new Normalizer({ window: ctx.window, reject: (r) => events.emit('record.rejected', r) });
  let pending = 0;
  const readerCtx: ReaderContext = {
    baseDir: p.baseDir,
    window: ctx.window,
    env: ctx.opts.env,
    log: ctx.log,
    // A rejected row was read too; what it belonged to is held back, never sent partial or as a made-up 0.
    reject: (r) => {
      events.emit('records.read', { count: 1 });
      events.emit('record.rejected', r);
      normalizer.noteRejected(r);
    },
    unresolved: (name, origin, reason) =>
      events.emit('target.unresolved', {
        target: { name, rows: 1, file: origin.file, firstLine: origin.line, lastLine: origin.line, reason },
        rejection: { file: origin.file, line: origin.line, code: 'R_UNRESOLVED', reason: `${name}: ${reason}` },
      }),
    ignored: (what, count = 1) => events.emit('records.ignored', { what, count }),
    http: events.httpObserver(),
    ...(ctx.opts.stdin ? { stdin: ctx.opts.stdin } : {}),
    ...(ctx.opts.workers !== undefined ? { workers: ctx.opts.workers } : {}),
    rowsRead: (count) => events.emit('records.read', { count }),
  };
  if (ctx.reader.readInto) {
    await ctx.reader.readInto(readerCtx, normalizer);
  } else {
    await ctx.reader.read(readerCtx, (rec) => {
      normalizer.add(rec);
      if (++pending === READ_EVENT_EVERY) {
        events.emit('records.read', { count: pending });
        pending = 0;
      }
    });
  }
  if (pending > 0) events.emit('records.read', { count: pending });
  events.emit('records.skipped', { count: normalizer.skippedOutsideWindow });
  const records = normalizer.records();
  for (const h of normalizer.heldBack()) {
    events.emit('metric.heldBack', {
      target: targetLabel(h.target), date: h.date, metric: h.metric, code: h.cause.code, reason: h.cause.reason,
      file: h.cause.file, line: h.cause.line, rejections: h.rejections,
    });
  }
  events.emit('records.normalized', { count: records.length });
  return records;
}
