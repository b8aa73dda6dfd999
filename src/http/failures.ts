// One classification of what goes wrong on the wire, for every client (Plesk, WHM, OpenSRS): which failures
// can pass on a second try (transient), which cannot (permanent), and whether the request may have reached the
// server (which matters to a client whose requests are not safe to repeat: the Plesk transport).

/** What a failed exchange means. */
export interface Failure {
  /** Short reason, safe to log: an error code and text, or the HTTP status. Never a secret. */
  message: string;
  /** Another try may succeed. */
  retryable: boolean;
  /** The request may have reached the server (and been acted on). */
  delivered: boolean;
  /** The errno or undici code, when the failure was thrown. */
  errno?: string;
  /** The HTTP status, when the server answered. */
  status?: number;
  /** From a Retry-After header (429/503), when it has one. */
  retryAfterMs?: number;
  /** The TLS handshake failed (certificate, protocol): never transient, always the whole endpoint's problem. */
  tls?: boolean;
}

// Raised before a byte of the request could have reached the server (the connection was never established).
const NOT_DELIVERED = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
]);
// Raised after the connection was up: the request may have been written and processed.
const MAYBE_DELIVERED = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_ABORTED',
]);
// Our own side is done (the client was closed or destroyed), or the request can never be sent as built, or the
// answer is larger than any sane one: another try cannot help.
const PERMANENT = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_INVALID_ARG', 'UND_ERR_RES_EXCEEDED_MAX_SIZE']);
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL|EPROTO/;

/** The errno/undici code of a thrown error; undici wraps some socket errors, the root cause has the code. */
export function errorCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause && cause !== err ? errorCodeOf(cause) : undefined;
}

/** A thrown transport error (undici or net) → what it means. */
export function classifyTransportError(err: unknown): Failure {
  const errno = errorCodeOf(err);
  const text = err instanceof Error ? err.message : String(err);
  const message = `${errno ?? 'error'}: ${text}`;
  const base = errno !== undefined ? { message, errno } : { message };
  if (errno !== undefined && TLS_CODE.test(errno)) return { ...base, retryable: false, delivered: false, tls: true };
  if (errno !== undefined && PERMANENT.has(errno)) return { ...base, retryable: false, delivered: false };
  if (errno !== undefined && NOT_DELIVERED.has(errno)) return { ...base, retryable: true, delivered: false };
  if (errno !== undefined && MAYBE_DELIVERED.has(errno)) return { ...base, retryable: true, delivered: true };
  // HTTP parser errors (HPE_*) and anything unknown: the request may have gone out, and may pass next time.
  return { ...base, retryable: true, delivered: true };
}

/** An HTTP status → what it means; undefined for 2xx. */
export function classifyStatus(status: number, retryAfterMs?: number): Failure | undefined {
  if (status >= 200 && status <= 299) return undefined;
  const base = { message: `HTTP ${status}`, status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  // 429 Too Many Requests and 408 Request Timeout: the server refused or never read the request.
  if (status === 429 || status === 408) return { ...base, retryable: true, delivered: false };
  // 5xx: a front end may have passed the request on before failing.
  if (status >= 500) return { ...base, retryable: true, delivered: true };
  return { ...base, retryable: false, delivered: false };
}

/** Retry-After (delta seconds or an HTTP date) in ms, or undefined. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Does this URL carry user-info (`user:password@host`)? Such a URL is refused wherever it comes from — pipeline
 * key or environment — before anything logs it (issue 9 §2). Read from the text, so a URL that `new URL` would
 * reject for another reason cannot slip a password through.
 */
export function hasUserinfo(raw: string): boolean {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(raw.trim())?.[1];
  return authority !== undefined && authority.includes('@');
}

/** The configuration error for a URL with user-info: names the key, never the value. */
export function userinfoProblem(key: string, credentials: string): string {
  return `${key} must not hold credentials (user:password@host): put them in ${credentials}`;
}

/** `https://user:pw@host/x` → `https://host/x`: a URL fit for logs, errors and reports. */
export function printableUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, raw.endsWith('/') ? '/' : '');
  } catch {
    return '(invalid URL)';
  }
}
