import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  backoffDelay, checkHttpAliases, classifyStatus, classifyTransportError, foldHttpKeys, httpAliasKeys, httpKeys,
  printableUrl, retryAfterMs, retryLoop, type Failure,
} from '../../src/http/index.js';

const err = (code: string) => Object.assign(new Error('boom'), { code });

describe('one classification for every client', () => {
  it.each([
    ['EAI_AGAIN', true, false],
    ['ECONNREFUSED', true, false],
    ['UND_ERR_CONNECT_TIMEOUT', true, false],
    ['ECONNRESET', true, true],
    ['UND_ERR_HEADERS_TIMEOUT', true, true],
    ['UND_ERR_BODY_TIMEOUT', true, true],
    ['HPE_INVALID_CHUNK_SIZE', true, true],
    // Our own client was closed or destroyed: another try cannot help (the OpenSRS reader used to retry it).
    ['UND_ERR_CLOSED', false, false],
    ['UND_ERR_DESTROYED', false, false],
    ['UND_ERR_RES_EXCEEDED_MAX_SIZE', false, false],
  ])('%s → retryable %s, maybe delivered %s', (code, retryable, delivered) => {
    const f = classifyTransportError(err(code));
    expect([f.retryable, f.delivered, f.errno, f.tls]).toEqual([retryable, delivered, code, undefined]);
  });

  it('marks TLS failures, never retryable', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER']) {
      expect(classifyTransportError(err(code))).toMatchObject({ retryable: false, tls: true });
    }
  });

  it('statuses: 408/429 not delivered, 5xx maybe delivered, others permanent, 2xx no failure', () => {
    expect(classifyStatus(200)).toBeUndefined();
    expect(classifyStatus(429, 2000)).toMatchObject({ retryable: true, delivered: false, retryAfterMs: 2000, status: 429 });
    expect(classifyStatus(503)).toMatchObject({ retryable: true, delivered: true });
    expect([301, 401, 403, 404, 418].map((s) => classifyStatus(s)!.retryable)).toEqual([false, false, false, false, false]);
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs('Wed, 02 Dec 2026 04:00:10 GMT', Date.parse('2026-12-02T04:00:00Z'))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('prints URLs without userinfo', () => {
    expect(printableUrl('https://admin:s3cret@panel.example:8443/x?a=1')).toBe('https://panel.example:8443/x?a=1');
    expect(printableUrl('not a url')).toBe('(invalid URL)');
  });
});

describe('retryLoop', () => {
  const transient: Failure = { message: 'ECONNRESET', retryable: true, delivered: true };
  const policy = { attempts: 4, minDelayMs: 1, maxDelayMs: 2 };

  it('retries transient failures up to the attempts, reporting each wait', async () => {
    const waits: number[] = [];
    let n = 0;
    const r = await retryLoop(async () => (++n < 3 ? { ok: false as const, failure: transient } : { ok: true as const, value: 'done' }), {
      retry: policy, random: () => 0, onRetry: (e) => waits.push(e.attempt),
    });
    expect(r).toEqual({ ok: true, value: 'done', attempts: 3 });
    expect(waits).toEqual([1, 2]);
  });

  it('stops at once on a permanent failure, and when the caller forbids a retry', async () => {
    let n = 0;
    const permanent = await retryLoop(async () => (n++, { ok: false as const, failure: { ...transient, retryable: false } }), { retry: policy });
    expect([permanent.ok, permanent.attempts, n]).toEqual([false, 1, 1]);
    const forbidden = await retryLoop(async () => ({ ok: false as const, failure: transient }), { retry: policy, mayRetry: (f) => !f.delivered });
    expect([forbidden.ok, forbidden.attempts]).toEqual([false, 1]);
    const spent = await retryLoop(async () => ({ ok: false as const, failure: transient }), { retry: policy });
    expect(spent.attempts).toBe(4);
  });

  it('backs off exponentially with equal jitter and honours Retry-After up to the cap', () => {
    const retry = { minDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, retry, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(3, retry, () => 0)).toBe(200);
    expect(backoffDelay(1, retry, () => 0, 5000)).toBe(1000);
  });
});

describe('one vocabulary: timeouts, retry, ca, insecureTls; older names as aliases', () => {
  const defaults = { timeouts: { connectMs: 1, headersMs: 2, bodyMs: 3 }, retry: { attempts: 4, minDelayMs: 5, maxDelayMs: 6 } };
  const schema = z.strictObject({ ...httpKeys, ...httpAliasKeys }).superRefine(checkHttpAliases).transform((c) => foldHttpKeys(c, defaults));

  it('fills defaults, folds aliases, and lets the new keys win field by field', () => {
    expect(schema.parse({})).toEqual({ insecureTls: false, ...defaults });
    expect(schema.parse({ retries: 0, timeoutMs: 45_000, retryDelayMs: 50 })).toEqual({
      insecureTls: false, timeouts: { connectMs: 30_000, headersMs: 45_000, bodyMs: 45_000 }, retry: { attempts: 1, minDelayMs: 50, maxDelayMs: 6 },
    });
    expect(schema.parse({ retry: { maxDelayMs: 60 }, ca: 'ca.pem' })).toEqual({
      insecureTls: false, ca: 'ca.pem', timeouts: defaults.timeouts, retry: { attempts: 4, minDelayMs: 5, maxDelayMs: 60 },
    });
  });

  it('refuses an alias given together with the key it stands for', () => {
    const issues = schema.safeParse({ timeoutMs: 5, timeouts: { bodyMs: 9 } }).error?.issues ?? [];
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([['timeoutMs', '"timeoutMs" is the older name of "timeouts": give one of them']]);
  });
});
