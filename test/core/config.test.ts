import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline, parsePipeline, pleskAuthFromEnv, pleskUrl } from '../../src/config.js';
import { TiError } from '../../src/errors.js';

const base = {
  source: { type: 'csv', path: 'traffic.csv', layout: 'wide' },
  target: { type: 'plesk', url: 'https://plesk.example.com:8443', operator: 'webspace', batchSize: 100, concurrency: 4 },
};

function problems(raw: unknown): string[] {
  try {
    parsePipeline(raw, '/p/pipe.json');
  } catch (err) {
    expect(err).toBeInstanceOf(TiError);
    expect((err as TiError).code).toBe('TI_CONFIG');
    return (err as TiError).details!.problems as string[];
  }
  throw new Error('expected a configuration error');
}

describe('pipeline file', () => {
  it('accepts the issue example and fills defaults', () => {
    const p = parsePipeline(base, '/p/pipe.json');
    expect(p.baseDir).toBe('/p');
    expect(p.target).toMatchObject({ operator: 'webspace', batchSize: 100, concurrency: 4, packetVersion: '1.6.3.0', setTrafficSemantics: 'replace', insecureTls: false });
    expect(p.target.retry).toEqual({ attempts: 5, minDelayMs: 500, maxDelayMs: 30000 });
    expect(p.reconcile).toEqual({ mode: 'absolute', period: 'month' });
    expect(p.statePath).toBe('/p/state');
    expect(p.source.type).toBe('csv');
  });

  it('names the JSON path of every problem, unknown keys included', () => {
    const got = problems({
      ...base,
      target: { ...base.target, batchSize: 0, operatr: 'site' },
      reconcile: { mode: 'sometimes' },
      extra: 1,
    });
    expect(got).toContain('target.operatr: unknown key (check the spelling)');
    expect(got).toContain('extra: unknown key (check the spelling)');
    expect(got.some((p) => p.startsWith('target.batchSize:'))).toBe(true);
    expect(got.some((p) => p.startsWith('reconcile.mode:'))).toBe(true);
  });

  it('validates the source with its reader schema', () => {
    const got = problems({ ...base, source: { type: 'csv', path: 'x.csv', layout: 'diagonal', colums: {} } });
    expect(got.some((p) => p.startsWith('source.layout:'))).toBe(true);
    expect(got).toContain('source.colums: unknown key (check the spelling)');
  });

  it('rejects an unknown source type by name', () => {
    expect(problems({ ...base, source: { type: 'ftp' } })).toEqual(['source.type: expected one of "csv", "cpanel", "opensrs", "maillog", got "ftp"']);
  });

  it('refuses secrets in the file and points to the environment', () => {
    const got = problems({ ...base, target: { ...base.target, password: 'hunter2' } });
    expect(got[0]).toMatch(/^target\.password: secrets never live in the pipeline file/);
    expect(got.join('\n')).not.toContain('hunter2');
  });

  it('reports unreadable files and bad JSON as configuration errors', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-config-'));
    const f = path.join(dir, 'bad.json');
    writeFileSync(f, '{ "source": ');
    expect(() => loadPipeline(f)).toThrow(/not valid JSON/);
    expect(() => loadPipeline(path.join(dir, 'missing.json'))).toThrow(/ENOENT/);
  });
});

describe('secrets from the environment', () => {
  it('prefers the secret key, then login + password, and reads *_FILE', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-secret-'));
    writeFileSync(path.join(dir, 'pw'), 's3cret\n');
    expect(pleskAuthFromEnv({ PLESK_SECRET_KEY: 'k', PLESK_LOGIN: 'a', PLESK_PASSWORD: 'b' })).toEqual({ secretKey: 'k' });
    expect(pleskAuthFromEnv({ PLESK_LOGIN: 'admin', PLESK_PASSWORD_FILE: path.join(dir, 'pw') })).toEqual({ login: 'admin', password: 's3cret' });
    expect(pleskAuthFromEnv({})).toBeUndefined();
    expect(() => pleskAuthFromEnv({ PLESK_LOGIN: 'admin' })).toThrow(/go together/);
  });

  it('lets PLESK_URL override target.url', () => {
    const p = parsePipeline(base, '/p/pipe.json');
    expect(pleskUrl(p.target, { PLESK_URL: 'https://other:8443' })).toBe('https://other:8443');
    expect(pleskUrl(p.target, {})).toBe('https://plesk.example.com:8443');
  });
});

describe('pipeline name and state keys (issue 9 §6, §7)', () => {
  it('name defaults to the file base name (made a valid name); an explicit one is checked', () => {
    expect(parsePipeline(base, '/p/cpanel nightly.json').name).toBe('cpanel_nightly');
    expect(parsePipeline({ ...base, name: 'mail.mx1' }, '/p/x.json').name).toBe('mail.mx1');
    expect(problems({ ...base, name: '../etc' })[0]).toMatch(/^name: expected 1-64 letters/);
  });

  it('state.leaseMs defaults to 60 s; staleAfterMs is its former name; both at once is an error', () => {
    expect(parsePipeline(base, '/p/x.json').state).toEqual({ leaseMs: 60_000, lockWaitMs: 900_000, compactAtBytes: 64 * 1024 * 1024 });
    expect(parsePipeline({ ...base, state: { leaseMs: 120_000 } }, '/p/x.json').state.leaseMs).toBe(120_000);
    expect(parsePipeline({ ...base, state: { staleAfterMs: 90_000 } }, '/p/x.json').state.leaseMs).toBe(90_000);
    expect(problems({ ...base, state: { leaseMs: 1000, staleAfterMs: 2000 } })).toEqual(['state: give leaseMs (staleAfterMs is its former name), not both']);
  });
});

describe('every problem at once (issue 9 §8)', () => {
  it('errors in target and in source are reported together', () => {
    const got = problems({ ...base, target: { ...base.target, batchSize: 0 }, source: { type: 'csv', path: 'x.csv', layout: 'diagonal' } });
    expect(got.some((p) => p.startsWith('target.batchSize:'))).toBe(true);
    expect(got.some((p) => p.startsWith('source.layout:'))).toBe(true);
  });
});
