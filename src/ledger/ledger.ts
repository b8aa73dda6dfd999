// The Ledger: one pipeline's journal + lock. See src/ledger/index.ts for the design and why a journal.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Logger } from 'pino';
import { TiError } from '../errors.js';
import type { Operator } from '../model.js';
import {
  JOURNAL_VERSION, apply, compactedLines, openIntentOf, emptyState, fsyncDir, intentToRec, journalFile, nodeKey, nodeToRec,
  parseNodeKey, readRunsOnly, replay, toJsonLine, writeAll,
  type HeaderRecord, type Intent, type JournalRecord, type JournalState, type NodeRef, type OpenIntent, type RunInfo,
  type RunState, type RunStatus,
} from './journal.js';
import {
  DEFAULT_LEASE_MS, acquireLock as takeLock, holderAlive, lockAlive, readLock, thisProcStart,
  type HeldLock, type LockView,
} from './lock.js';

/** Compact the journal (at lock time) once it is larger than this: 64 MiB. */
export const DEFAULT_COMPACT_AT_BYTES = 64 * 1024 * 1024;
/** Runs kept by a compaction (older run records are dropped; applied slices and open intents never are). */
export const DEFAULT_KEEP_RUNS = 1000;
/** How long a run waits for the panel's lock held by another pipeline's run. */
export const DEFAULT_LOCK_WAIT_MS = 15 * 60_000;

/** The `state` section of a pipeline (zod 4, unknown keys are errors). docs/ledger.md. */
export const ledgerConfigSchema = z
  .strictObject({
    /** State directory, relative to the pipeline file. One journal and one lock per panel live in it. */
    path: z.string().min(1).default('./state/'),
    /**
     * The lock is a lease the running process renews every leaseMs/4; one not renewed for leaseMs is taken over
     * (a killed run, a pod whose host is gone, a zombie). Default 60 s.
     */
    leaseMs: z.int().min(1000).max(24 * 3600_000).optional(),
    /** Former name of leaseMs (before leases, a lock of another host counted as alive until idle this long). */
    staleAfterMs: z.int().min(1000).max(24 * 3600_000).optional(),
    /**
     * The lock is the panel's: a run of another pipeline against the same panel waits this long for it before
     * giving up (TI_LOCKED). A second run of the same pipeline is refused at once. Default 15 min; 0: never wait.
     */
    lockWaitMs: z.int().min(0).max(24 * 3600_000).default(DEFAULT_LOCK_WAIT_MS),
    /** Rewrite the journal to its live content when it is larger than this (checked when the lock is taken). */
    compactAtBytes: z.int().min(1024 * 1024).default(DEFAULT_COMPACT_AT_BYTES),
  })
  .refine((c) => c.leaseMs === undefined || c.staleAfterMs === undefined, {
    message: 'give leaseMs (staleAfterMs is its former name), not both',
  })
  .transform(({ staleAfterMs, leaseMs, ...rest }) => ({ ...rest, leaseMs: leaseMs ?? staleAfterMs ?? DEFAULT_LEASE_MS }));
export type LedgerConfig = z.output<typeof ledgerConfigSchema>;

export interface LedgerOptions {
  /** Warnings (stale lock taken over, torn tail cut, lost lock) and compaction notes. */
  logger?: Logger;
  /** See ledgerConfigSchema.leaseMs. */
  leaseMs?: number;
  /** See ledgerConfigSchema.lockWaitMs (default 0 here: tests and tools do not wait unless asked). */
  lockWaitMs?: number;
  /** Name of the pipeline that opens it (named in the lock, so a refused run can say who holds it). */
  pipeline?: string;
  /**
   * A journal of the former layout (one per pipeline file, before ledgers were keyed by panel): folded into this
   * ledger under the lock, then renamed `*.migrated`; a read-only ledger reads it as well. See docs/ledger.md.
   */
  legacyJournal?: string;
  /** See ledgerConfigSchema.compactAtBytes. Infinity: never. */
  compactAtBytes?: number;
  /** Runs kept by a compaction. */
  keepRuns?: number;
  /**
   * Read only (dry runs): nothing is created or written — a missing journal reads as empty, a torn tail is
   * skipped rather than cut, no file stays open; acquireLock, startRun, finishRun, writeIntents, commit and
   * abort throw TI_INTERNAL.
   */
  readOnly?: boolean;
}

/** What startRun needs; the ledger adds id, pid, host, startedAt and status. */
export type RunStart = Pick<RunInfo, 'pipeline' | 'window' | 'mode' | 'dryRun'> & { pipelineFile?: string };

/**
 * Ledger id of a panel: `panel-` + its host name (sanitized) + 10 hex of the sha256 of the panel key (the
 * caller's canonical form of the panel's URL), e.g. `panel-plesk.example.com-3f9a0c21be`. Readable in `ls state/`.
 */
export function ledgerIdOf(panel: string): string {
  let host = '';
  try {
    host = new URL(panel).hostname;
  } catch {
    host = panel;
  }
  const base = host.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 40) || 'panel';
  return `panel-${base}-${createHash('sha256').update(panel).digest('hex').slice(0, 10)}`;
}

/**
 * Journal id of the former layout: one ledger per pipeline file (sanitized base name + 10 hex of the sha256 of
 * its real absolute path). Only used to find such a journal and fold it into its panel's ledger.
 */
export function pipelineIdOf(pipelinePath: string): string {
  const abs = realAbs(pipelinePath);
  const base = path.parse(abs).name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 40) || 'pipeline';
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 10);
  return `${base}-${hash}`;
}

function realAbs(p: string): string {
  const abs = path.resolve(p);
  try {
    return withoutConfigMapVersion(fs.realpathSync(abs));
  } catch {
    return abs; // not there (yet): the plain absolute path
  }
}

/**
 * A Kubernetes ConfigMap or Secret volume links each key through `..data` to a `..<timestamp>` directory that
 * is replaced on every update: the real path of `/pipelines/a.json` is `/pipelines/..2026_12_01_10_00_00.123/a.json`
 * until the next update. Dropping that component keeps a pipeline's id (its journal, applied slices and lock)
 * across ConfigMap updates.
 */
function withoutConfigMapVersion(real: string): string {
  return real.replace(/\/\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+(?=\/)/, '');
}

function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

function stateError(file: string, what: string, err: unknown): TiError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new TiError('TI_STATE', `${file}: ${what} (${code})`, { file }, { cause: err });
}

function toRunInfo(r: RunState, status: RunStatus): RunInfo {
  return {
    id: r.id, pipeline: r.pipeline, ...(r.pipelineFile !== undefined ? { pipelineFile: r.pipelineFile } : {}), startedAt: r.startedAt,
    ...(r.finishedAt !== undefined ? { finishedAt: r.finishedAt } : {}),
    window: { ...r.window }, mode: r.mode, dryRun: r.dryRun, status,
    ...(r.counts !== undefined ? { counts: r.counts } : {}),
    pid: r.pid, host: r.host,
  };
}

/**
 * Status as shown: a run recorded as 'running' is 'interrupted' once its process is gone.
 * - Started under a lock: active only while that same lock is held (by a live holder). This also catches a
 *   reused pid, and a run whose process lives on after giving up the lock.
 * - Started without the lock: pid check on this host; on another host, alive until `leaseMs` after start.
 */
function effectiveStatus(r: RunState, lock: LockView | undefined, leaseMs: number, now: number): RunStatus {
  if (r.status !== 'running') return r.status;
  if (r.lock !== undefined) {
    if (!lock || lock.owner?.token !== r.lock) return 'interrupted';
    return lockAlive(lock, leaseMs, now) ? 'running' : 'interrupted';
  }
  const age = now - Date.parse(r.startedAt);
  return holderAlive({ pid: r.pid, host: r.host, procStart: r.procStart }, age, leaseMs) ? 'running' : 'interrupted';
}

function newestFirst(a: { startedAt: string; order: number }, b: { startedAt: string; order: number }): number {
  if (a.startedAt !== b.startedAt) return a.startedAt < b.startedAt ? 1 : -1;
  return b.order - a.order;
}

/**
 * One pipeline's state: applied additive slices, write-ahead intents, run records (all in an append-only,
 * fsynced journal) and the lock that keeps a second run of the pipeline out.
 *
 * Typical run: `open` → `acquireLock` → `startRun` → settle `openIntents()` (commit/abort each) → per packet
 * `writeIntents` · send · `commit`/`abort` → `finishRun` → `releaseLock` → `close`.
 * Mutations of the applied set (writeIntents, commit, abort) need the lock; reads (isApplied, runs,
 * openIntents) do not, and reflect the journal as of `open` (or `acquireLock`, which re-reads what other
 * processes appended in between) plus this instance's own writes.
 *
 * A dry run opens with `{ readOnly: true }`: it can ask isApplied/openIntents/runs and writes nothing.
 *
 * Methods are synchronous on purpose: an fsync must complete before the caller goes on (the intent before the
 * packet is sent, the commit before the run reports success).
 */
export class Ledger {
  /** See ledgerIdOf. */
  readonly ledgerId: string;
  /** What the ledger is keyed by: the panel (its canonical URL), never the pipeline file. */
  readonly panel: string;
  readonly stateDir: string;
  /** `<stateDir>/<ledgerId>.jsonl` */
  readonly journalPath: string;
  /** `<stateDir>/<ledgerId>.lock` (a directory; see lock.ts). */
  readonly lockPath: string;

  private fd: number | undefined;
  private state: JournalState = emptyState();
  /** (ino, size) of the journal as this instance last saw it: tells whether others appended meanwhile. */
  private seen = { ino: 0, size: 0 };
  private lock: HeldLock | undefined;
  /** Run id the next startRun uses: named in the lock so a refused second run can say who holds it. */
  private pendingRunId: string | undefined;
  private currentRunId: string | undefined;
  private readonly log: Logger | undefined;
  private readonly leaseMs: number;
  private readonly lockWaitMs: number;
  private readonly pipelineName: string;
  private readonly legacyJournal: string | undefined;
  private readonly compactAtBytes: number;
  private readonly keepRuns: number;
  /** See LedgerOptions.readOnly. */
  readonly readOnly: boolean;

  private constructor(stateDir: string, panel: string, opts: LedgerOptions) {
    this.stateDir = path.resolve(stateDir);
    this.panel = panel;
    this.ledgerId = ledgerIdOf(panel);
    this.journalPath = journalFile(this.stateDir, this.ledgerId);
    this.lockPath = path.join(this.stateDir, `${this.ledgerId}.lock`);
    this.log = opts.logger;
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    this.lockWaitMs = opts.lockWaitMs ?? 0;
    this.pipelineName = opts.pipeline ?? '';
    this.legacyJournal = opts.legacyJournal;
    this.compactAtBytes = opts.compactAtBytes ?? DEFAULT_COMPACT_AT_BYTES;
    this.keepRuns = opts.keepRuns ?? DEFAULT_KEEP_RUNS;
    this.readOnly = opts.readOnly ?? false;
  }

  /**
   * Open (creating `stateDir` and the journal if needed, unless readOnly) and replay the journal. A torn final line (a kill
   * mid-append) is cut off with a warning; a corrupt line before the end throws TiError('TI_STATE') naming
   * the file and line.
   */
  static async open(stateDir: string, panel: string, opts: LedgerOptions = {}): Promise<Ledger> {
    const l = new Ledger(stateDir, panel, opts);
    if (l.readOnly) {
      l.loadReadOnly();
      l.loadLegacyReadOnly();
    } else l.load();
    return l;
  }

  private loadReadOnly(): void {
    this.state = emptyState();
    let fd: number;
    try {
      fd = fs.openSync(this.journalPath, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw stateError(this.journalPath, 'the journal cannot be opened', err);
    }
    try {
      replay(fd, this.journalPath, this.state);
    } finally {
      fs.closeSync(fd);
    }
    this.checkHeader();
  }

  /** A dry run also sees what a not yet folded per-pipeline journal says was applied. */
  private loadLegacyReadOnly(): void {
    if (this.legacyJournal === undefined || !fs.existsSync(this.legacyJournal)) return;
    const old = readLegacy(this.legacyJournal);
    for (const k of old.applied) this.state.applied.add(k);
    for (const [k, v] of old.open) if (!this.state.open.has(k)) this.state.open.set(k, v);
  }

  private checkHeader(): void {
    const h = this.state.header;
    if (h && h.panel !== this.panel) {
      throw new TiError('TI_STATE', `${this.journalPath} belongs to panel ${h.panel ?? h.pipeline}, not ${this.panel}`, { file: this.journalPath });
    }
  }

  private load(): void {
    try {
      fs.mkdirSync(this.stateDir, { recursive: true });
    } catch (err) {
      throw stateError(this.stateDir, 'the state directory cannot be created', err);
    }
    let created = false;
    try {
      // 'a+': O_APPEND for our writes, readable for replay; created if missing.
      created = !fs.existsSync(this.journalPath);
      this.fd = fs.openSync(this.journalPath, 'a+');
    } catch (err) {
      throw stateError(this.journalPath, 'the journal cannot be opened', err);
    }
    try {
      this.replayAll(created);
    } catch (err) {
      fs.closeSync(this.fd);
      this.fd = undefined;
      throw err;
    }
  }

  private replayAll(created: boolean): void {
    const fd = this.requireFd();
    if (created) {
      try {
        fsyncDir(this.stateDir); // the new entry must survive a power loss like the lines in it
      } catch (err) {
        throw stateError(this.stateDir, 'the state directory cannot be synced', err);
      }
    }
    this.state = emptyState();
    const r = replay(fd, this.journalPath, this.state);
    if (r.tornBytes > 0) {
      this.log?.warn({ journal: this.journalPath, bytes: r.tornBytes }, 'journal ends in a torn line (a run was killed while writing): cut off');
      try {
        fs.ftruncateSync(fd, r.goodEnd);
        fs.fsyncSync(fd);
      } catch (err) {
        throw stateError(this.journalPath, 'the torn last line cannot be cut off', err);
      }
    } else if (r.missingNewline) {
      this.appendRaw('\n');
    }
    if (!this.state.header) {
      const header: HeaderRecord = {
        t: 'header', v: JOURNAL_VERSION, panel: this.panel, ledgerId: this.ledgerId, createdAt: new Date().toISOString(),
      };
      this.append([header]);
      this.state.header = header;
    } else {
      this.checkHeader();
    }
    this.noteSeen();
  }

  private noteSeen(): void {
    const st = fs.fstatSync(this.requireFd());
    this.seen = { ino: st.ino, size: st.size };
  }

  private requireFd(): number {
    if (this.readOnly) throw new TiError('TI_INTERNAL', `ledger ${this.journalPath} was opened read-only`);
    if (this.fd === undefined) throw new TiError('TI_INTERNAL', `ledger ${this.journalPath} is closed`);
    return this.fd;
  }

  // ── writing ──

  /** One write + one fsync for all `records` (a whole packet's intents are one line). */
  private append(records: readonly (JournalRecord | Record<string, unknown>)[]): void {
    if (records.length === 0) return;
    this.appendRaw(records.map((r) => toJsonLine(r)).join(''));
  }

  private appendRaw(data: string): void {
    const fd = this.requireFd();
    try {
      writeAll(fd, data);
      fs.fsyncSync(fd);
    } catch (err) {
      throw stateError(this.journalPath, 'the journal cannot be written', err);
    }
    this.seen.size += Buffer.byteLength(data);
  }

  private requireLock(what: string): void {
    if (this.readOnly) throw new TiError('TI_INTERNAL', `ledger: ${what} on a read-only ledger`);
    if (!this.lock) throw new TiError('TI_INTERNAL', `ledger: ${what} needs the ledger lock (call acquireLock first)`);
  }

  /**
   * Before anything new is started (a packet's intents): the lock must still be ours. It is lost when this
   * process stalled past the lease and another run took it over; going on could apply a slice twice.
   */
  private requireLiveLock(what: string): void {
    this.requireLock(what);
    if (!this.lock!.held()) {
      throw new TiError('TI_LOCKED', `the ledger lock ${this.lockPath} was taken over by another run while this one was not renewing it (stalled longer than state.leaseMs = ${this.leaseMs} ms): stopping before ${what}`, { lockDir: this.lockPath });
    }
  }

  // ── lock ──

  /**
   * Take the ledger lock (a lease renewed by a heartbeat, see lock.ts). Held by a live run → TiError('TI_LOCKED',
   * 'run <id> of pipeline <name> (pid N) started at … is still active; …'). Not renewed for leaseMs, or (this
   * host) its process gone, a zombie or its pid reused → taken over, with a warning; exactly one of several
   * simultaneous takers wins.
   *
   * Once held: re-reads what other processes appended since `open`, folds in the legacy per-pipeline journal
   * (LedgerOptions.legacyJournal), closes runs left 'running' by dead processes as 'interrupted', and compacts
   * the journal when it is larger than compactAtBytes.
   * The lock is released by releaseLock/close, and on any normal process exit (an 'exit' hook); after a
   * SIGKILL it stays and is taken over by the next run. Calling it again while held does nothing.
   */
  async acquireLock(): Promise<void> {
    this.requireFd();
    if (this.lock) return;
    const runId = newRunId(new Date());
    this.lock = await this.takeOrWait(runId);
    this.pendingRunId = runId;
    try {
      this.refreshIfChanged();
      this.migrateLegacy();
      this.closeDeadRuns();
      this.maybeCompact();
    } catch (err) {
      this.lock.release();
      this.lock = undefined;
      throw err;
    }
  }

  /**
   * Take the lock; while a live run of ANOTHER pipeline holds it (the lock is the panel's), wait for it up to
   * lockWaitMs, looking again every quarter lease. A live run of the same pipeline is refused at once.
   */
  private async takeOrWait(runId: string): Promise<HeldLock> {
    const until = Date.now() + this.lockWaitMs;
    let told = false;
    for (;;) {
      try {
        return this.takeLockOnce(runId);
      } catch (err) {
        const holder = err instanceof TiError && err.code === 'TI_LOCKED' ? (err.details?.pipeline as string | undefined) : undefined;
        const other = holder !== undefined && holder !== this.pipelineName;
        if (!other || Date.now() >= until) throw err;
        if (!told) {
          told = true;
          this.log?.info({ lock: this.lockPath, holder: err instanceof TiError ? err.details : undefined, waitMs: this.lockWaitMs }, `waiting for the panel's lock: pipeline ${holder} is running against it`);
        }
        await sleep(Math.max(50, Math.min(Math.floor(this.leaseMs / 4), until - Date.now())));
      }
    }
  }

  private takeLockOnce(runId: string): HeldLock {
    return takeLock({
      lockDir: this.lockPath,
      pipeline: this.pipelineName,
      runId,
      leaseMs: this.leaseMs,
      onTakeover: (prev, file) => {
        this.log?.warn(
          { lock: file, pid: prev?.pid, host: prev?.host, run: prev?.runId, pipeline: prev?.pipeline, startedAt: prev?.startedAt },
          prev ? `taking over the lock of run ${prev.runId} (pid ${prev.pid} on ${prev.host}): its lease was not renewed or its process is gone` : 'taking over an unreadable lock',
        );
      },
      onLost: () => {
        this.log?.warn({ lock: this.lockPath, leaseMs: this.leaseMs }, 'the ledger lock was taken over by another run (this one did not renew it within state.leaseMs): no new packet will start');
      },
    });
  }

  /** Give the lock up (finishRun first). Idempotent. */
  async releaseLock(): Promise<void> {
    const lock = this.lock;
    if (!lock) return;
    this.lock = undefined;
    this.pendingRunId = undefined;
    if (!lock.release()) this.log?.warn({ lock: this.lockPath }, 'the ledger lock had already been taken over by another run');
  }

  /** True while this instance holds the pipeline lock. */
  get locked(): boolean {
    return this.lock !== undefined;
  }

  /** Re-read the journal when another process wrote to it (or compacted it) since we last looked. */
  private refreshIfChanged(): void {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.journalPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw stateError(this.journalPath, 'the journal cannot be read', err);
      st = { ino: -1, size: -1 } as fs.Stats;
    }
    if (st.ino === this.seen.ino && st.size === this.seen.size) return;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.load();
  }

  /**
   * Fold the former per-pipeline journal into this panel ledger (under the lock): its runs, applied slices and
   * open intents are appended here, then the file is renamed `<name>.migrated` so it is read once. A kill before
   * the rename repeats the fold next time, which changes nothing (runs by id, applied keys are a set, an intent
   * replaces the open one of its node).
   */
  private migrateLegacy(): void {
    const legacy = this.legacyJournal;
    if (legacy === undefined || !fs.existsSync(legacy)) return;
    const old = readLegacy(legacy);
    const recs: (JournalRecord | Record<string, unknown>)[] = [];
    for (const r of old.runs.values()) {
      const { status, finishedAt, counts, ...start } = r;
      recs.push(start);
      if (status !== 'running') recs.push({ t: 'finish', id: r.id, status, ...(finishedAt !== undefined ? { finishedAt } : {}), ...(counts !== undefined ? { counts } : {}) });
    }
    const at = new Date().toISOString();
    const nodes = [...old.applied].map(parseNodeKey);
    for (let i = 0; i < nodes.length; i += 5000) recs.push({ t: 'commit', at, nodes: nodes.slice(i, i + 5000) });
    for (const i of old.open.values()) recs.push({ t: 'intent', ...(i.runId !== undefined ? { run: i.runId } : {}), at: i.at, intents: [i.rec] });
    this.append(recs);
    for (const rec of recs) apply(this.state, JSON.parse(toJsonLine(rec)) as JournalRecord);
    try {
      fs.renameSync(legacy, `${legacy}.migrated`);
    } catch (err) {
      throw stateError(legacy, 'folded into the panel ledger but cannot be renamed', err);
    }
    this.log?.warn(
      { from: legacy, to: this.journalPath, runs: old.runs.size, applied: old.applied.size, openIntents: old.open.size },
      'per-pipeline journal of an earlier version folded into the panel ledger (renamed *.migrated)',
    );
  }

  /** Under the lock, no locked run but ours can be active: close such runs left 'running' as interrupted. */
  private closeDeadRuns(): void {
    const now = Date.now();
    const at = new Date(now).toISOString();
    const recs: Record<string, unknown>[] = [];
    for (const r of this.state.runs.values()) {
      if (r.status !== 'running') continue;
      const dead = r.lock !== undefined
        ? r.lock !== this.lock?.owner.token
        : !holderAlive({ pid: r.pid, host: r.host, procStart: r.procStart }, now - Date.parse(r.startedAt), this.leaseMs);
      if (dead) recs.push({ t: 'finish', id: r.id, status: 'interrupted', detectedAt: at });
    }
    if (recs.length === 0) return;
    this.log?.warn({ runs: recs.map((r) => r.id) }, 'earlier runs were interrupted (killed or crashed)');
    this.append(recs);
    for (const rec of recs) apply(this.state, rec as JournalRecord);
  }

  /** Rewrite the journal to its live content: temp file + fsync + rename + fsync dir. Needs the lock. */
  private maybeCompact(): void {
    if (!(this.seen.size > this.compactAtBytes)) return;
    const before = this.seen.size;
    const tmp = `${this.journalPath}.tmp-${this.lock!.owner.token}`;
    let tfd: number | undefined;
    try {
      tfd = fs.openSync(tmp, 'w');
      let chunk = '';
      for (const line of compactedLines(this.state, this.state.header!, this.keepRuns, new Date().toISOString())) {
        chunk += line;
        if (chunk.length >= 1 << 20) {
          writeAll(tfd, chunk);
          chunk = '';
        }
      }
      writeAll(tfd, chunk);
      fs.fsyncSync(tfd);
      fs.closeSync(tfd);
      tfd = undefined;
      fs.renameSync(tmp, this.journalPath);
      fsyncDir(this.stateDir);
    } catch (err) {
      if (tfd !== undefined) fs.closeSync(tfd);
      fs.rmSync(tmp, { force: true });
      throw stateError(this.journalPath, 'the journal cannot be compacted', err);
    }
    fs.closeSync(this.fd!);
    this.fd = undefined;
    this.load();
    this.log?.info({ journal: this.journalPath, before, after: this.seen.size }, 'journal compacted');
  }

  // ── runs ──

  /**
   * Record the start of a run (status 'running'). Under the lock it takes the run id named in the lock file.
   * Returns the full record.
   */
  startRun(info: RunStart): RunInfo {
    this.requireFd();
    const now = new Date();
    const id = this.pendingRunId ?? newRunId(now);
    this.pendingRunId = undefined;
    const rec = {
      t: 'run' as const,
      id,
      pipeline: info.pipeline,
      ...(info.pipelineFile !== undefined ? { pipelineFile: info.pipelineFile } : {}),
      startedAt: now.toISOString(),
      window: { ...(info.window.from !== undefined ? { from: info.window.from } : {}), ...(info.window.to !== undefined ? { to: info.window.to } : {}) },
      mode: info.mode,
      dryRun: info.dryRun,
      pid: process.pid,
      host: os.hostname(),
      ...(thisProcStart !== undefined ? { procStart: thisProcStart } : {}),
      ...(this.lock ? { lock: this.lock.owner.token } : {}),
    };
    this.append([rec]);
    apply(this.state, rec);
    this.currentRunId = id;
    return toRunInfo(this.state.runs.get(id)!, 'running');
  }

  /**
   * Record how a run ended. `counts` is stored as given (bigints as decimal strings). Throws TI_INTERNAL for an
   * unknown run, a run already finished, or status 'running'.
   */
  finishRun(id: string, status: RunStatus, counts: Record<string, unknown>): void {
    this.requireFd();
    const run = this.state.runs.get(id);
    if (!run) throw new TiError('TI_INTERNAL', `ledger: finishRun of unknown run ${id}`);
    if (run.status !== 'running') throw new TiError('TI_INTERNAL', `ledger: run ${id} is already finished (${run.status})`);
    if (status === 'running') throw new TiError('TI_INTERNAL', 'ledger: finishRun needs a final status');
    const rec = { t: 'finish' as const, id, status, finishedAt: new Date().toISOString(), counts };
    this.append([rec]);
    // Keep what replay would give back (bigints as strings), not the caller's live object.
    apply(this.state, JSON.parse(toJsonLine(rec)) as JournalRecord);
    if (this.currentRunId === id) this.currentRunId = undefined;
  }

  /**
   * This pipeline's runs, newest first (by start time), at most `limit`. A run recorded as 'running' shows
   * 'interrupted' when its process is gone (see effectiveStatus). Reflects the journal as of open/acquireLock
   * plus this instance's writes; `listRunsInDir` reads afresh.
   */
  runs(limit?: number): RunInfo[] {
    const lock = readLock(this.lockPath);
    const now = Date.now();
    const all = [...this.state.runs.values()].map((r, order) => ({ r, order, startedAt: r.startedAt }));
    all.sort(newestFirst);
    return all.slice(0, limit ?? all.length).map(({ r }) => toRunInfo(r, effectiveStatus(r, lock, this.leaseMs, now)));
  }

  // ── applied slices and intents ──

  /** Has `slice` been applied to this node (committed)? */
  isApplied(slice: string, operator: Operator, domId: number, date: string): boolean {
    return this.state.applied.has(nodeKey(slice, operator, domId, date));
  }

  /**
   * Write-ahead: record a packet's intents (ONE line, ONE fsync) before the packet is sent. An intent for a
   * node that already has an open one replaces it. Needs the lock.
   */
  writeIntents(intents: readonly Intent[]): void {
    this.requireLiveLock('writeIntents');
    if (intents.length === 0) return;
    const at = new Date().toISOString();
    const rec = { t: 'intent' as const, ...(this.currentRunId !== undefined ? { run: this.currentRunId } : {}), at, intents: intents.map(intentToRec) };
    this.append([rec]);
    apply(this.state, rec);
  }

  /**
   * Plesk applied these nodes: mark (slice, node) applied and close their intents (ONE line, ONE fsync).
   * Accepts Intents or bare node references. Needs the lock.
   */
  commit(nodes: readonly NodeRef[]): void {
    this.closeIntents('commit', nodes);
  }

  /** These nodes were not applied (Plesk said error, or certainly not delivered): close their intents. Needs the lock. */
  abort(nodes: readonly NodeRef[]): void {
    this.closeIntents('abort', nodes);
  }

  private closeIntents(t: 'commit' | 'abort', nodes: readonly NodeRef[]): void {
    this.requireLock(t);
    if (nodes.length === 0) return;
    const rec = { t, at: new Date().toISOString(), nodes: nodes.map(nodeToRec) };
    this.append([rec]);
    apply(this.state, rec);
  }

  /** Intents neither committed nor aborted: written by a run that was killed mid-packet. Settle each. */
  openIntents(): OpenIntent[] {
    return [...this.state.open.values()].map(openIntentOf);
  }

  /** Number of applied (slice, node) keys (memory grows with these). */
  get appliedCount(): number {
    return this.state.applied.size;
  }

  /** Release the lock if held, close the journal. Idempotent. */
  async close(): Promise<void> {
    await this.releaseLock();
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      fs.closeSync(fd);
    }
  }
}

/**
 * Runs of every pipeline in `stateDir` (for `traffic-import runs`), newest first, at most `limit`; [] when
 * the directory does not exist. Reads only run records (fast on big journals) and each pipeline's lock to
 * tell 'running' from 'interrupted'. A corrupt run line in the middle of a journal throws TI_STATE.
 */
export function listRunsInDir(stateDir: string, limit?: number, opts: { leaseMs?: number } = {}): RunInfo[] {
  const dir = path.resolve(stateDir);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw stateError(dir, 'the state directory cannot be read', err);
  }
  const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  const now = Date.now();
  const all: { r: RunState; order: number; startedAt: string; lock: LockView | undefined }[] = [];
  let order = 0;
  for (const name of names.filter((n) => n.endsWith('.jsonl')).sort()) {
    const state = readRunsOnly(path.join(dir, name));
    const lock = readLock(path.join(dir, `${name.slice(0, -'.jsonl'.length)}.lock`));
    for (const r of state.runs.values()) all.push({ r, order: order++, startedAt: r.startedAt, lock });
  }
  all.sort(newestFirst);
  return all.slice(0, limit ?? all.length).map(({ r, lock }) => toRunInfo(r, effectiveStatus(r, lock, leaseMs, now)));
}

/** The whole state of a journal of the former per-pipeline layout (version 1), read only. */
function readLegacy(file: string): JournalState {
  const state = emptyState();
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw stateError(file, 'the journal of an earlier version cannot be opened', err);
  }
  try {
    replay(fd, file, state);
  } finally {
    fs.closeSync(fd);
  }
  return state;
}
