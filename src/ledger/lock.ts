// The pipeline lock: one active run per pipeline, a dead holder's lock taken over by exactly one process.
//
// Layout: `<stateDir>/<pipelineId>.lock/` is a directory holding one `owner-<token>.json` (pid, host, start
// time, run id). The lock is held while that directory holds an owner file.
//
// Why a directory and not a plain O_EXCL file: taking over a plain file needs "delete it if it is still the
// stale one", and a filesystem has no compare-and-delete — two takers can each delete the other's fresh lock
// and both win. Here every step is a single atomic call:
//   - acquire = rename(prepared dir with our owner file, lock dir). rename(2) onto a non-empty directory fails
//     (ENOTEMPTY/EEXIST), onto an absent or empty one succeeds: the directory form of O_EXCL, and the owner
//     file is complete the moment the lock exists (no half-written lock to misread).
//   - take over a dead holder = rename(lock/owner-<its token>.json, elsewhere). The name carries the token,
//     so exactly one taker moves that file and nobody can move a fresh owner by mistake; the lock directory
//     is then empty and the takers race for it with the acquire step above: one wins, the others see it alive.
//   - release = unlink our own owner file, then rmdir (which only removes an empty directory).
// A crash at any point leaves a lock with a dead owner (taken over), an empty lock dir (free), or a stray
// temp entry (cleaned when old).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TiError } from '../errors.js';

/** A lock from another host counts as alive until it has been idle this long (6 h). */
export const DEFAULT_STALE_AFTER_MS = 6 * 60 * 60 * 1000;

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
  pipeline: string;
}

/** What is in a lock directory right now. */
export interface LockView {
  /** Parsed owner, or undefined when the owner file is unreadable (garbled: treated as dead). */
  owner: LockOwner | undefined;
  /** Path of the owner file. */
  file: string;
  /** Last refresh of the owner file (the holder touches it while it writes its journal). */
  mtimeMs: number;
}

/** Tokens of locks this process holds (a second Ledger in the same process is refused, a stale one of a
 * former process that had our pid is not). */
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

/** Start time of a process (clock ticks since boot, /proc/<pid>/stat field 22), or undefined off Linux. */
export function procStartOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 overall; fields[0] is field 3
  } catch {
    return undefined;
  }
}

export const thisProcStart = procStartOf(process.pid);

export interface Holder {
  pid: number;
  host: string;
  procStart?: string | undefined;
  /** Lock token, when the holder is a lock owner. */
  token?: string | undefined;
}

/**
 * Is the process behind a lock or run alive?
 * - Same host: process.kill(pid, 0) — ESRCH = dead, success or EPERM = alive; a known process start time
 *   that differs means the pid was reused (dead). Our own pid is alive only if we hold that token.
 * - Another host: its pid cannot be checked; alive until `ageMs` exceeds `staleAfterMs`.
 */
export function holderAlive(h: Holder, ageMs: number, staleAfterMs: number): boolean {
  if (h.host !== os.hostname()) return ageMs <= staleAfterMs;
  if (h.pid === process.pid) {
    if (h.token !== undefined) return heldTokens.has(h.token);
    return h.procStart === undefined || thisProcStart === undefined || h.procStart === thisProcStart;
  }
  if (!Number.isInteger(h.pid) || h.pid <= 0) return false;
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists, owned by someone else.
  }
  if (h.procStart !== undefined) {
    const now = procStartOf(h.pid);
    if (now !== undefined && now !== h.procStart) return false;
  }
  return true;
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
    let text: string;
    let mtimeMs: number;
    try {
      text = fs.readFileSync(file, 'utf8');
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released or taken over meanwhile: look again
      throw new TiError('TI_STATE', `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file }, { cause: err });
    }
    return { owner: parseOwner(text), file, mtimeMs };
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
    };
  } catch {
    return undefined;
  }
}

/** Is this lock view held by a live process? */
export function lockAlive(view: LockView, staleAfterMs: number, now = Date.now()): boolean {
  if (!view.owner) return false;
  return holderAlive(view.owner, now - view.mtimeMs, staleAfterMs);
}

export interface AcquireOptions {
  lockDir: string;
  pipeline: string;
  runId: string;
  staleAfterMs: number;
  /** Told about a taken-over lock. */
  onTakeover?: (previous: LockOwner | undefined, ownerFile: string) => void;
}

/** A lock this process holds. */
export interface HeldLock {
  owner: LockOwner;
  ownerFile: string;
  /** Refresh the owner file's mtime (liveness for other hosts); false if the lock was taken from us. */
  touch(): boolean;
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

function isTakenCode(code: string | undefined): boolean {
  // Linux: ENOTEMPTY (or EEXIST) onto a non-empty dir; Windows: EPERM/EACCES onto any existing dir.
  return code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM' || code === 'EACCES';
}

/**
 * Take the lock, or throw TiError('TI_LOCKED') naming the live holder. A dead holder's lock is taken over
 * (onTakeover is called); when several processes take over at once exactly one wins.
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
      throw new TiError('TI_STATE', `${tmp}: cannot be written (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { lockDir }, { cause: err });
    }
    try {
      fs.renameSync(tmp, lockDir);
      heldTokens.set(token, () => releaseOwned(lockDir, ownerFile, token));
      installExitHook();
      return heldLock(owner, lockDir, ownerFile);
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') {
        throw new TiError('TI_STATE', `${lockDir} should be a lock directory but is a file; remove it if no run is active`, { lockDir });
      }
      if (!isTakenCode(code)) {
        throw new TiError('TI_STATE', `${lockDir}: cannot be created (${code ?? String(err)})`, { lockDir }, { cause: err });
      }
    }

    const view = readLock(lockDir);
    if (view === undefined) {
      // An empty lock dir (a releaser or taker died between its two steps): free. rmdir only removes it if
      // still empty, so this cannot remove a lock someone just took. (Needed where rename cannot replace a dir.)
      try {
        fs.rmdirSync(lockDir);
      } catch {
        // gone already, or no longer empty: look again
      }
      continue;
    }
    if (lockAlive(view, opts.staleAfterMs)) throw lockedError(view, lockDir, opts.staleAfterMs);
    // Dead holder: move its owner file out. Only one taker can move that very file.
    const reaped = tempName(lockDir, 'reaped', token);
    try {
      fs.renameSync(view.file, reaped);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another taker (or its holder) moved it first
      throw new TiError('TI_STATE', `${view.file}: cannot be taken over (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { lockDir }, { cause: err });
    }
    fs.rmSync(reaped, { force: true });
    opts.onTakeover?.(view.owner, view.file);
  }
  throw new TiError('TI_STATE', `${lockDir}: the lock keeps changing hands; try again`, { lockDir });
}

function lockedError(view: LockView, lockDir: string, staleAfterMs: number): TiError {
  const o = view.owner!;
  const here = o.host === os.hostname();
  const where = here ? `pid ${o.pid}` : `pid ${o.pid} on host ${o.host}`;
  const hint = here
    ? ''
    : ` (a lock from another host is taken over once it has been idle for ${Math.round(staleAfterMs / 60000)} min)`;
  return new TiError(
    'TI_LOCKED',
    `run ${o.runId} (${where}) started at ${o.startedAt} is still active; wait for it or stop it${hint}. Lock: ${lockDir}`,
    { lockDir, pid: o.pid, host: o.host, runId: o.runId, startedAt: o.startedAt },
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

function heldLock(owner: LockOwner, lockDir: string, ownerFile: string): HeldLock {
  let released = false;
  let result = true;
  return {
    owner,
    ownerFile,
    touch() {
      if (released) return false;
      const now = new Date();
      try {
        fs.utimesSync(ownerFile, now, now);
        return true;
      } catch {
        return false;
      }
    },
    release() {
      if (released) return result;
      released = true;
      try {
        result = releaseOwned(lockDir, ownerFile, owner.token);
      } catch (err) {
        throw new TiError('TI_STATE', `${ownerFile}: cannot be removed (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { lockDir }, { cause: err });
      }
      return result;
    },
  };
}
