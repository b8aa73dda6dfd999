// Logs: pretty on a TTY when pino-pretty is installed, JSON otherwise (a production install without it must
// not crash); written around a live status line; and the built CLI on a real pseudo-terminal.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, setStatusLine } from '../../src/log.js';
import { CLI, ROOT, cleanEnv } from '../support/cli.js';

afterEach(() => setStatusLine(undefined));

function capture(): { lines: string[]; write(s: string): void } {
  const lines: string[] = [];
  return { lines, write: (s: string) => void lines.push(s) };
}

describe('createLogger', () => {
  it('pretty on a TTY, JSON with --json-logs or off a TTY', () => {
    const pretty = capture();
    createLogger({ tty: true, destination: pretty }).info({ packets: 3 }, 'source read');
    expect(pretty.lines).toHaveLength(1);
    expect(pretty.lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: source read\n {4}packets: 3\n$/);

    for (const opts of [{ tty: true, json: true }, { tty: false }]) {
      const json = capture();
      createLogger({ ...opts, destination: json }).info({ packets: 3 }, 'source read');
      expect(JSON.parse(json.lines[0]!)).toMatchObject({ level: 30, msg: 'source read', packets: 3, name: 'traffic-import' });
    }
  });

  it('while a status line is shown, log lines go through it (it writes them above itself)', () => {
    const out = capture();
    const above: string[] = [];
    setStatusLine({ write: (text) => void above.push(text) });
    const log = createLogger({ tty: false, destination: out });
    log.warn('one');
    log.info('two');
    setStatusLine(undefined);
    log.info('three');
    expect(above.map((l) => JSON.parse(l).msg)).toEqual(['one', 'two']);
    expect(out.lines.map((l) => JSON.parse(l).msg)).toEqual(['three']);
  });

  it('without pino-pretty installed, a TTY gets JSON lines instead of a crash', () => {
    // Hide pino-pretty from require(), as a production install that lacks it would.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-log-'));
    const hide = path.join(dir, 'hide-pino-pretty.cjs');
    writeFileSync(hide, `const M = require('node:module'); const orig = M._resolveFilename;
M._resolveFilename = function (req, ...rest) { if (req === 'pino-pretty') { const e = new Error("Cannot find module 'pino-pretty'"); e.code = 'MODULE_NOT_FOUND'; throw e; } return orig.call(this, req, ...rest); };\n`);
    const script = `import(${JSON.stringify(path.join(ROOT, 'dist', 'log.js'))}).then((m) => m.createLogger({ tty: true, destination: { write: (s) => process.stdout.write(s) } }).info('hello'))`;
    const out = execFileSync(process.execPath, ['-r', hide, '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toMatchObject({ msg: 'hello', level: 30 });
  });
});

describe('the built CLI on a pseudo-terminal (script -qec)', () => {
  it('runs with pretty logs and its summary, exit 0', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-tty-'));
    writeFileSync(path.join(dir, 't.csv'), 'date,dom_id,smtp_in\n2026-11-01,7,100\n');
    writeFileSync(path.join(dir, 'p.json'), JSON.stringify({ source: { type: 'csv', path: 't.csv' }, target: { type: 'plesk' } }));
    const cmd = `${process.execPath} ${CLI} run ${path.join(dir, 'p.json')} --dry-run --log-level debug`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: cleanEnv(), cwd: dir });
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\] INFO: source read\r?\n/);
    expect(r.stdout).toContain('traffic-import OK (dry-run: nothing was changed)');
    expect(r.stdout).not.toContain('"level":');
  });
});
