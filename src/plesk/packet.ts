// Request packets, built with xmlbuilder2 (it escapes text, so `&`/`<` in names cannot break a packet:
// docs/reference/plesk-api-notes.md §1.2 "Escaping"). Element order follows the 1.6.9.1 request schema
// (plesk-api-1.6.9.1/agent_input.tree.txt): Plesk validates packets against it and answers 1014 otherwise.
//
// set_traffic packets, the bulk of a run, are written as text by set-traffic.ts (re-exported here), proven
// byte-identical to `buildSetTrafficPacketDom` below.

import { create } from 'xmlbuilder2';
import { TiError } from '../errors.js';
import { METRICS, XS_INT_MAX, XS_LONG_MAX, type Operator } from '../model.js';
import { isValidDate } from '../dates.js';
import type { SetTrafficNode, SubscriptionDataset } from './types.js';

export { buildSetTrafficPacket, escapeAttribute, escapeText } from './set-traffic.js';

const XS_LONG_MIN = -XS_LONG_MAX - 1n;

type XMLBuilder = ReturnType<typeof create>;

/** One `<filter>` of a get/get_traffic operation. A filter holds one element kind only (docs/reference/plesk-api-notes.md §5.1). */
export type Filter = { names: readonly string[] } | { ids: readonly number[] };

function packetRoot(version: string | undefined): XMLBuilder {
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  // `version` may be omitted: Plesk then uses its newest protocol (docs/reference/plesk-api-notes.md §1.4).
  return version === undefined ? doc.ele('packet') : doc.ele('packet', { version });
}

function serialize(packet: XMLBuilder): string {
  return packet.end({ prettyPrint: false });
}

function checkId(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 1 || id > XS_INT_MAX) {
    throw new TiError('TI_INTERNAL', `${what} ${String(id)} is not a Plesk id (1..${XS_INT_MAX})`);
  }
}

function checkDate(date: string, what: string): void {
  if (!isValidDate(date)) throw new TiError('TI_INTERNAL', `${what} ${JSON.stringify(date)} is not a YYYY-MM-DD date`);
}


/**
 * The same packet built with xmlbuilder2's DOM, as buildSetTrafficPacket was written before: the reference the
 * text writer is proven byte-identical to (tests), and the baseline of its bench.
 */
export function buildSetTrafficPacketDom(operator: Operator, nodes: readonly SetTrafficNode[], version?: string): string {
  if (nodes.length === 0) throw new TiError('TI_INTERNAL', 'set_traffic packet without nodes');
  const packet = packetRoot(version);
  const op = packet.ele(operator);
  for (const node of nodes) {
    checkId(node.domId, 'dom_id');
    checkDate(node.date, `date of dom_id ${node.domId}`);
    const el = op.ele('set_traffic');
    el.ele('dom_id').txt(String(node.domId));
    el.ele('date').txt(node.date);
    for (const metric of METRICS) {
      const value = node[metric];
      if (typeof value !== 'bigint' || value < XS_LONG_MIN || value > XS_LONG_MAX) {
        throw new TiError('TI_INTERNAL', `${metric} of dom_id ${node.domId} on ${node.date} is not an xs:long`);
      }
      el.ele(metric).txt(value.toString());
    }
  }
  return serialize(packet);
}

function addFilter(parent: XMLBuilder, filter: Filter): void {
  const el = parent.ele('filter');
  // An empty <filter/> means "every object" to Plesk (docs/reference/plesk-api-notes.md §5.1): never build one by accident.
  if ('names' in filter) {
    if (filter.names.length === 0) throw new TiError('TI_INTERNAL', 'empty name filter');
    for (const name of filter.names) el.ele('name').txt(name);
  } else {
    if (filter.ids.length === 0) throw new TiError('TI_INTERNAL', 'empty id filter');
    for (const id of filter.ids) {
      checkId(id, 'id');
      el.ele('id').txt(String(id));
    }
  }
}

function asList<T>(one: T | readonly T[]): readonly T[] {
  return Array.isArray(one) ? (one as readonly T[]) : [one as T];
}

/**
 * `get` by name or id with `<dataset><gen_info/></dataset>` (an empty dataset makes Plesk omit the ids,
 * docs/reference/plesk-api-notes.md §5.1). Several filters become several `<get>` operations in one packet.
 */
export function buildGetPacket(operator: Operator, filters: Filter | readonly Filter[], version?: string): string {
  const list = asList(filters);
  if (list.length === 0) throw new TiError('TI_INTERNAL', 'get packet without filters');
  const packet = packetRoot(version);
  const op = packet.ele(operator);
  for (const filter of list) {
    const get = op.ele('get');
    addFilter(get, filter);
    get.ele('dataset').ele('gen_info');
  }
  return serialize(packet);
}

/**
 * `get_traffic` for ids over [since, to] (both optional in the schema: no since = from creation, no to = until
 * today; docs/reference/plesk-api-notes.md §4.1). `ids` is one filter, or a list of filters for several operations in one packet.
 */
export function buildGetTrafficPacket(
  operator: Operator,
  ids: readonly number[] | readonly (readonly number[])[],
  since: string | undefined,
  to: string | undefined,
  version?: string,
): string {
  const batches: readonly (readonly number[])[] =
    ids.length > 0 && Array.isArray(ids[0]) ? (ids as readonly (readonly number[])[]) : [ids as readonly number[]];
  if (since !== undefined) checkDate(since, 'since_date');
  if (to !== undefined) checkDate(to, 'to_date');
  const packet = packetRoot(version);
  const op = packet.ele(operator);
  for (const batch of batches) {
    const get = op.ele('get_traffic');
    addFilter(get, { ids: batch });
    if (since !== undefined) get.ele('since_date').txt(since);
    if (to !== undefined) get.ele('to_date').txt(to);
  }
  return serialize(packet);
}

/**
 * `service-plan` → `get` (seed 004). Filter by ids or names; no filter at all = every plan (an empty
 * `<filter/>` is the schema's "all": there is no `<all/>` element, docs/reference/plesk-api-notes.md §6.1).
 */
export function buildServicePlanGetPacket(filter: Filter | 'all', version?: string): string {
  const packet = packetRoot(version);
  const get = packet.ele('service-plan').ele('get');
  if (filter === 'all') get.ele('filter');
  else addFilter(get, filter);
  return serialize(packet);
}

/** webspace/get dataset groups in the request schema's order (the group is an `all`: any order is valid). */
const WEBSPACE_DATASET_ORDER: readonly SubscriptionDataset[] = ['gen_info', 'limits', 'stat', 'subscriptions'];

/**
 * `webspace` → `get` with the given datasets: one `<get>` per filter (many ids or names each), or one with an
 * empty `<filter/>` for every subscription (`'all'`).
 */
export function buildWebspaceGetPacket(filters: 'all' | Filter | readonly Filter[], datasets: readonly SubscriptionDataset[], version?: string): string {
  const wanted = WEBSPACE_DATASET_ORDER.filter((d) => datasets.includes(d));
  // An empty <dataset/> makes Plesk leave out the ids (plesk-api-notes.md §5.1).
  if (wanted.length === 0) throw new TiError('TI_INTERNAL', 'webspace get without a dataset');
  const list = filters === 'all' ? ['all' as const] : asList(filters);
  if (list.length === 0) throw new TiError('TI_INTERNAL', 'webspace get packet without filters');
  const packet = packetRoot(version);
  const op = packet.ele('webspace');
  for (const filter of list) {
    const get = op.ele('get');
    if (filter === 'all') get.ele('filter');
    else addFilter(get, filter);
    const dataset = get.ele('dataset');
    for (const d of wanted) dataset.ele(d);
  }
  return serialize(packet);
}

/** `site` → `get` of the add-on sites of subscriptions: one `<get>` per batch of `parent-id`s, gen_info. */
export function buildAddonSitesPacket(parentIds: readonly (readonly number[])[], version?: string): string {
  if (parentIds.length === 0 || parentIds.some((b) => b.length === 0)) throw new TiError('TI_INTERNAL', 'site get without parent ids');
  const packet = packetRoot(version);
  const op = packet.ele('site');
  for (const batch of parentIds) {
    const filter = op.ele('get').ele('filter');
    for (const id of batch) {
      checkId(id, 'parent-id');
      filter.ele('parent-id').txt(String(id));
    }
    filter.up().ele('dataset').ele('gen_info');
  }
  return serialize(packet);
}

/** `server` → `get` of some information blocks, in the request schema's sequence order. */
export function buildServerGetPacket(blocks: readonly ('gen_info' | 'stat' | 'prefs')[], version?: string): string {
  const order = ['gen_info', 'stat', 'prefs'] as const;
  const packet = packetRoot(version);
  const get = packet.ele('server').ele('get');
  for (const b of order) if (blocks.includes(b)) get.ele(b);
  return serialize(packet);
}

/** `service-plan` → `get` by GUID: one `<get>` per batch of GUIDs. */
export function buildServicePlanByGuidPacket(guids: readonly (readonly string[])[], version?: string): string {
  if (guids.length === 0 || guids.some((b) => b.length === 0)) throw new TiError('TI_INTERNAL', 'service-plan get without guids');
  const packet = packetRoot(version);
  const op = packet.ele('service-plan');
  for (const batch of guids) {
    const filter = op.ele('get').ele('filter');
    for (const g of batch) filter.ele('guid').txt(g);
  }
  return serialize(packet);
}
