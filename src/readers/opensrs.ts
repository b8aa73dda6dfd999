// OpenSRS Hosted Email reader: POST `{url}/stats_summary` once per domain (type: domain, by: day) and turn the
// `summary` (keyed by YYYYMMDD) into SMTP byte records. Format facts: docs/reference/mail-sources.md §1 and seed 002.
//
// What OpenSRS gives: `messages.in_size` / `messages.out_size` in bytes per day for the last 30 days
// (docs/reference/mail-sources.md §1.3). It has no POP3/IMAP byte counters, so those metrics stay missing (never zero).
//
// Exactness: counters are xs:long, JSON.parse rounds integers beyond 2^53. A reviver with `context.source`
// would keep the text but needs Node 21+; on Node 20 we pre-process instead: every number literal that is
// not a safe integer (more than 15 digits, a fraction or an exponent) is quoted before parsing, so it arrives
// as its exact source text and is turned into a bigint by parseCounter. Nothing is ever rounded by a double.

import { createReadStream } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { createInterface } from 'node:readline';
import PQueue from 'p-queue';
import { z } from 'zod';
import { TiError, errorMessage, type RejectCode } from '../errors.js';
import {
  HttpClient, HttpFailure, checkHttpAliases, foldHttpKeys, hasUserinfo, httpAliasKeys, httpKeys, httpSettingsOf, printableUrl,
  userinfoProblem, type HttpDefaults,
} from '../http/index.js';

/** Where OpenSRS credentials go instead of a URL's user-info. */
const OPENSRS_CREDENTIALS = 'OPENSRS_USER + OPENSRS_PASSWORD or OPENSRS_TOKEN';
import { canonicalDomain, XS_LONG_MAX, type HeldKey, type Metrics, type SourceRecord } from '../model.js';
import { isValidDate } from '../dates.js';
import { secretFromEnv } from '../secrets.js';
import type { Reader, ReaderContext } from './types.js';

/** Base URIs of the OMA clusters (docs/reference/mail-sources.md §1.1; the same three hosts as ocolin/OpenSrsMail Config.php). */
export const OPENSRS_CLUSTERS = {
  a: 'https://admin.a.hostedemail.com/api',
  b: 'https://admin.b.hostedemail.com/api',
  test: 'https://admin.test.hostedemail.com/api',
} as const;

/** Default: the Production Test cluster, so a pipeline without `url`/`cluster` never reads a live cluster by accident. */
export const OPENSRS_DEFAULT_URL = OPENSRS_CLUSTERS.test;

/** OMA error numbers we act on (docs/reference/mail-sources.md §1.5, https://email.opensrs.guide/docs/errors). */
const OMA_INVALID_CREDENTIALS = 1;
const OMA_OBJECT_DOES_NOT_EXIST = 2;

const DOMAIN_RE = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)+$/;

/** Canonical (ASCII, lower-case) domain, or '' when `raw` is not a domain name. */
function domainName(raw: string): string {
  const name = canonicalDomain(raw);
  return DOMAIN_RE.test(name) ? name : '';
}

const httpUrl = z
  .string()
  .refine((s) => /^https?:\/\//i.test(s) && URL.canParse(s), { message: 'must be an http(s) URL' })
  .refine((s) => !hasUserinfo(s), { message: userinfoProblem('the URL', OPENSRS_CREDENTIALS) });

export const opensrsSourceSchema = z
  .strictObject({
    type: z.literal('opensrs'),
    /** OMA base URI (…/api); `{url}/stats_summary` is called. Env OPENSRS_URL overrides. */
    url: httpUrl.optional(),
    /** Shortcut for the documented clusters when `url` is not given (default `test`). */
    cluster: z.enum(['a', 'b', 'test']).optional(),
    /** Domains to query (one request each). Exactly one of `domains` / `domainsFile`. */
    domains: z
      .array(z.string().refine((d) => domainName(d) !== '', { message: 'not a valid domain name' }))
      .min(1)
      .optional(),
    /** Text file, one domain per line, `#` starts a comment; relative to the pipeline file. */
    domainsFile: z.string().min(1).optional(),
    /** Requests in flight at once; OpenSRS is a shared service, keep it low. */
    concurrency: z.number().int().min(1).max(16).default(2),
    /** timeouts, retry, ca, insecureTls: the shared HTTP keys (src/http). */
    ...httpKeys,
    /** Older names: timeoutMs (every timeout), retries (= retry.attempts − 1), retryDelayMs (= retry.minDelayMs). */
    ...httpAliasKeys,
    /** `credentials.client`: "used for internal logging" by OpenSRS (docs/reference/mail-sources.md §1.2). Not a secret. */
    client: z.string().min(1).default('traffic-import'),
  })
  .refine((c) => (c.domains === undefined) !== (c.domainsFile === undefined), {
    message: 'give exactly one of "domains" and "domainsFile"',
  })
  .refine((c) => c.url === undefined || c.cluster === undefined, { message: 'give "url" or "cluster", not both' })
  .superRefine(checkHttpAliases)
  .transform((c) => foldHttpKeys(c, OPENSRS_HTTP_DEFAULTS));

/** OpenSRS: a shared service; a few retries with a gentle start. */
export const OPENSRS_HTTP_DEFAULTS: HttpDefaults = {
  timeouts: { connectMs: 30_000, headersMs: 30_000, bodyMs: 30_000 },
  retry: { attempts: 4, minDelayMs: 500, maxDelayMs: 30_000 },
};

export type OpensrsSourceConfig = z.output<typeof opensrsSourceSchema>;

/** One domain's 30 days are a few tens of KB; anything near this is not a stats_summary answer. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// Credentials and endpoint

interface Credentials {
  user: string;
  password?: string;
  token?: string;
  client: string;
}

/** Credentials from env. A token wins over a password when both are set: it is the narrower, expiring secret. */
function credentialsFrom(env: NodeJS.ProcessEnv, client: string): Credentials {
  // Each also as *_FILE naming a file (Docker/Kubernetes secrets).
  const user = secretFromEnv(env, 'OPENSRS_USER') || undefined;
  const password = secretFromEnv(env, 'OPENSRS_PASSWORD') || undefined;
  const token = secretFromEnv(env, 'OPENSRS_TOKEN') || undefined;
  if (!user || (!password && !token)) {
    const missing = [!user && 'OPENSRS_USER', !password && !token && 'OPENSRS_PASSWORD (or OPENSRS_TOKEN)'].filter(Boolean);
    throw new TiError('TI_SECRET_MISSING', `OpenSRS needs ${missing.join(' and ')} in the environment (or as *_FILE)`);
  }
  // Shape of the credentials object: docs/reference/mail-sources.md §1.2 (`user` plus `password` or `token`, optional `client`).
  return token ? { user, token, client } : { user, password: password as string, client };
}

function authKind(c: Credentials): string {
  return c.token ? 'user + token' : 'user + password';
}

/** The stats_summary endpoint: env OPENSRS_URL, else `url`, else `cluster`, else the test cluster. */
function endpointOf(cfg: OpensrsSourceConfig, env: NodeJS.ProcessEnv): string {
  const fromEnv = env.OPENSRS_URL || undefined;
  if (fromEnv !== undefined && hasUserinfo(fromEnv)) throw new TiError('TI_CONFIG', userinfoProblem('OPENSRS_URL', OPENSRS_CREDENTIALS));
  if (fromEnv !== undefined && !httpUrl.safeParse(fromEnv).success) {
    throw new TiError('TI_CONFIG', 'OPENSRS_URL is not an http(s) URL');
  }
  const base = fromEnv ?? cfg.url ?? OPENSRS_CLUSTERS[cfg.cluster ?? 'test'];
  return `${base.replace(/\/+$/, '')}/stats_summary`; // every OMA call is POST <base>/<method> (§1.1)
}

/** Replace every occurrence of a secret (raw and JSON-escaped) in text that came from outside. */
function scrubber(creds: Credentials): (text: string) => string {
  const secrets = [creds.password, creds.token]
    .filter((s): s is string => !!s)
    .flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]);
  return (text) => secrets.reduce((t, s) => t.split(s).join('[redacted]'), text);
}

// ---------------------------------------------------------------------------------------------------------------
// Domain list

type DomainEntry =
  | { ok: true; domain: string }
  | { ok: false; file: string; line: number; raw: string };

/** Domains from config or from the domains file, streamed (the file may be long). */
async function* domainEntries(cfg: OpensrsSourceConfig, baseDir: string): AsyncGenerator<DomainEntry> {
  if (cfg.domains) {
    for (const d of cfg.domains) yield { ok: true, domain: domainName(d) };
    return;
  }
  const file = resolvePath(baseDir, cfg.domainsFile as string);
  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      // `#` starts a comment (whole line or trailing); domain names never contain `#`.
      const raw = (n === 1 ? text.replace(/^\uFEFF/, '') : text).replace(/#.*$/, '').trim();
      if (raw === '') continue;
      const domain = domainName(raw);
      yield domain ? { ok: true, domain } : { ok: false, file, line: n, raw };
    }
  } catch (err) {
    throw new TiError('TI_SOURCE_UNREADABLE', `OpenSRS domain list ${file} cannot be read: ${errorMessage(err)}`, undefined, { cause: err });
  } finally {
    lines.close();
    stream.destroy();
  }
}

function domainListLabel(cfg: OpensrsSourceConfig): string {
  return cfg.domainsFile ?? 'config "domains"';
}

// ---------------------------------------------------------------------------------------------------------------
// JSON: exact numbers and syntax-error positions

const NUMBER_AT = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Quote every number literal (outside strings) that a double cannot hold exactly: more than 15 digits, a
 * fraction or an exponent. Returns null when there is none. Only used on text that JSON.parse accepted.
 */
function quoteInexactNumbers(text: string): string | null {
  let out = '';
  let last = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      i++;
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      NUMBER_AT.lastIndex = i;
      const m = NUMBER_AT.exec(text);
      if (m) {
        const tok = m[0];
        const digits = tok.replace(/^-/, '').length;
        if (digits > 15 || /[.eE]/.test(tok)) {
          out += `${text.slice(last, i)}"${tok}"`;
          last = i + tok.length;
        }
        i += tok.length;
        continue;
      }
    }
    i++;
  }
  return last === 0 ? null : out + text.slice(last);
}

/**
 * Index of the first syntax error in `t` (RFC 8259), or -1 when it is valid. Node 20's JSON.parse omits the
 * position for some errors ("Unexpected token 'x', … is not valid JSON"); this finds it.
 */
export function locateJsonError(t: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = (): void => {
    while (i < t.length && (t[i] === ' ' || t[i] === '\t' || t[i] === '\n' || t[i] === '\r')) i++;
  };
  const str = (): void => {
    i++;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        const e = t[i + 1] ?? '';
        if ('"\\/bfnrt'.includes(e) && e !== '') i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(t.slice(i + 2, i + 6))) i += 6;
        else {
          i++;
          fail();
        }
      } else i++;
    }
    fail();
  };
  const value = (depth: number): void => {
    if (depth > 512) fail();
    ws();
    const c = t[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (t[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          if (t[i] !== '"') fail();
          str();
          ws();
          if (t[i] !== ':') fail();
          i++;
        }
        value(depth + 1);
        ws();
        if (t[i] === ',') {
          i++;
          continue;
        }
        if (t[i] === close) {
          i++;
          return;
        }
        fail();
      }
    }
    if (c === '"') return str();
    NUMBER_AT.lastIndex = i;
    const m = NUMBER_AT.exec(t);
    if (m) {
      i += m[0].length;
      return;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (t.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    fail();
  };
  try {
    value(0);
    ws();
    if (i < t.length) fail();
    return -1;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

/** 1-based line and column of a UTF-16 offset. */
function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: pos - lineStart + 1 };
}

export type JsonResult =
  | { ok: true; value: unknown }
  | { ok: false; line: number; column: number; position: number; message: string; near: string };

/** Parse an OMA answer with exact numbers (see the header comment), or say where its syntax breaks. */
export function parseOpensrsJson(input: string): JsonResult {
  const text = input.replace(/^\uFEFF/, '');
  try {
    JSON.parse(text); // syntax check against the text as received (positions refer to it)
  } catch (err) {
    const msg = errorMessage(err);
    const m = / at position (\d+)/.exec(msg);
    let position = m ? Number(m[1]) : locateJsonError(text);
    if (position < 0 || position > text.length) position = text.length;
    const { line, column } = lineColumn(text, position);
    // Drop V8's position suffix and its quoted copy of the input: we give line/column and our own excerpt.
    const message = msg.replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*is not valid JSON$/s, '');
    const near = text.slice(Math.max(0, position - 40), position + 40);
    return { ok: false, line, column, position, message, near };
  }
  const quoted = quoteInexactNumbers(text);
  return { ok: true, value: JSON.parse(quoted ?? text) };
}

// ---------------------------------------------------------------------------------------------------------------
// Counters

export type CounterResult = { ok: true; value: bigint } | { ok: false; code: RejectCode; reason: string };

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * A byte counter from a JSON number or numeric string, exactly (docs/reference/mail-sources.md §1.3: numbers for type domain,
 * numeric strings for type user). Fractions are rounded half up on the decimal text, never through a double.
 */
export function parseCounter(v: unknown): CounterResult {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) {
      return v < 0 ? { ok: false, code: 'R_NEGATIVE', reason: `negative value ${v}` } : { ok: true, value: BigInt(v) };
    }
    if (!Number.isFinite(v)) return { ok: false, code: 'R_NOT_NUMERIC', reason: `not a number: ${v}` };
    v = String(v);
  }
  if (typeof v !== 'string') return { ok: false, code: 'R_NOT_NUMERIC', reason: `not a number: ${JSON.stringify(v)}` };
  const s = v.trim();
  const m = DECIMAL.exec(s);
  if (!m) return { ok: false, code: 'R_NOT_NUMERIC', reason: `not a number: ${JSON.stringify(v)}` };
  const [, sign, int, frac = '', expText = '0'] = m as unknown as [string, string, string, string?, string?];
  const exp = Number(expText);
  const digits = BigInt(int + frac);
  if (sign === '-' && digits !== 0n) return { ok: false, code: 'R_NEGATIVE', reason: `negative value ${s}` };
  const scale = frac.length - exp; // value = digits / 10^scale
  let value: bigint;
  if (scale <= 0) {
    // More than 20 digits already exceeds xs:long: refuse before building a huge power of ten.
    if (digits !== 0n && (int + frac).replace(/^0+/, '').length - scale > 20) {
      return { ok: false, code: 'R_OVER_LONG', reason: `value ${s} exceeds xs:long` };
    }
    value = digits * 10n ** BigInt(-scale);
  } else if (scale > 400) {
    value = 0n; // far below 0.5
  } else {
    const div = 10n ** BigInt(scale);
    value = digits / div + ((digits % div) * 2n >= div ? 1n : 0n);
  }
  if (value > XS_LONG_MAX) return { ok: false, code: 'R_OVER_LONG', reason: `value ${s} exceeds xs:long` };
  return { ok: true, value };
}

// ---------------------------------------------------------------------------------------------------------------
// Reader

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `messages` fields → Plesk metrics (seed 002: in_size/out_size are bytes received/sent). */
const MESSAGE_METRICS = [
  ['in_size', 'smtp_in'],
  ['out_size', 'smtp_out'],
] as const;

type Answer = { status: number; text: string } | { status: 'none'; reason: string };

export function createOpensrsReader(cfg: OpensrsSourceConfig): Reader {
  return {
    label: 'opensrs',
    async check(ctx: ReaderContext): Promise<string> {
      const creds = credentialsFrom(ctx.env, cfg.client);
      const endpoint = endpointOf(cfg, ctx.env);
      const seen = new Set<string>();
      const bad: string[] = [];
      for await (const e of domainEntries(cfg, ctx.baseDir)) {
        if (e.ok) seen.add(e.domain);
        else bad.push(`line ${e.line} "${e.raw}"`);
      }
      if (seen.size === 0 && bad.length === 0) {
        throw new TiError('TI_SOURCE_FORMAT', `OpenSRS domain list ${domainListLabel(cfg)} names no domain`);
      }
      const invalid = bad.length ? `, ${bad.length} invalid (first: ${bad[0]})` : '';
      return (
        `opensrs: ${seen.size} domain(s) from ${domainListLabel(cfg)}${invalid}; ${authKind(creds)}; ` +
        `POST ${printableUrl(endpoint)} by day, concurrency ${cfg.concurrency}`
      );
    },

    async read(ctx: ReaderContext, emit: (rec: SourceRecord) => void): Promise<void> {
      const log = ctx.log.child({ reader: 'opensrs' });
      const creds = credentialsFrom(ctx.env, cfg.client);
      const endpoint = endpointOf(cfg, ctx.env);
      const where = printableUrl(endpoint);
      const scrub = scrubber(creds);
      const { from, to } = ctx.window;

      const abort = new AbortController();
      const onOuterAbort = (): void => abort.abort(ctx.signal?.reason);
      if (ctx.signal?.aborted) onOuterAbort();
      ctx.signal?.addEventListener('abort', onOuterAbort, { once: true });

      const settings = await httpSettingsOf(cfg, ctx.baseDir);
      if (cfg.insecureTls) log.warn({ url: where }, 'opensrs: TLS certificate is not verified (insecureTls)');
      const http = new HttpClient({
        name: 'opensrs', settings, connections: cfg.concurrency, maxResponseSize: MAX_RESPONSE_BYTES, log,
        ...(ctx.http ? { observer: ctx.http } : {}),
      });
      const queue = new PQueue({ concurrency: cfg.concurrency });
      let fatal: { err: unknown } | undefined;
      const stop = (err: unknown): void => {
        if (fatal) return;
        fatal = { err };
        queue.clear();
        abort.abort(err);
      };

      /** One POST with retries (src/http). Throws TiError when OpenSRS cannot be reached at all. */
      const post = async (domain: string): Promise<Answer> => {
        const body = JSON.stringify({ credentials: creds, type: 'domain', object: domain, by: 'day' });
        try {
          const res = await http.request(endpoint, {
            method: 'POST',
            what: `stats_summary of ${domain}`,
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body,
            signal: abort.signal,
          });
          // A server error that outlived the retries is this domain's problem: handle() rejects it.
          return { status: res.statusCode, text: res.body };
        } catch (err) {
          if (abort.signal.aborted) throw fatal?.err ?? err;
          if (!(err instanceof HttpFailure)) throw err;
          const f = err.failure;
          if (f.errno === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return { status: 0, text: `answer larger than ${MAX_RESPONSE_BYTES} bytes` };
          if (f.tls) throw new TiError('TI_TLS', `TLS with OpenSRS at ${where} failed (${scrub(f.message)}): set \`ca\`, or knowingly \`insecureTls\``, { code: f.errno }, { cause: err });
          // No connection could be made (refused, DNS, connect timeout): every domain would fail alike.
          if (!f.delivered) {
            throw new TiError('TI_SOURCE_UNREADABLE', `OpenSRS at ${where} cannot be reached (${f.errno ?? f.message}, ${err.attempts} attempts)`, { code: f.errno, attempts: err.attempts });
          }
          // Connected, but no answer for this domain (a timeout, a reset) after the retries: this domain's problem
          // (one silent domain must not sink the others, issue 9 §4).
          return { status: 'none', reason: `no answer from OpenSRS for ${domain} (${scrub(f.message)}; ${err.attempts} attempt${err.attempts === 1 ? '' : 's'})` };
        }
      };

      /** Turn one answer into records, rejects or an unresolved name. Throws only for bad credentials. */
      const handle = (domain: string, ans: Extract<Answer, { status: number }>): void => {
        const file = `opensrs:${domain}`;
        const origin = { file, line: 0 };
        const reject = (code: RejectCode, reason: string, extra: { column?: string; raw?: string; line?: number; affects?: HeldKey } = {}): void =>
          ctx.reject({
            file, line: extra.line ?? 0, code, reason, ...(extra.column ? { column: extra.column } : {}),
            ...(extra.raw !== undefined ? { raw: scrub(extra.raw) } : {}), ...(extra.affects ? { affects: extra.affects } : {}),
          });

        if (ans.status === 401 || ans.status === 403) {
          throw new TiError('TI_SOURCE_AUTH', `OpenSRS at ${where} refused the request (HTTP ${ans.status}); check OPENSRS_USER and its password/token`);
        }
        if (ans.status === 404) {
          // 404 = "non-existent method requested" (§1.1): the base URL is wrong, every domain would fail alike.
          throw new TiError('TI_SOURCE_UNREADABLE', `OpenSRS at ${where} answered 404: no stats_summary method there; check url / OPENSRS_URL`);
        }
        const parsed = ans.status === 0 ? undefined : parseOpensrsJson(ans.text);
        const okHttp = ans.status >= 200 && ans.status < 300;
        if (!parsed || !parsed.ok || !isObject(parsed.value) || typeof parsed.value.success !== 'boolean') {
          if (!okHttp) {
            reject('R_SOURCE_ERROR', `OpenSRS answered HTTP ${ans.status || 'error'} for ${domain}: ${scrub(ans.text.slice(0, 200))}`);
          } else if (parsed && !parsed.ok) {
            reject(
              'R_PARSE',
              `malformed JSON in the OpenSRS answer for ${domain} at line ${parsed.line}, column ${parsed.column} (offset ${parsed.position}): ${parsed.message}`,
              { line: parsed.line, raw: parsed.near },
            );
          } else {
            reject('R_SOURCE_ERROR', `OpenSRS answer for ${domain} has no boolean "success"`, { raw: ans.text.slice(0, 200) });
          }
          return;
        }
        const res = parsed.value;
        if (res.success === false) {
          const num = Number(res.error_number);
          const text = scrub(typeof res.error === 'string' ? res.error : JSON.stringify(res.error ?? null));
          if (num === OMA_INVALID_CREDENTIALS) {
            throw new TiError('TI_SOURCE_AUTH', `OpenSRS at ${where} rejected the credentials (error 1: ${text}); check OPENSRS_USER and OPENSRS_PASSWORD/OPENSRS_TOKEN`);
          }
          if (num === OMA_OBJECT_DOES_NOT_EXIST) {
            ctx.unresolved(domain, origin, `OpenSRS does not know ${domain} (error 2: ${text})`);
            return;
          }
          reject('R_SOURCE_ERROR', `OpenSRS error ${Number.isNaN(num) ? String(res.error_number) : num} for ${domain}: ${text}`);
          return;
        }
        if (!isObject(res.summary)) {
          reject('R_SOURCE_ERROR', `OpenSRS answer for ${domain} has no "summary" object keyed by day`, { column: 'summary' });
          return;
        }
        let outside = 0;
        for (const [key, day] of Object.entries(res.summary)) {
          const path = `summary.${key}`;
          const date = /^\d{8}$/.test(key) ? `${key.slice(0, 4)}-${key.slice(4, 6)}-${key.slice(6, 8)}` : '';
          if (!date || !isValidDate(date)) {
            reject('R_BAD_DATE', `day key "${key}" is not a YYYYMMDD calendar day`, { column: path, raw: key });
            continue;
          }
          // by: day covers 30 days; the run window decides which of them are imported.
          if ((from && date < from) || (to && date > to)) {
            outside++;
            continue;
          }
          const messages = isObject(day) ? day.messages : undefined;
          if (!isObject(messages)) {
            reject('R_PARSE', `day ${key} has no "messages" object`, {
              column: `${path}.messages`, affects: { target: { domain }, date, metrics: MESSAGE_METRICS.map(([, m]) => m) },
            });
            continue;
          }
          const metrics: Metrics = {};
          for (const [field, metric] of MESSAGE_METRICS) {
            const v = messages[field];
            if (v === undefined || v === null || v === '') continue; // "" = none (seed 002, type user): missing, not 0
            const c = parseCounter(v);
            if (c.ok) metrics[metric] = c.value;
            else {
              reject(c.code, `${c.reason} in the OpenSRS answer for ${domain}`, {
                column: `${path}.messages.${field}`, raw: typeof v === 'string' ? v : String(v),
                affects: { target: { domain }, date, metrics: [metric] },
              });
            }
          }
          if (Object.keys(metrics).length === 0) continue;
          emit({ target: { domain }, date, metrics, origin });
        }
        if (outside) log.debug({ domain, days: outside }, 'opensrs days outside the run window skipped');
      };

      const fetchDomain = async (domain: string): Promise<void> => {
        const ans = await post(domain);
        if (fatal) return;
        if (ans.status === 'none') {
          log.warn({ domain, reason: ans.reason }, 'opensrs: domain not read');
          ctx.reject({ file: `opensrs:${domain}`, line: 0, code: 'R_SOURCE_ERROR', reason: ans.reason, raw: domain });
          return;
        }
        handle(domain, ans);
      };

      const seen = new Set<string>();
      let listed = 0;
      try {
        for await (const e of domainEntries(cfg, ctx.baseDir)) {
          if (fatal) break;
          listed++;
          if (!e.ok) {
            ctx.reject({ file: e.file, line: e.line, code: 'R_BAD_TARGET', reason: `not a domain name: "${e.raw}"`, raw: e.raw });
            continue;
          }
          if (seen.has(e.domain)) {
            // Asking twice would count the same bytes twice.
            log.warn({ domain: e.domain }, 'opensrs domain listed more than once; queried once');
            continue;
          }
          seen.add(e.domain);
          await queue.onSizeLessThan(cfg.concurrency); // backpressure: the list may be long
          if (fatal) break;
          queue.add(() => fetchDomain(e.domain)).catch(stop);
        }
      } catch (err) {
        stop(err);
      }
      await queue.onIdle();
      ctx.signal?.removeEventListener('abort', onOuterAbort);
      await http.close();
      if (fatal) throw fatal.err;
      if (listed === 0) {
        throw new TiError('TI_SOURCE_FORMAT', `OpenSRS domain list ${domainListLabel(cfg)} names no domain`);
      }
      log.info({ domains: seen.size, endpoint: where }, 'opensrs domains read');
    },
  };
}
