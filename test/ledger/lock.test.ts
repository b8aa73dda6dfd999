import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/index.js';
import { procStartOf } from '../../src/ledger/lock.js';
import { TiError } from '../../src/errors.js';
import { captureLogger, deadPid, runChild, removeTempDirs, tempDir } from './helpers.js';

const opened: Ledger[] = [];
async function open(stateDir: string, pipeline: string, opts: Parameters<typeof Ledger.open>[2] = {}): Promise<Ledger> {
  const l = await Ledger.open(stateDir, pipeline, opts);
  opened.push(l);
  return l;
}
afterAll(removeTempDirs);
afterEach(async () => {
  for (const l of opened.splice(0)) await l.close();
});

function setup(): { dir: string; pipe: string } {
  const base = tempDir();
  return { dir: path.join(base, 'state'), pipe: path.join(base, 'nightly.json') };
}

/** Write a lock as another process would have left it (layout: see src/ledger/lock.ts). */
function plantLock(lockPath: string, owner: Record<string, unknown>, ageMs = 0): string {
  const token = randomBytes(8).toString('hex');
  fs.mkdirSync(lockPath, { recursive: true });
  const file = path.join(lockPath, `owner-${token}.json`);
  fs.writeFileSync(file, JSON.stringify({ token, startedAt: '2026-01-01T03:00:00.000Z', runId: '20260101T030000Z-abcdef', pipeline: 'x', ...owner }));
  if (ageMs > 0) {
    const t = new Date(Date.now() - ageMs);
    fs.utimesSync(file, t, t);
  }
  return file;
}

async function lockError(l: Ledger): Promise<TiError> {
  const err = await l.acquireLock().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(TiError);
  return err as TiError;
}

describe('pipeline lock', () => {
  it('refuses a second instance while this live process holds the lock, and frees it on release', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    await a.acquireLock();
    await a.acquireLock(); // again: no-op
    const run = a.startRun({ pipeline: pipe, window: {}, mode: 'absolute', dryRun: false });
    const b = await open(dir, pipe);
    const err = await lockError(b);
    expect(err.code).toBe('TI_LOCKED');
    expect(err.message).toContain(`run ${run.id} (pid ${process.pid}) started at `);
    expect(err.message).toContain('is still active; wait for it or stop it');
    expect(err.details).toMatchObject({ pid: process.pid, runId: run.id, host: os.hostname() });
    expect(b.locked).toBe(false);
    await a.releaseLock();
    expect(fs.existsSync(a.lockPath)).toBe(false);
    await b.acquireLock();
    expect(b.locked).toBe(true);
    await b.close(); // close releases
    expect(fs.existsSync(b.lockPath)).toBe(false);
  });

  it('takes over the stale lock of a dead pid, with a warning', async () => {
    const { dir, pipe } = setup();
    const pid = await deadPid();
    const { log, lines } = captureLogger();
    const a = await open(dir, pipe, { logger: log });
    const stale = plantLock(a.lockPath, { pid, host: os.hostname() });
    await a.acquireLock();
    expect(a.locked).toBe(true);
    expect(fs.existsSync(stale)).toBe(false);
    const owners = fs.readdirSync(a.lockPath);
    expect(owners).toHaveLength(1);
    expect(JSON.parse(fs.readFileSync(path.join(a.lockPath, owners[0]!), 'utf8'))).toMatchObject({ pid: process.pid });
    const warn = lines.find((l) => l.level === 40 && String(l.msg).includes('taking over the lock'));
    expect(warn).toMatchObject({ pid, run: '20260101T030000Z-abcdef' });
    expect(fs.readdirSync(dir).filter((n) => n.includes('.lock.'))).toEqual([]); // no temp leftovers
  });

  it('a live pid whose process start time differs (pid reused) is stale; the real holder is not', async () => {
    const { dir, pipe } = setup();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      await new Promise((r) => child.once('spawn', r));
      const a = await open(dir, pipe);
      const real = procStartOf(child.pid!);
      expect(real).toMatch(/^\d+$/); // Linux /proc
      const planted = plantLock(a.lockPath, { pid: child.pid, host: os.hostname(), procStart: real });
      expect((await lockError(a)).code).toBe('TI_LOCKED');
      fs.rmSync(a.lockPath, { recursive: true });
      plantLock(a.lockPath, { pid: child.pid, host: os.hostname(), procStart: '1' });
      await a.acquireLock();
      expect(fs.existsSync(planted)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a lock with our own pid but a token we do not hold is a former process (e.g. a restarted container)', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    plantLock(a.lockPath, { pid: process.pid, host: os.hostname() });
    await a.acquireLock();
    expect(a.locked).toBe(true);
  });

  it('a lock from another host is alive until idle for staleAfterMs', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe, { staleAfterMs: 60 * 60 * 1000 });
    const file = plantLock(a.lockPath, { pid: 4242, host: 'other-host.example' }, 30 * 60 * 1000);
    const err = await lockError(a);
    expect(err.code).toBe('TI_LOCKED');
    expect(err.message).toContain('(pid 4242 on host other-host.example) started at 2026-01-01T03:00:00.000Z');
    expect(err.message).toContain('taken over once it has been idle for 60 min');
    const old = new Date(Date.now() - 61 * 60 * 1000);
    fs.utimesSync(file, old, old);
    await a.acquireLock();
    expect(a.locked).toBe(true);
  });

  it('default staleAfterMs is 6 h', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    const file = plantLock(a.lockPath, { pid: 4242, host: 'other-host.example' }, 5.9 * 3600 * 1000);
    expect((await lockError(a)).code).toBe('TI_LOCKED');
    const old = new Date(Date.now() - 6.1 * 3600 * 1000);
    fs.utimesSync(file, old, old);
    await a.acquireLock();
  });

  it('an empty lock directory or an unreadable owner file is free / stale', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    fs.mkdirSync(a.lockPath, { recursive: true });
    await a.acquireLock();
    await a.releaseLock();
    fs.mkdirSync(a.lockPath);
    fs.writeFileSync(path.join(a.lockPath, 'owner-deadbeef.json'), '{"pid":');
    await a.acquireLock();
    expect(fs.readdirSync(a.lockPath)).toHaveLength(1);
  });

  it('a plain file where the lock directory belongs is TI_STATE', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    fs.writeFileSync(a.lockPath, 'x');
    const err = await lockError(a);
    expect(err.code).toBe('TI_STATE');
    expect(err.message).toContain('is a file');
  });

  it('a child that exits normally (process.exit, no close) leaves no lock behind', async () => {
    const { dir, pipe } = setup();
    const res = await runChild(
      `const l = await L.Ledger.open(args.dir, args.pipe);
       await l.acquireLock();
       console.log('locked ' + l.lockPath);
       process.exit(0);`,
      { dir, pipe },
    );
    expect(res.stderr).toBe('');
    const lockPath = res.stdout.trim().replace(/^locked /, '');
    expect(lockPath.endsWith('.lock')).toBe(true);
    expect(fs.existsSync(lockPath)).toBe(false);
  });

  it('when several processes take over one stale lock at once, exactly one wins', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    plantLock(a.lockPath, { pid: await deadPid(), host: os.hostname() });
    await a.close();
    const startAt = Date.now() + 1500; // children start together, after their (staggered) boot
    const body = `
      const l = await L.Ledger.open(args.dir, args.pipe);
      while (Date.now() < args.startAt) {}
      try {
        await l.acquireLock();
        console.log('won');
        await new Promise((r) => setTimeout(r, 1500));
        await l.close();
      } catch (e) {
        console.log(e.code ?? String(e));
      }`;
    const results = await Promise.all(Array.from({ length: 5 }, () => runChild(body, { dir, pipe, startAt })));
    const outcomes = results.map((r) => r.stdout.trim()).sort();
    expect(results.map((r) => r.stderr)).toEqual(['', '', '', '', '']);
    expect(outcomes).toEqual(['TI_LOCKED', 'TI_LOCKED', 'TI_LOCKED', 'TI_LOCKED', 'won']);
    expect(fs.existsSync(a.lockPath)).toBe(false);
  });
});
