// A small OpenSRS Mail API (OMA) server for tests and the demo: `POST <url>/stats_summary` only.
// It answers the way the OMA docs describe (docs/reference/mail-sources.md §1): HTTP 200 with `success`/`error`/`error_number`
// in the body, 400 for a body that is not JSON, 404 for any other method; the summary has the full shape of
// seed 002 (messages, services, deleted_users, users, logins, storage per YYYYMMDD day).
// Loopback only (127.0.0.1, port 0). Not a security boundary: credentials are compared in plain text.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A counter as the mock writes it: bigint/number → JSON number (exact), string → JSON string, null → null. */
export type MockCounter = number | bigint | string | null;

export interface OpensrsMockDay {
  in_size?: MockCounter;
  out_size?: MockCounter;
}

export interface OpensrsMockOptions {
  user: string;
  password: string;
  /** A session token accepted in place of the password (credentials.token, §1.2). */
  token?: string;
  /** Known domains → day key (`YYYYMMDD`, written as given) → counters, or a raw JSON text for the whole day. */
  domains: Record<string, Record<string, OpensrsMockDay | string>>;
  /** Answer these domains with the seed's kind of broken JSON: a day object's closing `}` and `,` are missing. */
  malformedFor?: string[];
  /** Write every number of the summary as a numeric string (as OMA does for `type: user`, seed 002 example 2). */
  numbersAsStrings?: boolean;
  /** Answer these domains with `""` for every `messages` field (seed 002 example 2: none). */
  emptyStringsFor?: string[];
  /** Answer these domains with this exact body (HTTP 200), e.g. the seed's own sample text. */
  rawBodyFor?: Record<string, string>;
  /** Answer these domains with `success: false` and this error (e.g. 3 "This object is an alias."). */
  errorFor?: Record<string, { error_number: number; error: string }>;
  /** Answer the first N requests with HTTP 503. */
  failFirst?: number;
  /** Leave the first N requests without an answer (until the client gives up or the mock closes). */
  hangFirst?: number;
  /** Never answer requests for these domains (a domain whose stats never come back). */
  hangFor?: string[];
  /** Answer requests for these domains with this HTTP status every time (e.g. 502). */
  statusFor?: Record<string, number>;
  /** Delay every answer by this many ms. */
  delayMs?: number;
}

export interface OpensrsMock {
  /** Base URI, like `https://admin.test.hostedemail.com/api`. */
  url: string;
  /** Requests received (any method, any path, failed or not). */
  readonly requests: number;
  /** Request bodies received, parsed (the raw text when not JSON), in arrival order. */
  bodies: unknown[];
  /** Response bodies sent with HTTP 200, in order, with the domain asked for. */
  responses: { domain: string; body: string }[];
  /** Most requests that were being answered at the same time. */
  readonly maxInFlight: number;
  close(): Promise<void>;
}

// Error texts of the OMA docs (https://email.opensrs.guide/docs/errors, docs/reference/mail-sources.md §1.5).
const ERR_CREDENTIALS = 'Invalid credentials supplied in request.';
const ERR_NO_OBJECT = 'The requested object does not exist.';
const ERR_FORMAT = 'Request badly formatted (missing required field, or field is not the correct data type).';
const ERR_ATTRIBUTES = 'One or more attributes badly formatted.';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The summary JSON of one domain, indented like the seed's sample (so line:column positions mean something). */
export function renderSummary(
  days: Record<string, OpensrsMockDay | string>,
  opts: { numbersAsStrings?: boolean; emptyStrings?: boolean; malformed?: boolean } = {},
): string {
  const num = (v: MockCounter | undefined): string => {
    if (opts.emptyStrings) return '""';
    if (v === undefined || v === null) return 'null';
    if (typeof v === 'string') return JSON.stringify(v);
    return opts.numbersAsStrings ? JSON.stringify(String(v)) : String(v);
  };
  const group = (name: string, fields: [string, MockCounter | undefined][], indent: string): string =>
    `${indent}"${name}": {\n${fields.map(([k, v]) => `${indent}  "${k}": ${num(v)}`).join(',\n')}\n${indent}}`;

  const keys = Object.keys(days);
  const parts = keys.map((key, idx) => {
    const day = days[key] as OpensrsMockDay | string;
    const ind = '      ';
    let value: string;
    if (typeof day === 'string') {
      value = day;
    } else {
      const messages: [string, MockCounter | undefined][] = [
        ['autorespond_count', 0],
        ['in_size', day.in_size],
        ['out_msg_count', 3],
        ['in_spam', 1],
        ['out_size', day.out_size],
        ['forward_count', 0],
        ['in_ham', 5],
        ['out_rcpt_count', 4],
        ['denied', 0],
      ];
      // Seed 002 omits a key only by mistake; the mock omits in_size/out_size when the day leaves them undefined.
      const present = messages.filter(([k, v]) => !(v === undefined && (k === 'in_size' || k === 'out_size')));
      const groups = [
        group('messages', present, ind),
        group('services', [['smtprelay', 10], ['smtpin', 10], ['imap4', 10], ['pop3', 10], ['webmail', 10]], ind),
        group('deleted_users', [['storage_items_stored', 0], ['storage_current_size', 0]], ind),
        group('users', [['filter', 0], ['forward', 2], ['deleted', 1], ['mailbox', 7], ['alias', 1]], ind),
        group('logins', [['imap4', 0], ['pop3', 0], ['webmail', 0]], ind),
        group('storage', [['items_stored', 6], ['current_size', 141653]], ind),
      ];
      // The seed's sample (day 20111215) lacks the `}` and `,` that end a day before the next key.
      const broken = opts.malformed && idx === 0 && keys.length > 1;
      value = `{\n${groups.join(',\n')}${broken ? '' : '\n    }'}`;
      if (broken) return `    "${key}": ${value}\n`;
    }
    return `    "${key}": ${value}${idx < keys.length - 1 ? ',\n' : '\n'}`;
  });
  const broken1 = opts.malformed && keys.length <= 1; // one day: drop the summary's closing brace instead
  return `{\n  "success": true,\n  "summary": {\n${parts.join('')}${broken1 ? '' : '  }\n'}}\n`;
}

export async function startOpensrsMock(opts: OpensrsMockOptions): Promise<OpensrsMock> {
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const bodies: unknown[] = [];
  const responses: { domain: string; body: string }[] = [];
  const hanging = new Set<ServerResponse>();

  const send = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const omaError = (error_number: number, error: string): string =>
    JSON.stringify({ success: false, error, error_number });

  const answer = (req: IncomingMessage, res: ServerResponse, raw: string, n: number): void => {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      bodies.push(raw);
      return send(res, 400, omaError(5, ERR_FORMAT)); // 400 = badly formatted JSON (§1.1)
    }
    bodies.push(body);
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== '/api/stats_summary') {
      return send(res, 404, JSON.stringify({ success: false, error: 'Non-existent method requested.' }));
    }
    if (n <= (opts.failFirst ?? 0)) return send(res, 503, '<html><body>503 Service Unavailable</body></html>');
    if (!isObject(body)) return send(res, 400, omaError(5, ERR_FORMAT));

    const c = isObject(body.credentials) ? body.credentials : {};
    const authOk =
      c.user === opts.user &&
      ((c.password !== undefined && c.password === opts.password) ||
        (opts.token !== undefined && c.token !== undefined && c.token === opts.token));
    if (!authOk) return send(res, 200, omaError(1, ERR_CREDENTIALS));
    if (body.type !== 'domain' || typeof body.object !== 'string') return send(res, 200, omaError(5, ERR_FORMAT));
    if (body.by !== undefined && body.by !== 'day') return send(res, 200, omaError(6, ERR_ATTRIBUTES));

    const domain = body.object;
    if (opts.hangFor?.includes(domain)) {
      hanging.add(res);
      return;
    }
    const status = opts.statusFor?.[domain];
    if (status !== undefined) return send(res, status, '<html><body>Bad Gateway</body></html>');
    const err = opts.errorFor?.[domain];
    if (err) return send(res, 200, omaError(err.error_number, err.error));
    const raw200 = opts.rawBodyFor?.[domain];
    const days = opts.domains[domain];
    if (raw200 === undefined && days === undefined) return send(res, 200, omaError(2, ERR_NO_OBJECT));
    const text =
      raw200 ??
      renderSummary(days as Record<string, OpensrsMockDay | string>, {
        numbersAsStrings: opts.numbersAsStrings,
        emptyStrings: opts.emptyStringsFor?.includes(domain),
        malformed: opts.malformedFor?.includes(domain),
      });
    responses.push({ domain, body: text });
    send(res, 200, text);
  };

  const server = createServer((req, res) => {
    const n = ++requests;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => {
      inFlight--;
      hanging.delete(res);
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (n <= (opts.hangFirst ?? 0)) {
        hanging.add(res);
        bodies.push(safeParse(raw));
        return;
      }
      const go = (): void => answer(req, res, raw, n - (opts.hangFirst ?? 0));
      if (opts.delayMs) setTimeout(go, opts.delayMs);
      else go();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/api`,
    get requests() {
      return requests;
    },
    bodies,
    responses,
    get maxInFlight() {
      return maxInFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function safeParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
