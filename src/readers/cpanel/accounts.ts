// Which domain an account's mail traffic goes to. cPanel stores mail per account, never per domain
// (pseudo-domain UNKNOWN, docs/reference/cpanel-bandwidth.md §1.1); like cPanel's own Stats::get_bandwidth (§4.3)
// we attribute it to the account's main domain: the `DNS=` line of its cpuser file, the `domain` of
// WHM listaccts, or an explicit `accountMap` CSV (`user,domain`) that wins over both.

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse';
import { canonicalDomain, type SourceRecord } from '../../model.js';
import { TiError, errorMessage } from '../../errors.js';
import type { ReaderContext } from '../types.js';
import type { AccountTally } from './tally.js';

/** A main domain and where it was found (for reasons in reports). */
export interface MainDomain {
  domain?: string;
  /** Where the domain came from, or why none was found. */
  from: string;
}

const DOMAIN_RE = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)+$/;

/** Canonical form of a main-domain value, or '' when it is not a usable domain name. */
export function mainDomainOf(raw: string): string {
  const d = canonicalDomain(raw);
  return DOMAIN_RE.test(d) ? d : '';
}

/** The `DNS=` value of a cpuser file's text (`KEY=value` lines, CP:Cpanel/Stats.pm uses CPDATA{DNS}). */
export function parseCpuserDns(text: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('DNS=')) {
      const v = line.slice(4).trim();
      return v === '' ? undefined : v;
    }
  }
  return undefined;
}

/** Main domain from a cpuser file (`/var/cpanel/users/<user>`, or `cp/<user>` in a cpmove archive). */
export async function readCpuserDomain(file: string): Promise<MainDomain> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { from: code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read (${code ?? errorMessage(err)})` };
  }
  return cpuserTextDomain(text, file);
}

export function cpuserTextDomain(text: string, file: string): MainDomain {
  const dns = parseCpuserDns(text);
  if (dns === undefined) return { from: `${file} has no DNS= line` };
  const domain = mainDomainOf(dns);
  if (!domain) return { from: `${file}: DNS=${dns} is not a domain name` };
  return { domain, from: `${file} DNS=` };
}

/**
 * Read an accountMap CSV: `user,domain` per line, an optional header `user,domain`, `#` comments.
 * Bad rows are rejected and skipped; a file that cannot be read is fatal.
 */
export async function loadAccountMap(file: string, ctx: ReaderContext): Promise<Map<string, string>> {
  const map = new Map<string, { domain: string; line: number }>();
  const parser = createReadStream(file).pipe(
    parse({ trim: true, skip_empty_lines: true, comment: '#', relax_column_count: true, info: true, bom: true }),
  );
  let first = true;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = info.lines;
      const raw = record.join(',');
      if (first) {
        first = false;
        if (record[0]?.toLowerCase() === 'user' && record[1]?.toLowerCase() === 'domain') continue;
      }
      if (record.length !== 2) {
        ctx.reject({ file, line, code: 'R_COLUMN_COUNT', reason: `accountMap rows are "user,domain"; got ${record.length} column(s)`, raw });
        continue;
      }
      const [user, rawDomain] = record as [string, string];
      if (user === '' || rawDomain === '') {
        ctx.reject({ file, line, column: user === '' ? 'user' : 'domain', code: 'R_EMPTY_TARGET', reason: 'user or domain is empty', raw });
        continue;
      }
      const domain = mainDomainOf(rawDomain);
      if (!domain) {
        ctx.reject({ file, line, column: 'domain', code: 'R_BAD_TARGET', reason: `"${rawDomain}" is not a domain name`, raw });
        continue;
      }
      const seen = map.get(user);
      if (seen && seen.domain !== domain) {
        ctx.reject({
          file, line, column: 'user', code: 'R_PARSE',
          reason: `account ${user} is already mapped to ${seen.domain} on line ${seen.line}`, raw,
        });
        continue;
      }
      map.set(user, { domain, line });
    }
  } catch (err) {
    throw new TiError('TI_SOURCE_UNREADABLE', `accountMap ${file}: ${errorMessage(err)}`, { file }, { cause: err });
  }
  return new Map([...map].map(([user, v]) => [user, v.domain]));
}

/**
 * Emit one account's records under its main domain, or report the account (R_NO_DOMAIN, naming it)
 * when it has none: its traffic is not silently dropped.
 */
export function emitAccount(
  ctx: ReaderContext,
  emit: (rec: SourceRecord) => void,
  opts: { user: string; main: MainDomain; tally: AccountTally; file: string },
): number {
  const { user, main, tally, file } = opts;
  if (tally.size === 0) return 0;
  if (!main.domain) {
    ctx.reject({
      file, line: 0, code: 'R_NO_DOMAIN', raw: user,
      reason: `account ${user} has no main domain (${main.from}); ${tally.size} day(s) of its mail traffic not imported`,
    });
    return 0;
  }
  let n = 0;
  for (const rec of tally.records(main.domain, file, ctx)) {
    emit(rec);
    n++;
  }
  return n;
}

/** accountMap first, then the source's own answer. */
export async function pickMainDomain(
  user: string,
  accountMap: Map<string, string> | undefined,
  mapFile: string | undefined,
  fallback: () => MainDomain | Promise<MainDomain>,
): Promise<MainDomain> {
  const mapped = accountMap?.get(user);
  if (mapped) return { domain: mapped, from: `accountMap ${mapFile}` };
  const fb = await fallback();
  if (accountMap && !fb.domain) return { from: `not in accountMap ${mapFile}; ${fb.from}` };
  return fb;
}
