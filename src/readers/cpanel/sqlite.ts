// `from: "sqlite"`: cPanel's per-user bandwidth databases, /var/cpanel/bandwidth/<user>.sqlite
// (docs/reference/cpanel-bandwidth.md §5.1). Schema version 3; tables `domains`, `bandwidth_daily`,
// `bandwidth_hourly`, `bandwidth_5min`; rows are per-period deltas (domain_id, protocol, unixtime,
// bytes). Opened read-only, as cPanel itself does (OPEN_READONLY, CP:Cpanel/BandwidthDB/Read.pm),
// retrying SQLITE_BUSY while cpanellogd writes (§8.15).
//
// Origins: records carry file = the database path and line 0 (a day sums many rows); a rejected row
// carries line = its rowid in bandwidth_<interval>.

import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { TiError, errorMessage } from '../../errors.js';
import type { Reader, ReaderContext } from '../types.js';
import type { SourceRecord } from '../../model.js';
import type { CpanelSqliteSource } from './config.js';
import { emitAccount, loadAccountMap, pickMainDomain, readCpuserDomain } from './accounts.js';
import { AccountTally, DayMapper, IgnoredCounter, mailMetricOf, parseBytes, rawText, unixSecondsOf } from './tally.js';

/** better-sqlite3 (a native addon), loaded when a database is opened (every run loads the reader registry). */
let sqlite: typeof Database | undefined;
const loadDatabase = (): typeof Database => (sqlite ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database);

/** cPanel's current schema ($SCHEMA_VERSION, CP:Cpanel/BandwidthDB/Constants.pm). */
export const BANDWIDTH_SCHEMA_VERSION = 3;
export const UNKNOWN_DOMAIN = 'UNKNOWN';

export interface SqliteReaderOptions {
  /** SQLite busy handler wait per attempt (better-sqlite3 `timeout`). */
  busyTimeoutMs?: number;
  /** Waits between attempts when a database stays locked (SQLITE_BUSY). */
  retryDelaysMs?: number[];
}

/** A database that cannot be used: rejected (directory) or fatal (single file). */
class DbProblem extends Error {
  constructor(readonly kind: 'format' | 'unreadable', message: string) {
    super(message);
  }
}

const isBusy = (err: unknown): boolean =>
  typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('SQLITE_BUSY');

export function createSqliteReader(cfg: CpanelSqliteSource, opts: SqliteReaderOptions = {}): Reader {
  const busyTimeoutMs = opts.busyTimeoutMs ?? 2000;
  const retryDelaysMs = opts.retryDelaysMs ?? [100, 400, 1500];

  async function listFiles(ctx: ReaderContext): Promise<{ files: string[]; single: boolean }> {
    const path = resolve(ctx.baseDir, cfg.path);
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      throw new TiError('TI_SOURCE_UNREADABLE', `cPanel bandwidth path ${path}: ${errorMessage(err)}`, { path }, { cause: err });
    }
    if (!st.isDirectory()) return { files: [path], single: true };
    let names: string[];
    try {
      names = await readdir(path);
    } catch (err) {
      throw new TiError('TI_SOURCE_UNREADABLE', `cPanel bandwidth directory ${path}: ${errorMessage(err)}`, { path }, { cause: err });
    }
    const files = names.filter((n) => n.endsWith('.sqlite') && n.length > '.sqlite'.length).sort().map((n) => join(path, n));
    if (files.length === 0) throw new TiError('TI_SOURCE_UNREADABLE', `no <user>.sqlite files in ${path}`, { path });
    return { files, single: false };
  }

  /** Open, check the schema version; the caller closes. */
  function open(file: string): { db: Database.Database; unknownIds: Set<number> } {
    let db: Database.Database;
    try {
      db = new (loadDatabase())(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
    } catch (err) {
      if (isBusy(err)) throw err;
      throw new DbProblem('unreadable', `cannot open ${file}: ${errorMessage(err)}`);
    }
    try {
      db.defaultSafeIntegers(true);
      let version: unknown;
      try {
        version = (db.prepare('SELECT version FROM version').pluck().get() as unknown) ?? 'none';
      } catch (err) {
        if (isBusy(err)) throw err;
        throw new DbProblem('format', `${file} is not a cPanel bandwidth database (${errorMessage(err)})`);
      }
      if (Number(version) !== BANDWIDTH_SCHEMA_VERSION) {
        throw new DbProblem('format', `${file} has bandwidth schema version ${rawText(version)}; only version ${BANDWIDTH_SCHEMA_VERSION} is supported`);
      }
      const unknownIds = new Set<number>();
      try {
        for (const row of db.prepare('SELECT id, name FROM domains').iterate() as Iterable<{ id: bigint; name: unknown }>) {
          if (row.name === UNKNOWN_DOMAIN) unknownIds.add(Number(row.id));
        }
      } catch (err) {
        if (isBusy(err)) throw err;
        throw new DbProblem('format', `${file} has no usable domains table (${errorMessage(err)})`);
      }
      return { db, unknownIds };
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** One database → one account's tally. Synchronous: better-sqlite3 is. */
  function readDb(file: string, ctx: ReaderContext, ignored: IgnoredCounter, mapper: DayMapper): AccountTally {
    const { db, unknownIds } = open(file);
    const tally = new AccountTally();
    const table = `bandwidth_${cfg.interval}`;
    let offMidnight = 0;
    // Rows are buffered per attempt: a retry after SQLITE_BUSY starts this file again from zero.
    const rejects: Parameters<ReaderContext['reject']>[0][] = [];
    const local = new IgnoredCounter();
    try {
      let stmt;
      try {
        stmt = db.prepare(`SELECT rowid, domain_id, protocol, unixtime, bytes FROM ${table}`);
      } catch (err) {
        if (isBusy(err)) throw err;
        throw new DbProblem('format', `${file} has no usable ${table} table (${errorMessage(err)})`);
      }
      for (const row of stmt.iterate() as Iterable<{ rowid: bigint; domain_id: unknown; protocol: unknown; unixtime: unknown; bytes: unknown }>) {
        const line = Number(row.rowid);
        const unixtime = unixSecondsOf(row.unixtime);
        if (unixtime === undefined) {
          rejects.push({ file, line, column: 'unixtime', code: 'R_BAD_DATE', reason: `${table} unixtime ${rawText(row.unixtime)} is not a valid timestamp`, raw: rawText(row.unixtime) });
          continue;
        }
        const day = mapper.day(unixtime);
        if (cfg.interval === 'daily' && !mapper.isMidnight(unixtime)) offMidnight++;
        tally.touch(day);
        const protocol = typeof row.protocol === 'string' ? row.protocol : rawText(row.protocol);
        const metric = mailMetricOf(protocol, local);
        if (metric === undefined) continue;
        if (!unknownIds.has(Number(row.domain_id))) {
          // Mail is recorded under UNKNOWN only (§1.1, §9): a mail row under a named domain is not ours to guess.
          local.add('cpanel: mail rows under a named domain (mail is read from UNKNOWN only)');
          continue;
        }
        const parsed = parseBytes(row.bytes);
        if (!parsed.ok) {
          const r = { file, line, column: 'bytes', code: parsed.code, reason: `${table} ${protocol} on ${day}: ${parsed.reason}`, raw: rawText(row.bytes) };
          rejects.push(r);
          tally.hold(day, [metric], r);
          continue;
        }
        tally.add(day, metric, parsed.scaled);
      }
    } finally {
      db.close();
    }
    for (const r of rejects) ctx.reject(r);
    for (const [what, n] of local.entries()) ignored.add(what, n);
    if (offMidnight > 0) {
      ctx.log.warn(
        { file, rows: offMidnight, timezone: mapper.zone },
        'cpanel: daily rows not at midnight in `timezone`: is it the zone of the cPanel server?',
      );
    }
    return tally;
  }

  async function readWithRetry(file: string, ctx: ReaderContext, ignored: IgnoredCounter, mapper: DayMapper): Promise<AccountTally> {
    for (let attempt = 0; ; attempt++) {
      try {
        return readDb(file, ctx, ignored, mapper);
      } catch (err) {
        if (!isBusy(err)) throw err;
        const delay = retryDelaysMs[attempt];
        if (delay === undefined) throw new DbProblem('unreadable', `${file} stayed locked (SQLITE_BUSY) after ${attempt + 1} attempts`);
        ctx.log.debug({ file, attempt: attempt + 1, delay }, 'cpanel: database busy, retrying');
        await sleep(delay, undefined, ctx.signal ? { signal: ctx.signal } : undefined);
      }
    }
  }

  return {
    label: 'cpanel/sqlite',
    async read(ctx, emit: (rec: SourceRecord) => void) {
      const log = ctx.log.child({ reader: 'cpanel', from: 'sqlite' });
      const { files, single } = await listFiles(ctx);
      const mapFile = cfg.accountMap ? resolve(ctx.baseDir, cfg.accountMap) : undefined;
      const accountMap = mapFile ? await loadAccountMap(mapFile, ctx) : undefined;
      const usersPath = resolve(ctx.baseDir, cfg.usersPath);
      const mapper = new DayMapper(cfg.timezone);
      const ignored = new IgnoredCounter();
      log.info({ files: files.length, interval: cfg.interval, timezone: cfg.timezone }, 'cpanel: reading bandwidth databases');
      for (const file of files) {
        if (ctx.signal?.aborted) break;
        const user = basename(file, '.sqlite');
        let tally: AccountTally;
        try {
          tally = await readWithRetry(file, ctx, ignored, mapper);
        } catch (err) {
          if (!(err instanceof DbProblem)) throw err;
          if (single) throw new TiError(err.kind === 'format' ? 'TI_SOURCE_FORMAT' : 'TI_SOURCE_UNREADABLE', err.message, { file });
          ctx.reject({ file, line: 0, code: err.kind === 'format' ? 'R_PARSE' : 'R_SOURCE_ERROR', reason: err.message, raw: user });
          continue;
        }
        const main = await pickMainDomain(user, accountMap, mapFile, () => readCpuserDomain(join(usersPath, user)));
        const n = emitAccount(ctx, emit, { user, main, tally, file });
        log.debug({ user, domain: main.domain, days: tally.size, records: n }, 'cpanel: account read');
      }
      ignored.flush(ctx);
    },

    async check(ctx) {
      const { files, single } = await listFiles(ctx);
      const ok: string[] = [];
      for (const file of files) {
        try {
          open(file).db.close();
          ok.push(basename(file, '.sqlite'));
        } catch (err) {
          const message = err instanceof DbProblem ? err.message : errorMessage(err);
          if (single) throw new TiError(err instanceof DbProblem && err.kind === 'format' ? 'TI_SOURCE_FORMAT' : 'TI_SOURCE_UNREADABLE', message, { file });
          ctx.reject({ file, line: 0, code: err instanceof DbProblem && err.kind === 'format' ? 'R_PARSE' : 'R_SOURCE_ERROR', reason: message });
        }
      }
      return `cPanel bandwidth databases (schema ${BANDWIDTH_SCHEMA_VERSION}): ${ok.length} of ${files.length} usable (${ok.join(', ')})`;
    },
  };
}
