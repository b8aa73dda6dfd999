// `from: "legacy"`: pre-2015 (before cPanel 11.50) flat files in /var/cpanel/bandwidth
// (docs/reference/cpanel-bandwidth.md §5.2, reconstructed from the importer CP:Cpanel/BandwidthDB/Convert.pm).
//
// Each datastore `<name>` has a daily file `<name>` (lines `M.D.YYYY-protocol=bytes`), and
// `<name>.hour` / `<name>.5min` with the same bytes at finer resolution. `<name>` is a user name
// (the user datastore) or a domain (a domain datastore).
//
// Which traffic is read, and why ("non-HTTP traffic only from the user file"): HTTP was stored
// twice (per domain and again in the user datastore), and before about 2010 non-HTTP traffic was
// also duplicated into the main domain's datastore. cPanel's own importer therefore takes non-HTTP
// only from `<user>` and HTTP only from domain files. Mail is non-HTTP, so this reader reads only
// the daily user datastores:
//   - files whose name has no dot are user datastores (cPanel user names have none; domains do);
//   - domain datastores, `.hour`/`.5min` files (same bytes again) and other files are skipped and
//     counted (ctx.ignored); sub-directories (old RRD data) are skipped;
//   - `-all` lines are per-day summaries and are ignored (counted); http/ftp lines are not mail;
//   - entries dated 12.31.1969 / 1.1.1970 (timestamp 0 written by mistake) are dropped, as cPanel does.
// The dates are the server's local calendar days already, so no time zone applies.

import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { TiError, errorMessage } from '../../errors.js';
import { isValidDate } from '../../dates.js';
import type { Reader, ReaderContext } from '../types.js';
import type { CpanelLegacySource } from './config.js';
import { emitAccount, loadAccountMap, pickMainDomain, readCpuserDomain } from './accounts.js';
import { AccountTally, IgnoredCounter, mailMetricOf, parseBytes, type ParsedBytes } from './tally.js';

/** Bytes as the legacy importer accepts them: digits, '.', e/E (Convert.pm). */
const LEGACY_BYTES_RE = /^[0-9eE.]+$/;
const NON_DATASTORE_RE = /\.(sqlite|sqlite-journal|sqlite-wal|sqlite-shm|rrd|xml|offset|bkup\d*)$/;

type FileKind = { kind: 'user'; user: string } | { kind: 'skip'; why: string };

export function classifyLegacyFile(name: string): FileKind {
  if (name.startsWith('.')) return { kind: 'skip', why: 'cpanel legacy: hidden files' };
  if (NON_DATASTORE_RE.test(name)) return { kind: 'skip', why: 'cpanel legacy: files that are not flat datastores' };
  if (name.endsWith('.hour') || name.endsWith('.5min')) {
    return { kind: 'skip', why: 'cpanel legacy: hourly/5-minute files (the daily file holds the same bytes)' };
  }
  if (name.includes('.')) return { kind: 'skip', why: 'cpanel legacy: domain datastores (mail is read from user files only)' };
  return { kind: 'user', user: name };
}

/** A legacy daily datestamp `M.D.YYYY` → `YYYY-MM-DD`, or undefined. */
export function legacyDay(stamp: string): string | undefined {
  const parts = stamp.split(/[^0-9]+/);
  if (parts.length !== 3) return undefined;
  const [m, d, y] = parts as [string, string, string];
  if (y.length !== 4) return undefined;
  const day = `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;
  return isValidDate(day) ? day : undefined;
}

export function createLegacyReader(cfg: CpanelLegacySource): Reader {
  async function list(ctx: ReaderContext): Promise<{ files: { file: string; user: string }[]; skipped: IgnoredCounter }> {
    const path = resolve(ctx.baseDir, cfg.path);
    const skipped = new IgnoredCounter();
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      throw new TiError('TI_SOURCE_UNREADABLE', `cPanel legacy bandwidth path ${path}: ${errorMessage(err)}`, { path }, { cause: err });
    }
    const entries: { dir: string; name: string }[] = [];
    if (st.isDirectory()) {
      try {
        for (const d of await readdir(path, { withFileTypes: true })) {
          if (d.isDirectory()) skipped.add('cpanel legacy: sub-directories (RRD data)');
          else entries.push({ dir: path, name: d.name });
        }
      } catch (err) {
        throw new TiError('TI_SOURCE_UNREADABLE', `cPanel legacy bandwidth directory ${path}: ${errorMessage(err)}`, { path }, { cause: err });
      }
    } else {
      entries.push({ dir: dirname(path), name: basename(path) });
    }
    const files: { file: string; user: string }[] = [];
    for (const { dir, name } of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const k = classifyLegacyFile(name);
      if (k.kind === 'user') files.push({ file: join(dir, name), user: k.user });
      else skipped.add(k.why);
    }
    if (files.length === 0) throw new TiError('TI_SOURCE_UNREADABLE', `no user datastore files (<user>, no dot in the name) in ${path}`, { path });
    return { files, skipped };
  }

  async function readFileTally(file: string, ctx: ReaderContext, ignored: IgnoredCounter): Promise<AccountTally> {
    const tally = new AccountTally();
    const input = createReadStream(file, { encoding: 'utf8' });
    try {
      await once(input, 'open');
    } catch (err) {
      throw new TiError('TI_SOURCE_UNREADABLE', `${file}: ${errorMessage(err)}`, { file }, { cause: err });
    }
    const rl = createInterface({ input, crlfDelay: Infinity });
    let line = 0;
    rl.on('line', (raw) => {
      line++;
      const text = raw.replace(/[\r\n]+$/, '');
      if (text.trim() === '') return;
      const eq = text.indexOf('=');
      if (eq < 0) {
        ctx.reject({ file, line, code: 'R_PARSE', reason: 'line is not "M.D.YYYY-protocol=bytes"', raw: text });
        return;
      }
      const stamp = text.slice(0, eq);
      const bytes = text.slice(eq + 1).trim();
      if (stamp.endsWith('-all')) {
        ignored.add('cpanel legacy: -all summary lines');
        return;
      }
      const dash = stamp.indexOf('-');
      const protocol = dash < 0 ? '' : stamp.slice(dash + 1);
      if (protocol === '') {
        ctx.reject({ file, line, code: 'R_PARSE', reason: 'line has no protocol ("M.D.YYYY-protocol=bytes")', raw: text });
        return;
      }
      const dateStamp = stamp.slice(0, dash);
      if (/^(12\.31\.1969|1\.1\.1970|0?1\.0?1\.1970)$/.test(dateStamp)) {
        ignored.add('cpanel legacy: entries dated at timestamp 0 (1969-12-31/1970-01-01)');
        return;
      }
      const day = legacyDay(dateStamp);
      if (!day) {
        ctx.reject({ file, line, column: 'date', code: 'R_BAD_DATE', reason: `"${dateStamp}" is not a date M.D.YYYY`, raw: text });
        return;
      }
      tally.touch(day, line);
      const metric = mailMetricOf(protocol, ignored);
      if (metric === undefined) return;
      let parsed: ParsedBytes;
      if (LEGACY_BYTES_RE.test(bytes)) parsed = parseBytes(bytes);
      else if (/^-[0-9eE.]+$/.test(bytes)) parsed = { ok: false, code: 'R_NEGATIVE', reason: `byte value "${bytes}" is negative` };
      else parsed = { ok: false, code: 'R_NOT_NUMERIC', reason: `"${bytes}" is not a byte count` };
      if (!parsed.ok) {
        tally.reject(ctx, day, [metric], { file, line, column: 'bytes', code: parsed.code, reason: `${protocol} on ${day}: ${parsed.reason}`, raw: text }, line);
        return;
      }
      tally.add(day, metric, parsed.scaled, line);
    });
    try {
      await once(rl, 'close');
    } catch (err) {
      throw new TiError('TI_SOURCE_UNREADABLE', `${file}: ${errorMessage(err)}`, { file }, { cause: err });
    }
    return tally;
  }

  return {
    label: 'cpanel/legacy',
    async read(ctx, emit) {
      const log = ctx.log.child({ reader: 'cpanel', from: 'legacy' });
      const { files, skipped } = await list(ctx);
      skipped.flush(ctx);
      const mapFile = cfg.accountMap ? resolve(ctx.baseDir, cfg.accountMap) : undefined;
      const accountMap = mapFile ? await loadAccountMap(mapFile, ctx) : undefined;
      const usersPath = resolve(ctx.baseDir, cfg.usersPath);
      const ignored = new IgnoredCounter();
      log.info({ files: files.length }, 'cpanel: reading legacy flat files');
      for (const { file, user } of files) {
        if (ctx.signal?.aborted) break;
        const tally = await readFileTally(file, ctx, ignored);
        const main = await pickMainDomain(user, accountMap, mapFile, () => readCpuserDomain(join(usersPath, user)));
        const n = emitAccount(ctx, emit, { user, main, tally, file });
        log.debug({ user, domain: main.domain, days: tally.size, records: n }, 'cpanel: legacy account read');
      }
      ignored.flush(ctx);
    },

    async check(ctx) {
      const { files } = await list(ctx);
      return `cPanel legacy flat files: ${files.length} user datastore(s) (${files.map((f) => f.user).join(', ')})`;
    },
  };
}
