// The contract between the flow and src/plesk/ (the only code that knows XML and HTTP).

import type { HttpObserver, RetryPolicy, Timeouts } from '../http/index.js';
import type { FullTraffic, Operator } from '../model.js';

/** One `set_traffic` node: every metric present (never an empty element: the schema types them xs:long). */
export interface SetTrafficNode {
  domId: number;
  date: string;
  smtp_in: bigint;
  smtp_out: bigint;
  pop3_imap_in: bigint;
  pop3_imap_out: bigint;
}

/** Plesk's answer for one node, matched by position. */
export interface NodeResult {
  status: 'ok' | 'error';
  errcode?: number;
  errtext?: string;
  id?: number;
}

/**
 * What became of one packet.
 * - `applied`: Plesk answered; `results[i]` belongs to `nodes[i]`.
 * - `failed`: Plesk certainly did not apply the packet (a <system> error other than auth/malformed,
 *   a refused connection, retries exhausted before the request was delivered).
 * - `uncertain`: the request may have reached Plesk but no usable answer came back (timeout after sending,
 *   reset mid-response, short or garbled response). The caller must re-read before deciding.
 */
export type PacketOutcome =
  | { kind: 'applied'; results: NodeResult[]; attempts: number }
  | { kind: 'failed'; error: string; errcode?: number; attempts: number }
  | { kind: 'uncertain'; error: string; attempts: number }
  /** Its turn came after `stop` was aborted (SIGTERM/SIGINT): never sent. */
  | { kind: 'notSent'; error: string; attempts: 0 };

export type PleskAuth = { login: string; password: string } | { secretKey: string };

export interface PleskClientOptions {
  /** Base URL, e.g. https://plesk.example.com:8443 (port 8443 when none is given). */
  url: string;
  auth: PleskAuth;
  /** `<packet version="…">`; omitted when undefined (Plesk then uses its newest). */
  packetVersion?: string;
  /** Packets in flight at most. */
  concurrency: number;
  /** Rate limit for panels that must not be hammered; undefined = none. */
  packetsPerSecond?: number;
  timeouts: Timeouts;
  retry: RetryPolicy;
  /** PEM text of a CA to trust (target.ca). */
  ca?: string;
  /** Explicit opt-in to skip certificate checks. */
  insecureTls?: boolean;
  /** For tests: a seeded random source for jitter. */
  random?: () => number;
  /** Attempts and retries, for run events and metrics. */
  observer?: HttpObserver;
}

/**
 * A per-object error in a `get`/`get_traffic` answer (other than 1013 "not found"): one subscription's
 * problem, not the run's. When a handler is given, the object is left out of the answer and reported here;
 * without one, the client stops the run (TI_PLESK_RESPONSE).
 */
export type ObjectErrorHandler = (object: string | number, errcode: number | undefined, errtext: string) => void;

export interface PleskApi {
  /** `get` by name, many names per filter, matched through filter-id. Names are canonical (ASCII, lower-case). */
  resolveNames(operator: Operator, names: string[], onObjectError?: ObjectErrorHandler): Promise<Map<string, number>>;
  /** `get_traffic` for ids over [since, to]; ids batched per filter. Missing days are absent from the inner map. */
  getTraffic(operator: Operator, ids: number[], since: string, to: string, onObjectError?: ObjectErrorHandler): Promise<Map<number, Map<string, FullTraffic>>>;
  /** One `set_traffic` packet of up to batchSize nodes. `idempotent=false` forbids resending once delivered. */
  /**
   * `onSent` is called when the packet's first request actually goes out (a client queues packets and stops
   * starting new ones after a fatal answer, so a call does not mean a request). `stop`: a packet whose turn comes
   * after it was aborted (SIGTERM/SIGINT) is not sent (outcome `notSent`).
   */
  setTraffic(operator: Operator, nodes: SetTrafficNode[], opts: { idempotent: boolean; onSent?: () => void; stop?: AbortSignal }): Promise<PacketOutcome>;
  close(): Promise<void>;
}

/**
 * A limit value as a panel writes it: bytes/counts (xs:long, -1 = unlimited), or a percentage of the hard
 * limit — Plesk's CLI takes `max_traffic_soft 80%` (plesk-api-notes.md §6.2), so a panel may answer one.
 */
export type LimitValue = bigint | { percent: number };

/** A subscription as `webspace/get` `gen_info` names it. */
export interface SubscriptionSummary {
  id: number;
  /** Display name (Unicode for an IDN). */
  name: string;
  /** Punycode form. */
  asciiName: string;
  /** gen_info/status: 0 active, 16 disabled by the administrator, … (objectStatus). */
  status: number;
}

/** Datasets `subscriptionDetails` can ask for (webspace/get). */
export type SubscriptionDataset = 'gen_info' | 'limits' | 'subscriptions' | 'stat';

export interface SubscriptionDetails {
  id: number;
  genInfo?: SubscriptionSummary;
  /** `limits`: the effective limits (plan, customization and add-ons applied). */
  limits?: { overuse?: string; values: Map<string, LimitValue> };
  /** `subscriptions`: the plans it is based on (main plan and add-ons); absent for a custom subscription. */
  subscription?: { locked: boolean; synchronized: boolean; planGuids: string[] };
  /** `stat`: this month's and the previous day's traffic as the panel counts it. */
  stat?: { traffic: bigint; trafficPrevday: bigint };
}

/** A service plan as `service-plan/get` describes it (its limits; other setting groups are not read). */
export interface PlanDetails {
  id?: number;
  name?: string;
  guid: string;
  externalId?: string;
  overuse?: string;
  limits: Map<string, LimitValue>;
}

/** Server preferences (`server/get` `prefs`) the tool uses. */
export interface ServerPrefs {
  /** Directions that count against traffic limits: 1 inbound, 2 outbound, 3 both; undefined when not answered. */
  trafficAccounting?: number;
  /** Months statistics are kept. */
  statTtl?: number;
}

/** Panel-wide reads (the `usage` command), batched like the rest: many ids or GUIDs per filter. */
export interface PleskPanelReads {
  serverPrefs(): Promise<ServerPrefs>;
  /** Every subscription (one `get` with an empty filter, gen_info only). */
  listSubscriptions(): Promise<SubscriptionSummary[]>;
  /** Datasets for ids; unknown ids (1013) are absent. */
  subscriptionDetails(ids: number[], datasets: readonly SubscriptionDataset[], onObjectError?: ObjectErrorHandler): Promise<Map<number, SubscriptionDetails>>;
  /** Service plans by GUID (lower-case keys); GUIDs that are no service plan (an add-on plan, a deleted plan) are absent. */
  servicePlans(guids: string[]): Promise<Map<string, PlanDetails>>;
  /** Add-on sites of subscriptions: subscription id → site ids (main sites are not listed). */
  addonSites(subscriptionIds: number[]): Promise<Map<number, number[]>>;
  /** Site names (canonical) → the id of the subscription each belongs to; unknown names are absent. */
  siteOwners(names: string[]): Promise<Map<string, number>>;
}
