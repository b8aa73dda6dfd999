// The `dataset` groups of webspace/get and site/get, computed from the fixture state. The rule: a group is
// emulated from the fixture, or the whole result is refused with 1017 — never answered with an empty
// `<data/>` (a real panel fills every group it is asked for; api-php-lib's Webspace::getLimits crashes on
// an empty one). Shapes and element order follow agent_output.tree.txt (webspace → get → data, a sequence:
// the groups come back in schema order whatever order the request's `(all)` group named them in).
//
// Where Plesk's behaviour is not documented, the choice is written next to the code and in docs/emulator.md.

import { TRAFFIC_FIELDS, type FullTraffic } from '../../model.js';
import { addDays } from '../../dates.js';
import { DISK_USAGE_FIELDS, STAT_COUNTERS, type EmulatorState, type Plan, type Site, type Subscription } from './fixture.js';
import type { XmlBuilder } from './operations.js';

/** Webspace groups in output order; `true` = emulated. */
const WEBSPACE_GROUPS: readonly (readonly [string, boolean])[] = [
  ['gen_info', true], ['hosting', true], ['hosting-basic', true], ['limits', true], ['stat', true], ['prefs', true],
  ['disk_usage', true], ['performance', true], ['subscriptions', true], ['permissions', false], ['plan-items', false],
  ['php-settings', true], ['resource-usage', true], ['mail', false], ['aps-filter', false], ['packages', false],
];
/** Site groups in output order (siteDatasetType): all emulated. */
const SITE_GROUPS: readonly (readonly [string, boolean])[] = [
  ['gen_info', true], ['hosting', true], ['stat', true], ['prefs', true], ['disk_usage', true], ['performance', true],
];

export type DatasetOperator = 'webspace' | 'site';

/** The requested groups in output order, and those the emulator refuses (1017). */
export function planDatasets(op: DatasetOperator, requested: readonly string[]): { emit: string[]; unsupported: string[] } {
  const groups = op === 'webspace' ? WEBSPACE_GROUPS : SITE_GROUPS;
  const wanted = new Set(requested);
  return {
    emit: groups.filter(([n, ok]) => ok && wanted.has(n)).map(([n]) => n),
    unsupported: groups.filter(([n, ok]) => !ok && wanted.has(n)).map(([n]) => n),
  };
}

export function unsupportedText(names: readonly string[]): string {
  return names.length === 1
    ? `Dataset '${names[0]}' is not supported by the emulator.`
    : `Datasets ${names.map((n) => `'${n}'`).join(', ')} are not supported by the emulator.`;
}

// ---- plan settings (xmlbuilder2 object form, as seed 004 shows them) ----

function asList(x: unknown): Record<string, unknown>[] {
  if (Array.isArray(x)) return x.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null);
  return typeof x === 'object' && x !== null ? [x as Record<string, unknown>] : [];
}

function member(obj: Record<string, unknown> | undefined, name: string): Record<string, unknown> | undefined {
  const g = obj?.[name];
  return typeof g === 'object' && g !== null && !Array.isArray(g) ? (g as Record<string, unknown>) : undefined;
}

function group(plan: Plan | undefined, name: string): Record<string, unknown> | undefined {
  return member(plan?.settings, name);
}

function pairs(list: unknown): [string, string][] {
  return asList(list)
    .map((p) => [p['name'], p['value']] as const)
    .filter((p): p is readonly [string, string | number | boolean] => typeof p[0] === 'string' && p[1] !== undefined && typeof p[1] !== 'object')
    .map(([n, v]) => [n, String(v)]);
}

export function planOf(state: EmulatorState, sub: Subscription): Plan | undefined {
  return sub.planId === undefined ? undefined : state.plans.find((p) => p.id === sub.planId);
}

/** A plan's `limits` group: overuse and name → value (whole numbers only). */
export function planLimits(plan: Plan | undefined): { overuse?: string; values: Map<string, bigint> } {
  const g = group(plan, 'limits');
  const values = new Map<string, bigint>();
  for (const [n, v] of pairs(g?.['limit'])) if (/^-?\d+$/.test(v.trim())) values.set(n, BigInt(v.trim()));
  const overuse = g?.['overuse'];
  return { ...(typeof overuse === 'string' ? { overuse } : {}), values };
}

/**
 * The limit names a subscription always lists (docs/reference/plesk-api-notes.md §6.2), unlimited (-1) unless its plan or
 * its own customization says otherwise: Plesk answers the whole set, not only the plan's entries.
 */
export const STANDARD_LIMITS = [
  'max_site', 'max_subdom', 'max_dom_aliases', 'disk_space', 'disk_space_soft', 'max_traffic', 'max_traffic_soft',
  'max_wu', 'max_subftp_users', 'max_db', 'max_box', 'mbox_quota', 'max_maillists', 'max_webapps', 'max_site_builder', 'expiration',
] as const;

/** Effective limits of a subscription: standard set ← plan ← own values (webspace/get `limits`). */
export function effectiveLimits(state: EmulatorState, sub: Subscription): { overuse?: string; values: Map<string, bigint> } {
  const plan = planLimits(planOf(state, sub));
  const values = new Map<string, bigint>(STANDARD_LIMITS.map((n) => [n, -1n]));
  for (const [n, v] of plan.values) values.set(n, v);
  for (const [n, v] of Object.entries(sub.ownLimits?.values ?? {})) values.set(n, v);
  const overuse = sub.ownLimits?.overuse ?? plan.overuse;
  return { ...(overuse !== undefined ? { overuse } : {}), values };
}

/** A subscription with its own limits is customized: locked against plan sync and not synchronized. */
function customized(sub: Subscription): boolean {
  return sub.ownLimits !== undefined && (sub.ownLimits.overuse !== undefined || Object.keys(sub.ownLimits.values).length > 0);
}

// ---- traffic ----

/** The counters that count against limits per server `traffic_accounting` (1 in, 2 out, 3 both). */
export function countedFields(accounting: 1 | 2 | 3): (keyof FullTraffic)[] {
  return TRAFFIC_FIELDS.filter((f) => accounting === 3 || (accounting === 1 ? f.endsWith('_in') : f.endsWith('_out')));
}

function counted(state: EmulatorState, domId: number, match: (date: string) => boolean): bigint {
  const fields = countedFields(state.server.prefs.traffic_accounting);
  let sum = 0n;
  for (const [date, row] of state.traffic.get(domId) ?? []) {
    if (!match(date)) continue;
    for (const f of fields) sum += row[f];
  }
  return sum;
}

function sitesOf(state: EmulatorState, sub: Subscription): Site[] {
  return [...state.sites.values()].filter((s) => s.webspaceId === sub.id);
}

// ---- emitters ----

export interface DatasetContext {
  state: EmulatorState;
  /** The panel's today (its time zone): "this month" and "the previous day". */
  today: string;
}

function leaf(parent: XmlBuilder, name: string, value: string | number | bigint): void {
  parent.ele(name).txt(String(value)).up();
}

export function realSize(sub: Subscription): bigint {
  return DISK_USAGE_FIELDS.reduce((s, f) => s + sub.diskUsage[f], 0n);
}

/** vrt_hst properties: plan ← own, then www_root (Plesk's default document roots). */
function hostingProperties(state: EmulatorState, sub: Subscription, site: Site | undefined): [string, string][] {
  const props = new Map<string, string>(pairs(member(group(planOf(state, sub), 'hosting'), 'vrt_hst')?.['property']));
  for (const [n, v] of Object.entries(sub.hosting)) props.set(n, v);
  const root = `/var/www/vhosts/${sub.asciiName}`;
  if (!sub.hosting['www_root']) props.set('www_root', site && !site.main ? `${root}/${site.asciiName}` : `${root}/httpdocs`);
  return [...props];
}

function emitHosting(data: XmlBuilder, name: string, ctx: DatasetContext, sub: Subscription, site?: Site): void {
  const vrt = data.ele(name).ele('vrt_hst');
  for (const [n, v] of hostingProperties(ctx.state, sub, site)) vrt.ele('property').ele('name').txt(n).up().ele('value').txt(v).up().up();
  for (const ip of ctx.state.server.ipAddresses) leaf(vrt, 'ip_address', ip);
}

function emitLimits(data: XmlBuilder, ctx: DatasetContext, sub: Subscription): void {
  const { overuse, values } = effectiveLimits(ctx.state, sub);
  const g = data.ele('limits');
  if (overuse !== undefined) leaf(g, 'overuse', overuse);
  for (const [n, v] of values) g.ele('limit').ele('name').txt(n).up().ele('value').txt(v.toString()).up().up();
}

function emitStat(data: XmlBuilder, ctx: DatasetContext, domId: number, counters: Record<string, number>, sites?: number): void {
  const month = ctx.today.slice(0, 7);
  const prevday = addDays(ctx.today, -1);
  const g = data.ele('stat');
  // stat/traffic: the current month, counted directions of this object's own row. Whether a webspace's
  // figure includes its add-on sites is undocumented; the WHMCS module (1.6.3.0) adds them itself, so not.
  leaf(g, 'traffic', counted(ctx.state, domId, (d) => d.startsWith(month)));
  for (const c of STAT_COUNTERS) leaf(g, c, counters[c] ?? 0);
  leaf(g, 'traffic_prevday', counted(ctx.state, domId, (d) => d === prevday));
  if (sites !== undefined) {
    leaf(g, 'domains', sites);
    leaf(g, 'sites', sites);
  }
}

function emitPrefs(data: XmlBuilder, ctx: DatasetContext): void {
  data.ele('prefs').ele('www').txt('true').up().ele('stat_ttl').txt(String(ctx.state.server.prefs.stat_ttl)).up();
}

function emitDiskUsage(data: XmlBuilder, usage: Record<string, bigint> | undefined): void {
  const g = data.ele('disk_usage');
  for (const f of DISK_USAGE_FIELDS) leaf(g, f, usage?.[f] ?? 0n);
}

function emitPerformance(data: XmlBuilder, ctx: DatasetContext, sub: Subscription): void {
  const perf = group(planOf(ctx.state, sub), 'performance');
  const value = (k: string): string => {
    const v = perf?.[k];
    return typeof v === 'string' || typeof v === 'number' ? String(v) : '-1';
  };
  data.ele('performance').ele('bandwidth').txt(value('bandwidth')).up().ele('max_connections').txt(value('max_connections')).up();
}

function emitSubscriptions(data: XmlBuilder, ctx: DatasetContext, sub: Subscription): void {
  const g = data.ele('subscriptions');
  const plan = planOf(ctx.state, sub);
  // A custom subscription (no plan) has no <subscription> (it is [0..1] in the tree).
  if (!plan) return;
  const custom = customized(sub);
  const s = g.ele('subscription');
  leaf(s, 'locked', String(sub.locked ?? custom));
  leaf(s, 'synchronized', String(sub.synchronized ?? !custom));
  const p = s.ele('plan');
  leaf(p, 'plan-guid', plan.guid);
  if (plan.externalId !== '') leaf(p, 'plan-external-id', plan.externalId);
}

/** PHP's built-in defaults for the settings Plesk lists (php.ini-production values where they differ). */
const PHP_DEFAULTS: readonly [string, string][] = [
  ['memory_limit', '128M'], ['max_execution_time', '30'], ['max_input_time', '60'], ['post_max_size', '8M'],
  ['upload_max_filesize', '2M'], ['short_open_tag', 'off'], ['display_errors', 'off'], ['log_errors', 'on'],
  ['allow_url_fopen', 'on'], ['file_uploads', 'on'], ['error_reporting', 'E_ALL & ~E_DEPRECATED & ~E_STRICT'],
  ['open_basedir', '{WEBSPACEROOT}{/}{:}{TMP}{/}'], ['include_path', '.:/usr/share/php'], ['disable_functions', ''],
];

export function phpSettings(state: EmulatorState, sub: Subscription): [string, string][] {
  const out = new Map<string, string>(PHP_DEFAULTS);
  for (const [n, v] of Object.entries(state.server.php)) out.set(n, v);
  for (const [n, v] of pairs(group(planOf(state, sub), 'php-settings')?.['setting'])) out.set(n, v);
  for (const [n, v] of Object.entries(sub.php)) out.set(n, v);
  return [...out];
}

function emitPhpSettings(data: XmlBuilder, ctx: DatasetContext, sub: Subscription): void {
  const g = data.ele('php-settings');
  for (const [n, v] of phpSettings(ctx.state, sub)) g.ele('setting').ele('name').txt(n).up().ele('value').txt(v).up().up();
}

/**
 * resource-usage: what the subscription uses, named after the limit it counts against. `max_traffic` is
 * this month's counted traffic of the subscription and all its sites (the WHMCS module reads a
 * subscription's traffic from this resource, docs/reference/plesk-api-notes.md §6.3); `disk_space` is gen_info/real_size.
 */
function emitResourceUsage(data: XmlBuilder, ctx: DatasetContext, sub: Subscription): void {
  const month = ctx.today.slice(0, 7);
  const sites = sitesOf(ctx.state, sub);
  const traffic = sites.reduce((s, site) => s + counted(ctx.state, site.id, (d) => d.startsWith(month)), 0n);
  const g = data.ele('resource-usage');
  const resources: [string, string | number | bigint][] = [
    ['disk_space', realSize(sub)], ['max_traffic', traffic], ['max_site', sites.length], ['max_subdom', sub.counters.subdom],
    ['max_wu', sub.counters.wu], ['max_box', sub.counters.box], ['max_db', sub.counters.db], ['max_maillists', sub.counters.maillists],
  ];
  for (const [n, v] of resources) g.ele('resource').ele('name').txt(n).up().ele('value').txt(String(v)).up().up();
}

/** Writes the emulated groups of one webspace (`emit` from planDatasets) into `data`. */
export function webspaceData(data: XmlBuilder, emit: readonly string[], ctx: DatasetContext, sub: Subscription,
  genInfo: (data: XmlBuilder) => void): void {
  for (const name of emit) {
    switch (name) {
      case 'gen_info': genInfo(data); break;
      case 'hosting': case 'hosting-basic': emitHosting(data, name, ctx, sub); break;
      case 'limits': emitLimits(data, ctx, sub); break;
      case 'stat': emitStat(data, ctx, sub.id, sub.counters, sitesOf(ctx.state, sub).length); break;
      case 'prefs': emitPrefs(data, ctx); break;
      case 'disk_usage': emitDiskUsage(data, sub.diskUsage); break;
      case 'performance': emitPerformance(data, ctx, sub); break;
      case 'subscriptions': emitSubscriptions(data, ctx, sub); break;
      case 'php-settings': emitPhpSettings(data, ctx, sub); break;
      case 'resource-usage': emitResourceUsage(data, ctx, sub); break;
      default: throw new Error(`webspace dataset ${name} has no emitter`);
    }
  }
}

/** Writes the emulated groups of one site. A main site shows its subscription's figures; an add-on site its own. */
export function siteData(data: XmlBuilder, emit: readonly string[], ctx: DatasetContext, site: Site,
  genInfo: (data: XmlBuilder) => void): void {
  const sub = ctx.state.subscriptions.get(site.webspaceId)!;
  for (const name of emit) {
    switch (name) {
      case 'gen_info': genInfo(data); break;
      case 'hosting': emitHosting(data, name, ctx, sub, site); break;
      case 'stat': emitStat(data, ctx, site.id, site.main ? sub.counters : {}); break;
      case 'prefs': emitPrefs(data, ctx); break;
      case 'disk_usage': emitDiskUsage(data, site.main ? sub.diskUsage : undefined); break;
      case 'performance': emitPerformance(data, ctx, sub); break;
      default: throw new Error(`site dataset ${name} has no emitter`);
    }
  }
}
