// Stage: read → normalize. The reader pushes records, or adds its rows to the normalizer directly (readInto: the
// CSV reader, possibly on worker threads); the normalizer sums them per (target, day). Rows, rejects, skips and
// ignored rows become run events (counts in batches: a per-row event would slow ingest).

import { today } from '../dates.js';
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
  // Rows read, whichever way the reader delivers them (rejected ones included): none at all = an empty source.
  let rowsRead = 0;
  const counting = events.on('records.read', ({ count }) => void (rowsRead += count));
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
    ...(ctx.opts.signal ? { signal: ctx.opts.signal } : {}),
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
  counting();
  events.emit('records.skipped', { count: normalizer.skippedOutsideWindow });
  // A silently empty nightly export must alert: a file source that yielded no row at all (none rejected either).
  if (ctx.reader.sliceInputs !== undefined && rowsRead === 0 && !p.source.allowEmpty) {
    events.emit('source.empty', {
      message: `${ctx.reader.label}: the source yielded no records (a header-only export?); set source.allowEmpty: true if an empty input is normal`,
    });
  }
  // Closed days only (unless --include-open-days): today and later in the panel's zone are not over, and Plesk's
  // own nightly statistics may still write them. Their rows are counted (records.open), never sent.
  const firstOpenDay = today(p.target.timezone);
  const isOpen = (date: string) => !ctx.opts.includeOpenDays && date >= firstOpenDay;
  let openRows = 0;
  const records = normalizer.records().filter((r) => {
    if (!isOpen(r.date)) return true;
    openRows += r.rows;
    return false;
  });
  if (openRows > 0) events.emit('records.open', { count: openRows, firstOpenDay });
  for (const h of normalizer.heldBack().filter((x) => !isOpen(x.date))) {
    events.emit('metric.heldBack', {
      target: targetLabel(h.target), date: h.date, metric: h.metric, code: h.cause.code, reason: h.cause.reason,
      file: h.cause.file, line: h.cause.line, rejections: h.rejections,
    });
  }
  events.emit('records.normalized', { count: records.length });
  return records;
}
