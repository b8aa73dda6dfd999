// `from: "api"`: live WHM. Accounts from WHM API 1 `listaccts` (or `accounts` in the config); per
// account WHM API 1 `uapi_cpanel` → UAPI `Bandwidth::query` with
// grouping=year_month_day|protocol, protocols=smtp|pop3|imap, interval=daily (or hourly), start/end
// (docs/reference/cpanel-bandwidth.md §4.1, §7, §9). The answer is `data.uapi.data` = { "<day-start epoch>":
// { smtp?, pop3?, imap? } }; values can be fractional or strings.
//
// - `timezone` is sent with the query so the day keys are midnights of that zone: the server's zone
//   for daily rows; with interval=hourly cPanel groups the hourly rows into days of that zone.
// - WHM sets metadata.result OK even when the inner UAPI call failed: `data.uapi.status` is checked
//   (§7). A failed account is rejected by name with cPanel's error text; the others go on.
// - Authorization: `whm USER:TOKEN` (§7); the token comes from env and never reaches logs or errors.
// - Low concurrency (p-queue); retries for transient failures through the shared HTTP layer (src/http).

import { resolve } from 'node:path';
import PQueue from 'p-queue';
import { secretFromEnv } from '../../secrets.js';
import { TiError } from '../../errors.js';
import { HttpClient, HttpFailure, classifyTransportError, hasUserinfo, httpSettingsOf, printableUrl, userinfoProblem, type HttpAnswer } from '../../http/index.js';
import { addDays, daysBetween, isValidDate, today } from '../../dates.js';
import type { Reader, ReaderContext } from '../types.js';
import type { SourceRecord } from '../../model.js';
import type { CpanelApiSource } from './config.js';
import { emitAccount, loadAccountMap, mainDomainOf, pickMainDomain, type MainDomain } from './accounts.js';
import {
  AccountTally, CPANEL_METRICS, DayMapper, IgnoredCounter, MAX_ACCEPTED_TIMESTAMP, MIN_ACCEPTED_TIMESTAMP,
  mailMetricOf, midnightOf, parseBytes, rawText,
} from './tally.js';

export interface ApiReaderOptions {
  /** First retry wait (overrides retry.minDelayMs); tests shorten it. */
  retryMinTimeoutMs?: number;
}

/** Days asked of cPanel and the inclusive epoch bounds of their local midnights. */
export interface WhmWindow {
  from: string;
  to: string;
  start: number;
  end: number;
}

/** The run window, or the last `days` days (today included) in `zone`. */
export function whmWindow(window: ReaderContext['window'], days: number, zone: string): WhmWindow {
  for (const d of [window.from, window.to]) {
    if (d !== undefined && !isValidDate(d)) throw new TiError('TI_USAGE', `"${d}" is not a date YYYY-MM-DD`);
  }
  const to = window.to ?? today(zone);
  const from = window.from ?? addDays(to, -(days - 1));
  if (from > to) throw new TiError('TI_USAGE', `window starts (${from}) after it ends (${to})`);
  // start/end are inclusive in Bandwidth::query (§4.1).
  return { from, to, start: midnightOf(from, zone), end: midnightOf(addDays(to, 1), zone) - 1 };
}

/** WHM base URL: the env WHM_URL wins over `url`; port 2087 (https) / 2086 (http) when none is given. */
export function whmBaseUrl(raw: string): string {
  const m = /^(https?):\/\/([^/?#]+)([^?#]*)$/i.exec(raw.trim());
  // User-info first, and never echoed: the URL would carry a secret (issue 9 §2).
  if (hasUserinfo(raw)) throw new TiError('TI_CONFIG', userinfoProblem('the WHM URL (source.url or WHM_URL)', 'WHM_USER + WHM_API_TOKEN'));
  if (!m) throw new TiError('TI_CONFIG', `WHM url "${printableUrl(raw)}" is not http(s)://host[:port][/path]`);
  const url = new URL(raw.trim());
  if (!/:\d+$/.test(m[2]!)) url.port = url.protocol === 'https:' ? '2087' : '2086';
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

type JsonAnswer = { ok: true; doc: Record<string, unknown> } | { ok: false; reason: string };

const ACCESS_DENIED_RE = /access denied|token denied|permission denied/i;

export function createApiReader(cfg: CpanelApiSource, opts: ApiReaderOptions = {}): Reader {
  /** Connection, credentials and the JSON-API call; everything one run needs. */
  async function connect(ctx: ReaderContext) {
    const rawUrl = ctx.env.WHM_URL || cfg.url;
    if (!rawUrl) throw new TiError('TI_CONFIG', 'cPanel api source needs `url` (or env WHM_URL)');
    const base = whmBaseUrl(rawUrl);
    const token = secretFromEnv(ctx.env, 'WHM_API_TOKEN');
    if (!token) throw new TiError('TI_SECRET_MISSING', 'env WHM_API_TOKEN (a WHM API token; or WHM_API_TOKEN_FILE naming a file) is not set');
    const whmUser = secretFromEnv(ctx.env, 'WHM_USER') || 'root';
    const authorization = `whm ${whmUser}:${token}`;

    const settings = await httpSettingsOf(cfg, ctx.baseDir);
    if (opts.retryMinTimeoutMs !== undefined) settings.retry = { ...settings.retry, minDelayMs: opts.retryMinTimeoutMs };
    if (cfg.insecureTls) ctx.log.warn({ url: base }, 'cpanel: TLS certificate of WHM is not verified (insecureTls)');
    const http = new HttpClient({ name: 'whm', settings, connections: cfg.concurrency, log: ctx.log, ...(ctx.http ? { observer: ctx.http } : {}) });

    /** GET /json-api/<fn>. Fatal problems throw TiError; problems of this one call come back as reason. */
    async function call(fn: string, params: Record<string, string>): Promise<JsonAnswer> {
      const url = `${base}/json-api/${fn}?${new URLSearchParams({ 'api.version': '1', ...params })}`;
      let res: HttpAnswer;
      try {
        res = await http.request(url, {
          method: 'GET',
          what: `WHM ${fn}${params['cpanel.user'] ? ` of ${params['cpanel.user']}` : ''}`,
          headers: { authorization, accept: 'application/json' },
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
      } catch (err) {
        if ((err as { name?: string }).name === 'AbortError' || ctx.signal?.aborted) throw err;
        const f = err instanceof HttpFailure ? err.failure : classifyTransportError(err);
        if (f.tls) {
          throw new TiError('TI_TLS', `TLS with WHM at ${base} failed (${f.message}): set \`ca\` to its certificate, or \`insecureTls\``, { url: base }, { cause: err });
        }
        // No connection could be made (refused, DNS, connect timeout): that is every account's problem.
        if (!f.delivered) throw new TiError('TI_SOURCE_UNREADABLE', `WHM at ${base} cannot be reached: ${f.message}`, { url: base }, { cause: err });
        // Connected, but this request got no answer (a timeout, a reset) after the retries: this call's problem
        // (one silent account must not sink the others, issue 9 §4).
        const attempts = err instanceof HttpFailure ? err.attempts : 1;
        return { ok: false, reason: `no answer from WHM ${fn} (${f.message}; ${attempts} attempt${attempts === 1 ? '' : 's'})` };
      }
      const text = res.body;
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        doc = undefined;
      }
      // WHM's access-denied answer is the API 0 style {"cpanelresult":{"error":"Access denied",…}}.
      const cpanelresult = (doc as { cpanelresult?: { error?: unknown; data?: { reason?: unknown } } } | undefined)?.cpanelresult;
      const denied = ACCESS_DENIED_RE.test(String(cpanelresult?.error ?? cpanelresult?.data?.reason ?? ''));
      if (res.statusCode === 401 || res.statusCode === 403 || denied) {
        throw new TiError('TI_SOURCE_AUTH', `WHM at ${base} refused the API token of user ${whmUser} (HTTP ${res.statusCode}): check WHM_USER and WHM_API_TOKEN`, { url: base, status: res.statusCode });
      }
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const after = res.attempts > 1 ? ` after ${res.attempts - 1} retries` : '';
        return { ok: false, reason: `HTTP ${res.statusCode} from WHM ${fn}${after}: ${text.slice(0, 200)}` };
      }
      if (doc === undefined) return { ok: false, reason: `WHM ${fn} answered something that is not JSON: ${text.slice(0, 200)}` };
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { ok: false, reason: `WHM ${fn} answered JSON that is not an object` };
      return { ok: true, doc: doc as Record<string, unknown> };
    }

    return { base, call, close: () => http.close() };
  }

  type Conn = Awaited<ReturnType<typeof connect>>;

  async function listAccounts(conn: Conn): Promise<Map<string, string>> {
    const answer = await conn.call('listaccts', {});
    if (!answer.ok) throw new TiError('TI_SOURCE_UNREADABLE', `WHM listaccts at ${conn.base}: ${answer.reason}`, { url: conn.base });
    const meta = answer.doc.metadata as { result?: unknown; reason?: unknown } | undefined;
    if (Number(meta?.result) !== 1) {
      const reason = String(meta?.reason ?? 'no reason given');
      throw new TiError(ACCESS_DENIED_RE.test(reason) ? 'TI_SOURCE_AUTH' : 'TI_SOURCE_UNREADABLE', `WHM listaccts at ${conn.base}: ${reason}`, { url: conn.base });
    }
    const accts = (answer.doc.data as { acct?: unknown } | undefined)?.acct;
    if (!Array.isArray(accts)) throw new TiError('TI_SOURCE_FORMAT', `WHM listaccts at ${conn.base} has no data.acct list`, { url: conn.base });
    const out = new Map<string, string>();
    for (const a of accts as { user?: unknown; domain?: unknown }[]) {
      if (typeof a?.user === 'string' && a.user !== '') out.set(a.user, typeof a.domain === 'string' ? a.domain : '');
    }
    return out;
  }

  return {
    label: 'cpanel/api',
    async read(ctx, emit: (rec: SourceRecord) => void) {
      const log = ctx.log.child({ reader: 'cpanel', from: 'api' });
      const win = whmWindow(ctx.window, cfg.days, cfg.timezone);
      const mapFile = cfg.accountMap ? resolve(ctx.baseDir, cfg.accountMap) : undefined;
      const accountMap = mapFile ? await loadAccountMap(mapFile, ctx) : undefined;
      const conn = await connect(ctx);
      const mapper = new DayMapper(cfg.timezone);
      const ignored = new IgnoredCounter();
      try {
        // Accounts and their main domains: listaccts is needed unless accountMap names them all.
        const needList = !cfg.accounts || cfg.accounts.some((u) => !accountMap?.has(u));
        const listed = needList ? await listAccounts(conn) : undefined;
        const accounts: { user: string; main: MainDomain }[] = [];
        for (const user of cfg.accounts ?? [...listed!.keys()]) {
          if (listed && !listed.has(user)) {
            ctx.unresolved(user, { file: user, line: 0 }, `WHM at ${conn.base} does not list account ${user}`);
            continue;
          }
          const main = await pickMainDomain(user, accountMap, mapFile, () => {
            const raw = listed?.get(user) ?? '';
            const domain = mainDomainOf(raw);
            return domain ? { domain, from: 'WHM listaccts' } : { from: `WHM listaccts gives no usable domain ("${raw}")` };
          });
          if (!main.domain) {
            ctx.reject({ file: user, line: 0, code: 'R_NO_DOMAIN', raw: user, reason: `account ${user} has no main domain (${main.from}); its mail traffic is not imported` });
            continue;
          }
          accounts.push({ user, main });
        }
        log.info(
          { url: conn.base, accounts: accounts.length, from: win.from, to: win.to, interval: cfg.interval, timezone: cfg.timezone },
          'cpanel: reading Bandwidth::query through WHM',
        );

        const queryAccount = async (user: string, main: MainDomain): Promise<void> => {
          const started = Date.now();
          const answer = await conn.call('uapi_cpanel', {
            'cpanel.user': user,
            'cpanel.module': 'Bandwidth',
            'cpanel.function': 'query',
            grouping: 'year_month_day|protocol',
            protocols: 'smtp|pop3|imap',
            interval: cfg.interval,
            start: String(win.start),
            end: String(win.end),
            timezone: cfg.timezone,
          });
          const fail = (code: 'R_SOURCE_ERROR' | 'R_PARSE', reason: string, column?: string) => {
            log.warn({ user, reason }, 'cpanel: account not read');
            ctx.reject({ file: user, line: 0, code, reason: `account ${user}: ${reason}`, raw: user, ...(column ? { column } : {}) });
          };
          if (!answer.ok) return fail('R_SOURCE_ERROR', answer.reason);
          const meta = answer.doc.metadata as { result?: unknown; reason?: unknown } | undefined;
          if (Number(meta?.result) !== 1) return fail('R_SOURCE_ERROR', `WHM: ${rawText(meta?.reason ?? 'uapi_cpanel failed')}`);
          const uapi = (answer.doc.data as { uapi?: unknown } | undefined)?.uapi as
            | { status?: unknown; errors?: unknown; data?: unknown }
            | undefined;
          if (typeof uapi !== 'object' || uapi === null) return fail('R_PARSE', 'WHM answer has no data.uapi', 'data.uapi');
          // The inner status is the one that counts: WHM says OK even when the UAPI call failed (§7).
          if (Number(uapi.status) !== 1) {
            const errors = Array.isArray(uapi.errors) ? uapi.errors.map(rawText).join('; ') : rawText(uapi.errors ?? '');
            return fail('R_SOURCE_ERROR', `cPanel: ${errors || 'UAPI status 0 without an error text'}`);
          }
          let data = uapi.data;
          if (Array.isArray(data) && data.length === 0) data = {}; // an empty Perl hash may come as []
          if (typeof data !== 'object' || data === null || Array.isArray(data)) {
            return fail('R_PARSE', `data.uapi.data is not an object of days (${rawText(data).slice(0, 100)})`, 'data.uapi.data');
          }
          const tally = new AccountTally();
          // Every day of the window was asked for: a day without rows had no mail (§8.4).
          for (const day of daysBetween(win.from, win.to)) tally.touch(day);
          for (const [key, protocols] of Object.entries(data as Record<string, unknown>)) {
            const column = `data.uapi.data.${key}`;
            const unix = /^\d+$/.test(key) ? Number(key) : NaN;
            if (!(unix >= MIN_ACCEPTED_TIMESTAMP && unix <= MAX_ACCEPTED_TIMESTAMP)) {
              ctx.reject({ file: user, line: 0, column, code: 'R_BAD_DATE', reason: `account ${user}: day key "${key}" is not a timestamp`, raw: key });
              continue;
            }
            const day = mapper.day(unix);
            if (typeof protocols !== 'object' || protocols === null || Array.isArray(protocols)) {
              // Which protocol it held is unknown: both metrics of the day lost a value.
              tally.reject(ctx, day, CPANEL_METRICS, { file: user, line: 0, column, code: 'R_PARSE', reason: `account ${user}: ${day} is not an object of protocols`, raw: rawText(protocols) });
              continue;
            }
            tally.touch(day);
            for (const [protocol, value] of Object.entries(protocols as Record<string, unknown>)) {
              const metric = mailMetricOf(protocol, ignored);
              if (metric === undefined) continue;
              const parsed = parseBytes(value);
              if (!parsed.ok) {
                tally.reject(ctx, day, [metric], { file: user, line: 0, column: `${column}.${protocol}`, code: parsed.code, reason: `account ${user}, ${protocol} on ${day}: ${parsed.reason}`, raw: rawText(value) });
                continue;
              }
              tally.add(day, metric, parsed.scaled);
            }
          }
          const n = emitAccount(ctx, emit, { user, main, tally, file: user });
          log.debug({ user, domain: main.domain, days: tally.size, records: n, ms: Date.now() - started }, 'cpanel: account read');
        };

        const queue = new PQueue({ concurrency: cfg.concurrency });
        let fatal: unknown;
        for (const { user, main } of accounts) {
          void queue.add(async () => {
            if (fatal !== undefined || ctx.signal?.aborted) return;
            try {
              await queryAccount(user, main);
            } catch (err) {
              fatal ??= err;
              queue.clear();
            }
          });
        }
        await queue.onIdle();
        if (fatal !== undefined) throw fatal;
        ignored.flush(ctx);
      } finally {
        await conn.close();
      }
    },

    async check(ctx) {
      const conn = await connect(ctx);
      try {
        const listed = await listAccounts(conn);
        return `WHM ${conn.base}: token accepted, ${listed.size} account(s)`;
      } finally {
        await conn.close();
      }
    },
  };
}
