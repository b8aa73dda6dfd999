// The run's log lines, fed by the run events (as the report is): what an operator reading the logs of a
// scheduled job needs, at the levels pino gives.

import type { Logger } from 'pino';
import type { RunEvents } from './events.js';
import type { RunReport } from './report.js';

export function logEvents(events: RunEvents, log: Logger, report: RunReport): void {
  events.on('records.normalized', ({ count }) => {
    if (report.records.heldBack > 0) {
      log.warn({ heldBack: report.records.heldBack, first: report.heldBack[0] }, 'metrics held back because rejected values belonged to them: Plesk keeps what it recorded for them');
    }
    log.info({ read: report.records.read, rejected: report.records.rejected, records: count }, 'source read');
  });
  events.on('counter.reset', ({ target, date, metric }) =>
    log.warn({ target, date, metric }, 'cumulative total lower than recorded: nothing recorded for it'));
  events.on('node.failed', ({ operator, dom_id, date, errcode, errtext }) =>
    log.error({ operator, dom_id, date, errcode }, `set_traffic failed: ${errtext}`));
}
