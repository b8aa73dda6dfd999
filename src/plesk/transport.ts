// HTTP to agent.php over the shared HTTP layer (src/http), and what a failure on the wire means for a packet.
// Facts: docs/reference/plesk-transport.md "Transport", docs/reference/plesk-api-notes.md §1 (endpoint, port 8443, https, text/xml,
// HTTP_AUTH_LOGIN + HTTP_AUTH_PASSWD or KEY); docs/reference/library-practices.md §3.1 (always consume bodies).

import type { Agent } from 'undici';
import { TiError, type ErrorCode } from '../errors.js';
import {
  backoffDelay, classifyStatus, classifyTransportError as classify, createDispatcher, retryAfterMs, type Failure as HttpFailureInfo,
} from '../http/index.js';
import type { PleskAuth, PleskClientOptions } from './types.js';

export const AGENT_PATH = '/enterprise/control/agent.php';
/** Plesk's panel port (api-php-lib Client.php defaults; docs/reference/plesk-api-notes.md §1.1). */
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

/** Request headers: text/xml plus either the login/password pair or the secret key (docs/reference/plesk-api-notes.md §1.1). */
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

export type TransportOptions = Pick<PleskClientOptions, 'url' | 'auth' | 'concurrency' | 'timeouts' | 'retry' | 'ca' | 'insecureTls'>;

/** One keep-alive dispatcher for agent.php (src/http): `concurrency` connections at most. */
export class Transport {
  readonly endpoint: Endpoint;
  readonly #agent: Agent;
  readonly #headers: Record<string, string>;

  constructor(opts: TransportOptions) {
    this.endpoint = resolveEndpoint(opts.url);
    this.#headers = authHeaders(opts.auth);
    // Verified unless the operator opted out explicitly (the client logs a warning for it).
    this.#agent = createDispatcher(
      { timeouts: opts.timeouts, retry: opts.retry, insecureTls: opts.insecureTls === true, ...(opts.ca !== undefined ? { ca: opts.ca } : {}) },
      { connections: opts.concurrency },
    );
  }

  /** POSTs one packet; resolves with whatever HTTP answer came back, rejects with undici's/net's error. */
  async post(packet: string): Promise<HttpAnswer> {
    const res = await this.#agent.request({
      origin: this.endpoint.origin,
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
    const after = retryAfterMs(res.headers['retry-after']);
    if (after !== undefined) answer.retryAfterMs = after;
    return answer;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** What a failed exchange means for the packet: the shared classification (src/http) plus what the run does. */
export interface Failure extends HttpFailureInfo {
  /** The error code the run would stop with if this were the last word. */
  code: 'TI_PLESK_TRANSPORT' | 'TI_PLESK_RESPONSE' | 'TI_PLESK_SYSTEM';
  errcode?: number;
  /** Retrying is pointless and so is going on: the run stops with this error (the client builds the TiError). */
  fatal?: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** A thrown transport error (undici or net) → what it means for the packet. */
export function classifyTransportError(err: unknown, endpoint: string): Failure {
  const f: Failure = { ...classify(err), code: 'TI_PLESK_TRANSPORT' };
  if (f.tls) {
    const hint = f.errno === 'ERR_SSL_WRONG_VERSION_NUMBER' || f.errno === 'EPROTO'
      ? 'does the panel speak https on this port?'
      : 'set target.ca to the PEM of the CA that signed the panel certificate (or, knowingly, target.insecureTls)';
    f.fatal = { code: 'TI_TLS', message: `TLS with ${endpoint} failed (${f.message}): ${hint}`, details: { endpoint, tlsCode: f.errno } };
  } else if (f.errno === 'UND_ERR_INVALID_ARG') {
    const text = err instanceof Error ? err.message : String(err);
    f.fatal = { code: 'TI_CONFIG', message: `the request to ${endpoint} cannot be sent (${text}): check the credentials' characters` };
  }
  return f;
}

/** A non-2xx HTTP status → what it means (Plesk itself answers 200 even for errors; docs/reference/plesk-api-notes.md §2.1). */
export function classifyHttpStatus(status: number, endpoint: string, retryAfterMs?: number): Failure {
  const f: Failure = { ...classifyStatus(status, retryAfterMs)!, code: 'TI_PLESK_TRANSPORT' };
  if (f.retryable) return f;
  const hint = status === 404 ? 'is the URL the panel (port 8443) and not a site?'
    : status >= 300 && status < 400 ? 'the URL redirects: give the final https URL of the panel'
    : status === 401 || status === 403 ? 'something in front of Plesk refused the request (Plesk itself answers 200)'
    : 'check the URL';
  f.fatal = { code: 'TI_PLESK_TRANSPORT', message: `${endpoint} answered HTTP ${status}: ${hint}`, details: { endpoint, status } };
  return f;
}

export { backoffDelay };
