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
  | { kind: 'uncertain'; error: string; attempts: number };

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
  setTraffic(operator: Operator, nodes: SetTrafficNode[], opts: { idempotent: boolean }): Promise<PacketOutcome>;
  close(): Promise<void>;
}
