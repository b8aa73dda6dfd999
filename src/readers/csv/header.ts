// The header record: which column holds which role, per the layout and the pipeline's column mapping.

import { TiError } from '../../errors.js';
import { METRICS, type Metric } from '../../model.js';
import type { CsvSourceConfig, Role } from './config.js';

export interface MetricColumn {
  metric: Metric;
  index: number;
  name: string;
}

export interface Header {
  width: number;
  /** The file's header names, trimmed, by index. */
  names: string[];
  date: number;
  domain: number;
  domId: number;
  metrics: MetricColumn[];
  /** Indexes of smtp_in, smtp_out, pop3_imap_in, pop3_imap_out when all four columns are present. */
  allMetrics: [number, number, number, number] | undefined;
  protocol: number;
  direction: number;
  bytes: number;
  unit: number;
}

export function resolveHeader(cells: string[], cfg: CsvSourceConfig, file: string): Header {
  const names = cells.map((c) => c.trim());
  const lower = names.map((n) => n.toLowerCase());
  const mapping: Partial<Record<Role, string>> = cfg.columns ?? {};
  const mapped = new Set(Object.values(mapping).map((n) => n.trim().toLowerCase()));
  const find = (role: Role): number => {
    const wanted = mapping[role];
    const name = (wanted ?? role).trim().toLowerCase();
    // A header named after one of our roles but mapped to another role belongs to that other role only.
    if (wanted === undefined && mapped.has(name)) return -1;
    const first = lower.indexOf(name);
    if (first >= 0 && lower.indexOf(name, first + 1) >= 0) {
      throw new TiError('TI_SOURCE_HEADER', `${file}: column "${names[first]}" appears twice in the header`, { file });
    }
    if (first < 0 && wanted !== undefined) {
      throw new TiError('TI_SOURCE_HEADER', `${file}: column "${wanted}" (columns.${role}) is not in the header: ${names.join(', ')}`, { file });
    }
    return first;
  };
  const h: Header = {
    width: cells.length,
    names,
    date: find('date'),
    domain: find('domain'),
    domId: find('dom_id'),
    metrics: [],
    allMetrics: undefined,
    protocol: -1,
    direction: -1,
    bytes: -1,
    unit: -1,
  };
  const missing: string[] = [];
  if (h.date < 0) missing.push(mapping.date ? `date ("${mapping.date}")` : 'date');
  if (h.domain < 0 && h.domId < 0) missing.push('domain or dom_id');
  if (cfg.layout === 'wide') {
    for (const metric of METRICS) {
      const index = find(metric);
      // A metric column that is absent is *missing* (unknown), not zero: model.ts Metrics.
      if (index >= 0) h.metrics.push({ metric, index, name: names[index] ?? metric });
    }
    if (h.metrics.length === 4) h.allMetrics = h.metrics.map((c) => c.index) as [number, number, number, number];
    if (h.metrics.length === 0) missing.push(`a metric column (any of ${METRICS.join(', ')})`);
  } else {
    h.protocol = find('protocol');
    h.direction = find('direction');
    h.bytes = find('bytes');
    h.unit = find('unit');
    for (const role of ['protocol', 'direction', 'bytes'] as const) if (h[role] < 0) missing.push(role);
  }
  if (missing.length > 0) {
    throw new TiError(
      'TI_SOURCE_HEADER',
      `${file}: ${cfg.layout} layout needs ${missing.join(', ')}; header is: ${names.join(', ') || '(empty)'}`,
      { file, missing },
    );
  }
  return h;
}

/** What `validate` prints about a header: the columns it found for each role, unit and zone. */
export function describeHeader(h: Header | undefined, cfg: CsvSourceConfig, file: string): string {
  if (!h) return `${file}: no header`;
  const col = (role: string, i: number): string => (h.names[i]?.toLowerCase() === role ? role : `${role}="${h.names[i]}"`);
  const cols: string[] = [col('date', h.date)];
  if (h.domain >= 0) cols.push(col('domain', h.domain));
  if (h.domId >= 0) cols.push(col('dom_id', h.domId));
  if (cfg.layout === 'wide') {
    for (const m of h.metrics) cols.push(col(m.metric, m.index));
    const absent = METRICS.filter((m) => !h.metrics.some((c) => c.metric === m));
    if (absent.length > 0) cols.push(`(no ${absent.join(', ')}: left as recorded)`);
  } else {
    cols.push(col('protocol', h.protocol), col('direction', h.direction), col('bytes', h.bytes));
    if (h.unit >= 0) cols.push(col('unit', h.unit));
  }
  return `${cfg.layout} layout, columns: ${cols.join(', ')}; unit ${cfg.unit}; time zone ${cfg.timezone}`;
}
