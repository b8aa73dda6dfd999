// Issue 9 §2: a password in a URL never reaches any output. User-info in any URL (target, WHM, OpenSRS; pipeline
// key or environment) is refused up front as a configuration error that names the key, not the value. The built
// binary at the most talkative log level, insecureTls on (its warning printed the URL before), and every byte it
// writes — stdout, stderr, report, reject file — searched for the secret.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasUserinfo, printableUrl } from '../../src/http/index.js';
import { startEmulator, type Emulator } from '../../src/stand-ins/plesk/index.js';
import { cleanEnv, runCli } from '../support/cli.js';

const SECRET = 'S3cr3t-in-the-URL';
const AUTH = { PLESK_LOGIN: 'admin', PLESK_PASSWORD: 'pw-url' };

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ fixture: { auth: { login: 'admin', password: 'pw-url', secretKeys: [] }, subscriptions: [{ id: 1, name: 'a.example' }] }, port: 0 });
});
afterAll(async () => {
  await emulator.close();
});

/** `http://127.0.0.1:P` → `http://admin:SECRET@127.0.0.1:P`. */
const withSecret = (url: string) => url.replace('://', `://admin:${SECRET}@`);

interface Case {
  name: string;
  source?: Record<string, unknown>;
  target?: Record<string, unknown>;
  env?: Record<string, string>;
  /** The key the error must name. */
  key: string;
}

const CSV = { type: 'csv', path: 'in.csv' };
const cases = (): Case[] => [
  { name: 'target.url', target: { url: withSecret(emulator.url), insecureTls: true }, key: 'target.url' },
  { name: 'PLESK_URL', env: { PLESK_URL: withSecret(emulator.url) }, target: { insecureTls: true }, key: 'PLESK_URL' },
  { name: 'WHM source.url', source: { type: 'cpanel', from: 'api', url: withSecret('https://whm.example:2087'), insecureTls: true }, key: 'source.url' },
  { name: 'WHM_URL', source: { type: 'cpanel', from: 'api', insecureTls: true }, env: { WHM_URL: withSecret('https://whm.example:2087'), WHM_API_TOKEN: 't' }, key: 'WHM_URL' },
  { name: 'OpenSRS source.url', source: { type: 'opensrs', url: withSecret('https://oma.example/api'), domains: ['a.example'] }, key: 'source.url' },
  { name: 'OPENSRS_URL', source: { type: 'opensrs', domains: ['a.example'] }, env: { OPENSRS_URL: withSecret('https://oma.example/api'), OPENSRS_USER: 'u', OPENSRS_PASSWORD: 'p' }, key: 'OPENSRS_URL' },
];

async function everything(c: Case, command: string[]): Promise<{ code: number | null; stderr: string; all: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-url-'));
  writeFileSync(path.join(dir, 'in.csv'), 'date,domain,smtp_in\n2026-11-01,a.example,5\n2026-11-01,,x\n');
  const file = path.join(dir, 'p.json');
  writeFileSync(file, JSON.stringify({
    source: c.source ?? CSV,
    target: { type: 'plesk', url: emulator.url, ...c.target },
  }));
  const report = path.join(dir, 'report.json');
  const rejects = path.join(dir, 'rejects.csv');
  const args = command[0] === 'validate' ? [...command, file] : [...command, file, '--report', report, '--rejects', rejects];
  const r = await runCli([...args, '--log-level', 'trace'], cleanEnv({ ...AUTH, ...c.env }));
  const files = [report, rejects].filter(existsSync).map((f) => readFileSync(f, 'utf8'));
  return { code: r.code, stderr: r.stderr, all: [r.stdout, r.stderr, ...files].join('\n') };
}

describe('a URL with user-info is refused by key, and its secret is nowhere in the output', () => {
  for (const command of [['run'], ['run', '--dry-run'], ['validate']]) {
    it(`${command.join(' ')}: every URL key, pipeline and environment`, async () => {
      for (const c of cases()) {
        const r = await everything(c, command);
        expect(r.code, `${c.name}: ${r.stderr}`).toBe(2);
        const fatal = r.stderr.split('\n').filter((l) => /^traffic-import: (.*: )?\[TI_/.test(l));
        expect(fatal, c.name).toHaveLength(1);
        expect(fatal[0], c.name).toContain('[TI_CONFIG]');
        // The error (a pipeline file's problems come one per line after it) names the key.
        const error = r.stderr.slice(r.stderr.indexOf(fatal[0]!));
        expect(error, c.name).toMatch(new RegExp(`${c.key.replace('.', '\\.')}\\b[^\\n]*must not hold credentials|${c.key}[^\\n]*must not hold credentials`));
        expect(r.all.includes(SECRET), `${c.name}: the secret reached the output`).toBe(false);
        // Nothing was sent anywhere.
      }
      expect(emulator.setTrafficNodes).toBe(0);
    }, 120_000);
  }
});

describe('helpers', () => {
  it('hasUserinfo reads the text (also where URL parsing would fail); printableUrl drops user-info', () => {
    expect(hasUserinfo('https://a:b@host:8443/x')).toBe(true);
    expect(hasUserinfo('https://a@host')).toBe(true);
    expect(hasUserinfo('https://a:b@[bad host/x')).toBe(true);
    expect(hasUserinfo('https://host/path@x')).toBe(false);
    expect(hasUserinfo('https://host/?q=a@b')).toBe(false);
    expect(printableUrl('https://a:b@host:8443/x')).toBe('https://host:8443/x');
  });
});
