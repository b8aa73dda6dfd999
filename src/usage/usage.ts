// `usage`: who is near or over their monthly traffic limit, under which plan, and what Plesk will do about it.
// Reads only, all through src/plesk/ (batched: many ids or GUIDs per filter, packets through the client's
// bounded queue), then pure arithmetic. Facts: plesk-api-notes.md §6 (limits, overuse, −1 = unlimited,
// traffic_accounting), seed 004 (service-plan/get).

import type { Logger } from 'pino';
import { dayjs } from '../dates.js';
import { TiError } from '../errors.js';
import { TRAFFIC_FIELDS, canonicalDomain, type FullTraffic } from '../model.js';
import type { LimitValue, PlanDetails, PleskApi, PleskPanelReads, SubscriptionDetails, SubscriptionSummary } from '../plesk/types.js';

/** What `usage` needs from a Plesk client (PleskClient implements it). */
export type UsageApi = PleskPanelReads & Pick<PleskApi, 'resolveNames' | 'getTraffic'>;

export type TrafficAccounting = 'in' | 'out' | 'both';
export type UsageStatus = 'ok' | 'soft' | 'over' | 'unlimited';

export interface UsageRow {
  id: number;
  /** gen_info/name (Unicode for an IDN). */
  name: string;
  /** gen_info/status: 0 active, 16 disabled by the administrator, … */
  state: number;
  /** The service plan's name; null for a subscription without one (or whose plan is not a service plan). */
  plan: string | null;
  /** Its own limits differ from its plan's. */
  customized: boolean;
  overuse: string | null;
  /** Bytes per month; null = unlimited. */
  maxTraffic: bigint | null;
  maxTrafficSoft: bigint | null;
  /** Counted directions, all protocols, the subscription and its add-on sites, this month. */
  used: bigint;
  /** Counted directions of smtp and pop3/imap: what a mail import adds. */
  usedMail: bigint;
  percent: number | null;
  status: UsageStatus;
  /** Add-on sites whose traffic is included. */
  addonSites: number;
}

export interface UsageReport {
  month: string;
  trafficAccounting: TrafficAccounting;
  /** Every subscription in scope, by id. */
  rows: UsageRow[];
  /** --domains names found neither as a subscription nor as a site. */
  notFound: string[];
}

/** server `traffic_accounting`: 1 inbound, 2 outbound, 3 both (docs 37029; 1 by inference). Unknown → both. */
export function accountingOf(code: number | undefined): TrafficAccounting {
  return code === 1 ? 'in' : code === 2 ? 'out' : 'both';
}

export function countedFields(accounting: TrafficAccounting): (keyof FullTraffic)[] {
  return TRAFFIC_FIELDS.filter((f) => accounting === 'both' || f.endsWith(accounting === 'in' ? '_in' : '_out'));
}

const MAIL_FIELDS = new Set<keyof FullTraffic>(['smtp_in', 'smtp_out', 'pop3_imap_in', 'pop3_imap_out']);

/** The hard limit in bytes, or null when unlimited (−1, any negative, absent, or not a byte count). */
export function hardLimit(value: LimitValue | undefined): bigint | null {
  return typeof value === 'bigint' && value >= 0n ? value : null;
}

/** The soft limit in bytes: bytes as given, or a percentage of the hard limit (rounded down); null when none. */
export function softLimit(value: LimitValue | undefined, hard: bigint | null): bigint | null {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value >= 0n ? value : null;
  if (hard === null) return null;
  return (hard * BigInt(Math.round(value.percent * 100))) / 10000n;
}

/** The rules: over when used ≥ hard; soft when below it and used ≥ soft; unlimited without a hard limit. */
export function usageStatus(used: bigint, hard: bigint | null, soft: bigint | null): UsageStatus {
  if (hard === null) return 'unlimited';
  if (used >= hard) return 'over';
  if (soft !== null && used >= soft) return 'soft';
  return 'ok';
}

/** used / hard × 100, rounded down to two decimals (99.999 % is not shown as 100); null without a positive limit. */
export function percentOf(used: bigint, hard: bigint | null): number | null {
  if (hard === null || hard === 0n) return null;
  return Number((used * 10000n) / hard) / 100;
}

function limitKey(v: LimitValue | undefined): string {
  if (v === undefined) return '-1';
  if (typeof v === 'bigint') return v < 0n ? '-1' : v.toString();
  return `${v.percent}%`;
}

/**
 * Whether a subscription's effective limits differ from its plan's: any limit (absent and negative both mean
 * unlimited) or the overuse policy. Add-on plans raise limits too, so a subscription with add-ons reads as customized.
 */
export function isCustomized(limits: SubscriptionDetails['limits'], plan: PlanDetails | undefined): boolean {
  if (!plan || !limits) return false;
  if (limits.overuse !== undefined && plan.overuse !== undefined && limits.overuse !== plan.overuse) return true;
  for (const name of new Set([...limits.values.keys(), ...plan.limits.keys()])) {
    if (limitKey(limits.values.get(name)) !== limitKey(plan.limits.get(name))) return true;
  }
  return false;
}

/** First and last day of a YYYY-MM month. */
export function monthRange(month: string): { since: string; to: string } {
  const first = dayjs.utc(`${month}-01`, 'YYYY-MM-DD', true);
  if (!/^\d{4}-\d{2}$/.test(month) || !first.isValid()) throw new TiError('TI_USAGE', `--month expects YYYY-MM, got "${month}"`);
  return { since: first.format('YYYY-MM-DD'), to: first.endOf('month').format('YYYY-MM-DD') };
}

export interface CollectOptions {
  api: UsageApi;
  month: string;
  /** Canonical names to report on; undefined = every subscription on the panel. */
  domains?: readonly string[];
  log: Logger;
}

/** Reads the panel and computes one row per subscription in scope. */
export async function collectUsage(opts: CollectOptions): Promise<UsageReport> {
  const { api, log, month } = opts;
  const { since, to } = monthRange(month);
  const accounting = accountingOf((await api.serverPrefs()).trafficAccounting);

  // Scope: the whole panel, or the subscriptions the names belong to (a site's name counts for its subscription).
  let ids: number[];
  let summaries = new Map<number, SubscriptionSummary>();
  const notFound: string[] = [];
  if (opts.domains === undefined) {
    const all = await api.listSubscriptions();
    summaries = new Map(all.map((s) => [s.id, s]));
    ids = [...summaries.keys()];
  } else {
    const names = [...new Set(opts.domains.map(canonicalDomain).filter((n) => n !== ''))];
    const bySubscription = await api.resolveNames('webspace', names);
    const rest = names.filter((n) => !bySubscription.has(n));
    const bySite = rest.length > 0 ? await api.siteOwners(rest) : new Map<string, number>();
    for (const n of rest) if (!bySite.has(n)) notFound.push(n);
    ids = [...new Set([...bySubscription.values(), ...bySite.values()])];
  }

  const datasets = opts.domains === undefined ? (['limits', 'subscriptions'] as const) : (['gen_info', 'limits', 'subscriptions'] as const);
  const onObjectError = (object: string | number, errcode: number | undefined, errtext: string): void => {
    log.warn({ subscription: object, errcode, errtext }, 'usage: Plesk refused to describe a subscription; it is left out');
  };
  const [details, addons] = await Promise.all([
    ids.length > 0 ? api.subscriptionDetails(ids, datasets, onObjectError) : Promise.resolve(new Map<number, SubscriptionDetails>()),
    ids.length > 0 ? api.addonSites(ids) : Promise.resolve(new Map<number, number[]>()),
  ]);
  for (const d of details.values()) if (d.genInfo) summaries.set(d.id, d.genInfo);

  const guids = [...details.values()].flatMap((d) => d.subscription?.planGuids ?? []);
  const siteIds = [...addons.values()].flat();
  const [plans, webspaceTraffic, siteTraffic] = await Promise.all([
    guids.length > 0 ? api.servicePlans(guids) : Promise.resolve(new Map<string, PlanDetails>()),
    ids.length > 0 ? api.getTraffic('webspace', ids, since, to, onObjectError) : Promise.resolve(new Map<number, Map<string, FullTraffic>>()),
    siteIds.length > 0 ? api.getTraffic('site', siteIds, since, to, onObjectError) : Promise.resolve(new Map<number, Map<string, FullTraffic>>()),
  ]);

  const fields = countedFields(accounting);
  const sum = (days: Map<string, FullTraffic> | undefined): { all: bigint; mail: bigint } => {
    let all = 0n;
    let mail = 0n;
    for (const [date, row] of days ?? []) {
      // Only the month asked for, whatever a panel returns around it.
      if (date < since || date > to) continue;
      for (const f of fields) {
        all += row[f];
        if (MAIL_FIELDS.has(f)) mail += row[f];
      }
    }
    return { all, mail };
  };

  const rows: UsageRow[] = [];
  for (const id of [...new Set(ids)].sort((a, b) => a - b)) {
    const d = details.get(id);
    const summary = summaries.get(id);
    if (!d || !summary) continue; // deleted meanwhile, or refused (logged)
    // The main plan is the subscription's plan GUID that is a service plan; add-on plans are not.
    const plan = (d.subscription?.planGuids ?? []).map((g) => plans.get(g.toLowerCase())).find((p) => p !== undefined);
    const own = sum(webspaceTraffic.get(id));
    const sites = addons.get(id) ?? [];
    let used = own.all;
    let usedMail = own.mail;
    for (const s of sites) {
      const t = sum(siteTraffic.get(s));
      used += t.all;
      usedMail += t.mail;
    }
    const maxTraffic = hardLimit(d.limits?.values.get('max_traffic'));
    const maxTrafficSoft = softLimit(d.limits?.values.get('max_traffic_soft'), maxTraffic);
    rows.push({
      id,
      name: summary.name || summary.asciiName,
      state: summary.status,
      plan: plan?.name ?? null,
      customized: isCustomized(d.limits, plan),
      overuse: d.limits?.overuse ?? plan?.overuse ?? null,
      maxTraffic,
      maxTrafficSoft,
      used,
      usedMail,
      percent: percentOf(used, maxTraffic),
      status: usageStatus(used, maxTraffic, maxTrafficSoft),
      addonSites: sites.length,
    });
  }
  return { month, trafficAccounting: accounting, rows, notFound };
}
