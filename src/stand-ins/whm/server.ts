// A small WHM JSON-API server for tests and the demo: WHM API 1 `listaccts` and `uapi_cpanel` →
// UAPI `Bandwidth::query`, answering in the shapes of docs/reference/cpanel-bandwidth.md §3–4 and §7:
//   {"metadata":{"command":"uapi_cpanel","reason":"OK","result":1,"version":1},
//    "data":{"uapi":{"status":1,"errors":null,"messages":null,"warnings":null,"metadata":{},
//                    "data":{"<day-start epoch>":{"smtp":…,"pop3":…,"imap":…}}}}}
// A wrong token gets what WHM sends: HTTP 403 "Forbidden Access denied" with the API 0 style body
// {"cpanelresult":{"apiversion":"2","error":"Access denied","data":{"reason":"Access denied","result":"0"},"type":"text"}}
// (401 when no Authorization header is sent at all).
//
// Data model: each account has daily totals per protocol, keyed by days of the mock server's zone
// (`timezone`, default UTC). Daily rows start at its local midnights; hourly rows split each day
// into 24 equal hours (midnight + h·3600, so days with a DST change are approximate). Queries
// filter rows by start ≤ unixtime ≤ end (inclusive) and group them by the days of the request's
// `timezone` parameter, as SQLite strftime(…,'localtime') does in CP:Cpanel/BandwidthDB/Read.pm.

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dayOf, isValidTimeZone } from '../../dates.js';
import { midnightOf } from '../../readers/cpanel/tally.js';
import type { CpanelSampleAccount, CpanelProtocol } from '../cpanel-samples/samples.js';

export type WhmMockAccount = CpanelSampleAccount;

export interface WhmMockOptions {
  accounts: readonly WhmMockAccount[];
  token: string;
  /** WHM user the token belongs to (default root). */
  user?: string;
  /** Accounts whose Bandwidth::query fails inside UAPI (status 0 with an error text). */
  failUsers?: string[];
  /** Leaves as JSON strings, and hourly values as fractions (v/24) instead of whole-byte splits. */
  stringsAndFractions?: boolean;
  /** Zone of the mock server (its days and midnights); default UTC. */
  timezone?: string;
  /** The first N requests answer HTTP 503 (to exercise retries). */
  transientFailures?: number;
  /** uapi_cpanel for these users answers this HTTP status (e.g. 500) every time. */
  httpErrors?: Record<string, number>;
  /** Bandwidth::query of these users is never answered (an account whose query hangs). */
  hangUsers?: string[];
  /** Bandwidth::query of these users answers this body as it is (HTTP 200), e.g. something that is not JSON. */
  rawBodyFor?: Record<string, string>;
  /** `data.uapi.data` of Bandwidth::query for these users, sent as given (odd values: strings past xs:long, …). */
  dataFor?: Record<string, unknown>;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface WhmMockRequest {
  /** WHM function (`listaccts`, `uapi_cpanel`, …). */
  fn: string;
  params: Record<string, string>;
  authorized: boolean;
  status: number;
}

export interface WhmMock {
  url: string;
  requests: WhmMockRequest[];
  close(): Promise<void>;
}

const PROTOCOLS: readonly CpanelProtocol[] = ['http', 'ftp', 'imap', 'pop3', 'smtp'];

/** The error text cPanel gives when a user's bandwidth database cannot be read. */
export function whmMockFailText(user: string): string {
  return `The system failed to open the bandwidth database for “${user}” because of an error: database disk image is malformed`;
}

export async function startWhmMock(opts: WhmMockOptions): Promise<WhmMock> {
  const serverZone = opts.timezone ?? 'UTC';
  const whmUser = opts.user ?? 'root';
  const fail = new Set(opts.failUsers ?? []);
  const accounts = new Map(opts.accounts.map((a) => [a.user, a]));
  const requests: WhmMockRequest[] = [];
  const hanging = new Set<ServerResponse>();
  let transient = opts.transientFailures ?? 0;

  const send = (res: ServerResponse, status: number, body: unknown, statusMessage?: string) => {
    const text = JSON.stringify(body);
    res.writeHead(status, statusMessage ?? '', { 'content-type': 'application/json; charset="utf-8"', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const meta = (command: string, result: 0 | 1, reason: string) => ({ command, reason, result, version: 1 });
  const uapi = (data: unknown, errors: string[] | null = null) => ({
    status: errors ? 0 : 1, errors, messages: null, warnings: null, metadata: errors ? {} : { transformed: 1 }, data,
  });

  function rows(account: WhmMockAccount, interval: string): { protocol: string; unixtime: number; bytes: number }[] {
    const out: { protocol: string; unixtime: number; bytes: number }[] = [];
    for (const [day, values] of Object.entries(account.days)) {
      const midnight = midnightOf(day, serverZone);
      for (const protocol of PROTOCOLS) {
        const v = values[protocol];
        if (!v) continue;
        if (interval === 'daily') out.push({ protocol, unixtime: midnight, bytes: v });
        else {
          const whole = Number.isInteger(v) && !opts.stringsAndFractions;
          const part = whole ? Math.floor(v / 24) : v / 24;
          for (let h = 0; h < 24; h++) {
            const bytes = whole && h === 23 ? v - 23 * part : part;
            if (bytes > 0) out.push({ protocol, unixtime: midnight + h * 3600, bytes });
          }
        }
      }
    }
    return out;
  }

  function bandwidthQuery(account: WhmMockAccount, p: Record<string, string>): ReturnType<typeof uapi> {
    const grouping = (p.grouping ?? '').split('|');
    if (grouping.length !== 2 || grouping[0] !== 'year_month_day' || grouping[1] !== 'protocol') {
      return uapi(null, [`This mock only groups by “year_month_day|protocol”, not “${p.grouping ?? ''}”.`]);
    }
    const interval = p.interval ?? 'daily';
    if (interval !== 'daily' && interval !== 'hourly') {
      return uapi(null, [`“${interval}” is not a valid interval for this interface. This value should be one of the following: daily, hourly`]);
    }
    const zone = p.timezone ?? serverZone;
    if (!isValidTimeZone(zone)) return uapi(null, [`“${zone}” is not a valid timezone.`]);
    const protocols = p.protocols ? new Set(p.protocols.split('|')) : undefined;
    const start = p.start ? Number(p.start) : -Infinity;
    const end = p.end ? Number(p.end) : Infinity;
    const data: Record<string, Record<string, number | string>> = {};
    for (const r of rows(account, interval)) {
      if (protocols && !protocols.has(r.protocol)) continue;
      if (r.unixtime < start || r.unixtime > end) continue;
      const key = String(midnightOf(dayOf(r.unixtime * 1000, zone), zone));
      const day = (data[key] ??= {});
      day[r.protocol] = Number(day[r.protocol] ?? 0) + r.bytes;
    }
    if (opts.stringsAndFractions) {
      for (const day of Object.values(data)) for (const k of Object.keys(day)) day[k] = String(day[k]);
    }
    return uapi(data);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://whm.invalid');
    const fn = url.pathname.replace(/^.*\/json-api\//, '');
    const params = Object.fromEntries(url.searchParams);
    const auth = /^whm\s+([^:\s]+):(\S+)$/i.exec(req.headers.authorization ?? '');
    const authorized = !!auth && auth[1] === whmUser && auth[2] === opts.token;
    const record = (status: number) => requests.push({ fn, params, authorized, status });

    if (!authorized) {
      const status = req.headers.authorization ? 403 : 401;
      record(status);
      return send(res, status, { cpanelresult: { apiversion: '2', error: 'Access denied', data: { reason: 'Access denied', result: '0' }, type: 'text' } }, status === 403 ? 'Forbidden Access denied' : 'Access denied');
    }
    if (transient > 0) {
      transient--;
      record(503);
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' });
      return void res.end('Service Unavailable');
    }
    record(200);
    if (!url.pathname.includes('/json-api/')) {
      return send(res, 404, { metadata: meta(fn, 0, 'Not Found') });
    }
    if (fn === 'listaccts') {
      const acct = [...accounts.values()].map((a, i) => ({
        user: a.user, domain: a.domain, owner: 'root', email: `${a.user}@${a.domain}`, plan: 'default',
        ip: '192.0.2.10', partition: 'home', theme: 'jupiter', suspended: 0, is_locked: 0, backup: 1,
        disklimit: 'unlimited', diskused: '12M', maxpop: 'unlimited', uid: 1001 + i,
        startdate: '26 Jan 01 00:00', unix_startdate: 1767225600,
      }));
      return send(res, 200, { metadata: meta('listaccts', 1, 'OK'), data: { acct } });
    }
    if (fn === 'uapi_cpanel') {
      const user = params['cpanel.user'] ?? '';
      const httpError = opts.httpErrors?.[user];
      if (httpError) {
        requests[requests.length - 1]!.status = httpError;
        res.writeHead(httpError, { 'content-type': 'text/html' });
        return void res.end('<html><body>Internal Server Error</body></html>');
      }
      if (opts.hangUsers?.includes(user)) {
        hanging.add(res);
        return;
      }
      const raw = opts.rawBodyFor?.[user];
      if (raw !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(raw);
      }
      const account = accounts.get(user);
      if (!account) return send(res, 200, { metadata: meta('uapi_cpanel', 0, `User parameter is invalid or was not supplied: “${user}” does not exist.`) });
      if (params['cpanel.module'] !== 'Bandwidth' || params['cpanel.function'] !== 'query') {
        return send(res, 200, { metadata: meta('uapi_cpanel', 1, 'OK'), data: { uapi: uapi(null, [`The mock has no “${params['cpanel.module']}::${params['cpanel.function']}”.`]) } });
      }
      const given = opts.dataFor?.[user];
      const answer = fail.has(user) ? uapi(null, [whmMockFailText(user)]) : given !== undefined ? uapi(given) : bandwidthQuery(account, params);
      return send(res, 200, { metadata: meta('uapi_cpanel', 1, 'OK'), data: { uapi: answer } });
    }
    return send(res, 200, { metadata: meta(fn, 0, `Unknown app (“${fn}”) requested for this version (1) of the API.`) });
  }

  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handle) : createHttpServer(handle);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolveClose) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections?.();
        server.close(() => resolveClose());
      }),
  };
}
