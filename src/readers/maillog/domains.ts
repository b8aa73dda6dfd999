// Domains of mail addresses and Dovecot users: lower-cased and in ASCII form as everywhere in the product,
// `ignoreDomains` applied, the user map for bare Dovecot logins. Cached by the raw text (a log repeats a few
// thousand addresses millions of times), the cache cleared when full so memory stays bounded.

import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { TiError, errorMessage } from '../../errors.js';
import { canonicalDomain } from '../../model.js';
import { own } from './text.js';

/** Lower-case LDH labels (underscore tolerated), ≤ 63 each, ≤ 253 in all: as the CSV reader checks. */
const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const CACHE_MAX = 50_000;

/** What a raw domain turns into. */
export type DomainOf =
  | { kind: 'domain'; name: string }
  | { kind: 'ignored' }
  /** Not a domain name (an address literal `[192.0.2.1]`, garbage). */
  | { kind: 'invalid'; reason: string };

export class Domains {
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly cache = new Map<string, DomainOf>();

  constructor(ignoreDomains: readonly string[]) {
    for (const raw of ignoreDomains) {
      const d = raw.trim().toLowerCase();
      if (d.startsWith('*.')) this.suffixes.push(canonicalDomain(d.slice(2)));
      else this.exact.add(canonicalDomain(d));
    }
  }

  /** The domain part of an address (after its last `@`), or undefined when it has none. */
  static partOf(address: string): string | undefined {
    const at = address.lastIndexOf('@');
    return at < 0 || at === address.length - 1 ? undefined : address.slice(at + 1);
  }

  of(raw: string): DomainOf {
    let r = this.cache.get(raw);
    if (r === undefined) {
      const key = own(raw);
      r = this.resolve(key);
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(key, r);
    }
    return r;
  }

  private resolve(raw: string): DomainOf {
    if (raw.startsWith('[')) return { kind: 'invalid', reason: `address literal ${raw}` };
    // eslint-disable-next-line no-control-regex
    const name = /[\x00-\x20\x7f]/.test(raw) ? '' : canonicalDomain(raw);
    if (name === '' || !HOSTNAME_RE.test(name)) return { kind: 'invalid', reason: `not a domain name: ${JSON.stringify(raw)}` };
    if (this.exact.has(name)) return { kind: 'ignored' };
    for (const s of this.suffixes) {
      if (name.length > s.length + 1 && name.endsWith(s) && name.charCodeAt(name.length - s.length - 1) === 46) return { kind: 'ignored' };
    }
    return { kind: 'domain', name };
  }
}

/** The `userMap` file: CSV `user,domain` (a header `user,domain` is allowed), for Dovecot logins without `@`. */
export function loadUserMap(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TiError('TI_CONFIG_READ', `source.userMap ${file}: ${errorMessage(err)}`);
  }
  let rows: string[][];
  try {
    rows = parse(text, { bom: true, skip_empty_lines: true, trim: true, relax_column_count: true, comment: '#' }) as string[][];
  } catch (err) {
    throw new TiError('TI_CONFIG', `source.userMap ${file}: ${errorMessage(err)}`);
  }
  const map = new Map<string, string>();
  rows.forEach((row, i) => {
    const [user = '', domain = ''] = row;
    if (i === 0 && user.toLowerCase() === 'user' && domain.toLowerCase() === 'domain') return;
    const name = canonicalDomain(domain);
    if (row.length !== 2 || user === '' || !HOSTNAME_RE.test(name)) {
      throw new TiError('TI_CONFIG', `source.userMap ${file}: row ${i + 1} must be "user,domain", got ${JSON.stringify(row.join(','))}`);
    }
    map.set(user, name);
    // Logins are compared as written, then lower-cased (Dovecot lower-cases them when auth_username_format says so).
    if (!map.has(user.toLowerCase())) map.set(user.toLowerCase(), name);
  });
  return map;
}
