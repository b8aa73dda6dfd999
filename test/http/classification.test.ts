// One HTTP layer: the Plesk client, the WHM reader and the OpenSRS reader meet the same faults from a loopback
// server and retry (or not) alike — transient faults are retried, permanent ones are not.

import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { PleskClient } from '../../src/plesk/client.js';
import { createCpanelReader, cpanelSourceSchema } from '../../src/readers/cpanel/index.js';
import { createOpensrsReader, opensrsSourceSchema } from '../../src/readers/opensrs.js';
import type { ReaderContext } from '../../src/readers/types.js';
import { baseOptions, startServer, type Reply, type TestServer } from '../plesk/client-helpers.js';

const FAST = { retry: { attempts: 3, minDelayMs: 1, maxDelayMs: 5 }, timeouts: { connectMs: 2000, headersMs: 400, bodyMs: 400 } };

const PLESK_OK = '<?xml version="1.0"?><packet version="1.6.3.0"><webspace><get_traffic><result><status>ok</status><filter-id>1</filter-id><id>1</id></result></get_traffic></webspace></packet>';
const WHM_OK = JSON.stringify({ metadata: { result: 1 }, data: { acct: [{ user: 'bob', domain: 'bob.example' }] } });
const OPENSRS_OK = JSON.stringify({ success: true, summary: {} });

function ctx(env: NodeJS.ProcessEnv): ReaderContext {
  return { baseDir: '.', window: {}, env, log: silentLogger(), reject: () => undefined, unresolved: () => undefined, ignored: () => undefined };
}

/** Each client does one read against the server; resolves with 'ok' or the error's code. */
const CLIENTS: Record<string, (url: string) => Promise<string>> = {
  plesk: async (url) => {
    const client = new PleskClient(baseOptions(url, FAST), silentLogger());
    try {
      await client.getTraffic('webspace', [1], '2026-11-01', '2026-11-01');
      return 'ok';
    } catch (err) {
      return (err as { code?: string }).code ?? 'error';
    } finally {
      await client.close();
    }
  },
  whm: async (url) => {
    const reader = createCpanelReader(cpanelSourceSchema.parse({ type: 'cpanel', from: 'api', url, ...FAST }));
    return reader.check!(ctx({ WHM_API_TOKEN: 'tok' })).then(() => 'ok', (err: { code?: string }) => err.code ?? 'error');
  },
  opensrs: async (url) => {
    const reader = createOpensrsReader(opensrsSourceSchema.parse({ type: 'opensrs', url: `${url}/api`, domains: ['a.example'], ...FAST }));
    const rejects: string[] = [];
    const c = { ...ctx({ OPENSRS_USER: 'u', OPENSRS_PASSWORD: 'p' }), reject: (r: { code: string }) => void rejects.push(r.code) };
    return reader.read(c, () => undefined).then(() => (rejects.length ? `rejected ${rejects.join(',')}` : 'ok'), (err: { code?: string }) => err.code ?? 'error');
  },
};
const OK_BODY: Record<string, string> = { plesk: PLESK_OK, whm: WHM_OK, opensrs: OPENSRS_OK };

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe.each(Object.keys(CLIENTS))('%s client over the shared HTTP layer', (name) => {
  const ok: Reply = { body: OK_BODY[name]! };
  it.each<[string, Reply, number]>([
    ['HTTP 503', { status: 503, body: 'busy' }, 2],
    ['HTTP 429 with Retry-After: 0', { status: 429, body: 'slow down', headers: { 'retry-after': '0' } }, 2],
    ['a reset connection', { destroy: true }, 2],
    ['no answer within headersMs', { hang: true }, 2],
  ])('retries %s once, then succeeds', async (_what, fault, requests) => {
    server = await startServer((_req, i) => (i === 0 ? fault : ok));
    expect(await CLIENTS[name]!(server.url)).toBe('ok');
    expect(server.requests).toHaveLength(requests);
  });

  it('gives up after retry.attempts on a fault that persists', async () => {
    server = await startServer(() => ({ status: 502, body: 'bad gateway' }));
    const outcome = await CLIENTS[name]!(server.url);
    expect(outcome).not.toBe('ok');
    expect(server.requests).toHaveLength(3);
  });

  it('never retries HTTP 404 (permanent)', async () => {
    server = await startServer(() => ({ status: 404, body: 'no such page' }));
    const outcome = await CLIENTS[name]!(server.url);
    expect(outcome).not.toBe('ok');
    expect(server.requests).toHaveLength(1);
  });
});
