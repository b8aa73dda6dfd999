// PleskClient over real loopback HTTP against a scripted node:http server.

import { afterEach, describe, expect, it } from 'vitest';
import { TiError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { PleskClient } from '../../src/plesk/client.js';
import type { SetTrafficNode } from '../../src/plesk/types.js';
import { parseXml } from '../../src/plesk/xml.js';
import {
  baseOptions, captureLogger, requestNodes, setTrafficAnswer, startServer, systemError,
  type Reply, type TestServer, type Recorded,
} from './client-helpers.js';

const PASSWORD = 'S3cret-Pass!word';
const KEY = 'a1b2c3d4-secret-key-e5f6';

let server: TestServer | undefined;
let client: PleskClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

async function setup(reply: (req: Recorded, i: number) => Reply | Promise<Reply>, over: Parameters<typeof baseOptions>[1] = {}, log = silentLogger()) {
  server = await startServer(reply);
  client = new PleskClient(baseOptions(server.url, over), log);
  return { server, client };
}

const node = (domId: number, over: Partial<SetTrafficNode> = {}): SetTrafficNode => ({
  domId, date: '2026-03-01', smtp_in: 10n, smtp_out: 20n, pop3_imap_in: 30n, pop3_imap_out: 40n, ...over,
});
const echo = (req: Recorded): Reply => ({ body: setTrafficAnswer(req.body) });

async function thrown(p: Promise<unknown>): Promise<TiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TiError) return err;
    throw err;
  }
  throw new Error('expected a TiError');
}

describe('request shape', () => {
  it('POSTs text/xml to agent.php with HTTP_AUTH_LOGIN + HTTP_AUTH_PASSWD', async () => {
    const { server, client } = await setup(echo);
    const out = await client.setTraffic('webspace', [node(1)], { idempotent: false });
    expect(out).toEqual({ kind: 'applied', results: [{ status: 'ok', id: 1 }], attempts: 1 });
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/enterprise/control/agent.php');
    expect(req.headers['content-type']).toMatch(/^text\/xml/);
    expect(req.headers['http_auth_login']).toBe('admin');
    expect(req.headers['http_auth_passwd']).toBe(PASSWORD);
    expect(req.headers['key']).toBeUndefined();
    expect(requestNodes(req.body)).toEqual({ operator: 'webspace', nodes: [{ domId: 1, date: '2026-03-01', values: ['10', '20', '30', '40'] }] });
    expect(parseXml(req.body).attributes).toEqual({ version: '1.6.3.0' });
  });

  it('sends KEY alone with a secret key', async () => {
    const { server, client } = await setup(echo, { auth: { secretKey: KEY } });
    await client.setTraffic('site', [node(11)], { idempotent: true });
    const req = server.requests[0]!;
    expect(req.headers['key']).toBe(KEY);
    expect(req.headers['http_auth_login']).toBeUndefined();
    expect(req.headers['http_auth_passwd']).toBeUndefined();
    expect(requestNodes(req.body).operator).toBe('site');
  });
});

describe('setTraffic results', () => {
  it('multi-node packet: results in order, a per-node error in the middle, others applied', async () => {
    const { client } = await setup((req) => ({ body: setTrafficAnswer(req.body, new Set([2])) }));
    const out = await client.setTraffic('webspace', [node(1), node(2), node(3)], { idempotent: false });
    expect(out).toEqual({
      kind: 'applied', attempts: 1,
      results: [
        { status: 'ok', id: 1 },
        { status: 'error', errcode: 1013, errtext: 'Object not found.', id: 2 },
        { status: 'ok', id: 3 },
      ],
    });
  });

  it('values beyond 2^53 go out exactly', async () => {
    const { server, client } = await setup(echo);
    await client.setTraffic('site', [node(5, { smtp_in: 9223372036854775807n, pop3_imap_in: 9007199254740993n })], { idempotent: true });
    expect(requestNodes(server.requests[0]!.body).nodes[0]!.values).toEqual(['9223372036854775807', '20', '9007199254740993', '40']);
  });

  it('an empty node list sends nothing', async () => {
    const { server, client } = await setup(echo);
    expect(await client.setTraffic('webspace', [], { idempotent: false })).toEqual({ kind: 'applied', results: [], attempts: 0 });
    expect(server.requests).toHaveLength(0);
  });
});

describe('retries', () => {
  it('5xx then success: retried when idempotent', async () => {
    const { server, client } = await setup((req, i) => (i === 0 ? { status: 502, body: 'Bad Gateway' } : echo(req)));
    const out = await client.setTraffic('webspace', [node(1)], { idempotent: true });
    expect(out).toMatchObject({ kind: 'applied', attempts: 2 });
    expect(server.requests).toHaveLength(2);
  });

  it('5xx: uncertain and not resent when not idempotent', async () => {
    const { server, client } = await setup((req, i) => (i === 0 ? { status: 503, body: 'Service Unavailable' } : echo(req)));
    const out = await client.setTraffic('webspace', [node(1)], { idempotent: false });
    expect(out).toMatchObject({ kind: 'uncertain', attempts: 1 });
    expect(out.kind === 'uncertain' && out.error).toMatch(/HTTP 503/);
    expect(server.requests).toHaveLength(1);
  });

  it('dropped connection then success: retried when idempotent', async () => {
    const { server, client } = await setup((req, i) => (i < 2 ? { destroy: true } : echo(req)));
    const out = await client.setTraffic('site', [node(1), node(2)], { idempotent: true });
    expect(out).toMatchObject({ kind: 'applied', attempts: 3 });
    expect(server.requests).toHaveLength(3);
  });

  it('dropped connection: uncertain when not idempotent', async () => {
    const { server, client } = await setup((req, i) => (i === 0 ? { destroy: true } : echo(req)));
    const out = await client.setTraffic('site', [node(1)], { idempotent: false });
    expect(out).toMatchObject({ kind: 'uncertain', attempts: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('reads are retried through drops and 5xx', async () => {
    const body = '<packet><webspace><get_traffic><result><status>ok</status><filter-id>1</filter-id><id>1</id></result></get_traffic></webspace></packet>';
    const { server, client } = await setup((_req, i) => (i === 0 ? { destroy: true } : i === 1 ? { status: 500, body: 'oops' } : { body }));
    const traffic = await client.getTraffic('webspace', [1], '2026-03-01', '2026-03-31');
    expect([...traffic.keys()]).toEqual([1]);
    expect(server.requests).toHaveLength(3);
  });

  it('reads give up after retry.attempts with TI_PLESK_TRANSPORT', async () => {
    const { server, client } = await setup(() => ({ status: 503, body: 'down' }));
    const err = await thrown(client.resolveNames('webspace', ['example.com']));
    expect(err.code).toBe('TI_PLESK_TRANSPORT');
    expect(err.message).toMatch(/3 attempt\(s\): HTTP 503/);
    expect(server.requests).toHaveLength(3);
  });

  it('connection refused: never delivered, so retried even when not idempotent, then failed', async () => {
    const dead = await startServer(echo);
    const url = dead.url;
    await dead.close();
    client = new PleskClient(baseOptions(url), silentLogger());
    const out = await client.setTraffic('webspace', [node(1)], { idempotent: false });
    expect(out).toMatchObject({ kind: 'failed', attempts: 3 });
    expect(out.kind === 'failed' && out.error).toMatch(/ECONNREFUSED/);
  });

  it('a proxy page (non-XML 200) is retried for idempotent packets, uncertain otherwise', async () => {
    const html = '<!DOCTYPE html><html><body>Bad gateway</body></html>';
    let s = await setup((req, i) => (i === 0 ? { body: html } : echo(req)));
    expect(await s.client.setTraffic('webspace', [node(1)], { idempotent: true })).toMatchObject({ kind: 'applied', attempts: 2 });
    await s.client.close();
    await s.server.close();
    s = await setup((req, i) => (i === 0 ? { body: html } : echo(req)));
    const out = await s.client.setTraffic('webspace', [node(1)], { idempotent: false });
    expect(out).toMatchObject({ kind: 'uncertain', attempts: 1 });
    expect(out.kind === 'uncertain' && out.error).toMatch(/unusable answer/);
  });

  it('a short answer never marks nodes as applied', async () => {
    const { server, client } = await setup((req) => {
      const full = setTrafficAnswer(req.body);
      return { body: full.replace(/<set_traffic><result><status>ok<\/status><id>2<\/id><\/result><\/set_traffic>/, '') };
    });
    const out = await client.setTraffic('webspace', [node(1), node(2), node(3)], { idempotent: false });
    expect(out).toMatchObject({ kind: 'uncertain', attempts: 1 });
    expect(out.kind === 'uncertain' && out.error).toMatch(/2 set_traffic results for 3 nodes/);
    expect(server.requests).toHaveLength(1);
  });

  it('transient <system> 1023 is retried even when not idempotent (nothing in the packet ran)', async () => {
    const { server, client } = await setup((req, i) => (i === 0 ? { body: systemError(1023, 'Operation failed.') } : echo(req)));
    expect(await client.setTraffic('webspace', [node(1)], { idempotent: false })).toMatchObject({ kind: 'applied', attempts: 2 });
    expect(server.requests).toHaveLength(2);
  });

  it('another <system> error fails the packet with its code, once', async () => {
    const { server, client } = await setup(() => ({ body: systemError(1006, 'Permission denied.') }));
    const out = await client.setTraffic('webspace', [node(1)], { idempotent: true });
    expect(out).toEqual({ kind: 'failed', errcode: 1006, attempts: 1, error: expect.stringMatching(/Plesk error 1006: Permission denied/) });
    expect(server.requests).toHaveLength(1);
  });

  it('429 honours Retry-After within maxDelayMs', async () => {
    const { server, client } = await setup((req, i) => (i === 0 ? { status: 429, body: '', headers: { 'retry-after': '0' } } : echo(req)));
    expect(await client.setTraffic('webspace', [node(1)], { idempotent: false })).toMatchObject({ kind: 'applied', attempts: 2 });
    expect(server.requests).toHaveLength(2);
  });
});

describe('timeouts', () => {
  // The first answer never comes. undici arms headersTimeout on its coarse "fast timer" (~1 s resolution),
  // so even 100 ms fires after about a second.
  const slowFirst = (req: Recorded, i: number): Reply => (i === 0 ? { hang: true } : echo(req));
  const timeouts = { connectMs: 1000, headersMs: 100, bodyMs: 1000 };

  it('headers timeout: resent when idempotent', async () => {
    const { server, client } = await setup(slowFirst, { timeouts });
    expect(await client.setTraffic('webspace', [node(1)], { idempotent: true })).toMatchObject({ kind: 'applied', attempts: 2 });
    expect(server.requests).toHaveLength(2);
  });

  it('headers timeout: uncertain when not idempotent', async () => {
    const { server, client } = await setup(slowFirst, { timeouts });
    const out = await client.setTraffic('webspace', [node(1)], { idempotent: false });
    expect(out).toMatchObject({ kind: 'uncertain', attempts: 1 });
    expect(out.kind === 'uncertain' && out.error).toMatch(/UND_ERR_HEADERS_TIMEOUT/);
    expect(server.requests).toHaveLength(1);
  });
});

describe('fatal answers stop the run after one request', () => {
  it.each([1001, 1029, 1012])('login/password rejected (%i) → TI_PLESK_AUTH', async (code) => {
    const { server, client } = await setup(() => ({ body: systemError(code, `Authentication failed for admin/${PASSWORD}`) }));
    const err = await thrown(client.setTraffic('webspace', [node(1)], { idempotent: true }));
    expect(err.code).toBe('TI_PLESK_AUTH');
    expect(err.message).toMatch(/PLESK_LOGIN and PLESK_PASSWORD/);
    expect(err.message).toContain(`Plesk error ${code}`);
    expect(server.requests).toHaveLength(1);
  });

  it('secret key rejected (11003) → TI_PLESK_AUTH naming PLESK_SECRET_KEY, for reads too', async () => {
    const { server, client } = await setup(() => ({ body: systemError(11003, 'PleskAPIInvalidSecretKeyException : Invalid secret key usage.') }), { auth: { secretKey: KEY } });
    const err = await thrown(client.getTraffic('webspace', [1, 2], '2026-03-01', '2026-03-02'));
    expect(err.code).toBe('TI_PLESK_AUTH');
    expect(err.message).toMatch(/PLESK_SECRET_KEY/);
    expect(server.requests).toHaveLength(1);
  });

  it.each([[1014, 'TI_PLESK_PACKET'], [1005, 'TI_PLESK_PACKET'], [1017, 'TI_PLESK_PACKET']])('%i → %s with errtext', async (code, tiCode) => {
    const { server, client } = await setup(() => ({ body: systemError(code, 'Expected is one of ( smtp_out )') }));
    const err = await thrown(client.setTraffic('site', [node(1)], { idempotent: false }));
    expect(err.code).toBe(tiCode);
    expect(err.message).toContain('Expected is one of ( smtp_out )');
    expect(server.requests).toHaveLength(1);
  });

  it('HTTP 404 → TI_PLESK_TRANSPORT with a hint, no retry', async () => {
    const { server, client } = await setup(() => ({ status: 404, body: 'Not Found' }));
    const err = await thrown(client.setTraffic('site', [node(1)], { idempotent: true }));
    expect(err.code).toBe('TI_PLESK_TRANSPORT');
    expect(err.message).toMatch(/HTTP 404/);
    expect(server.requests).toHaveLength(1);
  });
});

describe('secrets never leave the client', () => {
  it('neither the password nor the key is in errors or log lines', async () => {
    for (const auth of [{ login: 'admin', password: PASSWORD }, { secretKey: KEY }]) {
      const secret = 'password' in auth ? auth.password : auth.secretKey;
      const { log, lines } = captureLogger();
      const s = await setup((_req, i) => (i === 0 ? { status: 502, body: '' } : { body: systemError(1001, `bad credentials ${secret}`) }), { auth }, log);
      const err = await thrown(s.client.setTraffic('webspace', [node(1)], { idempotent: true }));
      expect(err.code).toBe('TI_PLESK_AUTH');
      const everything = [err.message, JSON.stringify(err.details), String(err.stack), ...lines].join('\n');
      expect(lines.length).toBeGreaterThan(0);
      expect(everything).not.toContain(secret);
      expect(everything).toContain('[redacted]');
      await s.client.close();
      await s.server.close();
      client = undefined;
      server = undefined;
    }
  });

  it('per-node errtext is scrubbed too', async () => {
    const { client } = await setup(() => ({
      body: `<packet><site><set_traffic><result><status>error</status><errcode>1019</errcode><errtext>value ${PASSWORD} invalid</errtext></result></set_traffic></site></packet>`,
    }));
    const out = await client.setTraffic('site', [node(1)], { idempotent: false });
    expect(out).toEqual({ kind: 'applied', attempts: 1, results: [{ status: 'error', errcode: 1019, errtext: 'value [redacted] invalid' }] });
  });
});

describe('resolveNames', () => {
  // A panel with example.com=1, example.net=2, bücher.example=4 whose name filter matches the Unicode form only.
  const panel = new Map([['example.com', 1], ['example.net', 2], ['bücher.example', 4]]);
  const ascii: Record<string, string> = { 'bücher.example': 'xn--bcher-kva.example' };
  const answerGet = (req: Recorded): Reply => {
    const op = parseXml(req.body).children[0]!;
    const gets = op.children.map((get) => {
      const results = get.children[0]!.children.map((n) => {
        const id = panel.get(n.text);
        return id === undefined
          ? `<result><status>error</status><errcode>1013</errcode><errtext>Webspace does not exist</errtext><filter-id>${n.text}</filter-id></result>`
          : `<result><status>ok</status><filter-id>${n.text}</filter-id><id>${id}</id><data><gen_info><name>${n.text}</name><ascii-name>${ascii[n.text] ?? n.text}</ascii-name></gen_info></data></result>`;
      });
      return `<get>${results.join('')}</get>`;
    });
    return { body: `<packet version="1.6.3.0"><${op.name}>${gets.join('')}</${op.name}></packet>` };
  };

  it('known names → ids, unknown (1013) absent, IDN matched through ascii-name', async () => {
    const { server, client } = await setup(answerGet);
    const map = await client.resolveNames('webspace', ['Example.COM', 'example.net.', 'xn--bcher-kva.example', 'missing.example']);
    expect([...map].sort()).toEqual([['example.com', 1], ['example.net', 2], ['xn--bcher-kva.example', 4]]);
    expect(server.requests).toHaveLength(1);
    const names = parseXml(server.requests[0]!.body).children[0]!.children[0]!.children[0]!.children.map((c) => c.text);
    expect(names).toEqual(['example.com', 'example.net', 'xn--bcher-kva.example', 'bücher.example', 'missing.example']);
  });

  it('batches 100 names per filter, 5 filters per packet', async () => {
    const { server, client } = await setup(answerGet);
    const names = Array.from({ length: 1150 }, (_, i) => `n${i}.example`).concat(['example.com']);
    const map = await client.resolveNames('site', names);
    expect([...map]).toEqual([['example.com', 1]]);
    expect(server.requests).toHaveLength(3);
    const shape = server.requests.map((r) => parseXml(r.body).children[0]!.children.map((get) => get.children[0]!.children.length));
    expect(shape.flat().reduce((a, b) => a + b, 0)).toBe(1151);
    expect(shape.map((gets) => gets.length).sort()).toEqual([2, 5, 5]);
    expect(Math.max(...shape.flat())).toBe(100);
  });

  it('a panel that refuses the Unicode form of an IDN still resolves its ASCII form', async () => {
    const { client } = await setup(() => ({
      body: '<packet><webspace><get>' +
        '<result><status>ok</status><filter-id>xn--bcher-kva.example</filter-id><id>4</id><data><gen_info><name>bücher.example</name><ascii-name>xn--bcher-kva.example</ascii-name></gen_info></data></result>' +
        '<result><status>error</status><errcode>1019</errcode><errtext>Invalid value.</errtext><filter-id>bücher.example</filter-id></result>' +
        '</get></webspace></packet>',
    }));
    expect(Object.fromEntries(await client.resolveNames('webspace', ['xn--bcher-kva.example']))).toEqual({ 'xn--bcher-kva.example': 4 });
  });

  it('an unexpected per-name error stops with TI_PLESK_RESPONSE', async () => {
    const { client } = await setup(() => ({
      body: '<packet><webspace><get><result><status>error</status><errcode>1006</errcode><errtext>Permission denied</errtext><filter-id>example.com</filter-id></result></get></webspace></packet>',
    }));
    const err = await thrown(client.resolveNames('webspace', ['example.com']));
    expect(err.code).toBe('TI_PLESK_RESPONSE');
    expect(err.message).toMatch(/example\.com: Plesk error 1006: Permission denied/);
  });
});

describe('getTraffic', () => {
  const row = (date: string, smtpIn: string) =>
    `<traffic><date>${date}</date><http_in>5</http_in><http_out>6</http_out><ftp_in>7</ftp_in><ftp_out>8</ftp_out><smtp_in>${smtpIn}</smtp_in><smtp_out>1</smtp_out><pop3_imap_in>2</pop3_imap_in><pop3_imap_out>3</pop3_imap_out></traffic>`;
  const answer = (req: Recorded): Reply => {
    const op = parseXml(req.body).children[0]!;
    const ids = op.children[0]!.children[0]!.children.map((c) => Number(c.text));
    const results = ids.map((id) =>
      id === 999
        ? `<result><status>error</status><errcode>1013</errcode><errtext>Object not found.</errtext><filter-id>${id}</filter-id></result>`
        : `<result><status>ok</status><filter-id>${id}</filter-id><id>${id}</id>${id === 1 ? row('2026-03-01', '9223372036854775807') + row('2026-03-02', '0') : ''}</result>`,
    );
    return { body: `<packet><${op.name}><get_traffic>${results.join('')}</get_traffic></${op.name}></packet>` };
  };

  it('ids batched per request; exact values; 1013 absent; known ids without rows present and empty', async () => {
    const { server, client } = await setup(answer);
    const ids = [...Array.from({ length: 150 }, (_, i) => i + 1), 999, 1];
    const map = await client.getTraffic('site', ids, '2026-03-01', '2026-03-31');
    expect(server.requests).toHaveLength(2);
    expect(map.size).toBe(150);
    expect(map.has(999)).toBe(false);
    expect([...map.get(2)!]).toEqual([]);
    expect(map.get(1)!.get('2026-03-01')).toEqual({
      http_in: 5n, http_out: 6n, ftp_in: 7n, ftp_out: 8n, smtp_in: 9223372036854775807n, smtp_out: 1n, pop3_imap_in: 2n, pop3_imap_out: 3n,
    });
    const first = parseXml(server.requests[0]!.body).children[0]!.children[0]!;
    expect(first.children.map((c) => [c.name, c.name === 'filter' ? c.children.length : c.text]).sort()).toEqual(
      [['filter', expect.any(Number)], ['since_date', '2026-03-01'], ['to_date', '2026-03-31']].sort(),
    );
  });
});

describe('queue', () => {
  it('never more than `concurrency` packets in flight', async () => {
    const { server, client } = await setup((req) => ({ ...echo(req), delayMs: 30 } as Reply), { concurrency: 2 });
    const outs = await Promise.all(Array.from({ length: 6 }, (_, i) => client.setTraffic('webspace', [node(i + 1)], { idempotent: false })));
    expect(outs.every((o) => o.kind === 'applied')).toBe(true);
    expect(server.requests).toHaveLength(6);
    expect(server.maxInFlight()).toBe(2);
  });

  it('packetsPerSecond spaces packets out', async () => {
    const { server, client } = await setup(echo, { concurrency: 4, packetsPerSecond: 10 });
    await Promise.all(Array.from({ length: 12 }, (_, i) => client.setTraffic('webspace', [node(i + 1)], { idempotent: false })));
    expect(server.requests).toHaveLength(12);
    // 10 per second: the 11th reaches the server an interval after the first (a lower bound: load only adds to it).
    expect(server.requests[10]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(900);
  });
});
