// Response packets → typed results. Shapes from the 1.6.9.1 output schema (plesk-api-1.6.9.1/
// agent_output.tree.txt) and docs/reference/plesk-api-notes.md §2–§6. Anything that does not fit is a PleskResponseError:
// the caller never guesses which nodes were applied from a short or garbled answer.

import type { FullTraffic, Operator } from '../model.js';
import { TRAFFIC_FIELDS, XS_LONG_MAX } from '../model.js';
import { isValidDate } from '../dates.js';
import type { LimitValue, NodeResult, ServerPrefs, SetTrafficNode, SubscriptionDetails, SubscriptionSummary } from './types.js';
import { childNamed, childText, childrenNamed, parseXml, XmlSyntaxError, type XmlElement } from './xml.js';

const XS_LONG_MIN = -XS_LONG_MAX - 1n;

/** The body is not a usable answer to the packet sent (not XML, wrong shape, wrong count, bad values). */
export class PleskResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PleskResponseError';
  }
}

/** A packet-level `<system>` error: nothing in the packet ran (docs/reference/plesk-api-notes.md §2.1). */
export interface PleskSystemError {
  errcode?: number;
  errtext: string;
}

export type Parsed<T> = { kind: 'system'; error: PleskSystemError } | { kind: 'ok'; value: T };

/** resultType (common.xsd): status, errcode?, errtext?, then for filtered operations filter-id?, id?. */
export interface ResultBase {
  status: 'ok' | 'error';
  errcode?: number;
  errtext?: string;
  filterId?: string;
  id?: number;
}

export interface GetResult extends ResultBase {
  /** gen_info/name (may be Unicode for IDNs). */
  name?: string;
  /** gen_info/ascii-name (the punycode form). */
  asciiName?: string;
  /** gen_info/webspace-id of a site: the subscription it belongs to. */
  webspaceId?: number;
}

export interface TrafficResult extends ResultBase {
  /** Days Plesk returned, date → the full trafficType row. */
  traffic: Map<string, FullTraffic>;
}

export interface ServicePlan extends ResultBase {
  name?: string;
  guid?: string;
  externalId?: string;
  /** limits/overuse: block, notify, normal, not_suspend, not_suspend_notify (docs/reference/plesk-api-notes.md §6.2). */
  overuse?: string;
  /** limits/limit name → value (xs:long; -1 = unlimited; or a percentage), e.g. max_traffic in bytes per month. */
  limits: Map<string, LimitValue>;
}

function fail(message: string): never {
  throw new PleskResponseError(message);
}

function parseUint(text: string, what: string): number {
  if (!/^\d{1,10}$/.test(text)) fail(`${what} ${JSON.stringify(text)} is not a number`);
  const n = Number(text);
  if (n > 0xffffffff) fail(`${what} ${text} is out of range`);
  return n;
}

function parseLong(text: string, what: string): bigint {
  if (!/^-?\d{1,19}$/.test(text)) fail(`${what} ${JSON.stringify(text)} is not an xs:long`);
  const n = BigInt(text);
  if (n < XS_LONG_MIN || n > XS_LONG_MAX) fail(`${what} ${text} is out of the xs:long range`);
  return n;
}

function parseResultBase(el: XmlElement, where: string): ResultBase {
  const status = childText(el, 'status');
  if (status !== 'ok' && status !== 'error') fail(`${where}: status ${JSON.stringify(status ?? null)} is neither ok nor error`);
  const out: ResultBase = { status };
  const errcode = childText(el, 'errcode');
  if (errcode !== undefined) out.errcode = parseUint(errcode, `${where}: errcode`);
  const errtext = childText(el, 'errtext');
  if (errtext !== undefined) out.errtext = errtext;
  const filterId = childText(el, 'filter-id');
  if (filterId !== undefined) out.filterId = filterId;
  const id = childText(el, 'id');
  if (id !== undefined && id !== '') out.id = parseUint(id, `${where}: id`);
  return out;
}

/**
 * The packet root: either `<system>` (checkup error) or the single operator element answering ours.
 * Refuses DOCTYPE/ENTITY and bodies that are not well-formed (a proxy's HTML page, a truncated body).
 */
function parsePacket(xml: string, operator: string): Parsed<XmlElement> {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    if (err instanceof XmlSyntaxError) fail(`not an XML packet: ${err.message}`);
    throw err;
  }
  if (root.name !== 'packet') fail(`root element is <${root.name}>, not <packet>`);
  try {
    const system = childNamed(root, 'system');
    if (system) {
      const r = parseResultBase(system, 'system');
      if (r.status !== 'error') fail('<system> without an error status');
      const error: PleskSystemError = { errtext: r.errtext ?? '' };
      if (r.errcode !== undefined) error.errcode = r.errcode;
      return { kind: 'system', error };
    }
    const others = root.children.filter((c) => c.name !== operator);
    if (others.length > 0) fail(`unexpected <${others[0]!.name}> in the response to <${operator}>`);
    const op = childNamed(root, operator);
    if (!op) fail(`no <${operator}> in the response`);
    return { kind: 'ok', value: op };
  } catch (err) {
    if (err instanceof XmlSyntaxError) fail(err.message);
    throw err;
  }
}

/** Results of every `operation` element under the operator, in document order. */
function operationResults(op: XmlElement, operation: string): XmlElement[] {
  const others = op.children.filter((c) => c.name !== operation);
  if (others.length > 0) fail(`unexpected <${others[0]!.name}> where <${operation}> results were expected`);
  return op.children.flatMap((c) => childrenNamed(c, 'result'));
}

function withPacket<T>(xml: string, operator: string, fn: (op: XmlElement) => T): Parsed<T> {
  const p = parsePacket(xml, operator);
  if (p.kind === 'system') return p;
  try {
    return { kind: 'ok', value: fn(p.value) };
  } catch (err) {
    if (err instanceof XmlSyntaxError) fail(err.message);
    throw err;
  }
}

/**
 * `set_traffic` results matched to `nodes` by position (they carry no filter-id; docs/reference/plesk-api-notes.md §3.4).
 * The count must match. A result's `<id>` is cross-checked with its node's dom_id: when the ids that differ are
 * all dom_ids of this packet, the answer is in another order and cannot be attributed (PleskResponseError).
 * An id unrelated to the packet is kept by position: seed 000's own sample answers id 19 for dom_id 1134, so
 * the id is not reliably the dom_id (the client logs it).
 */
export function parseSetTrafficResponse(xml: string, operator: Operator, nodes: readonly SetTrafficNode[]): Parsed<NodeResult[]> {
  return withPacket(xml, operator, (op) => {
    const results = operationResults(op, 'set_traffic');
    if (results.length !== nodes.length) fail(`${results.length} set_traffic results for ${nodes.length} nodes`);
    const requested = new Set(nodes.map((n) => n.domId));
    const misplaced: string[] = [];
    let unrelated = 0;
    const out = results.map((el, i): NodeResult => {
      const node = nodes[i]!;
      const where = `set_traffic result ${i + 1} (dom_id ${node.domId}, ${node.date})`;
      const r = parseResultBase(el, where);
      if (r.id !== undefined && r.id !== node.domId) {
        if (requested.has(r.id)) misplaced.push(`${where}: answers for id ${r.id}`);
        else unrelated++;
      }
      const res: NodeResult = { status: r.status };
      if (r.errcode !== undefined) res.errcode = r.errcode;
      if (r.errtext !== undefined) res.errtext = r.errtext;
      if (r.id !== undefined) res.id = r.id;
      return res;
    });
    if (misplaced.length > 0 && unrelated === 0) fail(`results out of order: ${misplaced.slice(0, 3).join('; ')}`);
    return out;
  });
}

/** `get` results (every `<get>` operation of the packet), with gen_info's name and ascii-name when present. */
export function parseGetResponse(xml: string, operator: Operator): Parsed<GetResult[]> {
  return withPacket(xml, operator, (op) =>
    operationResults(op, 'get').map((el, i): GetResult => {
      const r: GetResult = parseResultBase(el, `get result ${i + 1}`);
      const genInfo = childNamed(el, 'data') && childNamed(childNamed(el, 'data')!, 'gen_info');
      if (genInfo) {
        const name = childText(genInfo, 'name');
        if (name !== undefined) r.name = name;
        const ascii = childText(genInfo, 'ascii-name');
        if (ascii !== undefined) r.asciiName = ascii;
        const webspaceId = childText(genInfo, 'webspace-id');
        if (webspaceId !== undefined) r.webspaceId = parseUint(webspaceId, `get result ${i + 1}: webspace-id`);
      }
      return r;
    }),
  );
}

/** `get_traffic` results with their `traffic` rows (trafficType: date then 8 xs:long counters, all required). */
export function parseGetTrafficResponse(xml: string, operator: Operator): Parsed<TrafficResult[]> {
  return withPacket(xml, operator, (op) =>
    operationResults(op, 'get_traffic').map((el, i): TrafficResult => {
      const where = `get_traffic result ${i + 1}`;
      const r: TrafficResult = { ...parseResultBase(el, where), traffic: new Map() };
      for (const row of childrenNamed(el, 'traffic')) {
        const date = childText(row, 'date') ?? '';
        if (!isValidDate(date)) fail(`${where}: traffic date ${JSON.stringify(date)} is not YYYY-MM-DD`);
        if (r.traffic.has(date)) fail(`${where}: two traffic rows for ${date}`);
        const day = {} as FullTraffic;
        for (const field of TRAFFIC_FIELDS) {
          const text = childText(row, field);
          if (text === undefined) fail(`${where}: traffic row ${date} has no ${field}`);
          day[field] = parseLong(text, `${where}: ${date} ${field}`);
        }
        r.traffic.set(date, day);
      }
      return r;
    }),
  );
}

/** `service-plan` → `get` results (seed 004): identity and limits; other setting groups are ignored. */
export function parseServicePlanGetResponse(xml: string): Parsed<ServicePlan[]> {
  return withPacket(xml, 'service-plan', (op) =>
    operationResults(op, 'get').map((el, i): ServicePlan => {
      const where = `service-plan result ${i + 1}`;
      const plan: ServicePlan = { ...parseResultBase(el, where), limits: new Map() };
      const name = childText(el, 'name');
      if (name !== undefined) plan.name = name;
      const guid = childText(el, 'guid');
      if (guid !== undefined) plan.guid = guid;
      const externalId = childText(el, 'external-id');
      if (externalId !== undefined && externalId !== '') plan.externalId = externalId;
      const limits = childNamed(el, 'limits');
      if (limits) {
        const parsed = parseLimits(limits, where);
        if (parsed.overuse !== undefined) plan.overuse = parsed.overuse;
        plan.limits = parsed.values;
      }
      return plan;
    }),
  );
}

/**
 * A limit value: a whole number (xs:long, -1 = unlimited) or a percentage such as `80%` (the form Plesk's CLI
 * takes for soft limits; a panel may answer it although the schema says long).
 */
export function parseLimitValue(text: string, what: string): LimitValue {
  const pct = /^(\d{1,3}(?:\.\d+)?)\s*%$/.exec(text);
  if (pct) return { percent: Number(pct[1]) };
  return parseLong(text, what);
}

/** A `limits` group (domainLimits): overuse?, limit{name, value}*. */
function parseLimits(el: XmlElement, where: string): { overuse?: string; values: Map<string, LimitValue> } {
  const values = new Map<string, LimitValue>();
  for (const limit of childrenNamed(el, 'limit')) {
    const name = childText(limit, 'name');
    const value = childText(limit, 'value');
    if (!name || value === undefined) fail(`${where}: a limit without name or value`);
    values.set(name, parseLimitValue(value, `${where}: limit ${name}`));
  }
  const overuse = childText(el, 'overuse');
  return { ...(overuse !== undefined && overuse !== '' ? { overuse } : {}), values };
}

function parseBool(text: string | undefined, what: string): boolean {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  fail(`${what} ${JSON.stringify(text ?? null)} is not a boolean`);
}

function parseSize(text: string | undefined, what: string): bigint {
  if (text === undefined || !/^\d{1,20}$/.test(text)) fail(`${what} ${JSON.stringify(text ?? null)} is not a byte count`);
  return BigInt(text);
}

/** A webspace `get` result with its datasets (`gen_info`, `limits`, `subscriptions`, `stat`). */
export interface WebspaceDetailsResult extends ResultBase {
  details?: SubscriptionDetails;
}

/** `webspace` → `get` results with the datasets that are there; error results carry none. */
export function parseWebspaceDetailsResponse(xml: string): Parsed<WebspaceDetailsResult[]> {
  return withPacket(xml, 'webspace', (op) =>
    operationResults(op, 'get').map((el, i): WebspaceDetailsResult => {
      const where = `webspace get result ${i + 1}`;
      const r: WebspaceDetailsResult = parseResultBase(el, where);
      const data = childNamed(el, 'data');
      if (r.status !== 'ok' || r.id === undefined || !data) return r;
      const details: SubscriptionDetails = { id: r.id };
      const gen = childNamed(data, 'gen_info');
      if (gen) {
        const summary: SubscriptionSummary = {
          id: r.id,
          name: childText(gen, 'name') ?? '',
          asciiName: childText(gen, 'ascii-name') ?? '',
          status: parseUint(childText(gen, 'status') ?? '', `${where}: gen_info/status`),
        };
        if (summary.asciiName === '') fail(`${where}: gen_info without ascii-name`);
        details.genInfo = summary;
      }
      const limits = childNamed(data, 'limits');
      if (limits) details.limits = parseLimits(limits, where);
      const subs = childNamed(data, 'subscriptions');
      const sub = subs && childNamed(subs, 'subscription');
      if (sub) {
        details.subscription = {
          locked: parseBool(childText(sub, 'locked'), `${where}: subscription/locked`),
          synchronized: parseBool(childText(sub, 'synchronized'), `${where}: subscription/synchronized`),
          planGuids: childrenNamed(sub, 'plan').map((p) => childText(p, 'plan-guid') ?? '').filter((g) => g !== ''),
        };
      }
      const stat = childNamed(data, 'stat');
      if (stat) {
        details.stat = {
          traffic: parseSize(childText(stat, 'traffic'), `${where}: stat/traffic`),
          trafficPrevday: parseSize(childText(stat, 'traffic_prevday'), `${where}: stat/traffic_prevday`),
        };
      }
      r.details = details;
      return r;
    }),
  );
}

/** `server` → `get`: the result's status, and the preferences when asked for. */
export function parseServerGetResponse(xml: string): Parsed<ResultBase & { prefs?: ServerPrefs; serverName?: string }> {
  return withPacket(xml, 'server', (op) => {
    const results = operationResults(op, 'get');
    if (results.length !== 1) fail(`${results.length} server get results for one request`);
    const el = results[0]!;
    const r: ResultBase & { prefs?: ServerPrefs; serverName?: string } = parseResultBase(el, 'server get result');
    const prefs = childNamed(el, 'prefs');
    if (prefs) {
      const out: ServerPrefs = {};
      const accounting = childText(prefs, 'traffic_accounting');
      if (accounting !== undefined && accounting !== '') out.trafficAccounting = parseUint(accounting, 'server prefs: traffic_accounting');
      const ttl = childText(prefs, 'stat_ttl');
      if (ttl !== undefined && ttl !== '') out.statTtl = parseUint(ttl, 'server prefs: stat_ttl');
      r.prefs = out;
    }
    const gen = childNamed(el, 'gen_info');
    const name = gen && childText(gen, 'server_name');
    if (name !== undefined) r.serverName = name;
    return r;
  });
}
