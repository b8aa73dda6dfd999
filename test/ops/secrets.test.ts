// *_FILE for every credential variable, through the built binary against the loopback stand-ins; `{pipeline}` in a
// *_FILE path gives each pipeline of a multi-pipeline run its own secret.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_WINDOW, startDemoServices, type DemoServices } from '../../src/demo.js';
import { SECRET_ENV, envForPipeline, secretFromEnv } from '../../src/secrets.js';
import { startOpensrsMock, type OpensrsMock } from '../../src/stand-ins/opensrs/server.js';
import { ROOT, cleanEnv, runCli } from '../support/cli.js';

let services: DemoServices | undefined;
let opensrs: OpensrsMock | undefined;
afterEach(async () => {
  await services?.close();
  await opensrs?.close();
  services = undefined;
  opensrs = undefined;
});

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ti-secrets-'));
}

/** Write each secret to its own file (with the trailing newline `echo` and kubectl leave) → NAME_FILE variables. */
function asFiles(dir: string, secrets: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(secrets)) {
    const file = path.join(dir, name.toLowerCase());
    writeFileSync(file, `${value}\n`);
    env[`${name}_FILE`] = file;
  }
  return env;
}

const WINDOW = ['--from', DEMO_WINDOW.from, '--to', DEMO_WINDOW.to];

describe('secretFromEnv', () => {
  it('NAME wins over NAME_FILE; one trailing newline is dropped; an empty or missing file names the variable, never content', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'k'), 'line1\r\n');
    writeFileSync(path.join(dir, 'empty'), '\n');
    expect(secretFromEnv({ PLESK_SECRET_KEY: 'direct', PLESK_SECRET_KEY_FILE: path.join(dir, 'k') }, 'PLESK_SECRET_KEY')).toBe('direct');
    expect(secretFromEnv({ PLESK_SECRET_KEY_FILE: path.join(dir, 'k') }, 'PLESK_SECRET_KEY')).toBe('line1');
    expect(() => secretFromEnv({ WHM_API_TOKEN_FILE: path.join(dir, 'empty') }, 'WHM_API_TOKEN')).toThrow(`WHM_API_TOKEN_FILE names ${path.join(dir, 'empty')}, which is empty`);
    expect(() => secretFromEnv({ OPENSRS_TOKEN_FILE: path.join(dir, 'nope') }, 'OPENSRS_TOKEN')).toThrow(/OPENSRS_TOKEN_FILE names .*nope, which cannot be read \(ENOENT\)/);
  });

  it('{pipeline} in a NAME_FILE path becomes the pipeline name, for every credential variable', () => {
    const env = Object.fromEntries(SECRET_ENV.map((n) => [`${n}_FILE`, `/run/secrets/{pipeline}.${n.toLowerCase()}`]));
    const out = envForPipeline({ ...env, PLESK_URL: 'https://{pipeline}' }, 'panel-7');
    for (const n of SECRET_ENV) expect(out[`${n}_FILE`]).toBe(`/run/secrets/panel-7.${n.toLowerCase()}`);
    expect(out.PLESK_URL).toBe('https://{pipeline}');
  });
});

describe('every credential as a file (built binary, loopback stand-ins)', () => {
  it('Plesk login/password, WHM user/token, OpenSRS user/password: two pipelines in one run, secrets never printed', async () => {
    services = await startDemoServices(ROOT);
    const s = services.env;
    const dir = tmp();
    // Each pipeline finds its own Plesk password through {pipeline}.
    writeFileSync(path.join(dir, 'cpanel-api.plesk-password'), `${s.PLESK_PASSWORD}\n`);
    writeFileSync(path.join(dir, 'opensrs.plesk-password'), `${s.PLESK_PASSWORD}\n`);
    const files = asFiles(dir, {
      PLESK_LOGIN: s.PLESK_LOGIN!, WHM_USER: s.WHM_USER!, WHM_API_TOKEN: s.WHM_API_TOKEN!,
      OPENSRS_USER: s.OPENSRS_USER!, OPENSRS_PASSWORD: s.OPENSRS_PASSWORD!,
    });
    const env = cleanEnv({
      PLESK_URL: s.PLESK_URL!, WHM_URL: s.WHM_URL!, OPENSRS_URL: s.OPENSRS_URL!, ...files,
      PLESK_PASSWORD_FILE: path.join(dir, '{pipeline}.plesk-password'), LOG_LEVEL: 'debug',
    });
    const state = path.join(dir, 'state');
    const r = await runCli(['run', 'pipelines/cpanel-api.json', 'pipelines/opensrs.json', ...WINDOW, '--state', state,
      '--report', path.join(dir, 'report.json')], env);
    expect(r.code, r.stderr).toBe(0);
    for (const name of ['cpanel-api', 'opensrs']) {
      const rep = JSON.parse(readFileSync(path.join(dir, `report.${name}.json`), 'utf8'));
      expect(rep.nodes, name).toMatchObject({ sent: 6, applied: 6, failed: 0 });
    }
    // Values the WHM and OpenSRS stand-ins serve landed (pipelines.test.ts computes them by hand).
    expect(services.emulator.traffic(7, '2026-11-01')).toMatchObject({ smtp_out: 1000001n });
    expect(services.emulator.traffic(8, '2026-11-01')).toMatchObject({ smtp_in: 1000003n, smtp_out: 500009n });
    for (const secret of [s.PLESK_PASSWORD!, s.WHM_API_TOKEN!, s.OPENSRS_PASSWORD!]) expect(r.stderr + r.stdout).not.toContain(secret);
  });

  it('OpenSRS token and Plesk secret key as files', async () => {
    services = await startDemoServices(ROOT);
    opensrs = await startOpensrsMock({
      user: 'ops@example', password: 'unused-password', token: 'tok-3f9a',
      domains: { 'opensrs-one.com': { '20261101': { in_size: 11, out_size: 12 } }, 'opensrs-two.com': { '20261102': { in_size: 21, out_size: 22 } } },
    });
    const dir = tmp();
    const env = cleanEnv({
      PLESK_URL: services.env.PLESK_URL!, OPENSRS_URL: opensrs.url,
      ...asFiles(dir, { PLESK_SECRET_KEY: 'emulator-secret-key', OPENSRS_USER: 'ops@example', OPENSRS_TOKEN: 'tok-3f9a' }),
    });
    const r = await runCli(['run', 'pipelines/opensrs.json', ...WINDOW, '--state', path.join(dir, 'state')], env);
    expect(r.code, r.stderr).toBe(0);
    expect(services.emulator.traffic(8, '2026-11-01')).toMatchObject({ smtp_in: 11n, smtp_out: 12n });
    expect(services.emulator.traffic(9, '2026-11-02')).toMatchObject({ smtp_in: 21n, smtp_out: 22n });
    expect(r.stderr).not.toContain('tok-3f9a');
    expect(r.stderr).not.toContain('emulator-secret-key');
  });

  it('an unreadable secret file stops the run with exit 2 naming the variable and the file', async () => {
    services = await startDemoServices(ROOT);
    const dir = tmp();
    const env = cleanEnv({
      PLESK_URL: services.env.PLESK_URL!, PLESK_LOGIN: 'admin', PLESK_PASSWORD: services.env.PLESK_PASSWORD!,
      WHM_URL: services.env.WHM_URL!, WHM_API_TOKEN_FILE: path.join(dir, 'missing-token'),
    });
    const r = await runCli(['run', 'pipelines/cpanel-api.json', ...WINDOW, '--state', path.join(dir, 'state')], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`[TI_SECRET_MISSING] Credentials are missing from the environment: WHM_API_TOKEN_FILE names ${path.join(dir, 'missing-token')}, which cannot be read (ENOENT)`);
  });
});
