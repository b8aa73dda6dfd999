// The domain model shared by every stage: records, metrics, targets.
// Byte counts are bigint end to end: Plesk types them xs:long, far beyond 2^53.

import { domainToASCII } from 'node:url';
import type { RejectCode } from './errors.js';

/** The four mail counters of `set_traffic`, in schema order (agent_input.tree.txt, webspace/set_traffic). */
export const METRICS = ['smtp_in', 'smtp_out', 'pop3_imap_in', 'pop3_imap_out'] as const;
export type Metric = (typeof METRICS)[number];

/** A metric that is absent is *missing* (unknown), not zero: reconcile fills it from what Plesk recorded. */
export type Metrics = Partial<Record<Metric, bigint>>;

/** Full day of Plesk traffic as `get_traffic` returns it (trafficType). */
export const TRAFFIC_FIELDS = [
  'http_in', 'http_out', 'ftp_in', 'ftp_out',
  'smtp_in', 'smtp_out', 'pop3_imap_in', 'pop3_imap_out',
] as const;
export type TrafficField = (typeof TRAFFIC_FIELDS)[number];
export type FullTraffic = Record<TrafficField, bigint>;

/** The four mail counters of one day, all present (what a set_traffic node carries, and the ledger's before/after). */
export type Mail = Record<Metric, bigint>;

/** A day with nothing recorded: get_traffic leaves such days out. */
export function zeroTraffic(): FullTraffic {
  return { http_in: 0n, http_out: 0n, ftp_in: 0n, ftp_out: 0n, smtp_in: 0n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n };
}

export function zeroMail(): Mail {
  return { smtp_in: 0n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n };
}

/** The mail counters of a recorded day (0 for a day Plesk does not hold). */
export function mailOf(day: FullTraffic | undefined): Mail {
  if (!day) return zeroMail();
  return { smtp_in: day.smtp_in, smtp_out: day.smtp_out, pop3_imap_in: day.pop3_imap_in, pop3_imap_out: day.pop3_imap_out };
}

export function sameMail(a: Mail, b: Mail): boolean {
  return a.smtp_in === b.smtp_in && a.smtp_out === b.smtp_out && a.pop3_imap_in === b.pop3_imap_in && a.pop3_imap_out === b.pop3_imap_out;
}

/** xs:long upper bound; traffic is never negative. */
export const XS_LONG_MAX = 9223372036854775807n;
/** xs:int upper bound (dom_id). */
export const XS_INT_MAX = 2147483647;

/** Where a set_traffic node goes: `webspace` = subscriptions (seed 001), `site` = sites (seed 000). */
export type Operator = 'webspace' | 'site';

/** A record names its target either by domain name or by Plesk id (exactly one is set). */
export interface Target {
  /** Canonical domain: ASCII (punycode), lower-case, no trailing dot. */
  domain?: string;
  domId?: number;
}

/** Where a record came from, for reject files and reports. */
export interface Origin {
  file: string;
  line: number;
}

/** Why a metric is held back: the first rejected value that belonged to it (where it was and why it was refused). */
export interface HoldCause {
  code: RejectCode;
  reason: string;
  file: string;
  line: number;
}

/**
 * Metrics of a (target, day) that lost a contribution to a rejection. Their sum would be partial (or made up,
 * as a 0), so they are *held back*: left missing, so Plesk keeps what it recorded, and reported (docs/reconcile.md).
 */
export type Held = Partial<Record<Metric, HoldCause>>;

/** The (target, day) and metrics a rejected value belonged to, when the reader can tell (Rejection.affects). */
export interface HeldKey {
  target: Target;
  date: string;
  metrics: readonly Metric[];
}

/** One observation from a reader: a target, a day, some metrics. Many may share a key; normalize sums them. */
export interface SourceRecord {
  target: Target;
  /** Calendar day `YYYY-MM-DD` in the pipeline's time zone. */
  date: string;
  metrics: Metrics;
  origin: Origin;
  /** Metrics of this key that lost a value to a rejection (readers that sum before emitting, e.g. cPanel). */
  held?: Held;
}

/** One normalized record per (target, day): the sum of every source record with that key. */
export interface DayRecord {
  target: Target;
  date: string;
  metrics: Metrics;
  /** Rows that made this record: count and the line span, kept small (memory grows with keys, not rows). */
  rows: number;
  file: string;
  firstLine: number;
  lastLine: number;
  /** Metrics left out because a rejected value belonged to them (see Held); absent when none. */
  held?: Metric[];
}

/** A normalized record whose target is known in Plesk. */
export interface ResolvedRecord extends DayRecord {
  operator: Operator;
  domId: number;
}

/** A rejected row or key: it did not land, and the reject file says where it was and why. */
export interface Rejection {
  /** File (or URL, or `domain@source`) the record came from. */
  file: string;
  /** 1-based line; 0 when the source has no lines (an API answer). */
  line: number;
  /** Column name or JSON path, when one is to blame. */
  column?: string;
  code: RejectCode;
  /** Human reason, with the offending value. */
  reason: string;
  /** The raw row or value, for the reject file. */
  raw?: string;
  /**
   * The (target, day) and metrics the rejected value belonged to, when the reader can tell: those metrics are
   * held back for that key (never sent partial or as a made-up 0; Plesk keeps its value), see normalize.ts.
   */
  affects?: HeldKey;
}

/** A name Plesk (or the source) does not know: its records are counted, listed and written to the reject file. */
export interface UnresolvedTarget {
  name: string;
  rows: number;
  file: string;
  firstLine: number;
  lastLine: number;
  reason: string;
}

/**
 * Canonical form of a domain name for comparison: ASCII (punycode) form, lower-case, trailing dot dropped.
 * Returns '' for a name that is not a valid domain.
 */
export function canonicalDomain(raw: string): string {
  let name = raw.trim().toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') return '';
  // Fast path: plain ASCII names need no IDNA processing.
  // eslint-disable-next-line no-control-regex
  if (/^[\x21-\x7e]+$/.test(name)) return name;
  return domainToASCII(name);
}

export function targetLabel(t: Target): string {
  return t.domId !== undefined ? `dom_id ${t.domId}` : t.domain ?? '';
}

/** Valid calendar date `YYYY-MM-DD` (rejects 2026-02-30): dayjs strict parsing, see dates.ts. */
export { isValidDate } from './dates.js';
