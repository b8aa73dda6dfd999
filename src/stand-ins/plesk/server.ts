// An emulated Plesk XML API endpoint (agent.php) over real HTTP(S), written from the server's side of
// the contract (docs/reference/plesk-transport.md, docs/reference/plesk-api-notes.md, the 1.6.9.1 schema trees) and independent of
// the client, so that it catches the client's mistakes instead of sharing them.
//
// Checkups run in the order Plesk documents ("Handling Errors", docs/reference/plesk-api-notes.md §2.1): HTTP header,
// protocol version, authentication, packet validity. Any failure answers HTTP 200 with
// `<system><status>error</status>…` and nothing runs. Then the operations run in series.

import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { silentLogger } from '../../log.js';
import type { FullTraffic } from '../../model.js';
import { today } from '../../dates.js';
import { inputSchema } from './schema/index.js';
import { validateWithLines } from './schema/validate.js';
import { parseXml, XmlError, type XmlElement } from './schema/xml.js';
import { FaultDice, type Faults } from './faults.js';
import { buildState, dumpState, loadFixture, type EmulatorFixture, type EmulatorState } from './fixture.js';
import { executePacket, systemError, type XmlBuilder } from './operations.js';
import { KNOWN_PROTOCOLS, SERVER_VERSION, versionSupported } from './protocols.js';

export const AGENT_PATH = '/enterprise/control/agent.php';
export { SERVER_VERSION, KNOWN_PROTOCOLS, versionSupported };

export interface EmulatorOptions {
  /** The fixture itself, or the path of its JSON file. */
  fixture: EmulatorFixture | string;
  host?: string;
  /** 0 (default) = any free port. */
  port?: number;
  /** PEM text; serves HTTPS when given. */
  tls?: { cert: string; key: string };
  /** What set_traffic does with a day that has values (docs/reference/plesk-api-notes.md §3.5: undocumented). */
  setTrafficSemantics?: 'replace' | 'add';
  faults?: Faults;
  log?: Logger;
  /** The panel's today (YYYY-MM-DD) for tests; default: the clock, in the fixture's server.timezone. */
  today?: string;
}

export interface Emulator {
  /** Base URL without path, e.g. http://127.0.0.1:PORT. */
  url: string;
  /** Mutable at runtime: the next request sees the change. */
  faults: Faults;
  state: EmulatorState;
  /** The recorded day of an object (subscription id or site id), if any. */
  traffic(domId: number, date: string): FullTraffic | undefined;
  /** The current state as a fixture (byte counts as decimal strings). */
  dump(): EmulatorFixture;
  /** agent.php POSTs received (faulted ones included). */
  readonly requests: number;
  /** set_traffic nodes applied. */
  readonly setTrafficNodes: number;
  /** Every packet-level refusal caused by the client (1014, 1005): the message, oldest first. */
  violations: string[];
  /**
   * Tests: requests that arrive from now on wait (after their latency) until the returned function is called;
   * nothing of theirs is applied meanwhile. A deterministic "packet in flight", where a latency would be a race.
   * With `afterNodes`, the hold starts the moment that many set_traffic nodes have been applied (inside the packet
   * that applies the last of them), so the next packet is held however fast the client sends it. `arrived`
   * resolves once a request waits at the hold.
   */
  hold(opts?: { afterNodes?: number }): Hold;
  close(): Promise<void>;
}

/** Emulator.hold's answer: call it to let the held requests through. */
export type Hold = (() => void) & { arrived: Promise<void> };

const HTML_404 = '<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>\n';
// What the panel's nginx (sw-cp-server) answers while Plesk restarts or updates.
const HTML_503 = '<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>\n';

/** Plesk's errtext for a packet that fails the schema checkup (WHMCS and BoxBilling module threads). */
export function parserError(line: number, message: string): string {
  return `Parser error: Request is invalid. Error in line ${line}: ${message}`;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

type Answer = { doc: XmlBuilder | string; refused?: string[] };

export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const log = opts.log ?? silentLogger();
  const fixture = typeof opts.fixture === 'string' ? loadFixture(opts.fixture) : opts.fixture;
  const state = buildState(fixture);
  const semantics = opts.setTrafficSemantics ?? 'replace';
  const faults: Faults = opts.faults ?? {};
  const dice = new FaultDice(faults);
  const violations: string[] = [];
  let requests = 0;
  let setTrafficNodes = 0;
  let closed = false;
  const sockets = new Set<Socket>();
  const waits = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    const w = { timer: setTimeout(() => { waits.delete(w); resolve(); }, ms), resolve };
    waits.add(w);
  });

  const refuse = (version: string, code: number, message: string, record: string[] = [message]): Answer => {
    return { doc: systemError(version, code, message), refused: record };
  };

  /** The checkups and the run, for one well-received request body. */
  function answer(headers: IncomingHttpHeaders, body: string): Answer {
    // 1. HTTP header. Plesk's answer to a wrong Content-Type is undocumented; 1014 (request cannot be
    //    parsed as a packet) is the inference.
    const contentType = header(headers, 'content-type') ?? '';
    if (!/^text\/xml\s*(;|$)/i.test(contentType)) {
      return refuse(SERVER_VERSION, 1014, `Wrong Content-Type '${contentType}': the packet must be sent as text/xml`);
    }
    let root: XmlElement;
    try {
      root = parseXml(body);
    } catch (err) {
      if (!(err instanceof XmlError)) throw err;
      return refuse(SERVER_VERSION, 1014, err.kind === 'doctype' ? 'XML parsing error: DOCTYPE is not allowed' : `XML parsing error: ${err.message}`);
    }
    if (root.name !== 'packet') {
      return refuse(SERVER_VERSION, 1014, parserError(root.line ?? 1, `Element '${root.name}': No matching global declaration available for the validation root.`));
    }
    // 2. Protocol version: optional; newer than ours or not a version → 1005 (versionSupported).
    const version = root.attributes['version'];
    if (version !== undefined && !versionSupported(version.trim())) {
      return refuse(SERVER_VERSION, 1005, 'XML API protocol version not supported.', [`protocol version '${version}' not supported`]);
    }
    const replyVersion = version?.trim() ?? SERVER_VERSION;
    // 3. Authentication: KEY wins when both forms are sent (api-php-lib sends one or the other). A login
    //    is a method only with its password header: a live 1.6.9.1 panel answers 1029 to HTTP_AUTH_LOGIN
    //    without HTTP_AUTH_PASSWD (plesk/api-examples#7), which is what any client sending an empty password
    //    through curl meets (curl drops empty headers).
    const key = header(headers, 'key');
    const login = header(headers, 'http_auth_login');
    const password = header(headers, 'http_auth_passwd');
    if (key !== undefined) {
      if (!state.auth.secretKeys.includes(key)) {
        return { doc: systemError(replyVersion, 11003, 'PleskAPIInvalidSecretKeyException : Invalid secret key usage. Please check logs for details.') };
      }
    } else if (login !== undefined && password !== undefined) {
      if (login !== state.auth.login || password !== state.auth.password) {
        return { doc: systemError(replyVersion, 1001, 'Authentication failed') };
      }
    } else {
      // No headers, half a pair, or HTTP Basic (live, docs/reference/plesk-api-notes.md §1.1).
      return { doc: systemError(replyVersion, 1029, 'Authentication method is not specified') };
    }
    // 4. Packet validity against agent_input (every operator, not only the emulated ones), answered
    //    in Plesk's words with the line of the first violation.
    const problems = validateWithLines(inputSchema(), root).map((v) => parserError(v.line, v.message));
    if (problems.length > 0) return refuse(replyVersion, 1014, problems[0]!, problems);
    // 5. Run.
    return {
      doc: executePacket(root, replyVersion, {
        state, semantics, errorsById: faults.errorsById, today: opts.today ?? today(state.server.timezone),
        onApplied: () => {
          setTrafficNodes++;
          if (armed && setTrafficNodes >= armed.afterNodes) {
            gate = armed.gate;
            armed = undefined;
          }
        },
      }),
    };
  }

  function send(res: ServerResponse, status: number, contentType: string, body: string): void {
    const buf = Buffer.from(body, 'utf8');
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': buf.length });
    const slow = faults.slowBodyMs ?? 0;
    if (slow <= 0 || buf.length < 2) {
      res.end(buf);
      return;
    }
    // Headers now, the body in four slices spread over slowBodyMs.
    res.flushHeaders();
    const slices = 4;
    const size = Math.ceil(buf.length / slices);
    let i = 0;
    const tick = async (): Promise<void> => {
      while (i < slices && !closed && !res.destroyed) {
        await sleep(slow / slices);
        if (closed || res.destroyed) return;
        const chunk = buf.subarray(i * size, (i + 1) * size);
        i++;
        if (i === slices) res.end(chunk);
        else res.write(chunk);
      }
    };
    void tick();
  }

  /** While set, arriving requests wait for it (Emulator.hold); `armed` sets it once enough nodes are applied. */
  type Gate = { promise: Promise<void>; open: () => void; arrived: () => void };
  let gate: Gate | undefined;
  let armed: { afterNodes: number; gate: Gate } | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || path !== AGENT_PATH) {
      req.resume();
      send(res, 404, 'text/html', HTML_404);
      return;
    }
    requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');

    if (faults.latencyMs && faults.latencyMs > 0) await sleep(faults.latencyMs);
    while (gate) {
      gate.arrived();
      await gate.promise;
    }
    if (closed) return;
    const roll = dice.roll();
    if (roll.drop && !faults.dropAfterApply) {
      log.debug({ request: requests }, 'emulator: dropping the connection before the packet ran');
      req.socket.destroy();
      return;
    }
    if (roll.error5xx) {
      send(res, 503, 'text/html', HTML_503);
      return;
    }
    const started = performance.now();
    const { doc, refused } = answer(req.headers, body);
    if (refused) {
      for (const v of refused) violations.push(v);
      log.warn({ request: requests, violation: refused[0] }, 'emulator: packet refused');
    }
    const xml = typeof doc === 'string' ? doc : doc.end({ prettyPrint: false });
    log.debug({ request: requests, bytes: body.length, ms: Math.round(performance.now() - started) }, 'emulator: packet answered');
    if (roll.drop) {
      log.debug({ request: requests }, 'emulator: dropping the connection after the packet ran');
      req.socket.destroy();
      return;
    }
    send(res, 200, 'text/xml; charset=UTF-8', xml);
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'emulator: request failed');
      if (!res.headersSent && !res.destroyed) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  };
  const server: Server = opts.tls
    ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest)
    : createHttpServer(onRequest);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, semantics }, 'emulator: listening');

  return {
    url,
    faults,
    state,
    traffic: (domId, date) => {
      const row = state.traffic.get(domId)?.get(date);
      return row ? { ...row } : undefined;
    },
    dump: () => dumpState(state),
    get requests() {
      return requests;
    },
    get setTrafficNodes() {
      return setTrafficNodes;
    },
    violations,
    hold: (opts = {}) => {
      let open!: () => void;
      let arrived!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      const held: Gate = { promise, open, arrived };
      if (opts.afterNodes !== undefined && setTrafficNodes < opts.afterNodes) armed = { afterNodes: opts.afterNodes, gate: held };
      else gate = held;
      return Object.assign(() => {
        if (gate === held) gate = undefined;
        if (armed?.gate === held) armed = undefined;
        open();
      }, { arrived: arrival });
    },
    close: async () => {
      if (closed) return;
      closed = true;
      gate?.open();
      gate = undefined;
      for (const w of waits) {
        clearTimeout(w.timer);
        w.resolve();
      }
      waits.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      server.closeAllConnections?.();
      await done;
    },
  };
}
