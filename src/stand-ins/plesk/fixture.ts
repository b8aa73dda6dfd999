// The emulator's data: a JSON fixture (subscriptions, sites, plans, recorded traffic) turned into the
// in-memory state the operations read and write, and back (dump) with the current traffic.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { domainToUnicode } from 'node:url';
import { z } from 'zod';
import { isValidDate, isValidTimeZone } from '../../dates.js';
import { TiError, errorMessage } from '../../errors.js';
import { canonicalDomain, TRAFFIC_FIELDS, XS_INT_MAX, XS_LONG_MAX, zeroTraffic, type FullTraffic } from '../../model.js';

/** A byte count: decimal string (exact beyond 2^53) or a safe integer. */
const byteCount = z.union([
  z.string().regex(/^\d+$/, 'expected a decimal string of digits'),
  z.number().int().nonnegative().refine(Number.isSafeInteger, 'unsafe integer: write it as a decimal string'),
]).refine((v) => BigInt(v) <= XS_LONG_MAX, 'exceeds xs:long');

const objectId = z.int().min(1).max(XS_INT_MAX);
const day = z.string().refine(isValidDate, 'expected a calendar date YYYY-MM-DD');
/** A limit value as Plesk writes it (xs:long; -1 = unlimited). */
const limitValue = z.union([
  z.string().regex(/^-?\d+$/, 'expected a whole number (-1 = unlimited)'),
  z.number().int().refine(Number.isSafeInteger, 'unsafe integer: write it as a decimal string'),
]).refine((v) => BigInt(v) <= XS_LONG_MAX && BigInt(v) >= -XS_LONG_MAX - 1n, 'exceeds xs:long');
const settingMap = z.record(z.string().min(1), z.string());

/** webspace/get `disk_usage` categories, in the output tree's order (all bytes). */
export const DISK_USAGE_FIELDS = [
  'httpdocs', 'httpsdocs', 'subdomains', 'web_users', 'anonftp', 'logs', 'dbases', 'mailboxes', 'maillists', 'domaindumps', 'configs', 'chroot',
] as const;
export type DiskUsageField = (typeof DISK_USAGE_FIELDS)[number];

/** webspace/get `stat` object counters the fixture may give (domains and sites are counted from the sites). */
export const STAT_COUNTERS = ['subdom', 'wu', 'box', 'redir', 'mg', 'resp', 'maillists', 'db', 'mssql_db'] as const;
export type StatCounter = (typeof STAT_COUNTERS)[number];

/** Default server preferences: both directions counted (3), as the docs' sample shows. */
const serverSchema = z.strictObject({
  /** gen_info/server_name. */
  name: z.string().min(1).default('plesk.emulator.test'),
  guid: z.string().min(1).optional(),
  /** gen_info/mode (api-php-lib's test expects `standard`). */
  mode: z.string().min(1).default('standard'),
  /** The panel's clock: "this month" of `stat`/`resource-usage`, and get_traffic's default to_date. */
  timezone: z.string().refine(isValidTimeZone, 'expected an IANA time zone name such as Europe/Berlin').default('UTC'),
  /** Shared hosting addresses (hosting/vrt_hst/ip_address: one or two). */
  ipAddresses: z.array(z.string().min(1)).min(1).max(2).default(['203.0.113.10']),
  prefs: z.strictObject({
    /** Which directions count against traffic limits: 1 inbound, 2 outbound, 3 both (docs 37029). */
    traffic_accounting: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(3),
    /** Months statistics are kept. */
    stat_ttl: z.int().min(1).default(3),
    restart_apache_interval: z.int().min(0).default(0),
  }).prefault({}),
  /** stat/version. */
  version: z.strictObject({
    plesk_name: z.string().default('psa'),
    plesk_version: z.string().default('18.0.80'),
    plesk_os: z.string().default('Ubuntu'),
    plesk_os_version: z.string().default('22.04'),
    plesk_build: z.string().default('18.0.80.0'),
    os_release: z.string().default('22.04'),
  }).prefault({}),
  /** Server-wide PHP settings, over PHP's own defaults (webspace php-settings). */
  php: settingMap.default({}),
}).prefault({});

export const emulatorFixtureSchema = z.strictObject({
  server: serverSchema,
  auth: z.strictObject({
    login: z.string().min(1),
    password: z.string().min(1),
    secretKeys: z.array(z.string().min(1)).default([]),
  }),
  subscriptions: z.array(z.strictObject({
    id: objectId,
    /** Unicode or ASCII (punycode) form; both are answered. */
    name: z.string().min(1),
    guid: z.string().min(1).optional(),
    /** gen_info/status: 0 active, 16 disabled (docs/reference/plesk-api-notes.md §5.1). */
    status: z.int().min(0).optional(),
    crDate: day.optional(),
    /** The service plan (plans[].id); none = a custom subscription (`<subscriptions/>` is empty). */
    planId: objectId.optional(),
    /** The subscription's own limits over its plan's: a customized subscription (docs/reference/plesk-api-notes.md §6.3). */
    limits: z.strictObject({
      overuse: z.string().min(1).optional(),
      values: z.record(z.string().min(1), limitValue).default({}),
    }).optional(),
    /** subscriptions/subscription flags; default: locked and not synchronized when customized. */
    locked: z.boolean().optional(),
    synchronized: z.boolean().optional(),
    /** disk_usage bytes per category (absent = 0); gen_info/real_size is their sum. */
    diskUsage: z.partialRecord(z.enum(DISK_USAGE_FIELDS), byteCount).optional(),
    /** stat counters (mailboxes, databases, …; absent = 0). */
    counters: z.partialRecord(z.enum(STAT_COUNTERS), z.int().min(0).max(4294967295)).optional(),
    /** hosting/vrt_hst properties over the plan's (www_root is derived). */
    hosting: settingMap.optional(),
    /** php-settings over the plan's and the server's. */
    php: settingMap.optional(),
  })),
  /** Sites; a subscription's main site (id = webspace id) is implied when not listed. */
  sites: z.array(z.strictObject({
    id: objectId,
    name: z.string().min(1),
    webspaceId: objectId,
    guid: z.string().min(1).optional(),
    crDate: day.optional(),
  })).default([]),
  plans: z.array(z.strictObject({
    id: objectId,
    name: z.string().min(1),
    guid: z.string().min(1).optional(),
    externalId: z.string().optional(),
    /**
     * The setting groups of the plan's `service-plan/get` result in response order (mail, limits,
     * log-rotation, preferences, hosting, performance, permissions, …) as an xmlbuilder2 object:
     * keys are element names, arrays repeat an element, `{}` is an empty element.
     */
    settings: z.record(z.string(), z.json()).optional(),
  })).default([]),
  /** Recorded days: `domId` is a subscription id or a site id (a main site shares its webspace id). */
  traffic: z.array(z.strictObject({
    domId: objectId,
    date: day,
    http_in: byteCount.optional(),
    http_out: byteCount.optional(),
    ftp_in: byteCount.optional(),
    ftp_out: byteCount.optional(),
    smtp_in: byteCount.optional(),
    smtp_out: byteCount.optional(),
    pop3_imap_in: byteCount.optional(),
    pop3_imap_out: byteCount.optional(),
  })).default([]),
});

/** The fixture as written (values as strings or numbers); dump() returns this shape with strings. */
export type EmulatorFixture = z.input<typeof emulatorFixtureSchema>;
type ParsedFixture = z.output<typeof emulatorFixtureSchema>;

export interface Subscription {
  id: number;
  /** Display name (Unicode). */
  name: string;
  /** Canonical ASCII (punycode) name. */
  asciiName: string;
  guid: string;
  status: number;
  crDate: string;
  planId: number | undefined;
  /** Own limits over the plan's (a customization), as written in the fixture. */
  ownLimits: { overuse?: string; values: Record<string, bigint> } | undefined;
  locked: boolean | undefined;
  synchronized: boolean | undefined;
  diskUsage: Record<DiskUsageField, bigint>;
  counters: Record<StatCounter, number>;
  hosting: Record<string, string>;
  php: Record<string, string>;
}

export type ServerConfig = z.output<typeof serverSchema> & { guid: string };

export interface Site {
  id: number;
  name: string;
  asciiName: string;
  guid: string;
  webspaceId: number;
  crDate: string;
  /** True for a subscription's main site (id = webspace id); `site/get` without filter leaves them out. */
  main: boolean;
  /** Implied by a subscription, not listed in the fixture (dump leaves it out). */
  implied: boolean;
}

export interface Plan {
  id: number;
  name: string;
  guid: string;
  externalId: string;
  settings: Record<string, unknown>;
}

export interface EmulatorState {
  server: ServerConfig;
  auth: { login: string; password: string; secretKeys: string[] };
  subscriptions: Map<number, Subscription>;
  sites: Map<number, Site>;
  /** Canonical ASCII name → object, for name filters (a bench may resolve thousands of names). */
  subscriptionsByName: Map<string, Subscription>;
  sitesByName: Map<string, Site>;
  plans: Plan[];
  /** domId → day → the day's row (psa DomainsTraffic: one row per object and day). */
  traffic: Map<number, Map<string, FullTraffic>>;
}

const DEFAULT_CR_DATE = '2024-01-01';

/** A stable GUID for objects the fixture gives none (same fixture, same GUIDs). */
export function derivedGuid(kind: string, id: number): string {
  const h = createHash('sha256').update(`${kind}:${id}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function names(raw: string): { name: string; asciiName: string } {
  const asciiName = canonicalDomain(raw);
  if (asciiName === '') throw new TiError('TI_CONFIG', `emulator fixture: '${raw}' is not a domain name`);
  return { name: domainToUnicode(asciiName) || asciiName, asciiName };
}

export { zeroTraffic } from '../../model.js';

/** Reads and checks a fixture file. */
export function loadFixture(file: string): EmulatorFixture {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TiError('TI_CONFIG_READ', `emulator fixture ${file}: ${errorMessage(err)}`);
  }
  try {
    return JSON.parse(text) as EmulatorFixture;
  } catch (err) {
    throw new TiError('TI_CONFIG', `emulator fixture ${file} is not JSON: ${errorMessage(err)}`);
  }
}

export function buildState(input: EmulatorFixture): EmulatorState {
  const parsed = emulatorFixtureSchema.safeParse(input);
  if (!parsed.success) throw new TiError('TI_CONFIG', `emulator fixture: ${z.prettifyError(parsed.error)}`);
  const f: ParsedFixture = parsed.data;

  const planIds = new Set(f.plans.map((p) => p.id));
  if (planIds.size !== f.plans.length) throw new TiError('TI_CONFIG', 'emulator fixture: two plans share an id');
  const subscriptions = new Map<number, Subscription>();
  for (const s of f.subscriptions) {
    if (subscriptions.has(s.id)) throw new TiError('TI_CONFIG', `emulator fixture: subscription id ${s.id} twice`);
    if (s.planId !== undefined && !planIds.has(s.planId)) {
      throw new TiError('TI_CONFIG', `emulator fixture: subscription ${s.id} names unknown plan ${s.planId}`);
    }
    subscriptions.set(s.id, {
      id: s.id, ...names(s.name), guid: s.guid ?? derivedGuid('webspace', s.id),
      status: s.status ?? 0, crDate: s.crDate ?? DEFAULT_CR_DATE,
      planId: s.planId,
      ownLimits: s.limits === undefined ? undefined : {
        ...(s.limits.overuse !== undefined ? { overuse: s.limits.overuse } : {}),
        values: Object.fromEntries(Object.entries(s.limits.values).map(([k, v]) => [k, BigInt(v)])),
      },
      locked: s.locked, synchronized: s.synchronized,
      diskUsage: Object.fromEntries(DISK_USAGE_FIELDS.map((k) => [k, BigInt(s.diskUsage?.[k] ?? 0)])) as Record<DiskUsageField, bigint>,
      counters: Object.fromEntries(STAT_COUNTERS.map((k) => [k, s.counters?.[k] ?? 0])) as Record<StatCounter, number>,
      hosting: { ...s.hosting }, php: { ...s.php },
    });
  }

  const sites = new Map<number, Site>();
  for (const s of f.sites) {
    if (s.id !== s.webspaceId && canonicalDomain(s.name) === subscriptions.get(s.webspaceId)?.asciiName) {
      throw new TiError('TI_CONFIG', `emulator fixture: add-on site ${s.id} has its subscription's name`);
    }
    const owner = subscriptions.get(s.webspaceId);
    if (!owner) throw new TiError('TI_CONFIG', `emulator fixture: site ${s.id} names unknown webspace ${s.webspaceId}`);
    if (sites.has(s.id)) throw new TiError('TI_CONFIG', `emulator fixture: site id ${s.id} twice`);
    const main = s.id === s.webspaceId;
    if (!main && subscriptions.has(s.id)) {
      // Site ids and webspace ids share one table in Plesk (domains): an add-on site cannot reuse a webspace id.
      throw new TiError('TI_CONFIG', `emulator fixture: add-on site ${s.id} reuses the id of a subscription`);
    }
    sites.set(s.id, {
      id: s.id, ...names(s.name), webspaceId: s.webspaceId, main, implied: false,
      // A main site shares the webspace GUID (docs/reference/plesk-api-notes.md §3.1: webspace-guid == guid).
      guid: s.guid ?? (main ? owner.guid : derivedGuid('site', s.id)),
      crDate: s.crDate ?? owner.crDate,
    });
  }
  for (const sub of subscriptions.values()) {
    if (!sites.has(sub.id)) {
      sites.set(sub.id, {
        id: sub.id, name: sub.name, asciiName: sub.asciiName, guid: sub.guid, webspaceId: sub.id,
        crDate: sub.crDate, main: true, implied: true,
      });
    }
  }

  const plans: Plan[] = f.plans.map((p) => ({
    id: p.id, name: p.name, guid: p.guid ?? derivedGuid('plan', p.id), externalId: p.externalId ?? '',
    settings: (p.settings ?? {}) as Record<string, unknown>,
  }));

  const traffic = new Map<number, Map<string, FullTraffic>>();
  for (const t of f.traffic) {
    if (!subscriptions.has(t.domId) && !sites.has(t.domId)) {
      throw new TiError('TI_CONFIG', `emulator fixture: traffic for unknown dom_id ${t.domId}`);
    }
    let days = traffic.get(t.domId);
    if (!days) traffic.set(t.domId, (days = new Map()));
    if (days.has(t.date)) throw new TiError('TI_CONFIG', `emulator fixture: traffic for dom_id ${t.domId} on ${t.date} twice`);
    const row = zeroTraffic();
    for (const field of TRAFFIC_FIELDS) {
      const v = t[field];
      if (v !== undefined) row[field] = BigInt(v);
    }
    days.set(t.date, row);
  }

  const subscriptionsByName = new Map([...subscriptions.values()].map((x) => [x.asciiName, x]));
  const sitesByName = new Map([...sites.values()].map((x) => [x.asciiName, x]));
  if (subscriptionsByName.size !== subscriptions.size || sitesByName.size !== sites.size) {
    throw new TiError('TI_CONFIG', 'emulator fixture: two subscriptions or two sites share a name');
  }
  const server: ServerConfig = { ...f.server, guid: f.server.guid ?? derivedGuid('server', 1) };
  return { server, auth: { ...f.auth }, subscriptions, sites, subscriptionsByName, sitesByName, plans, traffic };
}

/** The state as a fixture (JSON-able; byte counts as decimal strings), traffic sorted by dom_id and day. */
export function dumpState(state: EmulatorState): EmulatorFixture {
  const traffic: NonNullable<EmulatorFixture['traffic']> = [];
  for (const domId of [...state.traffic.keys()].sort((a, b) => a - b)) {
    const days = state.traffic.get(domId)!;
    for (const date of [...days.keys()].sort()) {
      const row = days.get(date)!;
      const out: Record<string, string> = {};
      for (const field of TRAFFIC_FIELDS) out[field] = row[field].toString();
      traffic.push({ domId, date, ...out });
    }
  }
  const text = (r: Record<string, bigint | number>): Record<string, string> =>
    Object.fromEntries(Object.entries(r).filter(([, v]) => v !== 0n && v !== 0).map(([k, v]) => [k, v.toString()]));
  return {
    server: structuredClone(state.server),
    auth: { login: state.auth.login, password: state.auth.password, secretKeys: [...state.auth.secretKeys] },
    subscriptions: [...state.subscriptions.values()].map((s) => ({
      id: s.id, name: s.name, guid: s.guid, status: s.status, crDate: s.crDate,
      ...(s.planId !== undefined ? { planId: s.planId } : {}),
      ...(s.ownLimits ? { limits: { ...(s.ownLimits.overuse !== undefined ? { overuse: s.ownLimits.overuse } : {}), values: text(s.ownLimits.values) } } : {}),
      ...(s.locked !== undefined ? { locked: s.locked } : {}),
      ...(s.synchronized !== undefined ? { synchronized: s.synchronized } : {}),
      ...(Object.keys(text(s.diskUsage)).length > 0 ? { diskUsage: text(s.diskUsage) } : {}),
      ...(Object.keys(text(s.counters)).length > 0 ? { counters: Object.fromEntries(Object.entries(text(s.counters)).map(([k, v]) => [k, Number(v)])) } : {}),
      ...(Object.keys(s.hosting).length > 0 ? { hosting: { ...s.hosting } } : {}),
      ...(Object.keys(s.php).length > 0 ? { php: { ...s.php } } : {}),
    })),
    sites: [...state.sites.values()].filter((s) => !s.implied).map((s) => ({
      id: s.id, name: s.name, webspaceId: s.webspaceId, guid: s.guid, crDate: s.crDate,
    })),
    plans: state.plans.map((p) => ({
      id: p.id, name: p.name, guid: p.guid, externalId: p.externalId,
      settings: structuredClone(p.settings) as Record<string, z.core.util.JSONType>,
    })),
    traffic,
  };
}
