// Issue 9 §8: every operator mistake gets one clear, coded line — no TI_INTERNAL, no stack trace, and each
// fatal error printed once; a source with nothing in it says so. The built binary, as an operator runs it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/config.js';
import { TiError } from '../../src/errors.js';
import { cleanEnv, runCli } from '../support/cli.js';

function workdir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ti-mistake-'));
}

function pipelineFile(dir: string, source: Record<string, unknown>): string {
  const file = path.join(dir, 'p.json');
  writeFileSync(file, JSON.stringify({ source, target: { type: 'plesk' } }));
  return file;
}

/** Lines of stderr that are not JSON log lines. */
const plain = (stderr: string) => stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
const fatalLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('traffic-import: ['));

describe('one coded line per operator mistake', () => {
  it('a bad --log-level (or LOG_LEVEL) is a usage error naming the levels', async () => {
    const dir = workdir();
    const p = pipelineFile(dir, { type: 'csv', path: 'x.csv' });
    const flag = await runCli(['run', p, '--dry-run', '--log-level', 'loud'], cleanEnv());
    expect(flag.code).toBe(2);
    expect(plain(flag.stderr)).toEqual(['traffic-import: [TI_USAGE] Command-line usage error: --log-level expects one of fatal, error, warn, info, debug, trace, silent, got "loud" (see traffic-import --help)']);
    const env = await runCli(['validate', p], cleanEnv({ LOG_LEVEL: 'verbose' }));
    expect(env.code).toBe(2);
    expect(plain(env.stderr)).toEqual(['traffic-import: [TI_USAGE] Command-line usage error: LOG_LEVEL expects one of fatal, error, warn, info, debug, trace, silent, got "verbose"']);
  });

  it('a Pushgateway URL with credentials is refused (flag or PUSHGATEWAY_URL), and the password is never echoed', async () => {
    const dir = workdir();
    const p = pipelineFile(dir, { type: 'csv', path: 'x.csv' });
    const want = ['traffic-import: [TI_USAGE] Command-line usage error: --pushgateway (or PUSHGATEWAY_URL) must not hold credentials (user:password@host): they would show in the process list and in logs (see traffic-import --help)'];
    const flag = await runCli(['run', p, '--dry-run', '--pushgateway', 'https://metrics:s3cret-gw@gw.example:9091'], cleanEnv());
    expect(flag.code).toBe(2);
    expect(plain(flag.stderr)).toEqual(want);
    const env = await runCli(['run', p, '--dry-run'], cleanEnv({ PUSHGATEWAY_URL: 'http://metrics:s3cret-gw@127.0.0.1:9091' }));
    expect(env.code).toBe(2);
    expect(plain(env.stderr)).toEqual(want);
    expect(flag.stdout + flag.stderr + env.stdout + env.stderr).not.toContain('s3cret-gw');
  });

  it('a busy emulator port is a usage error, not an internal one with a stack', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await runCli(['emulator', '--port', String(port)], cleanEnv({ LOG_LEVEL: 'warn' }));
      expect(r.code).toBe(2);
      expect(plain(r.stderr)).toEqual([`traffic-import: [TI_USAGE] Command-line usage error: emulator: 127.0.0.1:${port} is already in use (EADDRINUSE): choose another --port or --host`]);
      expect(r.stderr).not.toContain('TI_INTERNAL');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      busy.close();
    }
  });

  it('a fatal error of a run is printed once, in its coded form, at the end of the summary', async () => {
    const dir = workdir();
    const p = pipelineFile(dir, { type: 'csv', path: 'missing.csv' });
    const r = await runCli(['run', p, '--dry-run'], cleanEnv());
    expect(r.code).toBe(2);
    expect(fatalLines(r.stderr)).toHaveLength(1);
    expect(fatalLines(r.stderr)[0]).toMatch(/^traffic-import: \[TI_SOURCE_UNREADABLE\] Source cannot be read: missing\.csv/);
    expect(r.stderr.match(/TI_SOURCE_UNREADABLE/g)).toHaveLength(1);
    expect(plain(r.stderr).at(-1)).toBe(fatalLines(r.stderr)[0]);
  });

  it('a header-only CSV says in the summary that the source held no records', async () => {
    const dir = workdir();
    writeFileSync(path.join(dir, 'empty.csv'), 'date,domain,smtp_in\n');
    // A file source that yields nothing must alert (issue 10 §8): exit 1 and why, unless source.allowEmpty.
    const r = await runCli(['run', pipelineFile(dir, { type: 'csv', path: 'empty.csv' }), '--dry-run'], cleanEnv());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('records   read 0,');
    expect(r.stderr).toContain('empty     csv: the source yielded no records (a header-only export?); set source.allowEmpty: true if an empty input is normal');
    const allowed = await runCli(['run', pipelineFile(dir, { type: 'csv', path: 'empty.csv', allowEmpty: true }), '--dry-run'], cleanEnv());
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain('note      the source held no records (a file with only a header, an empty log, no accounts or days): nothing to import');
  });
});

describe('pipeline keys', () => {
  const base = { target: { type: 'plesk' } };
  const problems = (source: Record<string, unknown>): string[] => {
    try {
      parsePipeline({ ...base, source }, '/p/x.json');
    } catch (err) {
      expect(err).toBeInstanceOf(TiError);
      return (err as TiError).details!.problems as string[];
    }
    return [];
  };

  it('from "legacy" accepts the shared cPanel keys (timezone, interval, accountMap, usersPath)', () => {
    const p = parsePipeline({ ...base, source: { type: 'cpanel', from: 'legacy', path: 'bw', timezone: 'Europe/Berlin', interval: 'daily', accountMap: 'm.csv', usersPath: 'u' } }, '/p/x.json');
    expect(p.source).toMatchObject({ from: 'legacy', timezone: 'Europe/Berlin', interval: 'daily' });
    for (const from of ['api', 'sqlite', 'backup'] as const) {
      const src = { type: 'cpanel', from, ...(from === 'api' ? { url: 'https://whm.example:2087' } : { path: 'x' }), timezone: 'UTC', interval: 'hourly', accountMap: 'm.csv', usersPath: 'u' };
      expect(problems(src), from).toEqual([]);
    }
  });

  it('the unknown-key message is true: a key of another source says whose it is; only a misspelling is called one', () => {
    expect(problems({ type: 'cpanel', from: 'legacy', path: 'bw', days: 3, timezon: 'UTC' })).toEqual([
      'source.days: not a key of source cpanel from "legacy" (it is one of cpanel from "api")',
      'source.timezon: unknown key (check the spelling)',
    ]);
    expect(problems({ type: 'csv', path: 'x.csv', domains: ['a.example'] })).toEqual(['source.domains: not a key of source csv (it is one of opensrs)']);
  });
});

