// The HTTP layer every client stands on: an undici Agent with the pipeline's timeouts, keep-alive and TLS
// trust, and the one retry loop. The WHM and OpenSRS readers use HttpClient as it is; the Plesk transport
// uses the dispatcher and the loop with its own delivery rule (src/plesk/client.ts).

import { createRequire } from 'node:module';
import type { Agent, Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { classifyStatus, classifyTransportError, printableUrl, retryAfterMs, type Failure } from './failures.js';
import { retryLoop } from './retry.js';
import type { HttpSettings } from './settings.js';

/** What the run wants to know of each exchange: for logs, run events and metrics. */
export interface HttpObserver {
  /** A failed attempt that will be retried after `delayMs`. */
  onRetry?(e: { client: string; what: string; attempt: number; reason: string; delayMs: number }): void;
  /** One attempt finished: an HTTP status, or the failure's text when none came. */
  onAttempt?(e: { client: string; what: string; durationMs: number; status?: number; failure?: string }): void;
}

/** undici, loaded on first use: a run that sends no request (an offline dry-run) starts ~0.1 s sooner. */
let undici: typeof import('undici') | undefined;
const loadUndici = (): typeof import('undici') => (undici ??= createRequire(import.meta.url)('undici') as typeof import('undici'));

/** An undici Agent with keep-alive, the settings' timeouts, and TLS verified unless explicitly turned off. */
export function createDispatcher(settings: HttpSettings, opts: { connections: number; maxResponseSize?: number }): Agent {
  const { Agent } = loadUndici();
  return new Agent({
    connections: opts.connections,
    pipelining: 1,
    connectTimeout: settings.timeouts.connectMs,
    headersTimeout: settings.timeouts.headersMs,
    bodyTimeout: settings.timeouts.bodyMs,
    ...(opts.maxResponseSize !== undefined ? { maxResponseSize: opts.maxResponseSize } : {}),
    connect: {
      ...(settings.ca !== undefined ? { ca: settings.ca } : {}),
      rejectUnauthorized: settings.insecureTls !== true,
    },
  });
}

export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Tries it took (the first included). */
  attempts: number;
}

/** No HTTP answer could be had: the failure's classification says why (TLS, refused, timeout…). */
export class HttpFailure extends Error {
  constructor(readonly failure: Failure, readonly attempts: number, readonly url: string) {
    super(`${url}: ${failure.message}${attempts > 1 ? ` (${attempts} attempts)` : ''}`);
    this.name = 'HttpFailure';
  }
}

export interface HttpClientOptions {
  /** `whm`, `opensrs`…: in logs, events and metrics. */
  name: string;
  settings: HttpSettings;
  /** Connections per origin. */
  connections: number;
  maxResponseSize?: number;
  log: Logger;
  observer?: HttpObserver;
  random?: () => number;
}

type AttemptFailure = Failure & { answer?: Omit<HttpAnswer, 'attempts'> };

/**
 * Requests that are safe to repeat (reads), with retries for transient failures. A transient status that
 * outlives the retries (a 503 to the end) comes back as the last answer, for the caller to judge; so does any
 * other status. Only a request that got no HTTP answer at all throws (HttpFailure).
 */
export class HttpClient {
  readonly name: string;
  readonly #o: HttpClientOptions;
  readonly #agent: Agent;

  constructor(o: HttpClientOptions) {
    this.name = o.name;
    this.#o = o;
    this.#agent = createDispatcher(o.settings, { connections: o.connections, ...(o.maxResponseSize !== undefined ? { maxResponseSize: o.maxResponseSize } : {}) });
  }

  get dispatcher(): Dispatcher {
    return this.#agent;
  }

  async request(
    url: string,
    init: { method: 'GET' | 'POST' | 'PUT'; headers?: Record<string, string>; body?: string; signal?: AbortSignal; what?: string },
  ): Promise<HttpAnswer> {
    const { log, observer } = this.#o;
    const client = this.name;
    const label = printableUrl(url);
    const what = init.what ?? `${init.method} ${label}`;
    const r = await retryLoop<Omit<HttpAnswer, 'attempts'>, AttemptFailure>(
      async () => {
        const started = performance.now();
        let answer: Omit<HttpAnswer, 'attempts'>;
        try {
          const res = await this.#agent.request({
            origin: new URL(url).origin,
            path: pathOf(url),
            method: init.method,
            ...(init.headers ? { headers: init.headers } : {}),
            ...(init.body !== undefined ? { body: init.body } : {}),
            ...(init.signal ? { signal: init.signal } : {}),
          });
          // Always read the body to the end: undici keeps the socket otherwise.
          answer = { statusCode: res.statusCode, headers: res.headers, body: await res.body.text() };
        } catch (err) {
          const failure = classifyTransportError(err);
          observer?.onAttempt?.({ client, what, durationMs: performance.now() - started, failure: failure.message });
          return { ok: false, failure };
        }
        const durationMs = performance.now() - started;
        log.debug({ client, status: answer.statusCode, ms: Math.round(durationMs) }, `${client} ${what}`);
        observer?.onAttempt?.({ client, what, durationMs, status: answer.statusCode });
        const failure = classifyStatus(answer.statusCode, retryAfterMs(answer.headers['retry-after']));
        if (failure?.retryable) return { ok: false, failure: { ...failure, answer } };
        return { ok: true, value: answer };
      },
      {
        retry: this.#o.settings.retry,
        ...(this.#o.random ? { random: this.#o.random } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
        onRetry: ({ attempt, failure, delayMs }) => {
          log.warn({ client, what, attempt, of: this.#o.settings.retry.attempts, error: failure.message, delayMs }, `${client} request failed, retrying`);
          observer?.onRetry?.({ client, what, attempt, reason: failure.message, delayMs });
        },
      },
    );
    if (r.ok) return { ...r.value, attempts: r.attempts };
    if (r.failure.answer) return { ...r.failure.answer, attempts: r.attempts };
    const { answer: _none, ...failure } = r.failure;
    throw new HttpFailure(failure, r.attempts, label);
  }

  async close(): Promise<void> {
    await this.#agent.close().catch(() => this.#agent.destroy());
  }
}

function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}
