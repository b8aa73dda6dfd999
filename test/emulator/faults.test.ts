// Each fault kind of the emulator, over real loopback HTTP, and what it does (or does not) to the state.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorFixture, type Faults } from '../../src/stand-ins/plesk/index.js';
import { mulberry32 } from '../../src/stand-ins/plesk/faults.js';
import { parseXml, type XmlElement } from '../../src/stand-ins/plesk/schema/index.js';

const SAMPLE = path.resolve(import.meta.dirname, '../../samples/plesk-fixture.json');
const AGENT = '/enterprise/control/agent.php';
const HEADERS = { 'Content-Type': 'text/xml', 'HTTP_AUTH_LOGIN': 'admin', 'HTTP_AUTH_PASSWD': 'emulator-password' };

const setNode = (domId: number, date: string, smtpIn: string): string =>
  `<set_traffic><dom_id>${domId}</dom_id><date>${date}</date><smtp_in>${smtpIn}</smtp_in><smtp_out>0</smtp_out>`
  + '<pop3_imap_in>0</pop3_imap_in><pop3_imap_out>0</pop3_imap_out></set_traffic>';
const packet = (operator: string, ops: string): string => `<packet version="1.6.3.0"><${operator}>${ops}</${operator}></packet>`;

const running: Emulator[] = [];
async function emulator(faults: Faults): Promise<Emulator> {
  const e = await startEmulator({ fixture: JSON.parse(readFileSync(SAMPLE, 'utf8')) as EmulatorFixture, faults });
  running.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function send(e: Emulator, body: string): Promise<{ status: number; contentType: string; text: string; headersMs: number; totalMs: number; chunks: string[] }> {
  const started = performance.now();
  const res = await request(`${e.url}${AGENT}`, { method: 'POST', headers: HEADERS, body });
  const headersMs = performance.now() - started;
  const chunks: string[] = [];
  for await (const c of res.body) chunks.push(Buffer.from(c as Uint8Array).toString('utf8'));
  return { status: res.statusCode, contentType: String(res.headers['content-type']), text: chunks.join(''), headersMs, totalMs: performance.now() - started, chunks };
}

const results = (xml: string, op: string): XmlElement[] =>
  parseXml(xml).children[0]!.children.filter((c) => c.name === op).flatMap((o) => o.children.filter((c) => c.name === 'result'));
const val = (el: XmlElement, name: string): string | undefined => el.children.find((c) => c.name === name)?.text;

describe('faults', () => {
  it('latencyMs delays the answer', async () => {
    const e = await emulator({ latencyMs: 150 });
    const r = await send(e, packet('webspace', setNode(2, '2026-11-07', '1')));
    expect(r.status).toBe(200);
    expect(r.headersMs).toBeGreaterThanOrEqual(140);
    expect(e.traffic(2, '2026-11-07')?.smtp_in).toBe(1n);
  });

  it('error5xxRate answers 503 with an HTML body and applies nothing', async () => {
    const e = await emulator({ error5xxRate: 1 });
    const r = await send(e, packet('webspace', setNode(2, '2026-11-07', '1')));
    expect(r.status).toBe(503);
    expect(r.contentType).toBe('text/html');
    expect(r.text).toContain('<title>503 Service Temporarily Unavailable</title>');
    expect(e.traffic(2, '2026-11-07')).toBeUndefined();
    expect([e.requests, e.setTrafficNodes]).toEqual([1, 0]);
    // Faults change at runtime.
    e.faults.error5xxRate = 0;
    expect((await send(e, packet('webspace', setNode(2, '2026-11-07', '1')))).status).toBe(200);
    expect(e.setTrafficNodes).toBe(1);
  });

  it('dropRate destroys the connection before the packet runs', async () => {
    const e = await emulator({ dropRate: 1 });
    await expect(send(e, packet('webspace', setNode(3, '2026-11-07', '42')))).rejects.toThrow(/closed|socket|reset/i);
    expect(e.traffic(3, '2026-11-07')).toBeUndefined();
    expect([e.requests, e.setTrafficNodes]).toEqual([1, 0]);
  });

  it('dropAfterApply destroys the connection after the packet ran', async () => {
    const e = await emulator({ dropRate: 1, dropAfterApply: true });
    await expect(send(e, packet('webspace', setNode(3, '2026-11-07', '42')))).rejects.toThrow(/closed|socket|reset/i);
    expect(e.traffic(3, '2026-11-07')?.smtp_in).toBe(42n);
    expect(e.setTrafficNodes).toBe(1);
  });

  it('slowBodyMs sends the headers at once and trickles the body', async () => {
    const e = await emulator({ slowBodyMs: 400 });
    const r = await send(e, packet('webspace', setNode(4, '2026-11-07', '5') + setNode(4, '2026-11-08', '6')));
    expect(r.status).toBe(200);
    // The body arrives in pieces after the headers (the first piece is not the whole answer), over the time asked.
    expect(r.chunks.length).toBeGreaterThan(1);
    expect(r.chunks[0]).not.toContain('</packet>');
    expect(r.totalMs).toBeGreaterThanOrEqual(380);
    expect(results(r.text, 'set_traffic').map((x) => val(x, 'status'))).toEqual(['ok', 'ok']);
  });

  it('errorsById answers that object with the errcode, in set_traffic, get and get_traffic', async () => {
    const e = await emulator({ errorsById: { '2': 1023, '3': 1013 } });
    const set = await send(e, packet('webspace', setNode(1, '2026-11-07', '1') + setNode(2, '2026-11-07', '1') + setNode(3, '2026-11-07', '1')));
    expect(results(set.text, 'set_traffic').map((x) => [val(x, 'status'), val(x, 'errcode'), val(x, 'errtext'), val(x, 'id')])).toEqual([
      ['ok', undefined, undefined, '1'],
      ['error', '1023', 'Operation failed.', '2'],
      ['error', '1013', 'Object not found.', '3'],
    ]);
    expect(e.traffic(2, '2026-11-07')).toBeUndefined();
    const get = await send(e, packet('webspace', '<get><filter><name>example.net</name><name>example.com</name></filter><dataset><gen_info/></dataset></get>'));
    expect(results(get.text, 'get').map((x) => [val(x, 'errcode') ?? 'ok', val(x, 'filter-id'), val(x, 'id')]))
      .toEqual([['1023', 'example.net', '2'], ['ok', 'example.com', '1']]);
    const traffic = await send(e, packet('webspace', '<get_traffic><filter><id>2</id></filter></get_traffic>'));
    expect(results(traffic.text, 'get_traffic').map((x) => [val(x, 'errcode'), x.children.some((c) => c.name === 'traffic')])).toEqual([['1023', false]]);
  });

  it('seed makes drops and 503s a repeatable sequence', async () => {
    const statuses = async (e: Emulator): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 16; i++) out.push((await send(e, packet('webspace', '<get><filter><id>1</id></filter><dataset><gen_info/></dataset></get>'))).status);
      return out;
    };
    const a = await statuses(await emulator({ seed: 7, error5xxRate: 0.5 }));
    const b = await statuses(await emulator({ seed: 7, error5xxRate: 0.5 }));
    expect(a).toEqual(b);
    expect(a).toContain(200);
    expect(a).toContain(503);
    // The sequence is the PRNG's: the second draw of each request decides the 503.
    const next = mulberry32(7);
    const expected = Array.from({ length: 16 }, () => {
      next();
      return next() < 0.5 ? 503 : 200;
    });
    expect(a).toEqual(expected);
  });
});
