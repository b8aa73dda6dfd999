import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Ledger } from '../../src/ledger/index.js';
import { procStartOf } from '../../src/ledger/lock.js';
import { TiError } from '../../src/errors.js';
import { captureLogger, childScript, deadPid, runChild, removeTempDirs, tempDir } from './helpers.js';

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

/** State letter of a process (/proc/<pid>/stat field 3): R, S, Z, … */
function procState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
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

  it('a lock not renewed for leaseMs is taken over, wherever its holder ran (a killed pod: new host name)', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe, { leaseMs: 60_000 });
    // Renewed 30 s ago by a pod of another host: alive.
    const file = plantLock(a.lockPath, { pid: 4242, host: 'cron-29140520-x7k2p', pipeline: 'nightly' }, 30_000);
    const err = await lockError(a);
    expect(err.code).toBe('TI_LOCKED');
    expect(err.message).toContain('run 20260101T030000Z-abcdef of pipeline nightly (pid 4242 on host cron-29140520-x7k2p) started at 2026-01-01T03:00:00.000Z is still active');
    expect(err.message).toContain('a lock not renewed for 60 s is taken over');
    // Not renewed for 61 s: its holder is gone (before leases: alive for 6 h).
    const old = new Date(Date.now() - 61_000);
    fs.utimesSync(file, old, old);
    await a.acquireLock();
    expect(a.locked).toBe(true);
  });

  it('the default lease is 60 s; a holder that recorded a longer lease is given that long', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe);
    const file = plantLock(a.lockPath, { pid: 4242, host: 'other-host.example' }, 50_000);
    expect((await lockError(a)).code).toBe('TI_LOCKED');
    const old = new Date(Date.now() - 70_000);
    fs.utimesSync(file, old, old);
    await a.acquireLock();
    await a.releaseLock();
    // A holder configured with a 5 min lease renews every 75 s: 70 s without renewal is not a dead holder.
    const slow = plantLock(a.lockPath, { pid: 4242, host: 'other-host.example', leaseMs: 300_000 }, 70_000);
    expect((await lockError(a)).message).toContain('not renewed for 300 s');
    const older = new Date(Date.now() - 301_000);
    fs.utimesSync(slow, older, older);
    await a.acquireLock();
  });

  it('a zombie (killed, not yet reaped by its parent) is dead: its lock is taken over at once', async () => {
    const { dir, pipe } = setup();
    const script = await childScript(`
      const l = await L.Ledger.open(args.dir, args.pipe, { leaseMs: 600000 });
      await l.acquireLock();
      console.log('locked ' + process.pid);
      process.kill(process.pid, 'SIGKILL');`);
    // The node child's parent becomes \`sleep\`, which never reaps it: after the SIGKILL it stays a zombie.
    const args = JSON.stringify({ dir, pipe }).replace(/'/g, "'\\''");
    const sh = spawn('sh', ['-c', `"${process.execPath}" "${script}" '${args}' & exec sleep 600`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const pid = await new Promise<number>((resolve) => {
        let out = '';
        sh.stdout!.setEncoding('utf8').on('data', (t: string) => {
          out += t;
          const m = /locked (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
      });
      // Wait for the kill to land (an event, not a time): the process shows state Z.
      while (procState(pid) !== 'Z') await new Promise((r) => setTimeout(r, 20));
      expect(() => process.kill(pid, 0)).not.toThrow(); // kill(pid, 0) still says "exists": what fooled the old check
      const a = await open(dir, pipe, { leaseMs: 600_000 });
      await a.acquireLock(); // before leases: TI_LOCKED "still active" until something reaped it
      expect(a.locked).toBe(true);
    } finally {
      sh.kill('SIGKILL');
    }
  });

  it('the holder renews its lease with a heartbeat (every leaseMs/4)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const { dir, pipe } = setup();
      const a = await open(dir, pipe, { leaseMs: 4000 });
      await a.acquireLock();
      const owner = path.join(a.lockPath, fs.readdirSync(a.lockPath)[0]!);
      const old = new Date(Date.now() - 3_600_000);
      fs.utimesSync(owner, old, old);
      vi.advanceTimersByTime(999);
      expect(Math.abs(fs.statSync(owner).mtimeMs - old.getTime())).toBeLessThan(1); // not yet
      vi.advanceTimersByTime(1);
      expect(fs.statSync(owner).mtimeMs).toBeGreaterThan(Date.now() - 60_000); // renewed
      await a.releaseLock();
      fs.mkdirSync(a.lockPath);
      vi.advanceTimersByTime(10_000); // released: the heartbeat is gone, nothing is written back
      expect(fs.readdirSync(a.lockPath)).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a holder that stalled past its lease and lost the lock starts nothing more (TI_LOCKED)', async () => {
    const { dir, pipe } = setup();
    const { log, lines } = captureLogger();
    let out = '';
    let signalled = false;
    const stopped: { pid?: number } = {};
    const taker = (async () => {
      // Parent side, driven by the child's output (no clock): stop it, age its lease, take the lock, resume it.
      while (!/locked \d+/.test(out)) await new Promise((r) => setTimeout(r, 10));
      stopped.pid = Number(/locked (\d+)/.exec(out)![1]);
      process.kill(stopped.pid, 'SIGSTOP'); // a hung process: alive, but renews nothing
      const lockDir = /lock (\S+)/.exec(out)![1]!;
      const owner = path.join(lockDir, fs.readdirSync(lockDir)[0]!);
      const old = new Date(Date.now() - 10_000);
      fs.utimesSync(owner, old, old);
      const b = await open(dir, pipe, { leaseMs: 2000, logger: log });
      await b.acquireLock();
      process.kill(stopped.pid, 'SIGCONT');
      return b;
    })();
    const res = await runChild(
      `const l = await L.Ledger.open(args.dir, args.pipe, { leaseMs: 2000 });
       await l.acquireLock();
       l.startRun({ pipeline: 'p', window: {}, mode: 'additive', dryRun: false });
       console.log('lock ' + l.lockPath);
       console.log('locked ' + process.pid);
       await nextLine();
       try { l.writeIntents([{ slice: 's', operator: 'webspace', domId: 1, date: '2026-01-01', before: { smtp_in: 0n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n }, after: { smtp_in: 1n, smtp_out: 0n, pop3_imap_in: 0n, pop3_imap_out: 0n } }]); console.log('wrote'); }
       catch (e) { console.log(e.code); }
       process.exit(0);`,
      { dir, pipe },
      (text, child) => {
        out = text;
        if (/locked \d+/.test(text) && !signalled) {
          signalled = true;
          void taker.then(() => child.stdin!.write('go\n'));
        }
      },
    );
    const b = await taker;
    expect(res.stdout).toContain('TI_LOCKED');
    expect(res.stdout).not.toContain('wrote');
    expect(b.locked).toBe(true);
    expect(lines.some((l) => String(l.msg).includes('taking over the lock of run'))).toBe(true);
    expect(b.openIntents()).toEqual([]); // nothing was written by the stalled run
  });

  it('the lock is the panel\'s: another pipeline waits for it (lockWaitMs), the same pipeline is refused at once', async () => {
    const { dir, pipe } = setup();
    const a = await open(dir, pipe, { pipeline: 'cpanel-a' });
    await a.acquireLock();
    const same = await open(dir, pipe, { pipeline: 'cpanel-a', lockWaitMs: 60_000 });
    expect((await lockError(same)).message).toContain('of pipeline cpanel-a');
    const { log, lines } = captureLogger();
    const b = await open(dir, pipe, { pipeline: 'opensrs-b', lockWaitMs: 60_000, leaseMs: 1000, logger: log });
    const taken = b.acquireLock();
    // Released once b says it is waiting (a signal, not a clock).
    while (!lines.some((l) => String(l.msg).includes('waiting for the panel\'s lock: pipeline cpanel-a'))) await new Promise((r) => setTimeout(r, 10));
    expect(b.locked).toBe(false);
    await a.releaseLock();
    await taken;
    expect(b.locked).toBe(true);
    // Without waiting (lockWaitMs 0, the default of the API) another pipeline is refused like the same one.
    const c = await open(dir, pipe, { pipeline: 'csv-c' });
    expect((await lockError(c)).code).toBe('TI_LOCKED');
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
    // Signals instead of clocks: each child opens the ledger and says "ready"; when all are ready the test says
    // "go" to all at once; the winner keeps the lock until every child has reported, then the test says "end".
    const body = `
      const l = await L.Ledger.open(args.dir, args.pipe);
      console.log('ready');
      await nextLine();
      let outcome;
      try { await l.acquireLock(); outcome = 'won'; } catch (e) { outcome = e.code ?? String(e); }
      console.log(outcome);
      await nextLine();
      await l.close();`;
    const children: import('node:child_process').ChildProcess[] = [];
    const said = new Map<import('node:child_process').ChildProcess, string>();
    const broadcast = (line: string) => children.forEach((c) => c.stdin!.write(`${line}\n`));
    const onOut = (text: string, child: import('node:child_process').ChildProcess) => {
      if (!children.includes(child)) children.push(child);
      const before = said.get(child) ?? '';
      said.set(child, text);
      const count = (re: RegExp) => children.length === 5 && [...said.values()].every((t) => re.test(t));
      if (!before.includes('ready') && text.includes('ready') && count(/ready/)) broadcast('go');
      if (/ready\n(won|TI_\w+)/.test(text) && !/ready\n(won|TI_\w+)/.test(before) && count(/ready\n(won|TI_\w+)/)) broadcast('end');
    };
    const results = await Promise.all(Array.from({ length: 5 }, () => runChild(body, { dir, pipe }, onOut)));
    const outcomes = results.map((r) => r.stdout.trim().split('\n')[1]).sort();
    expect(results.map((r) => r.stderr)).toEqual(['', '', '', '', '']);
    expect(outcomes).toEqual(['TI_LOCKED', 'TI_LOCKED', 'TI_LOCKED', 'TI_LOCKED', 'won']);
    expect(fs.existsSync(a.lockPath)).toBe(false);
  });
});
