// Resolve: domain name → Plesk id. An idMap wins over lookups; names are looked up in batches through
// the client (`get` by name, matched via filter-id); `auto` tries subscriptions first, then sites.
// Unknown names are not errors of the run: they are counted, listed and written to the reject file.

import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { TiError } from './errors.js';
import { canonicalDomain, METRICS, XS_INT_MAX, type DayRecord, type Operator, type ResolvedRecord, type UnresolvedTarget } from './model.js';
import type { PleskApi } from './plesk/types.js';

export type OperatorSetting = Operator | 'auto';

/** Read `target.idMap`: CSV `domain,dom_id` (a header row is optional). */
export function loadIdMap(file: string): Map<string, number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TiError('TI_CONFIG_READ', `target.idMap ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const rows = parse(text, { bom: true, skip_empty_lines: true, trim: true, comment: '#', relax_column_count: true }) as string[][];
  const map = new Map<string, number>();
  rows.forEach((row, i) => {
    const [name = '', id = ''] = row;
    if (i === 0 && !/^\d+$/.test(id)) return; // header
    const domId = Number(id);
    const domain = canonicalDomain(name);
    if (!domain || !/^\d+$/.test(id) || domId < 1 || domId > XS_INT_MAX) {
      throw new TiError('TI_CONFIG', `target.idMap ${file} line ${i + 1}: expected "domain,dom_id", got "${row.join(',')}"`);
    }
    map.set(domain, domId);
  });
  return map;
}

export interface ResolveOptions {
  operator: OperatorSetting;
  idMap?: Map<string, number>;
  /** Absent in an offline dry-run: only dom_id records and idMap names resolve. */
  api?: PleskApi;
}

export interface ResolveResult {
  records: ResolvedRecord[];
  resolvedTargets: number;
  unresolved: UnresolvedTarget[];
}

/** Merge records that land on the same (operator, id, day): e.g. two names of one subscription. */
function mergeInto(map: Map<string, ResolvedRecord>, rec: ResolvedRecord, own: Set<ResolvedRecord>): void {
  const k = `${rec.operator}|${rec.domId}|${rec.date}`;
  const prev = map.get(k);
  if (!prev) {
    map.set(k, rec);
    return;
  }
  // The first record's metrics are the normalizer's until a second one lands on its key: copied then, not before.
  if (!own.has(prev)) {
    prev.metrics = { ...prev.metrics };
    own.add(prev);
  }
  for (const m of METRICS) {
    const v = rec.metrics[m];
    if (v !== undefined) prev.metrics[m] = (prev.metrics[m] ?? 0n) + v;
  }
  prev.rows += rec.rows;
  prev.firstLine = Math.min(prev.firstLine, rec.firstLine);
  prev.lastLine = Math.max(prev.lastLine, rec.lastLine);
}

export async function resolveTargets(records: DayRecord[], opts: ResolveOptions): Promise<ResolveResult> {
  const defaultOp: Operator = opts.operator === 'site' ? 'site' : 'webspace';
  const names = new Set<string>();
  for (const r of records) {
    if (r.target.domId === undefined && r.target.domain && !opts.idMap?.has(r.target.domain)) names.add(r.target.domain);
  }
  const found = new Map<string, { id: number; operator: Operator }>();
  // A lookup error for one name (not "not found") makes that name unresolved, with Plesk's words as reason.
  const lookupErrors = new Map<string, string>();
  if (opts.api && names.size > 0) {
    const order: Operator[] = opts.operator === 'auto' ? ['webspace', 'site'] : [defaultOp];
    let pending = [...names];
    for (const op of order) {
      if (pending.length === 0) break;
      const ids = await opts.api.resolveNames(op, pending, (name, errcode, errtext) => {
        lookupErrors.set(String(name), `${op} get failed: Plesk error ${errcode ?? '?'}: ${errtext}`);
      });
      for (const [name, id] of ids) found.set(name, { id, operator: op });
      pending = pending.filter((n) => !found.has(n));
    }
  }
  const merged = new Map<string, ResolvedRecord>();
  const own = new Set<ResolvedRecord>();
  const unresolved = new Map<string, UnresolvedTarget>();
  // (operator, id) as one number: a site's id negated (ids are ≥ 1).
  const targets = new Set<number>();
  for (const r of records) {
    let hit: { id: number; operator: Operator } | undefined;
    if (r.target.domId !== undefined) hit = { id: r.target.domId, operator: defaultOp };
    else if (r.target.domain) {
      const mapped = opts.idMap?.get(r.target.domain);
      hit = mapped !== undefined ? { id: mapped, operator: defaultOp } : found.get(r.target.domain);
    }
    if (!hit) {
      const name = r.target.domain ?? '';
      const u = unresolved.get(name);
      if (u) {
        u.rows += r.rows;
        u.firstLine = Math.min(u.firstLine, r.firstLine);
        u.lastLine = Math.max(u.lastLine, r.lastLine);
      } else {
        unresolved.set(name, {
          name, rows: r.rows, file: r.file, firstLine: r.firstLine, lastLine: r.lastLine,
          reason: lookupErrors.get(name) ?? (opts.api ? `not found in Plesk (${opts.operator === 'auto' ? 'webspace or site' : defaultOp})` : 'no Plesk target to resolve names (offline dry-run: give dom_id or target.idMap)'),
        });
      }
      continue;
    }
    targets.add(hit.operator === 'site' ? -hit.id : hit.id);
    // Copied field by field: V8 (Node 20) builds `{ ...r, more }` ~10× slower, 0.4 s for 50k records. Optional
    // fields of DayRecord are copied by hand (the compiler checks the others).
    const rec: ResolvedRecord = {
      target: r.target, date: r.date, metrics: r.metrics, rows: r.rows, file: r.file, firstLine: r.firstLine, lastLine: r.lastLine,
      operator: hit.operator, domId: hit.id,
    };
    if (r.held !== undefined) rec.held = r.held;
    mergeInto(merged, rec, own);
  }
  return { records: [...merged.values()], resolvedTargets: targets.size, unresolved: [...unresolved.values()] };
}
