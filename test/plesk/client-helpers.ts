// Test helpers: seed packets, canonical XML trees, a scripted loopback HTTP(S) server, a capturing logger.

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { parseXml, type XmlElement } from '../../src/plesk/xml.js';
import type { PleskClientOptions } from '../../src/plesk/types.js';

export { seedPackets } from '../support/seeds.js';

/** Element tree without inter-element whitespace: name, attributes, and either children or trimmed text. */
export type Canon = { name: string; attributes: Record<string, string>; children: Canon[] } | { name: string; attributes: Record<string, string>; text: string };

export function canonTree(el: XmlElement): Canon {
  return el.children.length > 0
    ? { name: el.name, attributes: el.attributes, children: el.children.map(canonTree) }
    : { name: el.name, attributes: el.attributes, text: el.text.trim() };
}

export function canonical(xml: string): Canon {
  return canonTree(parseXml(xml));
}

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** When the whole request had arrived (performance.now() in the server). */
  at: number;
}

export type Reply =
  | { status?: number; body: string; delayMs?: number; headers?: Record<string, string> }
  | { destroy: true }
  | { hang: true };

export interface TestServer {
  url: string;
  requests: Recorded[];
  /** Most requests being handled at the same time. */
  maxInFlight: () => number;
  close: () => Promise<void>;
}

/** A loopback server answering each request with `reply(request, index)`. */
export async function startServer(
  reply: (req: Recorded, index: number) => Reply | Promise<Reply>,
  tls?: { key: string; cert: string },
): Promise<TestServer> {
  const requests: Recorded[] = [];
  let inFlight = 0;
  let max = 0;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: performance.now() };
      const index = requests.push(rec) - 1;
      inFlight++;
      max = Math.max(max, inFlight);
      try {
        const r = await reply(rec, index);
        if ('destroy' in r) {
          req.socket.destroy();
          return;
        }
        if ('hang' in r) return;
        if (r.delayMs) await new Promise((ok) => setTimeout(ok, r.delayMs));
        if (res.destroyed) return;
        res.writeHead(r.status ?? 200, { 'content-type': 'text/xml', ...r.headers });
        res.end(r.body);
      } finally {
        inFlight--;
      }
    });
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    maxInFlight: () => max,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

const METRIC_NAMES = ['smtp_in', 'smtp_out', 'pop3_imap_in', 'pop3_imap_out'];

/** The set_traffic nodes of a request packet, as the emulator would see them. */
export function requestNodes(body: string): { operator: string; nodes: { domId: number; date: string; values: string[] }[] } {
  const root = parseXml(body);
  const op = root.children[0]!;
  return {
    operator: op.name,
    nodes: op.children.map((st) => {
      const get = (n: string) => st.children.find((c) => c.name === n)?.text ?? '';
      return { domId: Number(get('dom_id')), date: get('date'), values: METRIC_NAMES.map(get) };
    }),
  };
}

/** A set_traffic answer: one `<set_traffic><result>` per node; `errorFor` dom_ids get a per-node error. */
export function setTrafficAnswer(body: string, errorFor: ReadonlySet<number> = new Set()): string {
  const { operator, nodes } = requestNodes(body);
  const results = nodes
    .map((n) =>
      errorFor.has(n.domId)
        ? `<set_traffic><result><status>error</status><errcode>1013</errcode><errtext>Object not found.</errtext><id>${n.domId}</id></result></set_traffic>`
        : `<set_traffic><result><status>ok</status><id>${n.domId}</id></result></set_traffic>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<packet version="1.6.3.0"><${operator}>\n${results}\n</${operator}></packet>`;
}

export function systemError(errcode: number, errtext: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><packet version="1.6.9.1"><system><status>error</status><errcode>${errcode}</errcode><errtext>${errtext}</errtext></system></packet>`;
}

export function baseOptions(url: string, over: Partial<PleskClientOptions> = {}): PleskClientOptions {
  return {
    url,
    auth: { login: 'admin', password: 'S3cret-Pass!word' },
    packetVersion: '1.6.3.0',
    concurrency: 2,
    timeouts: { connectMs: 2000, headersMs: 2000, bodyMs: 2000 },
    retry: { attempts: 3, minDelayMs: 1, maxDelayMs: 5 },
    random: () => 0.5,
    ...over,
  };
}

/** A pino logger at trace level whose lines are kept in `lines`. */
export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { log: pino({ level: 'trace' }, stream), lines };
}
