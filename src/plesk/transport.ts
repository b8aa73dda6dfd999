// HTTP to agent.php: one undici Pool per panel, and the classification of what went wrong on the wire.
// Facts: plesk-transport.md "Transport", plesk-api-notes.md §1 (endpoint, port 8443, https, text/xml,
// HTTP_AUTH_LOGIN + HTTP_AUTH_PASSWD or KEY); library-practices.md §3.1 (Pool options, always consume bodies).

import { Pool } from 'undici';
import { TiError, type ErrorCode } from '../errors.js';
import type { PleskAuth, PleskClientOptions } from './types.js';

export const AGENT_PATH = '/enterprise/control/agent.php';
/** Plesk's panel port (api-php-lib Client.php defaults; plesk-api-notes.md §1.1). */
export const DEFAULT_PORT = '8443';

/** Where packets go: origin for the Pool, path for the request, and a label safe to log. */
export interface Endpoint {
  origin: string;
  path: string;
  /** origin + path, without credentials. */
  label: string;
}

/**
 * `https://host` → `https://host:8443/enterprise/control/agent.php`. https is the default scheme, 8443 the
 * default port (also for an explicit `http://` without a port, as the official client does); a URL already
 * ending in agent.php is kept; any other path is a prefix (a panel behind a reverse proxy).
 */
export function resolveEndpoint(raw: string): Endpoint {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new TiError('TI_CONFIG', 'the Plesk URL is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TiError('TI_CONFIG', `the Plesk URL must be http(s), not ${url.protocol}`);
  }
  if (url.username || url.password) {
    // Never echo the URL here: it holds a secret.
    throw new TiError('TI_CONFIG', 'the Plesk URL must not contain credentials: use PLESK_LOGIN/PLESK_PASSWORD or PLESK_SECRET_KEY');
  }
  // URL drops a port equal to the scheme's default (https://h:443 → port ''), so look at the text for one.
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(withScheme)![1]!;
  const explicitPort = /:\d+$/.test(authority);
  if (!explicitPort) url.port = DEFAULT_PORT;
  let path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/agent.php')) path += AGENT_PATH;
  return { origin: url.origin, path, label: `${url.origin}${path}` };
}

/** Latin-1 rendering of UTF-8 bytes: header values travel as bytes, and Plesk reads them as UTF-8. */
function headerValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x7e]*$/.test(value) ? value : Buffer.from(value, 'utf8').toString('latin1');
}

/** Request headers: text/xml plus either the login/password pair or the secret key (plesk-api-notes.md §1.1). */
export function authHeaders(auth: PleskAuth): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'text/xml; charset=UTF-8' };
  if ('secretKey' in auth) headers.KEY = headerValue(auth.secretKey);
  else {
    headers.HTTP_AUTH_LOGIN = headerValue(auth.login);
    headers.HTTP_AUTH_PASSWD = headerValue(auth.password);
  }
  return headers;
}

export interface HttpAnswer {
  statusCode: number;
  body: string;
  /** From a Retry-After header (429/503), when it has one. */
  retryAfterMs?: number;
}

function retryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export type TransportOptions = Pick<PleskClientOptions, 'url' | 'auth' | 'concurrency' | 'timeouts' | 'ca' | 'insecureTls'>;

/** One keep-alive connection pool to agent.php; `concurrency` connections at most. */
export class Transport {
  readonly endpoint: Endpoint;
  readonly #pool: Pool;
  readonly #headers: Record<string, string>;

  constructor(opts: TransportOptions) {
    this.endpoint = resolveEndpoint(opts.url);
    this.#headers = authHeaders(opts.auth);
    this.#pool = new Pool(this.endpoint.origin, {
      connections: opts.concurrency,
      pipelining: 1,
      connectTimeout: opts.timeouts.connectMs,
      headersTimeout: opts.timeouts.headersMs,
      bodyTimeout: opts.timeouts.bodyMs,
      connect: {
        ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
        // Verified unless the operator opted out explicitly (the flow logs a warning for it).
        rejectUnauthorized: opts.insecureTls !== true,
      },
    });
  }

  /** POSTs one packet; resolves with whatever HTTP answer came back, rejects with undici's/net's error. */
  async post(packet: string): Promise<HttpAnswer> {
    const res = await this.#pool.request({
      path: this.endpoint.path,
      method: 'POST',
      headers: this.#headers,
      body: packet,
    });
    let body: string;
    try {
      body = await res.body.text();
    } catch (err) {
      // The body stream has failed; make sure the socket is released before reporting.
      await res.body.dump().catch(() => undefined);
      throw err;
    }
    const answer: HttpAnswer = { statusCode: res.statusCode, body };
    const after = retryAfter(res.headers['retry-after']);
    if (after !== undefined) answer.retryAfterMs = after;
    return answer;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/** What a failed exchange means for the packet. */
export interface Failure {
  /** Short reason, safe to log (never a secret). */
  message: string;
  /** Another try may succeed. */
  retryable: boolean;
  /** The packet may have reached Plesk (and been applied): a non-idempotent packet must not be resent. */
  delivered: boolean;
  /** The error code the run would stop with if this were the last word. */
  code: 'TI_PLESK_TRANSPORT' | 'TI_PLESK_RESPONSE' | 'TI_PLESK_SYSTEM';
  errcode?: number;
  retryAfterMs?: number;
  /** Retrying is pointless and so is going on: the run stops with this error (the client builds the TiError). */
  fatal?: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

// Errors raised before a byte of the request could have reached the server (connection never established).
const NOT_DELIVERED = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
]);
// Errors after the connection was up: the request may have been written and processed.
const MAYBE_DELIVERED = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_ABORTED',
]);
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL|EPROTO/;

function errCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  // undici wraps some socket errors; the root cause has the errno code.
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause && cause !== err ? errCode(cause) : undefined;
}

/** A thrown transport error (undici or net) → what it means for the packet. */
export function classifyTransportError(err: unknown, endpoint: string): Failure {
  const code = errCode(err);
  const text = err instanceof Error ? err.message : String(err);
  const message = `${code ?? 'error'}: ${text}`;
  if (code && TLS_CODE.test(code)) {
    const hint = code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO'
      ? 'does the panel speak https on this port?'
      : 'set target.ca to the PEM of the CA that signed the panel certificate (or, knowingly, target.insecureTls)';
    return {
      message, retryable: false, delivered: false, code: 'TI_PLESK_TRANSPORT',
      fatal: { code: 'TI_TLS', message: `TLS with ${endpoint} failed (${message}): ${hint}`, details: { endpoint, tlsCode: code } },
    };
  }
  if (code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') {
    return { message, retryable: false, delivered: false, code: 'TI_PLESK_TRANSPORT' };
  }
  if (code === 'UND_ERR_INVALID_ARG') {
    return {
      message, retryable: false, delivered: false, code: 'TI_PLESK_TRANSPORT',
      fatal: { code: 'TI_CONFIG', message: `the request to ${endpoint} cannot be sent (${text}): check the credentials' characters` },
    };
  }
  if (code && NOT_DELIVERED.has(code)) return { message, retryable: true, delivered: false, code: 'TI_PLESK_TRANSPORT' };
  if (code && MAYBE_DELIVERED.has(code)) return { message, retryable: true, delivered: true, code: 'TI_PLESK_TRANSPORT' };
  // HTTP parser errors (HPE_*) and anything unknown: the request may have gone out.
  return { message, retryable: true, delivered: true, code: 'TI_PLESK_TRANSPORT' };
}

/** A non-2xx HTTP status → what it means (Plesk itself answers 200 even for errors; plesk-api-notes.md §2.1). */
export function classifyHttpStatus(status: number, endpoint: string, retryAfterMs?: number): Failure {
  const message = `HTTP ${status}`;
  const base = retryAfterMs !== undefined ? { retryAfterMs } : {};
  // 429 Too Many Requests and 408 Request Timeout: the server refused or never read the request.
  if (status === 429 || status === 408) return { ...base, message, retryable: true, delivered: false, code: 'TI_PLESK_TRANSPORT' };
  // 5xx: the panel's front end (sw-cp-server) may have passed the packet on before failing.
  if (status >= 500) return { ...base, message, retryable: true, delivered: true, code: 'TI_PLESK_TRANSPORT' };
  const hint = status === 404 ? 'is the URL the panel (port 8443) and not a site?'
    : status >= 300 && status < 400 ? 'the URL redirects: give the final https URL of the panel'
    : status === 401 || status === 403 ? 'something in front of Plesk refused the request (Plesk itself answers 200)'
    : 'check the URL';
  return {
    message, retryable: false, delivered: false, code: 'TI_PLESK_TRANSPORT',
    fatal: { code: 'TI_PLESK_TRANSPORT', message: `${endpoint} answered HTTP ${status}: ${hint}`, details: { endpoint, status } },
  };
}

/**
 * Delay before attempt `attempt + 1`: exponential from minDelayMs, capped at maxDelayMs, with "equal jitter"
 * (half fixed, half random) so parallel packets do not retry in lockstep; a Retry-After is honoured up to the cap.
 */
export function backoffDelay(
  attempt: number,
  retry: { minDelayMs: number; maxDelayMs: number },
  random: () => number,
  retryAfterMs?: number,
): number {
  const exp = Math.min(retry.maxDelayMs, retry.minDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  const wanted = retryAfterMs !== undefined ? Math.max(jittered, retryAfterMs) : jittered;
  return Math.round(Math.min(wanted, retry.maxDelayMs));
}
