// Shared test plumbing for the OpenSRS reader: a collecting ReaderContext and a capturing logger.

import { pino, type Logger } from 'pino';
import type { SourceRecord } from '../../src/model.js';
import type { ReaderContext, Rejection } from '../../src/readers/types.js';
import type { OpensrsMockDay } from '../../src/stand-ins/opensrs/server.js';
import { opensrsSourceSchema, type OpensrsSourceConfig } from '../../src/readers/opensrs.js';
import { silentLogger } from '../../src/log.js';
import { addDays } from '../../src/dates.js';

export const USER = 'stats@example.adm';
export const PASSWORD = 'sw0rdf1sh-S3cret!';
export const TOKEN = 'tok-7f3a9c-SECRET-token';

export interface Collected {
  ctx: ReaderContext;
  records: SourceRecord[];
  rejects: Rejection[];
  unresolved: { name: string; origin: { file: string; line: number }; reason: string }[];
  emit: (r: SourceRecord) => void;
}

export function collect(
  opts: { env?: NodeJS.ProcessEnv; window?: { from?: string; to?: string }; baseDir?: string; log?: Logger } = {},
): Collected {
  const records: SourceRecord[] = [];
  const rejects: Rejection[] = [];
  const unresolved: Collected['unresolved'] = [];
  const ctx: ReaderContext = {
    baseDir: opts.baseDir ?? process.cwd(),
    window: opts.window ?? {},
    env: opts.env ?? { OPENSRS_USER: USER, OPENSRS_PASSWORD: PASSWORD },
    log: opts.log ?? silentLogger(),
    reject: (r) => rejects.push(r),
    unresolved: (name, origin, reason) => unresolved.push({ name, origin, reason }),
    ignored: () => {},
  };
  return { ctx, records, rejects, unresolved, emit: (r) => records.push(r) };
}

/** A pino logger at trace level writing into memory (no redaction: the reader must not log secrets at all). */
export function captureLog(): { log: Logger; text: () => string } {
  const chunks: string[] = [];
  const log = pino({ level: 'trace' }, { write: (s: string) => void chunks.push(s) });
  return { log, text: () => chunks.join('') };
}

/** Parse a source config through the schema (defaults applied), with fast retries for tests. */
export function config(over: Record<string, unknown>): OpensrsSourceConfig {
  return opensrsSourceSchema.parse({ type: 'opensrs', retryDelayMs: 5, ...over });
}

/** `n` consecutive days from `first` (YYYY-MM-DD) keyed `YYYYMMDD`, counters from `f`. */
export function days(first: string, n: number, f: (i: number) => OpensrsMockDay): Record<string, OpensrsMockDay> {
  const out: Record<string, OpensrsMockDay> = {};
  for (let i = 0; i < n; i++) out[addDays(first, i).replaceAll('-', '')] = f(i);
  return out;
}

/** Records as comparable plain rows, sorted by domain then date. */
export function rows(records: SourceRecord[]): { domain: string; date: string; metrics: Record<string, bigint> }[] {
  return records
    .map((r) => ({ domain: r.target.domain ?? '', date: r.date, metrics: { ...r.metrics } as Record<string, bigint> }))
    .sort((a, b) => a.domain.localeCompare(b.domain) || a.date.localeCompare(b.date));
}
