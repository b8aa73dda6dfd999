// The ledger lock: one active run per ledger, held as a lease that the running process renews (heartbeat),
// and taken over by exactly one process once it is not renewed for `leaseMs` (docs/ledger.md, "Lock").
//
// Why not proper-lockfile: its stale takeover is rmdir + mkdir, so two takers that both saw the lock
// stale can each remove the other's fresh lock and both win (moxystudio/node-proper-lockfile#121, open), and it
// keeps no owner (pid, host, run) to name in "run X is still active". Its lease idea — mtime renewed by a timer,
// stale when not renewed — is what this module does, with a single-winner takeover.
//
// Layout: `<stateDir>/<ledgerId>.lock/` is a directory holding one `owner-<token>.json` (pid, host, run, lease).
// The lock is held while that directory holds an owner file; the file's mtime is the lease, renewed every
// leaseMs/4. Every step is one atomic call:
//   - acquire = rename(prepared dir with our owner file, lock dir): onto a non-empty directory it fails, onto an
//     absent or empty one it succeeds — O_EXCL for directories, and the owner file is complete when the lock exists;
//   - take over = rename(lock/owner-<its token>.json, elsewhere): the name carries the token, so exactly one taker
//     moves that very file (a fresh owner is never moved by mistake); the takers then race for the empty directory;
//   - release = unlink our owner file, then rmdir (which only removes an empty directory).
//
// A holder is dead when its lease was not renewed for leaseMs (a killed process, a pod whose host name is gone, a
// zombie, a stopped or hung process), or at once when, on this host, its pid is gone, is a zombie, or now belongs
// to another process (start time). The longer of the holder's and the taker's leaseMs applies.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TiError } from '../errors.js';

/** A lock not renewed for this long is taken over (the holder renews it every leaseMs/4). */
export const DEFAULT_LEASE_MS = 60_000;

/** Content of the owner file. */
export interface LockOwner {
  pid: number;
  host: string;
  /** ISO instant the lock was taken. */
  startedAt: string;
  /** The run the holder starts under this lock (Ledger.startRun uses it). */
  runId: string;
  /** Random; also in the owner file's name. */
  token: string;
  /** Process start time from /proc (Linux), to tell a reused pid from the holder. */
  procStart?: string;
  /** Name of the pipeline that holds it (shown in TI_LOCKED). */
  pipeline: string;
  /** The holder's lease: a taker waits at least this long. Absent in locks of older versions. */
  leaseMs?: number;
}

/** What is in a lock directory right now. */
export interface LockView {
  /** Parsed owner, or undefined when the owner file is unreadable (garbled: treated as dead). */
  owner: LockOwner | undefined;
  file: string;
  /** Last renewal of the lease. */
  mtimeMs: number;
}

/** Tokens of locks this process holds, with their release (run on exit). */
const heldTokens = new Map<string, () => void>();
let exitHookInstalled = false;

/** Release every lock this process holds when it exits normally (process.exit included); sync by necessity. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const release of [...heldTokens.values()]) {
      try {
        release();
      } catch {
        // exiting: nothing more can be done
      }
    }
  });
}

/** /proc/<pid>/stat fields after the command name: [state, ppid, …]; undefined off Linux or when gone. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Start time of a process (clock ticks since boot, /proc/<pid>/stat field 22), or undefined off Linux. */
export function procStartOf(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

export const thisProcStart = procStartOf(process.pid);

/**
 * Is this pid (on this host) a running process — not gone, not a zombie (exited, not yet reaped: it will never
 * renew anything), not reused by another process (`procStart` differs)?
 */
export function processRunning(pid: number, procStart?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists, owned by someone else.
  }
  const stat = procStat(pid);
  if (stat === undefined) return true; // not Linux (or raced with its exit): kill(0) said it exists
  if (stat[0] === 'Z' || stat[0] === 'X') return false;
  return procStart === undefined || stat[19] === procStart;
}

export interface Holder {
  pid: number;
  host: string;
  procStart?: string | undefined;
  /** Lock token, when the holder is a lock owner. */
  token?: string | undefined;
}

/**
 * Is the holder of a lease alive? Not renewed for `leaseMs` → dead. On this host, also dead at once when its
 * process is gone, a zombie or reused; our own pid is alive only while we hold that token.
 */
export function holderAlive(h: Holder, ageMs: number, leaseMs: number): boolean {
  if (h.host === os.hostname()) {
    if (h.pid === process.pid) {
      if (h.token !== undefined) return heldTokens.has(h.token);
      return h.procStart === undefined || thisProcStart === undefined || h.procStart === thisProcStart;
    }
    if (!processRunning(h.pid, h.procStart)) return false;
  }
  return ageMs <= leaseMs;
}

const OWNER_RE = /^owner-([A-Za-z0-9]+)\.json$/;

/** The owner file of a lock directory, or undefined when the lock is free (absent or empty). */
export function readLock(lockDir: string): LockView | undefined {
  for (let attempt = 0; attempt < 5; attempt++) {
    let names: string[];
    try {
      names = fs.readdirSync(lockDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ENOTDIR') {
        throw new TiError('TI_STATE', `${lockDir} should be a lock directory but is a file; remove it if no run is active`, { lockDir });
      }
      throw new TiError('TI_STATE', `${lockDir}: cannot be read (${code ?? String(err)})`, { lockDir }, { cause: err });
    }
    const name = names.filter((n) => OWNER_RE.test(n)).sort()[0];
    if (name === undefined) return undefined;
    const file = path.join(lockDir, name);
    try {
      const text = fs.readFileSync(file, 'utf8');
      return { owner: parseOwner(text), file, mtimeMs: fs.statSync(file).mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released or taken over meanwhile: look again
      throw new TiError('TI_STATE', `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file }, { cause: err });
    }
  }
  return undefined;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string' || typeof o.token !== 'string' || typeof o.startedAt !== 'string') return undefined;
    return {
      pid: o.pid, host: o.host, startedAt: o.startedAt, token: o.token,
      runId: typeof o.runId === 'string' ? o.runId : '(unknown)',
      pipeline: typeof o.pipeline === 'string' ? o.pipeline : '',
      ...(typeof o.procStart === 'string' ? { procStart: o.procStart } : {}),
      ...(typeof o.leaseMs === 'number' && o.leaseMs > 0 ? { leaseMs: o.leaseMs } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Is this lock held by a live holder? The longer of its lease and ours applies. */
export function lockAlive(view: LockView, leaseMs: number, now = Date.now()): boolean {
  if (!view.owner) return false;
  return holderAlive(view.owner, now - view.mtimeMs, Math.max(leaseMs, view.owner.leaseMs ?? 0));
}

export interface AcquireOptions {
  lockDir: string;
  pipeline: string;
  runId: string;
  leaseMs: number;
  /** Told about a taken-over lock. */
  onTakeover?: (previous: LockOwner | undefined, ownerFile: string) => void;
  /** The heartbeat found the lock taken from us (we stalled past the lease): stop writing. */
  onLost?: () => void;
}

/** A lock this process holds. */
export interface HeldLock {
  owner: LockOwner;
  ownerFile: string;
  /** Renew the lease now (the heartbeat does it every leaseMs/4); false if the lock was taken from us. */
  renew(): boolean;
  /** Still ours? (the owner file is still there) */
  held(): boolean;
  /** Give the lock up; false if it had already been taken from us. Idempotent. */
  release(): boolean;
}

function tempName(lockDir: string, kind: string, token: string): string {
  return `${lockDir}.${kind}-${token}`;
}

/** Remove temp entries of crashed acquirers / takers older than an hour (best effort). */
function sweepTemps(lockDir: string): void {
  const dir = path.dirname(lockDir);
  const prefix = `${path.basename(lockDir)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const cutoff = Date.now() - 60 * 60 * 1000;
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const p = path.join(dir, n);
    try {
      if (fs.statSync(p).mtimeMs < cutoff) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // another process cleaned it
    }
  }
}

/** rename(2) onto an existing lock: Linux says ENOTEMPTY (or EEXIST), Windows EPERM/EACCES. */
function isTakenCode(code: string | undefined): boolean {
  return code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM' || code === 'EACCES';
}

function stateError(what: string, file: string, err: unknown, lockDir: string): TiError {
  return new TiError('TI_STATE', `${file}: ${what} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { lockDir }, { cause: err });
}

/**
 * Take the lock, or throw TiError('TI_LOCKED') naming the live holder. A dead holder's lock is taken over
 * (onTakeover is called); when several processes take over at once exactly one wins. The lease is renewed by
 * a timer until release.
 */
export function acquireLock(opts: AcquireOptions): HeldLock {
  const { lockDir } = opts;
  const token = randomBytes(8).toString('hex');
  const owner: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    runId: opts.runId,
    token,
    ...(thisProcStart !== undefined ? { procStart: thisProcStart } : {}),
    pipeline: opts.pipeline,
    leaseMs: opts.leaseMs,
  };
  const ownerName = `owner-${token}.json`;
  const ownerFile = path.join(lockDir, ownerName);
  sweepTemps(lockDir);

  for (let attempt = 0; attempt < 20; attempt++) {
    // Prepare the whole lock beside it, then rename it into place.
    const tmp = tempName(lockDir, 'tmp', token);
    try {
      fs.mkdirSync(tmp);
      fs.writeFileSync(path.join(tmp, ownerName), `${JSON.stringify(owner)}\n`);
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw stateError('cannot be written', tmp, err, lockDir);
    }
    try {
      fs.renameSync(tmp, lockDir);
      heldTokens.set(token, () => releaseOwned(lockDir, ownerFile, token));
      installExitHook();
      return heldLock(owner, lockDir, ownerFile, opts);
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') {
        throw new TiError('TI_STATE', `${lockDir} should be a lock directory but is a file; remove it if no run is active`, { lockDir });
      }
      if (!isTakenCode(code)) throw stateError('cannot be created', lockDir, err, lockDir);
    }

    const view = readLock(lockDir);
    if (view === undefined) {
      // An empty lock dir (a releaser or taker died between its two steps): free. rmdir only removes it if
      // still empty, so this cannot remove a lock someone just took.
      try {
        fs.rmdirSync(lockDir);
      } catch {
        // gone already, or no longer empty: look again
      }
      continue;
    }
    if (lockAlive(view, opts.leaseMs)) throw lockedError(view, lockDir, opts.leaseMs);
    // Dead holder: move its owner file out. Only one taker can move that very file.
    const reaped = tempName(lockDir, 'reaped', token);
    try {
      fs.renameSync(view.file, reaped);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another taker (or its holder) moved it first
      throw stateError('cannot be taken over', view.file, err, lockDir);
    }
    fs.rmSync(reaped, { force: true });
    opts.onTakeover?.(view.owner, view.file);
  }
  throw new TiError('TI_STATE', `${lockDir}: the lock keeps changing hands; try again`, { lockDir });
}

function lockedError(view: LockView, lockDir: string, leaseMs: number): TiError {
  const o = view.owner!;
  const where = o.host === os.hostname() ? `pid ${o.pid}` : `pid ${o.pid} on host ${o.host}`;
  const lease = Math.max(leaseMs, o.leaseMs ?? 0);
  return new TiError(
    'TI_LOCKED',
    `run ${o.runId}${o.pipeline ? ` of pipeline ${o.pipeline}` : ''} (${where}) started at ${o.startedAt} is still active; ` +
      `wait for it or stop it (a lock not renewed for ${Math.ceil(lease / 1000)} s is taken over). Lock: ${lockDir}`,
    { lockDir, pid: o.pid, host: o.host, runId: o.runId, startedAt: o.startedAt, pipeline: o.pipeline },
  );
}

/** Remove our owner file and the then-empty lock dir. False if the owner file was already gone (taken over). */
function releaseOwned(lockDir: string, ownerFile: string, token: string): boolean {
  heldTokens.delete(token);
  let had = true;
  try {
    fs.unlinkSync(ownerFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    had = false;
  }
  try {
    fs.rmdirSync(lockDir);
  } catch {
    // not empty: someone took the lock right after us; absent: fine
  }
  return had;
}

function heldLock(owner: LockOwner, lockDir: string, ownerFile: string, opts: AcquireOptions): HeldLock {
  let released = false;
  let lost = false;
  let result = true;
  const lock: HeldLock = {
    owner,
    ownerFile,
    renew() {
      if (released || lost) return false;
      const now = new Date();
      try {
        fs.utimesSync(ownerFile, now, now);
        return true;
      } catch {
        // Gone: a taker found our lease expired (this process stalled) and moved it. Never write it back.
        lost = true;
        clearInterval(heartbeat);
        opts.onLost?.();
        return false;
      }
    },
    held() {
      return !released && !lost && fs.existsSync(ownerFile);
    },
    release() {
      if (released) return result;
      released = true;
      clearInterval(heartbeat);
      try {
        result = releaseOwned(lockDir, ownerFile, owner.token);
      } catch (err) {
        throw stateError('cannot be removed', ownerFile, err, lockDir);
      }
      return result;
    },
  };
  // The heartbeat: four renewals per lease, so one late tick never loses it. unref: it never keeps the process up.
  const heartbeat = setInterval(() => void lock.renew(), Math.max(1, Math.floor(opts.leaseMs / 4)));
  heartbeat.unref();
  return lock;
}
