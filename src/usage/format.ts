// `usage` output: JSON (a contract scripts read), CSV (bytes, one row per subscription) and a table for people
// (human units). Byte counts in JSON are numbers below 2^53 and decimal strings from there on.

import type { UsageReport, UsageRow, UsageStatus } from './usage.js';

export type UsageFormat = 'table' | 'csv' | 'json';

/** What each overuse policy means (docs.plesk.com 66453, 60480; plesk-api-notes.md §6.2). */
export const OVERUSE_MEANING: Readonly<Record<string, string>> = {
  block: 'usage cannot go beyond the limit',
  normal: 'overuse allowed; suspended when a limit is reached',
  notify: 'overuse allowed; e-mail when a limit is reached',
  not_suspend: 'overuse allowed; never suspended',
  not_suspend_notify: 'overuse allowed; never suspended; e-mail when a limit is reached',
};

/** A byte count for JSON: a number when exact (below 2^53), else a decimal string. */
export function jsonBytes(v: bigint | null): number | string | null {
  if (v === null) return null;
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

export function toJson(report: UsageReport, rows: readonly UsageRow[]): string {
  const doc = {
    month: report.month,
    trafficAccounting: report.trafficAccounting,
    subscriptions: rows.map((r) => ({
      id: r.id,
      name: r.name,
      plan: r.plan,
      customized: r.customized,
      overuse: r.overuse,
      maxTraffic: jsonBytes(r.maxTraffic),
      maxTrafficSoft: jsonBytes(r.maxTrafficSoft),
      used: jsonBytes(r.used),
      usedMail: jsonBytes(r.usedMail),
      percent: r.percent,
      status: r.status,
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The JSON fields in the same order (bytes, empty = null), then month, web/ftp bytes and the subscription's state. */
export const CSV_COLUMNS = [
  'id', 'name', 'plan', 'customized', 'overuse', 'maxTraffic', 'maxTrafficSoft', 'used', 'usedMail', 'percent', 'status',
  'month', 'usedWebFtp', 'subscriptionStatus',
] as const;

export function toCsv(report: UsageReport, rows: readonly UsageRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    const cells = [
      String(r.id), r.name, r.plan ?? '', String(r.customized), r.overuse ?? '', r.maxTraffic?.toString() ?? '',
      r.maxTrafficSoft?.toString() ?? '', r.used.toString(), r.usedMail.toString(), r.percent === null ? '' : r.percent.toFixed(2), r.status,
      report.month, (r.used - r.usedMail).toString(), stateText(r.state),
    ];
    lines.push(cells.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** 1536 → "1.50 KiB" (binary units, as Plesk shows traffic), exact for any xs:long. */
export function humanBytes(v: bigint): string {
  if (v < 1024n) return `${v} B`;
  let unit = 0;
  let div = 1n;
  while (unit < UNITS.length - 1 && v >= div * 1024n) {
    div *= 1024n;
    unit++;
  }
  const hundredths = (v * 100n) / div;
  return `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, '0')} ${UNITS[unit]}`;
}

/** gen_info/status (objectStatus) in words. */
export function stateText(status: number): string {
  switch (status) {
    case 0: return 'active';
    case 16: return 'disabled by admin';
    case 32: return 'disabled by reseller';
    case 64: return 'disabled by customer';
    case 256: return 'expired';
    default: return `status ${status}`;
  }
}

const COUNTED: Record<UsageReport['trafficAccounting'], string> = { in: 'inbound', out: 'outbound', both: 'inbound + outbound' };

export function summaryLine(report: UsageReport, rows: readonly UsageRow[]): string {
  const count = (s: UsageStatus): number => rows.filter((r) => r.status === s).length;
  return `${rows.length} subscription(s): ${count('over')} over, ${count('soft')} soft, ${count('ok')} ok, ${count('unlimited')} unlimited`;
}

export function toTable(report: UsageReport, rows: readonly UsageRow[]): string {
  const head = ['SUBSCRIPTION', 'ID', 'STATE', 'PLAN', 'CUSTOM', 'USED', 'MAIL', 'WEB/FTP', 'LIMIT', 'SOFT', '%', 'STATUS', 'OVERUSE'];
  const body = rows.map((r) => [
    r.name, String(r.id), stateText(r.state), r.plan ?? '-', r.customized ? 'yes' : 'no', humanBytes(r.used), humanBytes(r.usedMail),
    humanBytes(r.used - r.usedMail), r.maxTraffic === null ? 'unlimited' : humanBytes(r.maxTraffic),
    r.maxTrafficSoft === null ? '-' : humanBytes(r.maxTrafficSoft), r.percent === null ? '-' : `${r.percent.toFixed(2)}%`,
    r.status, r.overuse === null ? '-' : `${r.overuse} (${OVERUSE_MEANING[r.overuse] ?? 'policy unknown to this tool'})`,
  ]);
  const numeric = new Set([1, 5, 6, 7, 8, 9, 10]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => [...row[i]!].length)));
  const line = (cells: string[]): string => cells
    .map((c, i) => (i === cells.length - 1 ? c : numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
    .join('  ').trimEnd();
  return [
    `Traffic in ${report.month} (counted: ${COUNTED[report.trafficAccounting]}, all protocols; add-on sites included)`,
    '',
    line(head),
    ...body.map(line),
    '',
    summaryLine(report, rows),
    '',
  ].join('\n');
}

export function render(format: UsageFormat, report: UsageReport, rows: readonly UsageRow[]): string {
  return format === 'json' ? toJson(report, rows) : format === 'csv' ? toCsv(report, rows) : toTable(report, rows);
}
