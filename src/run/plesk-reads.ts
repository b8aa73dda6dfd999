// Reads of what Plesk holds, shared by the stages that need them (reconcile, send, the ledger's intents).

import { mailOf, type Mail, type Operator } from '../model.js';
import type { PleskApi } from '../plesk/types.js';

/** One packet holds one operator's nodes: group by operator, keeping order. */
export function byOperator<T extends { operator: Operator }>(items: readonly T[]): Map<Operator, T[]> {
  const out = new Map<Operator, T[]>();
  for (const item of items) {
    let l = out.get(item.operator);
    if (!l) out.set(item.operator, (l = []));
    l.push(item);
  }
  return out;
}

/** What Plesk holds now for these (dom_id, day) nodes: one get_traffic over their ids and date span. */
export async function heldNow(api: PleskApi, op: Operator, items: readonly { domId: number; date: string }[]): Promise<(item: { domId: number; date: string }) => Mail> {
  let since = items[0]!.date;
  let to = since;
  for (const i of items) {
    if (i.date < since) since = i.date;
    if (i.date > to) to = i.date;
  }
  const now = await api.getTraffic(op, [...new Set(items.map((i) => i.domId))], since, to);
  return (item) => mailOf(now.get(item.domId)?.get(item.date));
}
