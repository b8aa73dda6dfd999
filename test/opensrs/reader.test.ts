// OpenSRS reader against the mock OMA server over loopback.

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { TiError, EXIT } from '../../src/errors.js';
import { createOpensrsReader } from '../../src/readers/opensrs.js';
import { startOpensrsMock, type OpensrsMock, type OpensrsMockOptions } from '../../src/stand-ins/opensrs/server.js';
import { PASSWORD, TOKEN, USER, captureLog, collect, config, days, rows } from './helpers.js';

const mocks: OpensrsMock[] = [];
async function mock(opts: Partial<OpensrsMockOptions> & Pick<OpensrsMockOptions, 'domains'>): Promise<OpensrsMock> {
  const m = await startOpensrsMock({ user: USER, password: PASSWORD, ...opts });
  mocks.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(mocks.splice(0).map((m) => m.close()));
});

const TWO = {
  'opensrs-one.com': { '20240105': { in_size: 1000, out_size: 2000 }, '20240106': { in_size: 1500, out_size: 0 } },
  'opensrs-two.com': { '20240105': { in_size: 7, out_size: 9 } },
};
const TWO_ROWS = [
  { domain: 'opensrs-one.com', date: '2024-01-05', metrics: { smtp_in: 1000n, smtp_out: 2000n } },
  { domain: 'opensrs-one.com', date: '2024-01-06', metrics: { smtp_in: 1500n, smtp_out: 0n } },
  { domain: 'opensrs-two.com', date: '2024-01-05', metrics: { smtp_in: 7n, smtp_out: 9n } },
];

async function run(m: OpensrsMock, over: Record<string, unknown>, c = collect()) {
  const reader = createOpensrsReader(config({ url: m.url, ...over }));
  await reader.read(c.ctx, c.emit);
  return c;
}

describe('opensrs reader: values', () => {
  it('imports JSON numbers as bigint bytes, smtp only, origin opensrs:<domain>', async () => {
    const m = await mock({ domains: TWO });
    const c = await run(m, { domains: ['opensrs-one.com', 'opensrs-two.com'] });
    expect(rows(c.records)).toEqual(TWO_ROWS);
    expect(c.rejects).toEqual([]);
    for (const r of c.records) {
      expect(r.origin).toEqual({ file: `opensrs:${r.target.domain}`, line: 0 });
      expect(Object.keys(r.metrics).sort()).toEqual(['smtp_in', 'smtp_out']); // no POP3/IMAP bytes in OMA
    }
  });

  it('imports numeric strings the same way', async () => {
    const m = await mock({ domains: TWO, numbersAsStrings: true });
    const c = await run(m, { domains: ['opensrs-one.com', 'opensrs-two.com'] });
    expect(m.responses[0]?.body).toContain('"in_size": "1000"');
    expect(rows(c.records)).toEqual(TWO_ROWS);
  });

  it('treats "" as a missing metric, not zero', async () => {
    const m = await mock({
      domains: {
        'opensrs-one.com': {
          '20240105': { in_size: '', out_size: 5 },
          '20240106': { in_size: 8, out_size: '' },
          '20240107': { in_size: '', out_size: '' },
        },
        'opensrs-two.com': { '20240105': { in_size: 1, out_size: 2 } },
      },
      emptyStringsFor: ['opensrs-two.com'],
    });
    const c = await run(m, { domains: ['opensrs-one.com', 'opensrs-two.com'] });
    expect(rows(c.records)).toEqual([
      { domain: 'opensrs-one.com', date: '2024-01-05', metrics: { smtp_out: 5n } },
      { domain: 'opensrs-one.com', date: '2024-01-06', metrics: { smtp_in: 8n } },
    ]);
    expect(c.rejects).toEqual([]);
  });

  it('keeps values beyond 2^53 exact and rejects values beyond xs:long', async () => {
    const m = await mock({
      domains: {
        'opensrs-one.com': {
          '20240105': { in_size: 9007199254740993n, out_size: 9223372036854775807n },
          '20240106': { in_size: '9007199254740995', out_size: 9223372036854775808n },
          '20240107': { in_size: '12345678901234567', out_size: 10 },
        },
      },
    });
    const c = await run(m, { domains: ['opensrs-one.com'] });
    expect(m.responses[0]?.body).toContain('"in_size": 9007199254740993,'); // really a JSON number on the wire
    expect(rows(c.records)).toEqual([
      { domain: 'opensrs-one.com', date: '2024-01-05', metrics: { smtp_in: 9007199254740993n, smtp_out: 9223372036854775807n } },
      { domain: 'opensrs-one.com', date: '2024-01-06', metrics: { smtp_in: 9007199254740995n } },
      { domain: 'opensrs-one.com', date: '2024-01-07', metrics: { smtp_in: 12345678901234567n, smtp_out: 10n } },
    ]);
    expect(c.rejects).toEqual([
      {
        file: 'opensrs:opensrs-one.com',
        line: 0,
        column: 'summary.20240106.messages.out_size',
        code: 'R_OVER_LONG',
        reason: 'value 9223372036854775808 exceeds xs:long in the OpenSRS answer for opensrs-one.com',
        raw: '9223372036854775808',
        // smtp_out of that day is held back (Plesk keeps its value), docs/reconcile.md
        affects: { target: { domain: 'opensrs-one.com' }, date: '2024-01-06', metrics: ['smtp_out'] },
      },
    ]);
  });

  it('rejects negative and non-numeric values with the JSON path, keeps the day\'s good metric', async () => {
    const m = await mock({
      domains: {
        'opensrs-one.com': {
          '20240105': { in_size: -5, out_size: 40 },
          '20240106': { in_size: 30, out_size: 'lots' },
          '20240107': { in_size: 3, out_size: 4 },
        },
      },
    });
    const c = await run(m, { domains: ['opensrs-one.com'] });
    expect(rows(c.records)).toEqual([
      { domain: 'opensrs-one.com', date: '2024-01-05', metrics: { smtp_out: 40n } },
      { domain: 'opensrs-one.com', date: '2024-01-06', metrics: { smtp_in: 30n } },
      { domain: 'opensrs-one.com', date: '2024-01-07', metrics: { smtp_in: 3n, smtp_out: 4n } },
    ]);
    expect(c.rejects.map((r) => [r.code, r.column, r.raw])).toEqual([
      ['R_NEGATIVE', 'summary.20240105.messages.in_size', '-5'],
      ['R_NOT_NUMERIC', 'summary.20240106.messages.out_size', 'lots'],
    ]);
  });

  it('rejects day keys that are not YYYYMMDD calendar days', async () => {
    const m = await mock({
      domains: {
        'opensrs-one.com': {
          '20240231': { in_size: 1, out_size: 1 },
          '20240105-20240111': { in_size: 2, out_size: 2 },
          '20240105': { in_size: 3, out_size: 4 },
        },
      },
    });
    const c = await run(m, { domains: ['opensrs-one.com'] });
    expect(rows(c.records)).toEqual([{ domain: 'opensrs-one.com', date: '2024-01-05', metrics: { smtp_in: 3n, smtp_out: 4n } }]);
    expect(c.rejects.map((r) => [r.code, r.column, r.file]).sort()).toEqual([
      ['R_BAD_DATE', 'summary.20240105-20240111', 'opensrs:opensrs-one.com'],
      ['R_BAD_DATE', 'summary.20240231', 'opensrs:opensrs-one.com'],
    ]);
  });
});

describe('opensrs reader: run window', () => {
  const thirty = days('2024-01-01', 30, (i) => ({ in_size: 100 + i, out_size: 200 + i }));

  it('emits only the days of the 30 inside the window', async () => {
    const m = await mock({ domains: { 'opensrs-one.com': thirty } });
    const c = await run(m, { domains: ['opensrs-one.com'] }, collect({ window: { from: '2024-01-10', to: '2024-01-12' } }));
    expect(rows(c.records)).toEqual([
      { domain: 'opensrs-one.com', date: '2024-01-10', metrics: { smtp_in: 109n, smtp_out: 209n } },
      { domain: 'opensrs-one.com', date: '2024-01-11', metrics: { smtp_in: 110n, smtp_out: 210n } },
      { domain: 'opensrs-one.com', date: '2024-01-12', metrics: { smtp_in: 111n, smtp_out: 211n } },
    ]);
  });

  it('an open-ended window bounds one side only; no window takes all 30', async () => {
    const m = await mock({ domains: { 'opensrs-one.com': thirty } });
    const from = await run(m, { domains: ['opensrs-one.com'] }, collect({ window: { from: '2024-01-28' } }));
    expect(from.records.map((r) => r.date)).toEqual(['2024-01-28', '2024-01-29', '2024-01-30']);
    const to = await run(m, { domains: ['opensrs-one.com'] }, collect({ window: { to: '2024-01-02' } }));
    expect(rows(to.records)).toEqual([
      { domain: 'opensrs-one.com', date: '2024-01-01', metrics: { smtp_in: 100n, smtp_out: 200n } },
      { domain: 'opensrs-one.com', date: '2024-01-02', metrics: { smtp_in: 101n, smtp_out: 201n } },
    ]);
    const all = await run(m, { domains: ['opensrs-one.com'] });
    expect(all.records).toHaveLength(30);
    expect(all.records.reduce((s, r) => s + (r.metrics.smtp_in ?? 0n), 0n)).toBe(BigInt(30 * 100 + (29 * 30) / 2));
  });
});

describe('opensrs reader: OMA errors', () => {
  it('error 1 (bad credentials) is fatal TI_SOURCE_AUTH and stops further requests', async () => {
    const m = await mock({ domains: TWO, password: 'another-password' });
    const c = collect();
    const reader = createOpensrsReader(config({ url: m.url, concurrency: 1, domains: ['opensrs-one.com', 'opensrs-two.com', 'third.example'] }));
    const err = await reader.read(c.ctx, c.emit).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TiError);
    expect((err as TiError).code).toBe('TI_SOURCE_AUTH');
    expect((err as TiError).exitCode).toBe(EXIT.FATAL);
    expect((err as TiError).message).toContain('Invalid credentials supplied in request.');
    expect((err as TiError).message).not.toContain(PASSWORD);
    expect(m.requests).toBe(1);
    expect(c.records).toEqual([]);
  });

  it('error 2 (unknown domain) reports the domain unresolved; the others are imported', async () => {
    const m = await mock({ domains: TWO });
    const c = await run(m, { domains: ['opensrs-one.com', 'nobody.example', 'opensrs-two.com'] });
    expect(c.unresolved).toEqual([
      {
        name: 'nobody.example',
        origin: { file: 'opensrs:nobody.example', line: 0 },
        reason: 'OpenSRS does not know nobody.example (error 2: The requested object does not exist.)',
      },
    ]);
    expect(rows(c.records)).toEqual(TWO_ROWS);
    expect(c.rejects).toEqual([]);
  });

  it('other error numbers reject R_SOURCE_ERROR naming the domain and the error text', async () => {
    const m = await mock({ domains: TWO, errorFor: { 'opensrs-two.com': { error_number: 3, error: 'This object is an alias.' } } });
    const c = await run(m, { domains: ['opensrs-one.com', 'opensrs-two.com'] });
    expect(c.rejects).toEqual([
      { file: 'opensrs:opensrs-two.com', line: 0, code: 'R_SOURCE_ERROR', reason: 'OpenSRS error 3 for opensrs-two.com: This object is an alias.' },
    ]);
    expect(rows(c.records)).toEqual(TWO_ROWS.slice(0, 2));
  });

  it("the seed's kind of malformed JSON: reject naming the domain and line:column, other domains imported", async () => {
    const m = await mock({ domains: TWO, malformedFor: ['opensrs-one.com'] });
    const c = await run(m, { domains: ['opensrs-one.com', 'opensrs-two.com'] });
    expect(rows(c.records)).toEqual(TWO_ROWS.slice(2));
    // Where the syntax breaks: the second day's key, right after the first day's storage group.
    const body = m.responses.find((r) => r.domain === 'opensrs-one.com')?.body ?? '';
    const pos = body.indexOf('"20240106"');
    const lines = body.slice(0, pos).split('\n');
    const line = lines.length;
    const column = (lines.at(-1) ?? '').length + 1;
    expect(c.rejects).toEqual([
      {
        file: 'opensrs:opensrs-one.com',
        line,
        code: 'R_PARSE',
        reason: `malformed JSON in the OpenSRS answer for opensrs-one.com at line ${line}, column ${column} (offset ${pos}): Expected ',' or '}' after property value`,
        raw: body.slice(pos - 40, pos + 40),
      },
    ]);
  });

  it("rejects the seed's own sample response at line 163, column 8", async () => {
    const seed = readFileSync(new URL('../../samples/opensrs/seed-002-example1-response.txt', import.meta.url), 'utf8');
    const m = await mock({ domains: TWO, rawBodyFor: { 'opensrs-one.com': seed } });
    const c = await run(m, { domains: ['opensrs-one.com', 'opensrs-two.com'] });
    expect(c.rejects).toHaveLength(1);
    expect(c.rejects[0]?.reason).toBe(
      "malformed JSON in the OpenSRS answer for opensrs-one.com at line 163, column 8 (offset 3026): Expected ',' or '}' after property value",
    );
    expect(c.rejects[0]?.raw?.slice(40)).toMatch(/^"20111221": /);
    expect(rows(c.records)).toEqual(TWO_ROWS.slice(2));
  });
});

describe('opensrs reader: transport', () => {
  it('sends the documented request body: credentials object, type, object, by', async () => {
    const m = await mock({ domains: TWO });
    await run(m, { domains: ['opensrs-one.com'] });
    expect(m.bodies).toEqual([
      { credentials: { user: USER, password: PASSWORD, client: 'traffic-import' }, type: 'domain', object: 'opensrs-one.com', by: 'day' },
    ]);
  });

  it('authenticates with OPENSRS_TOKEN (credentials.token, no password)', async () => {
    const m = await mock({ domains: TWO, token: TOKEN, password: 'not-used-here' });
    const c = await run(m, { domains: ['opensrs-two.com'], client: 'billing-import' }, collect({ env: { OPENSRS_USER: USER, OPENSRS_TOKEN: TOKEN } }));
    expect(m.bodies).toEqual([
      { credentials: { user: USER, token: TOKEN, client: 'billing-import' }, type: 'domain', object: 'opensrs-two.com', by: 'day' },
    ]);
    expect(rows(c.records)).toEqual(TWO_ROWS.slice(2));
  });

  it('a token wins over a password when both are set', async () => {
    const m = await mock({ domains: TWO, token: TOKEN });
    await run(m, { domains: ['opensrs-two.com'] }, collect({ env: { OPENSRS_USER: USER, OPENSRS_PASSWORD: PASSWORD, OPENSRS_TOKEN: TOKEN } }));
    expect((m.bodies[0] as { credentials: unknown }).credentials).toEqual({ user: USER, token: TOKEN, client: 'traffic-import' });
  });

  it('retries 503 answers with backoff and then imports', async () => {
    const m = await mock({ domains: TWO, failFirst: 3 });
    const c = await run(m, { domains: ['opensrs-one.com', 'opensrs-two.com'], concurrency: 1 });
    expect(rows(c.records)).toEqual(TWO_ROWS);
    expect(m.requests).toBe(5); // 3 × 503, then one per domain
    expect(c.rejects).toEqual([]);
  });

  it('a 503 that outlives the retries rejects that domain only', async () => {
    const m = await mock({ domains: TWO, failFirst: 2 });
    const c = await run(m, { domains: ['opensrs-one.com', 'opensrs-two.com'], concurrency: 1, retries: 1 });
    expect(c.rejects).toEqual([
      {
        file: 'opensrs:opensrs-one.com',
        line: 0,
        code: 'R_SOURCE_ERROR',
        reason: 'OpenSRS answered HTTP 503 for opensrs-one.com: <html><body>503 Service Unavailable</body></html>',
      },
    ]);
    expect(rows(c.records)).toEqual(TWO_ROWS.slice(2));
    expect(m.requests).toBe(3);
  });

  it('times out a request that gets no answer and retries it', async () => {
    const m = await mock({ domains: TWO, hangFirst: 1 });
    const c = await run(m, { domains: ['opensrs-two.com'], timeoutMs: 200 });
    // The first request hung until timeoutMs; the second one answered.
    expect(rows(c.records)).toEqual(TWO_ROWS.slice(2));
    expect(m.requests).toBe(2);
  });

  it('an unreachable server is fatal TI_SOURCE_UNREADABLE after the retries', async () => {
    const m = await mock({ domains: TWO });
    const url = m.url;
    await m.close();
    const c = collect();
    const reader = createOpensrsReader(config({ url, domains: ['opensrs-one.com'], retries: 2, retryDelayMs: 1 }));
    const err = await reader.read(c.ctx, c.emit).then(() => null, (e: unknown) => e);
    expect((err as TiError).code).toBe('TI_SOURCE_UNREADABLE');
    expect((err as TiError).message).toContain('ECONNREFUSED, 3 attempts');
  });

  it('a wrong base URL (404: no such method) is fatal', async () => {
    const m = await mock({ domains: TWO });
    const c = collect();
    const reader = createOpensrsReader(config({ url: m.url.replace(/\/api$/, '/wrong'), domains: ['opensrs-one.com'] }));
    const err = await reader.read(c.ctx, c.emit).then(() => null, (e: unknown) => e);
    expect((err as TiError).code).toBe('TI_SOURCE_UNREADABLE');
    expect((err as TiError).message).toMatch(/answered 404/);
  });

  it('env OPENSRS_URL overrides the configured url', async () => {
    const m = await mock({ domains: TWO });
    const c = collect({ env: { OPENSRS_USER: USER, OPENSRS_PASSWORD: PASSWORD, OPENSRS_URL: `${m.url}/` } });
    await run(m, { url: 'http://127.0.0.1:9/never', domains: ['opensrs-two.com'] }, c);
    expect(rows(c.records)).toEqual(TWO_ROWS.slice(2));
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const many: OpensrsMockOptions['domains'] = {};
    for (let i = 0; i < 8; i++) many[`d${i}.example`] = { '20240105': { in_size: i, out_size: i } };
    const m = await mock({ domains: many, delayMs: 30 });
    const c = await run(m, { domains: Object.keys(many) });
    expect(c.records).toHaveLength(8);
    expect(m.maxInFlight).toBe(2); // default concurrency
  });

  it('queries a domain listed twice only once', async () => {
    const m = await mock({ domains: TWO });
    const c = await run(m, { domains: ['opensrs-two.com', 'OpenSRS-Two.com.', 'opensrs-two.com'] });
    expect(m.requests).toBe(1);
    expect(rows(c.records)).toEqual(TWO_ROWS.slice(2));
  });
});

describe('opensrs reader: secrets', () => {
  it('never logs or reports the password or the token', async () => {
    const cap = captureLog();
    const m = await mock({ domains: TWO, token: TOKEN, failFirst: 1, malformedFor: ['opensrs-two.com'], errorFor: { 'x.example': { error_number: 6, error: `bad ${PASSWORD}` } } });
    const env = { OPENSRS_USER: USER, OPENSRS_PASSWORD: PASSWORD };
    const c = await run(m, { domains: ['opensrs-one.com', 'opensrs-two.com', 'x.example', 'nobody.example'] }, collect({ env, log: cap.log }));
    expect(c.records).toHaveLength(2);
    expect(c.rejects.find((r) => r.file === 'opensrs:x.example')?.reason).toBe('OpenSRS error 6 for x.example: bad [redacted]');

    // bad credentials, token flavour
    const m2 = await mock({ domains: TWO, token: 'other' });
    const c2 = collect({ env: { OPENSRS_USER: USER, OPENSRS_TOKEN: TOKEN }, log: cap.log });
    const err = await createOpensrsReader(config({ url: m2.url, domains: ['opensrs-one.com'] }))
      .read(c2.ctx, c2.emit)
      .then(() => null, (e: unknown) => e);
    expect((err as TiError).code).toBe('TI_SOURCE_AUTH');

    const logs = cap.text();
    expect(logs).toContain('retrying'); // the 503 was logged …
    expect(logs).toContain('opensrs stats_summary');
    const everything = [logs, JSON.stringify(c.rejects), JSON.stringify(c.unresolved), String(err), JSON.stringify((err as TiError).details)].join('\n');
    expect(everything).not.toContain(PASSWORD); // … without the secrets
    expect(everything).not.toContain(TOKEN);
  });
});
