// set_traffic packets as text: the bulk of a run (one node per subscription and day). Their content is digits and
// checked dates, and xmlbuilder2's DOM costs ~20 µs a node (issue 13: 1.1 s for 50k nodes; its callback builder,
// createCB, measured slower still). This writer produces xmlbuilder2's bytes exactly, its escaping included
// (`escapeText`/`escapeAttribute`); test/plesk/packet.test.ts proves it against `buildSetTrafficPacketDom`
// (packet.ts), the xmlbuilder2 builder kept for that, on every seed packet and on random nodes, versions and
// strings. Kept apart from packet.ts so that a dry-run does not load xmlbuilder2 at all.

import { isValidDate } from '../dates.js';
import { TiError } from '../errors.js';
import { METRICS, XS_INT_MAX, type Operator } from '../model.js';
import type { SetTrafficNode } from './types.js';

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > XS_INT_MAX) {
    throw new TiError('TI_INTERNAL', `dom_id ${String(id)} is not a Plesk id (1..${XS_INT_MAX})`);
  }
}

/** Dates already checked (a run has few distinct days; dayjs' strict parse costs microseconds). Bounded. */
const goodDates = new Set<string>();

function checkDateCached(date: string, what: string): void {
  if (goodDates.has(date)) return;
  if (!isValidDate(date)) throw new TiError('TI_INTERNAL', `${what} ${JSON.stringify(date)} is not a YYYY-MM-DD date`);
  if (goodDates.size >= 10_000) goodDates.clear();
  goodDates.add(date);
}

/** An xs:long as text, or undefined when `value` is not a bigint in range (compared as text: no bigint maths). */
function longText(value: unknown): string | undefined {
  if (typeof value !== 'bigint') return undefined;
  const s = value.toString();
  const digits = s.charCodeAt(0) === 45 ? s.length - 1 : s.length; // '-'
  if (digits < 19) return s;
  if (digits > 19) return undefined;
  return (s.charCodeAt(0) === 45 ? s.slice(1) <= '9223372036854775808' : s <= '9223372036854775807') ? s : undefined;
}

// xmlbuilder2's serializer (lib/writers/BaseWriter.js, _serializeText and _serializeAttributeValue): `&` is
// escaped unless it already starts an entity or character reference, then `<` and `>` (and `"` in attributes).
const NON_ENTITY_AMP = /&(?![A-Za-z]+;|#\d+;)/g;
const TEXT_SPECIAL = /[&<>]/;
const ATTR_SPECIAL = /[&<>"]/;

/** Text content as xmlbuilder2 writes it. */
export function escapeText(s: string): string {
  return TEXT_SPECIAL.test(s) ? s.replace(NON_ENTITY_AMP, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : s;
}

/** An attribute value as xmlbuilder2 writes it. */
export function escapeAttribute(s: string): string {
  return ATTR_SPECIAL.test(s)
    ? s.replace(NON_ENTITY_AMP, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    : s;
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/**
 * `<packet><{operator}><set_traffic>…</set_traffic>…</{operator}></packet>`: one set_traffic element per node,
 * children in schema order dom_id, date, smtp_in, smtp_out, pop3_imap_in, pop3_imap_out (agent_input.tree.txt,
 * webspace → set_traffic and site → set_traffic). Every metric is written, exactly (bigint, never an empty
 * element: seed 001's `<smtp_in/>` is not a valid xs:long, docs/reference/plesk-api-notes.md §3.2).
 */
export function buildSetTrafficPacket(operator: Operator, nodes: readonly SetTrafficNode[], version?: string): string {
  if (nodes.length === 0) throw new TiError('TI_INTERNAL', 'set_traffic packet without nodes');
  if (operator !== 'webspace' && operator !== 'site') throw new TiError('TI_INTERNAL', `unknown operator ${JSON.stringify(operator)}`);
  // One string per node, joined once: `+=` would make a rope of ropes that costs 3× more to flatten when written.
  const parts = new Array<string>(nodes.length + 2);
  parts[0] = `${XML_DECLARATION}<packet${version === undefined ? '' : ` version="${escapeAttribute(version)}"`}><${operator}>`;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as SetTrafficNode;
    const id = node.domId;
    checkId(id);
    checkDateCached(node.date, `date of dom_id ${id}`);
    // The whole xs:long range: a negative value is how a panel with add semantics is corrected (probe restore).
    const a = longText(node.smtp_in);
    const b = longText(node.smtp_out);
    const c = longText(node.pop3_imap_in);
    const d = longText(node.pop3_imap_out);
    if (a === undefined || b === undefined || c === undefined || d === undefined) {
      const metric = METRICS[[a, b, c, d].indexOf(undefined)];
      throw new TiError('TI_INTERNAL', `${metric} of dom_id ${id} on ${node.date} is not an xs:long`);
    }
    parts[i + 1] = `<set_traffic><dom_id>${id}</dom_id><date>${node.date}</date><smtp_in>${a}</smtp_in><smtp_out>${b}</smtp_out><pop3_imap_in>${c}</pop3_imap_in><pop3_imap_out>${d}</pop3_imap_out></set_traffic>`;
  }
  parts[nodes.length + 1] = `</${operator}></packet>`;
  return parts.join('');
}

