// TLS to a loopback https server whose certificate is signed by a CA made here with openssl:
// verified with target.ca, refused without it (TI_TLS, no retries), accepted only with insecureTls.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TiError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { PleskClient } from '../../src/plesk/client.js';
import { baseOptions, setTrafficAnswer, startServer, type TestServer } from './client-helpers.js';

let dir: string;
let caPem: string;
let server: TestServer;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ti-tls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=traffic-import test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
    '-extfile', 'san.ext', '-out', 'server.pem');
  caPem = readFileSync(path.join(dir, 'ca.pem'), 'utf8');
  server = await startServer((req) => ({ body: setTrafficAnswer(req.body) }), {
    key: readFileSync(path.join(dir, 'server.key'), 'utf8'),
    cert: readFileSync(path.join(dir, 'server.pem'), 'utf8'),
  });
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const node = { domId: 1, date: '2026-03-01', smtp_in: 1n, smtp_out: 2n, pop3_imap_in: 3n, pop3_imap_out: 4n };

describe('TLS', () => {
  it('verifies the panel certificate against target.ca', async () => {
    const client = new PleskClient(baseOptions(server.url, { ca: caPem }), silentLogger());
    try {
      expect(await client.setTraffic('webspace', [node], { idempotent: false })).toMatchObject({ kind: 'applied', attempts: 1 });
    } finally {
      await client.close();
    }
  });

  it('refuses an unknown CA with TI_TLS, without retrying', async () => {
    const before = server.requests.length;
    const client = new PleskClient(baseOptions(server.url), silentLogger());
    try {
      const err = await client.setTraffic('webspace', [node], { idempotent: true }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(TiError);
      expect((err as TiError).code).toBe('TI_TLS');
      expect((err as TiError).message).toMatch(/target\.ca/);
      expect(server.requests.length).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('accepts it only with insecureTls', async () => {
    const client = new PleskClient(baseOptions(server.url, { insecureTls: true }), silentLogger());
    try {
      expect(await client.setTraffic('webspace', [node], { idempotent: false })).toMatchObject({ kind: 'applied' });
    } finally {
      await client.close();
    }
  });

  it('https to a plain-http port is a TLS error, not a retry storm', async () => {
    const plain = await startServer((req) => ({ body: setTrafficAnswer(req.body) }));
    const client = new PleskClient(baseOptions(plain.url.replace('http:', 'https:'), { ca: caPem }), silentLogger());
    try {
      const err = await client.setTraffic('webspace', [node], { idempotent: true }).then(() => undefined, (e: unknown) => e);
      expect((err as TiError).code).toBe('TI_TLS');
    } finally {
      await client.close();
      await plain.close();
    }
  });
});
