// The Plesk XML API client: packets out through one p-queue (concurrency + optional rate limit) and one
// undici Pool, answers parsed node by node, retries only for what can pass on a second try.
//
// Delivery rule (docs/reference/plesk-transport.md "set_traffic … neither case double counts"): once a set_traffic packet
// may have reached Plesk (timeout after sending, reset, 5xx, an unusable answer), it is resent only when the
// caller says the panel replaces values (idempotent); otherwise the outcome is `uncertain` and the caller
// re-reads. Reads are always safe to resend.

import { domainToUnicode } from 'node:url';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { TiError, type ErrorCode } from '../errors.js';
import { canonicalDomain, type FullTraffic, type Operator } from '../model.js';
import { classifySystemCode, NOT_FOUND } from './codes.js';
import {
  buildAddonSitesPacket, buildGetPacket, buildGetTrafficPacket, buildServerGetPacket, buildServicePlanByGuidPacket,
  buildSetTrafficPacket, buildWebspaceGetPacket, type Filter,
} from './packet.js';
import {
  parseGetResponse, parseGetTrafficResponse, parseServerGetResponse, parseServicePlanGetResponse, parseSetTrafficResponse,
  parseWebspaceDetailsResponse, PleskResponseError, type GetResult, type Parsed, type PleskSystemError, type TrafficResult,
} from './response.js';
import { retryLoop } from '../http/index.js';
import { classifyHttpStatus, classifyTransportError, Transport, type Failure } from './transport.js';
import type {
  NodeResult, ObjectErrorHandler, PacketOutcome, PlanDetails, PleskApi, PleskClientOptions, PleskPanelReads, ServerPrefs,
  SetTrafficNode, SubscriptionDataset, SubscriptionDetails, SubscriptionSummary,
} from './types.js';

/** Names per `<filter>` and filters (get operations) per packet when resolving (docs/reference/plesk-api-notes.md §7: modest packets). */
export const NAMES_PER_FILTER = 100;
export const FILTERS_PER_PACKET = 5;
/** Ids per get_traffic filter; one request per filter. */
export const IDS_PER_FILTER = 100;

type Exchange<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; failure: Failure; attempts: number; mayHaveApplied: boolean; notSent?: boolean };

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function describeNodes(operator: Operator, nodes: readonly SetTrafficNode[]): string {
  const first = nodes[0]!;
  const more = nodes.length > 1 ? ` and ${nodes.length - 1} more` : '';
  return `set_traffic to ${operator} dom_id ${first.domId} ${first.date}${more}`;
}

export class PleskClient implements PleskApi, PleskPanelReads {
  readonly #opts: PleskClientOptions;
  readonly #log: Logger;
  readonly #transport: Transport;
  readonly #queue: PQueue;
  readonly #random: () => number;
  readonly #secrets: string[];
  #closed = false;
  /**
   * The first fatal answer (login refused, packet malformed). From then on no request starts — not a queued
   * packet, not a retry: each would be another failed login against the panel's lockout counter (issue 9 §5).
   */
  #halted: Failure['fatal'] | undefined;

  constructor(opts: PleskClientOptions, log: Logger) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new TiError('TI_CONFIG', 'concurrency must be a positive integer');
    this.#opts = opts;
    this.#log = log;
    this.#random = opts.random ?? Math.random;
    this.#secrets = ('secretKey' in opts.auth ? [opts.auth.secretKey] : [opts.auth.password])
      .flatMap((s) => [s, Buffer.from(s, 'utf8').toString('latin1')])
      // A secret of 1–3 characters would turn every message into noise; such a secret is not put anywhere anyway.
      .filter((s) => s.length >= 4);
    this.#transport = new Transport(opts);
    const pps = opts.packetsPerSecond;
    const rate = pps === undefined ? {}
      : Number.isInteger(pps) && pps >= 1 ? { intervalCap: pps, interval: 1000 }
        : { intervalCap: 1, interval: Math.ceil(1000 / pps) };
    this.#queue = new PQueue({ concurrency: opts.concurrency, ...rate });
    if (opts.insecureTls) log.warn({ endpoint: this.#transport.endpoint.label }, 'TLS certificate of the panel is not verified (insecureTls)');
  }

  /** The endpoint packets go to (no credentials in it). */
  get endpoint(): string {
    return this.#transport.endpoint.label;
  }

  /** Removes the password / secret key from any text that leaves the client (defence in depth). */
  #scrub(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s).join('[redacted]');
    return out;
  }

  #fatal(code: ErrorCode, message: string, details?: Record<string, unknown>): TiError {
    return new TiError(code, this.#scrub(message), details);
  }

  /** An error answered for an object of a read that stops the run (TI_PLESK_RESPONSE), in one wording. */
  #refused(what: string, r: { errcode?: number | undefined; errtext?: string | undefined }, details: Record<string, unknown> = {}): TiError {
    return this.#fatal('TI_PLESK_RESPONSE', `${what}: Plesk error ${r.errcode ?? '?'}: ${r.errtext ?? ''}`, { ...details, errcode: r.errcode });
  }

  #systemFailure(what: string, error: PleskSystemError): Failure {
    const errtext = this.#scrub(error.errtext);
    const label = `Plesk error ${error.errcode ?? '?'}: ${errtext}`;
    const details = { endpoint: this.endpoint, errcode: error.errcode, errtext };
    // A <system> error means no operation of the packet ran (docs/reference/plesk-api-notes.md §2.1): never delivered.
    const base = { message: label, delivered: false, code: 'TI_PLESK_SYSTEM' as const, ...(error.errcode !== undefined ? { errcode: error.errcode } : {}) };
    switch (classifySystemCode(error.errcode)) {
      case 'auth': {
        const check = 'secretKey' in this.#opts.auth
          ? 'check PLESK_SECRET_KEY (a secret key only works from the IP address it was created for)'
          : 'check PLESK_LOGIN and PLESK_PASSWORD (repeated failures may lock the login)';
        return { ...base, retryable: false, fatal: { code: 'TI_PLESK_AUTH', message: `${label} for ${what}: ${check}`, details } };
      }
      case 'packet':
        return { ...base, retryable: false,
          fatal: { code: 'TI_PLESK_PACKET', message: `${label} for ${what} (packet version ${this.#opts.packetVersion ?? 'newest'})`, details } };
      case 'transient':
        return { ...base, retryable: true };
      default:
        return { ...base, retryable: false };
    }
  }

  /**
   * One try: the HTTP exchange through the queue, then the parse. Never throws for expected failures. A first
   * try whose turn comes after `stop` was aborted is not sent at all (`notSent`): the run is being stopped.
   */
  async #attempt<T>(
    what: string, packet: string, parse: (body: string) => Parsed<T>, attempt: number, onSent?: () => void, stop?: AbortSignal,
  ): Promise<{ ok: true; value: T } | { ok: false; failure: Failure; notSent?: boolean }> {
    const endpoint = this.endpoint;
    const observer = this.#opts.observer;
    const run = async (): Promise<{ ok: true; value: T } | { ok: false; failure: Failure; notSent?: boolean }> => {
      if (this.#closed) return { ok: false, failure: { message: 'client closed', retryable: false, delivered: false, code: 'TI_PLESK_TRANSPORT' } };
      // Checked when the request would start (not when it was queued): after a fatal answer nothing more goes out.
      if (this.#halted) {
        return { ok: false, failure: { message: `not sent: ${this.#halted.message}`, retryable: false, delivered: false, code: 'TI_PLESK_SYSTEM', fatal: this.#halted } };
      }
      // Nor after a stop signal (SIGTERM/SIGINT): a packet whose turn comes then is not started.
      if (attempt === 1 && stop?.aborted) {
        return { ok: false, failure: { message: 'not sent: the run is stopping', retryable: false, delivered: false, code: 'TI_PLESK_TRANSPORT' }, notSent: true };
      }
      if (attempt === 1) onSent?.();
      this.#log.debug({ endpoint, what, attempt, bytes: Buffer.byteLength(packet) }, 'packet sent');
      const started = performance.now();
      let answer;
      try {
        answer = await this.#transport.post(packet);
      } catch (err) {
        const failure = classifyTransportError(err, endpoint);
        observer?.onAttempt?.({ client: 'plesk', what, durationMs: performance.now() - started, failure: this.#scrub(failure.message) });
        return { ok: false, failure };
      }
      observer?.onAttempt?.({ client: 'plesk', what, durationMs: performance.now() - started, status: answer.statusCode });
      if (answer.statusCode < 200 || answer.statusCode > 299) {
        return { ok: false, failure: classifyHttpStatus(answer.statusCode, endpoint, answer.retryAfterMs) };
      }
      try {
        const parsed = parse(answer.body);
        if (parsed.kind === 'system') {
          const failure = this.#systemFailure(what, parsed.error);
          // Halt here, inside the queue slot: the next queued request starts the moment this one returns.
          if (failure.fatal) this.#halted ??= failure.fatal;
          return { ok: false, failure };
        }
        return { ok: true, value: parsed.value };
      } catch (err) {
        if (err instanceof PleskResponseError) {
          // Not a usable answer (a proxy's page, a truncated or garbled packet): Plesk may have run it.
          return { ok: false, failure: { message: `unusable answer: ${err.message}`, retryable: true, delivered: true, code: 'TI_PLESK_RESPONSE' } };
        }
        throw err;
      }
    };
    // Retries go before first tries so a failing packet does not wait behind the whole backlog.
    return this.#queue.add(run, { priority: attempt > 1 ? 1 : 0 });
  }

  /** Attempts with backoff (src/http's loop). `idempotent=false`: stop as soon as the packet may have been delivered. */
  async #exchange<T>(
    what: string, packet: string, parse: (body: string) => Parsed<T>, idempotent: boolean, onSent?: () => void, stop?: AbortSignal,
  ): Promise<Exchange<T>> {
    let mayHaveApplied = false;
    let notSent = false;
    const max = Math.max(1, this.#opts.retry.attempts);
    const r = await retryLoop<T, Failure>(
      async (attempt) => {
        const got = await this.#attempt(what, packet, parse, attempt, onSent, stop);
        if (got.ok) return got;
        if (got.notSent) notSent = true;
        const failure = { ...got.failure, message: this.#scrub(got.failure.message) };
        if (failure.fatal) {
          this.#halted ??= failure.fatal;
          this.#log.debug({ endpoint: this.endpoint, what, attempt, error: failure.message }, 'packet refused, stopping');
          throw this.#fatal(failure.fatal.code, failure.fatal.message, failure.fatal.details);
        }
        mayHaveApplied ||= failure.delivered;
        return { ok: false, failure };
      },
      {
        retry: this.#opts.retry,
        random: this.#random,
        // The delivery rule: a packet that may have reached Plesk is resent only when the panel replaces values.
        mayRetry: () => !this.#closed && (idempotent || !mayHaveApplied),
        onRetry: ({ attempt, failure, delayMs }) => {
          this.#log.warn({ endpoint: this.endpoint, what, attempt, of: max, error: failure.message, delayMs }, 'packet failed, retrying');
          this.#opts.observer?.onRetry?.({ client: 'plesk', what, attempt, reason: failure.message, delayMs });
        },
      },
    );
    if (r.ok) return r;
    if (notSent) return { ok: false, failure: r.failure, attempts: 0, mayHaveApplied: false, notSent };
    this.#log.warn({ endpoint: this.endpoint, what, attempt: r.attempts, error: r.failure.message, mayHaveApplied }, 'packet gave up');
    return { ok: false, failure: r.failure, attempts: r.attempts, mayHaveApplied };
  }

  async #read<T>(what: string, packet: string, parse: (body: string) => Parsed<T>): Promise<T> {
    const ex = await this.#exchange(what, packet, parse, true);
    if (ex.ok) return ex.value;
    throw this.#fatal(ex.failure.code, `${what} failed after ${ex.attempts} attempt(s): ${ex.failure.message}`, {
      endpoint: this.endpoint, ...(ex.failure.errcode !== undefined ? { errcode: ex.failure.errcode } : {}),
    });
  }

  async setTraffic(operator: Operator, nodes: SetTrafficNode[], opts: { idempotent: boolean; onSent?: () => void; stop?: AbortSignal }): Promise<PacketOutcome> {
    if (nodes.length === 0) return { kind: 'applied', results: [], attempts: 0 };
    const packet = buildSetTrafficPacket(operator, nodes, this.#opts.packetVersion);
    const what = describeNodes(operator, nodes);
    const ex = await this.#exchange(what, packet, (body) => parseSetTrafficResponse(body, operator, nodes), opts.idempotent, opts.onSent, opts.stop);
    if (!ex.ok && ex.notSent) return { kind: 'notSent', error: ex.failure.message, attempts: 0 };
    if (ex.ok) {
      const results = ex.value.map((r): NodeResult => (r.errtext === undefined ? r : { ...r, errtext: this.#scrub(r.errtext) }));
      const errors = results.filter((r) => r.status === 'error').length;
      const foreign = results.findIndex((r, i) => r.id !== undefined && r.id !== nodes[i]!.domId);
      if (foreign >= 0) {
        this.#log.warn({ what, dom_id: nodes[foreign]!.domId, id: results[foreign]!.id }, 'set_traffic result id differs from its dom_id: matched by position');
      }
      this.#log.debug({ what, attempts: ex.attempts, ok: results.length - errors, errors }, 'set_traffic answered');
      return { kind: 'applied', results, attempts: ex.attempts };
    }
    const error = `${what}: ${ex.failure.message}`;
    if (ex.mayHaveApplied) return { kind: 'uncertain', error, attempts: ex.attempts };
    return { kind: 'failed', error, attempts: ex.attempts, ...(ex.failure.errcode !== undefined ? { errcode: ex.failure.errcode } : {}) };
  }

  /**
   * Names → ids by `get` with name filters. An IDN is asked for in both forms (ASCII and Unicode) because
   * which one Plesk's name filter matches is not documented; results are matched through gen_info/ascii-name,
   * else filter-id, both canonicalized. Per-result 1013 = unknown name (absent from the map, as the WHMCS plugin
   * does, docs/reference/plesk-api-notes.md §5.2); any other per-result error is unexpected and stops the run
   * (TI_PLESK_RESPONSE): guessing would misroute traffic.
   */
  async resolveNames(operator: Operator, names: string[], onObjectError?: ObjectErrorHandler): Promise<Map<string, number>> {
    const wanted = [...new Set(names.map(canonicalDomain).filter((n) => n !== ''))];
    const resolved = new Map<string, number>();
    // Unicode forms are asked for speculatively: an error answered for one of them is not the run's problem.
    const variants = new Set<string>();
    const filters: Filter[] = chunk(wanted, NAMES_PER_FILTER).map((batch) => ({
      names: batch.flatMap((n) => {
        const unicode = n.includes('xn--') ? domainToUnicode(n) : '';
        if (!unicode || unicode === n) return [n];
        variants.add(unicode);
        return [n, unicode];
      }),
    }));
    await Promise.all(chunk(filters, FILTERS_PER_PACKET).map(async (group) => {
      const count = group.reduce((s, f) => s + ('names' in f ? f.names.length : 0), 0);
      const what = `${operator} get of ${count} name(s)`;
      const results = await this.#read(what, buildGetPacket(operator, group, this.#opts.packetVersion), (body) => parseGetResponse(body, operator));
      const asked = new Set(group.flatMap((f) => ('names' in f ? f.names.map(canonicalDomain) : [])));
      for (const r of results) this.#takeName(operator, r, asked, variants, resolved, onObjectError);
    }));
    return resolved;
  }

  #takeName(operator: Operator, r: GetResult, asked: ReadonlySet<string>, variants: ReadonlySet<string>, resolved: Map<string, number>, onObjectError?: ObjectErrorHandler): void {
    const byFilter = r.filterId !== undefined ? canonicalDomain(r.filterId) : '';
    if (r.status === 'error') {
      if (r.errcode === NOT_FOUND) return;
      if (r.filterId !== undefined && variants.has(r.filterId)) {
        this.#log.debug({ operator, filterId: r.filterId, errcode: r.errcode }, 'the Unicode form of a name was refused; its ASCII form decides');
        return;
      }
      if (onObjectError && byFilter) {
        onObjectError(byFilter, r.errcode, this.#scrub(r.errtext ?? ''));
        return;
      }
      throw this.#refused(`${operator} get for ${byFilter || 'a name'}`, r, { operator, name: byFilter, errtext: this.#scrub(r.errtext ?? '') });
    }
    if (r.id === undefined) return; // ok without an id: nothing matched (api-php-lib PR #188)
    const candidates = [r.asciiName, r.filterId, r.name].filter((s): s is string => s !== undefined).map(canonicalDomain);
    const key = candidates.find((c) => asked.has(c));
    if (key === undefined) {
      this.#log.warn({ operator, filterId: r.filterId, asciiName: r.asciiName, id: r.id }, 'get result for a name that was not asked for: ignored');
      return;
    }
    const known = resolved.get(key);
    if (known !== undefined && known !== r.id) {
      throw this.#fatal('TI_PLESK_RESPONSE', `${operator} get answered two ids for ${key}: ${known} and ${r.id}`, { operator, name: key });
    }
    resolved.set(key, r.id);
  }

  /** get_traffic for ids over [since, to], IDS_PER_FILTER ids per request. Unknown ids (1013) are absent. */
  async getTraffic(operator: Operator, ids: number[], since: string, to: string, onObjectError?: ObjectErrorHandler): Promise<Map<number, Map<string, FullTraffic>>> {
    const out = new Map<number, Map<string, FullTraffic>>();
    const unique = [...new Set(ids)];
    await Promise.all(chunk(unique, IDS_PER_FILTER).map(async (batch) => {
      const what = `${operator} get_traffic of ${batch.length} id(s) ${since}..${to}`;
      const results = await this.#read(what, buildGetTrafficPacket(operator, batch, since, to, this.#opts.packetVersion),
        (body) => parseGetTrafficResponse(body, operator));
      const asked = new Set(batch);
      for (const r of results) this.#takeTraffic(operator, r, asked, out, onObjectError);
    }));
    return out;
  }

  #takeTraffic(operator: Operator, r: TrafficResult, asked: ReadonlySet<number>, out: Map<number, Map<string, FullTraffic>>, onObjectError?: ObjectErrorHandler): void {
    const id = r.id ?? numericId(r.filterId);
    if (r.status === 'error') {
      if (r.errcode === NOT_FOUND) return;
      if (onObjectError && id !== undefined && asked.has(id)) {
        onObjectError(id, r.errcode, this.#scrub(r.errtext ?? ''));
        return;
      }
      throw this.#refused(`${operator} get_traffic for id ${id ?? '?'}`, r, { operator, id, errtext: this.#scrub(r.errtext ?? '') });
    }
    if (id === undefined || !asked.has(id)) {
      this.#log.warn({ operator, filterId: r.filterId, id: r.id }, 'get_traffic result for an id that was not asked for: ignored');
      return;
    }
    const days = out.get(id) ?? new Map<string, FullTraffic>();
    for (const [date, day] of r.traffic) days.set(date, day);
    out.set(id, days);
  }

  // ---- panel-wide reads (the `usage` command) ----

  /** `server/get` `prefs`: which directions count against traffic limits. */
  async serverPrefs(): Promise<ServerPrefs> {
    const r = await this.#read('server get prefs', buildServerGetPacket(['prefs'], this.#opts.packetVersion), parseServerGetResponse);
    if (r.status === 'error') {
      throw this.#refused('server get prefs', r);
    }
    return r.prefs ?? {};
  }

  /** Every subscription: one `get` with an empty filter and gen_info (a few hundred bytes per subscription). */
  async listSubscriptions(): Promise<SubscriptionSummary[]> {
    const results = await this.#read('webspace get of every subscription', buildWebspaceGetPacket('all', ['gen_info'], this.#opts.packetVersion),
      parseWebspaceDetailsResponse);
    const out: SubscriptionSummary[] = [];
    for (const r of results) {
      if (r.status === 'error') {
        throw this.#refused('webspace get of every subscription', r);
      }
      if (r.details?.genInfo) out.push(r.details.genInfo);
    }
    return out;
  }

  /**
   * Datasets for subscription ids: IDS_PER_FILTER ids per filter, FILTERS_PER_PACKET filters per packet, packets
   * through the shared queue (bounded concurrency). Unknown ids (1013) are absent; another per-object error goes
   * to `onObjectError` (or stops the run, TI_PLESK_RESPONSE).
   */
  async subscriptionDetails(ids: number[], datasets: readonly SubscriptionDataset[], onObjectError?: ObjectErrorHandler): Promise<Map<number, SubscriptionDetails>> {
    const out = new Map<number, SubscriptionDetails>();
    const filters: Filter[] = chunk([...new Set(ids)], IDS_PER_FILTER).map((batch) => ({ ids: batch }));
    await Promise.all(chunk(filters, FILTERS_PER_PACKET).map(async (group) => {
      const count = group.reduce((n, f) => n + ('ids' in f ? f.ids.length : 0), 0);
      const what = `webspace get ${datasets.join('+')} of ${count} id(s)`;
      const results = await this.#read(what, buildWebspaceGetPacket(group, datasets, this.#opts.packetVersion), parseWebspaceDetailsResponse);
      const asked = new Set(group.flatMap((f) => ('ids' in f ? f.ids : [])));
      for (const r of results) {
        const id = r.id ?? numericId(r.filterId);
        if (r.status === 'error') {
          if (r.errcode === NOT_FOUND) continue;
          if (onObjectError && id !== undefined && asked.has(id)) {
            onObjectError(id, r.errcode, this.#scrub(r.errtext ?? ''));
            continue;
          }
          throw this.#refused(`${what}: id ${id ?? '?'}`, r, { id });
        }
        if (!r.details || !asked.has(r.details.id)) {
          this.#log.warn({ filterId: r.filterId, id: r.id }, 'webspace get result for an id that was not asked for: ignored');
          continue;
        }
        out.set(r.details.id, r.details);
      }
    }));
    return out;
  }

  /** Service plans by GUID, many per filter. A GUID that is no service plan (1013: an add-on plan) is absent. */
  async servicePlans(guids: string[]): Promise<Map<string, PlanDetails>> {
    const out = new Map<string, PlanDetails>();
    const unique = [...new Set(guids.map((g) => g.toLowerCase()))];
    const batches = chunk(unique, IDS_PER_FILTER);
    await Promise.all(chunk(batches, FILTERS_PER_PACKET).map(async (group) => {
      const what = `service-plan get of ${group.reduce((n, b) => n + b.length, 0)} guid(s)`;
      const plans = await this.#read(what, buildServicePlanByGuidPacket(group, this.#opts.packetVersion), parseServicePlanGetResponse);
      for (const p of plans) {
        if (p.status === 'error') {
          if (p.errcode === NOT_FOUND) continue;
          throw this.#refused(what, p);
        }
        // No filter-id in service-plan results (output tree): the plan's own GUID says which one it is.
        if (p.guid === undefined) continue;
        const plan: PlanDetails = { guid: p.guid, limits: p.limits };
        if (p.id !== undefined) plan.id = p.id;
        if (p.name !== undefined) plan.name = p.name;
        if (p.externalId !== undefined) plan.externalId = p.externalId;
        if (p.overuse !== undefined) plan.overuse = p.overuse;
        out.set(p.guid.toLowerCase(), plan);
      }
    }));
    return out;
  }

  /** Add-on sites by `parent-id`, many subscriptions per filter (results carry the parent in filter-id). */
  async addonSites(subscriptionIds: number[]): Promise<Map<number, number[]>> {
    const out = new Map<number, number[]>();
    const batches = chunk([...new Set(subscriptionIds)], IDS_PER_FILTER);
    await Promise.all(chunk(batches, FILTERS_PER_PACKET).map(async (group) => {
      const what = `site get of the add-on sites of ${group.reduce((n, b) => n + b.length, 0)} subscription(s)`;
      const results = await this.#read(what, buildAddonSitesPacket(group, this.#opts.packetVersion), (body) => parseGetResponse(body, 'site'));
      for (const r of results) {
        if (r.status === 'error') {
          if (r.errcode === NOT_FOUND) continue;
          throw this.#refused(what, r);
        }
        const owner = r.webspaceId ?? numericId(r.filterId);
        if (r.id === undefined || owner === undefined || r.id === owner) continue; // nothing found, or the main site
        const list = out.get(owner) ?? [];
        if (!list.includes(r.id)) list.push(r.id);
        out.set(owner, list);
      }
    }));
    return out;
  }

  /** Site names → their subscription's id (`site/get` gen_info/webspace-id), many names per filter. */
  async siteOwners(names: string[]): Promise<Map<string, number>> {
    const wanted = [...new Set(names.map(canonicalDomain).filter((n) => n !== ''))];
    const asked = new Set(wanted);
    const out = new Map<string, number>();
    await Promise.all(chunk(chunk(wanted, NAMES_PER_FILTER).map((b): Filter => ({ names: b })), FILTERS_PER_PACKET).map(async (group) => {
      const what = `site get of ${group.reduce((n, f) => n + ('names' in f ? f.names.length : 0), 0)} name(s)`;
      const results = await this.#read(what, buildGetPacket('site', group, this.#opts.packetVersion), (body) => parseGetResponse(body, 'site'));
      for (const r of results) {
        if (r.status === 'error') {
          if (r.errcode === NOT_FOUND) continue;
          throw this.#refused(what, r);
        }
        const key = [r.asciiName, r.filterId].filter((x): x is string => x !== undefined).map(canonicalDomain).find((k) => asked.has(k));
        if (key !== undefined && r.webspaceId !== undefined) out.set(key, r.webspaceId);
      }
    }));
    return out;
  }

  /** Waits for packets in flight, then closes the connections. Retries still waiting give up. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue.onIdle();
    await this.#transport.close();
  }
}

/** A filter-id that is an object id (reads by id echo it back as text). */
function numericId(filterId: string | undefined): number | undefined {
  return filterId !== undefined && /^\d+$/.test(filterId) ? Number(filterId) : undefined;
}
