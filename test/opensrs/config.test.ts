// Schema, domain list and check() of the OpenSRS reader (no network: check() must not call OpenSRS).

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TiError } from '../../src/errors.js';
import { createOpensrsReader, opensrsSourceSchema } from '../../src/readers/opensrs.js';
import { startOpensrsMock, type OpensrsMock } from '../../src/stand-ins/opensrs/server.js';
import { PASSWORD, TOKEN, USER, collect, config, rows } from './helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const mocks: OpensrsMock[] = [];
afterEach(async () => {
  await Promise.all(mocks.splice(0).map((m) => m.close()));
});

async function fail(p: Promise<unknown>): Promise<TiError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(TiError);
  return e as TiError;
}

describe('opensrsSourceSchema', () => {
  it('applies defaults', () => {
    expect(opensrsSourceSchema.parse({ type: 'opensrs', domains: ['example.com'] })).toEqual({
      type: 'opensrs',
      domains: ['example.com'],
      concurrency: 2,
      // The shared HTTP vocabulary (src/http); the older `timeoutMs: 30000, retries: 3, retryDelayMs: 500` are the same settings.
      timeouts: { connectMs: 30000, headersMs: 30000, bodyMs: 30000 },
      retry: { attempts: 4, minDelayMs: 500, maxDelayMs: 30000 },
      insecureTls: false,
      client: 'traffic-import',
    });
    expect(opensrsSourceSchema.parse({ type: 'opensrs', domains: ['example.com'], timeoutMs: 200, retries: 1, retryDelayMs: 5 })).toMatchObject({
      timeouts: { connectMs: 200, headersMs: 200, bodyMs: 200 }, retry: { attempts: 2, minDelayMs: 5, maxDelayMs: 30000 },
    });
  });

  it.each([
    [{ type: 'opensrs', domains: ['example.com'], passwd: 'x' }, 'Unrecognized key'],
    [{ type: 'opensrs' }, 'exactly one of "domains" and "domainsFile"'],
    [{ type: 'opensrs', domains: ['a.com'], domainsFile: 'd.txt' }, 'exactly one of "domains" and "domainsFile"'],
    [{ type: 'opensrs', domains: ['not a domain'] }, 'not a valid domain name'],
    [{ type: 'opensrs', domains: [] }, 'expected array to have >=1 items'],
    [{ type: 'opensrs', domains: ['a.com'], url: 'ftp://x' }, 'must be an http(s) URL'],
    [{ type: 'opensrs', domains: ['a.com'], url: 'https://x/api', cluster: 'a' }, 'give "url" or "cluster", not both'],
    [{ type: 'opensrs', domains: ['a.com'], concurrency: 0 }, '>=1'],
    [{ type: 'opensrs', domains: ['a.com'], by: 'week' }, 'Unrecognized key'],
  ])('rejects %j', (input, message) => {
    const r = opensrsSourceSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect((r.error?.issues ?? []).map((i) => i.message).join('\n')).toContain(message);
  });

  it('accepts the source of pipelines/opensrs.json', () => {
    const pipeline = JSON.parse(readFileSync(join(ROOT, 'pipelines/opensrs.json'), 'utf8'));
    const cfg = opensrsSourceSchema.parse(pipeline.source);
    expect(cfg.url).toBe('https://admin.test.hostedemail.com/api');
    expect(cfg.domainsFile).toBe('../samples/opensrs/domains.txt');
  });
});

describe('domain list', () => {
  it('reads domainsFile relative to baseDir: comments, blanks, CRLF, BOM, case, duplicates, bad lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opensrs-'));
    writeFileSync(
      join(dir, 'list.txt'),
      '\uFEFF# header\r\nopensrs-one.com\r\n\r\n  OPENSRS-TWO.com   # trailing comment\r\nnot a domain\r\nopensrs-one.com\r\n',
    );
    const m = await startOpensrsMock({
      user: USER,
      password: PASSWORD,
      domains: { 'opensrs-one.com': { '20240105': { in_size: 1, out_size: 2 } }, 'opensrs-two.com': { '20240105': { in_size: 3, out_size: 4 } } },
    });
    mocks.push(m);
    const c = collect({ baseDir: dir });
    await createOpensrsReader(config({ url: m.url, domainsFile: 'list.txt' })).read(c.ctx, c.emit);
    expect(m.bodies.map((b) => (b as { object: string }).object).sort()).toEqual(['opensrs-one.com', 'opensrs-two.com']);
    expect(rows(c.records)).toEqual([
      { domain: 'opensrs-one.com', date: '2024-01-05', metrics: { smtp_in: 1n, smtp_out: 2n } },
      { domain: 'opensrs-two.com', date: '2024-01-05', metrics: { smtp_in: 3n, smtp_out: 4n } },
    ]);
    expect(c.rejects).toEqual([
      { file: join(dir, 'list.txt'), line: 5, code: 'R_BAD_TARGET', reason: 'not a domain name: "not a domain"', raw: 'not a domain' },
    ]);
  });

  it('a missing domainsFile is TI_SOURCE_UNREADABLE, an empty one TI_SOURCE_FORMAT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opensrs-'));
    const c = collect({ baseDir: dir });
    const missing = await fail(createOpensrsReader(config({ domainsFile: 'nope.txt' })).read(c.ctx, c.emit));
    expect(missing.code).toBe('TI_SOURCE_UNREADABLE');
    expect(missing.message).toContain(join(dir, 'nope.txt'));
    writeFileSync(join(dir, 'empty.txt'), '# nothing yet\n\n');
    const empty = await fail(createOpensrsReader(config({ domainsFile: 'empty.txt' })).read(c.ctx, c.emit));
    expect(empty.code).toBe('TI_SOURCE_FORMAT');
  });
});

describe('credentials and check()', () => {
  it.each([
    [{}, 'OPENSRS_USER and OPENSRS_PASSWORD (or OPENSRS_TOKEN)'],
    [{ OPENSRS_USER: USER }, 'OPENSRS_PASSWORD (or OPENSRS_TOKEN)'],
    [{ OPENSRS_PASSWORD: PASSWORD }, 'needs OPENSRS_USER in'],
    [{ OPENSRS_USER: USER, OPENSRS_PASSWORD: '' }, 'OPENSRS_PASSWORD (or OPENSRS_TOKEN)'],
  ])('missing credentials %j → TI_SECRET_MISSING before any request', async (env, text) => {
    const m = await startOpensrsMock({ user: USER, password: PASSWORD, domains: {} });
    mocks.push(m);
    const c = collect({ env });
    const reader = createOpensrsReader(config({ url: m.url, domains: ['opensrs-one.com'] }));
    const e1 = await fail(reader.read(c.ctx, c.emit));
    const e2 = await fail(reader.check!(c.ctx));
    for (const e of [e1, e2]) {
      expect(e.code).toBe('TI_SECRET_MISSING');
      expect(e.message).toContain(text);
    }
    expect(m.requests).toBe(0);
  });

  it('check() reads the domain list and says how it would call OpenSRS, without network', async () => {
    const c = collect({ baseDir: join(ROOT, 'pipelines') });
    const cfg = opensrsSourceSchema.parse(JSON.parse(readFileSync(join(ROOT, 'pipelines/opensrs.json'), 'utf8')).source);
    const line = await createOpensrsReader(cfg).check!(c.ctx);
    expect(line).toBe(
      'opensrs: 2 domain(s) from ../samples/opensrs/domains.txt; user + password; ' +
        'POST https://admin.test.hostedemail.com/api/stats_summary by day, concurrency 2',
    );
    expect(line).not.toContain(PASSWORD);
  });

  it('check() names the cluster URL, the token, and counts invalid lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opensrs-'));
    writeFileSync(join(dir, 'd.txt'), 'a.example\nb..example\n');
    const c = collect({ baseDir: dir, env: { OPENSRS_USER: USER, OPENSRS_TOKEN: TOKEN } });
    const line = await createOpensrsReader(config({ cluster: 'b', domainsFile: 'd.txt' })).check!(c.ctx);
    expect(line).toBe(
      'opensrs: 1 domain(s) from d.txt, 1 invalid (first: line 2 "b..example"); user + token; ' +
        'POST https://admin.b.hostedemail.com/api/stats_summary by day, concurrency 2',
    );
    expect(c.rejects).toEqual([]);
  });

  it('check() uses OPENSRS_URL and rejects a bad one', async () => {
    const env = { OPENSRS_USER: USER, OPENSRS_PASSWORD: PASSWORD, OPENSRS_URL: 'https://admin.a.hostedemail.com/api/' };
    const line = await createOpensrsReader(config({ domains: ['a.example'] })).check!(collect({ env }).ctx);
    expect(line).toContain('POST https://admin.a.hostedemail.com/api/stats_summary');
    const bad = await fail(createOpensrsReader(config({ domains: ['a.example'] })).check!(collect({ env: { ...env, OPENSRS_URL: 'admin.a' } }).ctx));
    expect(bad.code).toBe('TI_CONFIG');
  });
});
