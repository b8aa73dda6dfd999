// The emulator's data: a JSON fixture (subscriptions, sites, plans, recorded traffic) turned into the
// in-memory state the operations read and write, and back (dump) with the current traffic.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { domainToUnicode } from 'node:url';
import { z } from 'zod';
import { isValidDate } from '../../dates.js';
import { TiError, errorMessage } from '../../errors.js';
import { canonicalDomain, TRAFFIC_FIELDS, XS_INT_MAX, XS_LONG_MAX, type FullTraffic } from '../../model.js';

/** A byte count: decimal string (exact beyond 2^53) or a safe integer. */
const byteCount = z.union([
  z.string().regex(/^\d+$/, 'expected a decimal string of digits'),
  z.number().int().nonnegative().refine(Number.isSafeInteger, 'unsafe integer: write it as a decimal string'),
]).refine((v) => BigInt(v) <= XS_LONG_MAX, 'exceeds xs:long');

const objectId = z.int().min(1).max(XS_INT_MAX);
const day = z.string().refine(isValidDate, 'expected a calendar date YYYY-MM-DD');

export const emulatorFixtureSchema = z.strictObject({
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
    /** gen_info/status: 0 active, 16 disabled (plesk-api-notes.md §5.1). */
    status: z.int().min(0).optional(),
    crDate: day.optional(),
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
}

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

export function zeroTraffic(): FullTraffic {
  return { http_in: 0n, http_out: 0n, ftp_in: 0n, ftp_out: 0n, smtp_in: 0n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n };
}

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

  const subscriptions = new Map<number, Subscription>();
  for (const s of f.subscriptions) {
    if (subscriptions.has(s.id)) throw new TiError('TI_CONFIG', `emulator fixture: subscription id ${s.id} twice`);
    subscriptions.set(s.id, {
      id: s.id, ...names(s.name), guid: s.guid ?? derivedGuid('webspace', s.id),
      status: s.status ?? 0, crDate: s.crDate ?? DEFAULT_CR_DATE,
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
      // A main site shares the webspace GUID (plesk-api-notes.md §3.1: webspace-guid == guid).
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
  return { auth: { ...f.auth }, subscriptions, sites, subscriptionsByName, sitesByName, plans, traffic };
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
  return {
    auth: { login: state.auth.login, password: state.auth.password, secretKeys: [...state.auth.secretKeys] },
    subscriptions: [...state.subscriptions.values()].map((s) => ({
      id: s.id, name: s.name, guid: s.guid, status: s.status, crDate: s.crDate,
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
