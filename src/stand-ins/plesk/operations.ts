// What the emulated Plesk does with a packet that passed every checkup: each operator, each operation
// in order, answered in the response shapes of agent_output.tree.txt (element order included).
// Implemented: webspace and site `get` (datasets in datasets.ts), `get_traffic`, `set_traffic`;
// service-plan `get`; server `get` and `get_protos` (server-info.ts). Any other operation, and any dataset
// the emulator cannot fill, answers a result with errcode 1017 ("Feature not supported by current XML API
// version", docs/reference/plesk-api-notes.md §2.3): the closest code Plesk has for "this server does not do that".

import { create } from 'xmlbuilder2';
import type { ExpandObject } from 'xmlbuilder2/lib/interfaces.js';
import { METRICS, TRAFFIC_FIELDS, XS_LONG_MAX, canonicalDomain, type FullTraffic } from '../../model.js';
import { findElement, outputSchema } from './schema/index.js';
import type { XmlElement } from './schema/xml.js';
import { zeroTraffic, type EmulatorState, type Plan, type Site, type Subscription } from './fixture.js';
import { planDatasets, realSize, siteData, unsupportedText, webspaceData, type DatasetContext } from './datasets.js';
import { serverGet, serverGetProtos } from './server-info.js';

export type XmlBuilder = ReturnType<typeof create>;

export interface ExecContext {
  state: EmulatorState;
  semantics: 'replace' | 'add';
  /** dom_id → errcode to answer instead of acting (Faults.errorsById). */
  errorsById: Record<string, number> | undefined;
  /** Today in the panel's time zone: the upper bound of get_traffic without to_date (docs/reference/plesk-api-notes.md §4.1),
   *  and "this month" of the stat and resource-usage datasets. */
  today: string;
  /** Called for every set_traffic node applied. */
  onApplied(): void;
}

/** errtext for codes the emulator answers (docs' wording where known: docs/reference/plesk-api-notes.md §2.2, §3.3). */
const ERRTEXT: Record<number, string> = {
  1013: 'Object not found.',
  1017: 'Feature not supported by the emulator.',
  1019: 'Invalid value.',
  1023: 'Operation failed.',
};

function errtext(code: number): string {
  return ERRTEXT[code] ?? `Error ${code}.`;
}

const text = (el: XmlElement, name: string): string | undefined => el.children.find((c) => c.name === name)?.text;

/** Appends `<status>error</status><errcode/><errtext/>`. */
function error(result: XmlBuilder, code: number, message = errtext(code)): XmlBuilder {
  return result.ele('status').txt('error').up().ele('errcode').txt(String(code)).up().ele('errtext').txt(message).up();
}

type Operator = 'webspace' | 'site';

/** One object a filter value selects, or why it selects none. */
type Selection =
  | { kind: 'object'; filterId: string | undefined; id: number }
  | { kind: 'error'; filterId: string | undefined; code: number; text: string; id?: number };

function notFoundText(op: Operator): string {
  // Errtext seen in public fixtures (docs/reference/plesk-api-notes.md §5.2); clients must key on 1013, not on the text.
  return op === 'webspace' ? 'Webspace does not exist' : 'Site does not exist';
}

function byName<T>(index: Map<string, T>, raw: string): T | undefined {
  // Names compare in canonical ASCII form: case, Unicode vs punycode and a trailing dot do not matter.
  const wanted = canonicalDomain(raw);
  return wanted === '' ? undefined : index.get(wanted);
}

function byGuid<T extends { guid: string }>(items: Iterable<T>, raw: string): T | undefined {
  const wanted = raw.trim().toLowerCase();
  for (const it of items) if (it.guid.toLowerCase() === wanted) return it;
  return undefined;
}

function byId<T>(map: Map<number, T>, raw: string): T | undefined {
  const n = Number(raw.trim());
  return Number.isInteger(n) ? map.get(n) : undefined;
}

/** The objects of a `filter` element, one entry per filter value in order (empty filter: all objects). */
function select(op: Operator, filter: XmlElement | undefined, state: EmulatorState): Selection[] {
  const subs = state.subscriptions;
  const sites = state.sites;
  const values = filter?.children ?? [];
  if (values.length === 0) {
    // An unfiltered site/get lists only add-on sites, never main sites (docs/reference/plesk-api-notes.md §5.3).
    // No filter value, so no filter-id (unverified: what Plesk echoes here is not documented).
    const ids = op === 'webspace'
      ? [...subs.keys()]
      : [...sites.values()].filter((s) => !s.main).map((s) => s.id);
    return ids.sort((a, b) => a - b).map((id) => ({ kind: 'object', filterId: undefined, id }));
  }
  const out: Selection[] = [];
  for (const v of values) {
    const filterId = v.text;
    const missing = (id?: number): Selection => ({ kind: 'error', filterId, code: 1013, text: notFoundText(op), ...(id !== undefined ? { id } : {}) });
    let found: Subscription | Site | undefined;
    switch (v.name) {
      case 'id':
        found = op === 'webspace' ? byId(subs, filterId) : byId(sites, filterId);
        if (!found) {
          out.push(missing(Number(filterId.trim())));
          continue;
        }
        break;
      case 'name':
        found = op === 'webspace' ? byName(state.subscriptionsByName, filterId) : byName(state.sitesByName, filterId);
        break;
      case 'guid':
        found = op === 'webspace' ? byGuid(subs.values(), filterId) : byGuid(sites.values(), filterId);
        break;
      case 'external-id':
        found = undefined; // the fixture has no external ids
        break;
      case 'parent-id':
      case 'parent-name':
      case 'parent-guid': {
        // Add-on sites of a subscription (docs/reference/plesk-api-notes.md §5.3: parent-id finds add-ons, not the main site).
        const owner = v.name === 'parent-id' ? byId(subs, filterId)
          : v.name === 'parent-name' ? byName(state.subscriptionsByName, filterId) : byGuid(subs.values(), filterId);
        if (!owner) {
          out.push(missing());
          continue;
        }
        for (const s of [...sites.values()].filter((x) => x.webspaceId === owner.id && !x.main)) {
          out.push({ kind: 'object', filterId, id: s.id });
        }
        continue;
      }
      default:
        out.push({ kind: 'error', filterId, code: 1017, text: `Filter '${v.name}' is not supported by the emulator.` });
        continue;
    }
    out.push(found ? { kind: 'object', filterId, id: found.id } : missing());
  }
  return out;
}

/** Opens a `<result>` of a filtered operation: status, then filter-id and id (output tree order). */
function openResult(parent: XmlBuilder, sel: Selection, ctx: ExecContext, withId = true): { result: XmlBuilder; ok: boolean } {
  const result = parent.ele('result');
  let ok = false;
  if (sel.kind === 'error') error(result, sel.code, sel.text);
  else {
    const injected = ctx.errorsById?.[String(sel.id)];
    if (injected !== undefined) error(result, injected);
    else {
      result.ele('status').txt('ok').up();
      ok = true;
    }
  }
  if (sel.filterId !== undefined) result.ele('filter-id').txt(sel.filterId).up();
  const id = sel.id;
  if (withId && id !== undefined && Number.isInteger(id)) result.ele('id').txt(String(id)).up();
  return { result, ok };
}

function genInfo(data: XmlBuilder, op: Operator, id: number, state: EmulatorState): void {
  const g = data.ele('gen_info');
  if (op === 'webspace') {
    const s = state.subscriptions.get(id)!;
    // Every element the output tree marks required for domainGenInfoType, in its order.
    g.ele('cr_date').txt(s.crDate).up()
      .ele('name').txt(s.name).up()
      .ele('ascii-name').txt(s.asciiName).up()
      .ele('status').txt(String(s.status)).up()
      .ele('real_size').txt(realSize(s).toString()).up()
      .ele('htype').txt('vrt_hst').up()
      .ele('guid').txt(s.guid).up()
      .ele('vendor-guid').txt(ADMIN_GUID).up()
      .ele('external-id').up();
  } else {
    const s = state.sites.get(id)!;
    const owner = state.subscriptions.get(s.webspaceId)!;
    g.ele('cr_date').txt(s.crDate).up()
      .ele('name').txt(s.name).up()
      .ele('ascii-name').txt(s.asciiName).up()
      .ele('status').txt(String(owner.status)).up()
      .ele('real_size').txt(s.main ? realSize(owner).toString() : '0').up()
      .ele('htype').txt('vrt_hst').up()
      .ele('guid').txt(s.guid).up()
      .ele('webspace-guid').txt(state.subscriptions.get(s.webspaceId)!.guid).up()
      .ele('webspace-id').txt(String(s.webspaceId)).up();
  }
}

/** GUID of the administrator who owns every fixture object (gen_info/vendor-guid). */
const ADMIN_GUID = '00000000-0000-4000-8000-000000000001';

function opGet(op: Operator, req: XmlElement, out: XmlBuilder, ctx: ExecContext): void {
  const get = out.ele('get');
  const dataset = req.children.find((c) => c.name === 'dataset');
  const { emit, unsupported } = planDatasets(op, dataset?.children.map((c) => c.name) ?? []);
  // An empty <dataset/> makes Plesk leave out the ids (docs/reference/plesk-api-notes.md §5.1, live observation).
  const emptyDataset = (dataset?.children.length ?? 0) === 0;
  const dctx: DatasetContext = { state: ctx.state, today: ctx.today };
  for (const sel of select(op, req.children.find((c) => c.name === 'filter'), ctx.state)) {
    // A group the emulator cannot fill refuses the object's result (1017), never an empty <data/>.
    const refusal: Selection = sel.kind === 'object' && unsupported.length > 0
      ? { kind: 'error', filterId: sel.filterId, code: 1017, text: unsupportedText(unsupported), id: sel.id }
      : sel;
    const { result, ok } = openResult(get, refusal, ctx, !emptyDataset);
    if (!ok || emptyDataset || sel.kind !== 'object') continue;
    const data = result.ele('data');
    const gen = (d: XmlBuilder): void => genInfo(d, op, sel.id, ctx.state);
    if (op === 'webspace') webspaceData(data, emit, dctx, ctx.state.subscriptions.get(sel.id)!, gen);
    else siteData(data, emit, dctx, ctx.state.sites.get(sel.id)!, gen);
  }
}

function opGetTraffic(op: Operator, req: XmlElement, out: XmlBuilder, ctx: ExecContext): void {
  const node = out.ele('get_traffic');
  // xs:date may carry a time zone; the day is its first ten characters.
  const since = text(req, 'since_date')?.trim().slice(0, 10);
  const to = text(req, 'to_date')?.trim().slice(0, 10) ?? ctx.today;
  for (const sel of select(op, req.children.find((c) => c.name === 'filter'), ctx.state)) {
    const { result, ok } = openResult(node, sel, ctx);
    if (!ok || sel.kind !== 'object') continue;
    // One row per day that has data in the range; days without a row are absent (docs/reference/plesk-api-notes.md §4.3:
    // whether Plesk lists empty days as zeros is unverified).
    const days = ctx.state.traffic.get(sel.id);
    if (!days) continue;
    for (const date of [...days.keys()].sort()) {
      if ((since !== undefined && date < since) || date > to) continue;
      const row = days.get(date)!;
      const t = result.ele('traffic').ele('date').txt(date).up();
      for (const f of TRAFFIC_FIELDS) t.ele(f).txt(row[f].toString()).up();
    }
  }
}

/** What one set_traffic node came to: applied, or refused with an errcode; `id` is the node's dom_id. */
type SetTrafficOutcome = { id: number; errcode?: number };

/** Runs one set_traffic node against the state (both response writers below answer what this did). */
function applySetTraffic(op: Operator, req: XmlElement, ctx: ExecContext): SetTrafficOutcome {
  const domId = Number(text(req, 'dom_id')!.trim());
  const date = text(req, 'date')!.trim().slice(0, 10);
  const known = op === 'webspace' ? ctx.state.subscriptions.has(domId) : ctx.state.sites.has(domId);
  if (!known) return { id: domId, errcode: 1013 };
  const injected = ctx.errorsById?.[String(domId)];
  if (injected !== undefined) return { id: domId, errcode: injected };
  const values = METRICS.map((m) => BigInt(text(req, m)!.trim()));
  // xs:long admits negatives, traffic does not: refused as an invalid value (inference; Plesk's answer
  // is undocumented), so a client that lets one through is caught here.
  if (values.some((v) => v < 0n)) return { id: domId, errcode: 1019 };

  let days = ctx.state.traffic.get(domId);
  if (!days) ctx.state.traffic.set(domId, (days = new Map()));
  const before = days.get(date);
  // Replace (default) sets the four mail counters of the day; add adds to them. http/ftp stay as they were
  // (whether Plesk resets them is unverified: docs/reference/plesk-api-notes.md §3.5).
  const row: FullTraffic = before ? { ...before } : zeroTraffic();
  for (let i = 0; i < METRICS.length; i++) {
    const m = METRICS[i]!;
    row[m] = ctx.semantics === 'add' ? row[m] + values[i]! : values[i]!;
  }
  if (METRICS.some((m) => row[m] > XS_LONG_MAX)) return { id: domId, errcode: 1019 };
  days.set(date, row);
  ctx.onApplied();
  return { id: domId };
}

function opSetTraffic(op: Operator, req: XmlElement, out: XmlBuilder, ctx: ExecContext): void {
  // One <set_traffic> with one <result> per request node, in request order (docs/reference/plesk-api-notes.md §3.4).
  const result = out.ele('set_traffic').ele('result');
  const r = applySetTraffic(op, req, ctx);
  if (r.errcode !== undefined) error(result, r.errcode).ele('id').txt(String(r.id));
  else result.ele('status').txt('ok').up().ele('id').txt(String(r.id));
}

// xmlbuilder2's text escaping (lib/writers/BaseWriter.js): `&` unless it starts a reference, then `<` and `>`.
const escapeText = (s: string): string => (/[&<>]/.test(s) ? s.replace(/&(?![A-Za-z]+;|#\d+;)/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : s);

/**
 * A packet of set_traffic operations only (the bulk of any import) answered as text: xmlbuilder2's DOM cost
 * ~2 µs an element here, 600 for a 100-node packet. The bytes are executePacketDom's exactly
 * (test/emulator/response-text.test.ts); any other packet goes through the DOM.
 */
function setTrafficPacketText(packet: XmlElement, version: string, ctx: ExecContext): string {
  const parts: string[] = [`<?xml version="1.0" encoding="UTF-8"?><packet version="${escapeText(version).replace(/"/g, '&quot;')}">`];
  for (const operator of packet.children) {
    if (operator.name === 'request-settings') continue;
    const op = operator.name as Operator;
    parts.push(`<${op}>`);
    for (const operation of operator.children) {
      const r = applySetTraffic(op, operation, ctx);
      parts.push(r.errcode === undefined
        ? `<set_traffic><result><status>ok</status><id>${r.id}</id></result></set_traffic>`
        : `<set_traffic><result><status>error</status><errcode>${r.errcode}</errcode><errtext>${escapeText(errtext(r.errcode))}</errtext><id>${r.id}</id></result></set_traffic>`);
    }
    parts.push(`</${op}>`);
  }
  parts.push('</packet>');
  return parts.join('');
}

/** Whether every operation of the packet is a webspace or site set_traffic (and no operator is empty). */
export function onlySetTraffic(packet: XmlElement): boolean {
  let any = false;
  for (const operator of packet.children) {
    if (operator.name === 'request-settings') continue;
    if ((operator.name !== 'webspace' && operator.name !== 'site') || operator.children.length === 0) return false;
    for (const operation of operator.children) if (operation.name !== 'set_traffic') return false;
    any = true;
  }
  return any;
}

function planMatches(p: Plan, kind: string, raw: string): boolean {
  const v = raw.trim();
  switch (kind) {
    case 'id': return String(p.id) === v;
    case 'name': return p.name === raw;
    case 'guid': return p.guid.toLowerCase() === v.toLowerCase();
    case 'external-id': return p.externalId !== '' && p.externalId === raw;
    default: return false;
  }
}

function planResult(get: XmlBuilder, p: Plan): void {
  const r = get.ele('result').ele('status').txt('ok').up()
    .ele('id').txt(String(p.id)).up()
    .ele('name').txt(p.name).up()
    .ele('guid').txt(p.guid).up()
    .ele('external-id').txt(p.externalId).up();
  // Setting groups as recorded (seed 004 shows the shape): xmlbuilder2 turns the object into elements.
  if (Object.keys(p.settings).length > 0) r.ele(p.settings as ExpandObject);
}

function opServicePlanGet(req: XmlElement, out: XmlBuilder, ctx: ExecContext): void {
  const get = out.ele('get');
  const values = req.children.find((c) => c.name === 'filter')?.children ?? [];
  // Owner elements (owner-id, owner-login, owner-all) are accepted and ignored: the fixture's plans all
  // belong to the administrator.
  if (values.length === 0) {
    for (const p of ctx.state.plans) planResult(get, p);
    return;
  }
  for (const v of values) {
    const p = ctx.state.plans.find((x) => planMatches(x, v.name, v.text));
    if (p) planResult(get, p);
    else {
      // No filter-id in service-plan results (output tree): the value goes back in its own element.
      const r = error(get.ele('result'), 1013, 'Service plan does not exist');
      r.ele(v.name).txt(v.text);
    }
  }
}

/** 1017 in the shape the output tree gives the operation: inside `<result>`, or (resultType) directly. */
function unsupported(operator: string, opName: string, out: XmlBuilder): void {
  const op = out.ele(opName);
  const direct = findElement(outputSchema(), ['packet', operator, opName, 'status']) !== undefined
    && findElement(outputSchema(), ['packet', operator, opName, 'result']) === undefined;
  error(direct ? op : op.ele('result'), 1017);
}

/** Runs every operation of a valid packet; returns the response packet as text. */
export function executePacket(packet: XmlElement, version: string, ctx: ExecContext): string {
  if (onlySetTraffic(packet)) return setTrafficPacketText(packet, version, ctx);
  return executePacketDom(packet, version, ctx).end({ prettyPrint: false });
}

/** Runs every operation of a valid packet; returns the response `<packet>` as xmlbuilder2's document. */
export function executePacketDom(packet: XmlElement, version: string, ctx: ExecContext): XmlBuilder {
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const root = doc.ele('packet', { version });
  for (const operator of packet.children) {
    if (operator.name === 'request-settings') continue;
    const out = root.ele(operator.name);
    for (const operation of operator.children) {
      const name = operation.name;
      if (operator.name === 'webspace' || operator.name === 'site') {
        const op = operator.name;
        if (name === 'get') opGet(op, operation, out, ctx);
        else if (name === 'get_traffic') opGetTraffic(op, operation, out, ctx);
        else if (name === 'set_traffic') opSetTraffic(op, operation, out, ctx);
        else unsupported(op, name, out);
      } else if (operator.name === 'service-plan' && name === 'get') {
        opServicePlanGet(operation, out, ctx);
      } else if (operator.name === 'server' && name === 'get') {
        serverGet(operation, out, ctx.state);
      } else if (operator.name === 'server' && name === 'get_protos') {
        serverGetProtos(out);
      } else {
        unsupported(operator.name, name, out);
      }
    }
  }
  return doc;
}

/** A response `<packet>` with a checkup error (`<system>`): nothing in the request ran. */
export function systemError(version: string, code: number, message: string): XmlBuilder {
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  error(doc.ele('packet', { version }).ele('system'), code, message);
  return doc;
}
