// Test harness for the cPanel readers: a ReaderContext that records everything.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { silentLogger } from '../../src/log.js';
import type { SourceRecord } from '../../src/model.js';
import type { Reader, ReaderContext, Rejection } from '../../src/readers/types.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const PIPELINES = join(ROOT, 'pipelines');
export const SAMPLES = join(ROOT, 'samples/cpanel');

export interface Run {
  records: SourceRecord[];
  rejects: Rejection[];
  unresolved: { name: string; origin: { file: string; line: number }; reason: string }[];
  ignored: Map<string, number>;
  ctx: ReaderContext;
  logs: string[];
}

export function makeContext(opts: Partial<Pick<ReaderContext, 'baseDir' | 'window' | 'env' | 'signal'>> & { captureLogs?: boolean } = {}): Run {
  const run: Run = { records: [], rejects: [], unresolved: [], ignored: new Map(), logs: [], ctx: undefined as unknown as ReaderContext };
  const log = opts.captureLogs
    ? pino(
        { level: 'trace' },
        new Writable({
          write(chunk, _enc, cb) {
            run.logs.push(String(chunk));
            cb();
          },
        }),
      )
    : silentLogger();
  run.ctx = {
    baseDir: opts.baseDir ?? ROOT,
    window: opts.window ?? {},
    env: opts.env ?? {},
    log,
    reject: (r) => void run.rejects.push(r),
    unresolved: (name, origin, reason) => void run.unresolved.push({ name, origin, reason }),
    ignored: (what, count = 1) => void run.ignored.set(what, (run.ignored.get(what) ?? 0) + count),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  return run;
}

export async function runReader(reader: Reader, opts: Parameters<typeof makeContext>[0] = {}): Promise<Run> {
  const run = makeContext(opts);
  await reader.read(run.ctx, (rec) => void run.records.push(rec));
  return run;
}

/** `domain date` → metrics, for exact comparisons. */
export function byKey(records: SourceRecord[]): Record<string, SourceRecord['metrics']> {
  const out: Record<string, SourceRecord['metrics']> = {};
  for (const r of records) {
    const key = `${r.target.domain ?? `#${r.target.domId}`} ${r.date}`;
    if (out[key]) throw new Error(`duplicate record ${key}`);
    out[key] = r.metrics;
  }
  return out;
}

/** `domain date` → the metrics held back (a rejected value belonged to them), for records that have any. */
export function heldByKey(records: SourceRecord[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of records) {
    if (r.held) out[`${r.target.domain ?? `#${r.target.domId}`} ${r.date}`] = Object.keys(r.held).sort();
  }
  return out;
}

/** Daily mail of the committed samples (SAMPLE_ACCOUNTS), server zone UTC. */
export const SAMPLE_EXPECTED: Record<string, SourceRecord['metrics']> = {
  'cpanel-alice.com 2026-11-01': { smtp_out: 5_242_880n, pop3_imap_out: 4_194_304n },
  'cpanel-alice.com 2026-11-02': { smtp_out: 2_097_153n, pop3_imap_out: 2_097_153n },
  'cpanel-alice.com 2026-11-03': { smtp_out: 7_340_032n, pop3_imap_out: 2_621_441n },
  'cpanel-bob.net 2026-11-01': { smtp_out: 1_000_001n, pop3_imap_out: 1_000_002n },
  'cpanel-bob.net 2026-11-02': { smtp_out: 0n, pop3_imap_out: 300_003n },
  'cpanel-bob.net 2026-11-03': { smtp_out: 123_456_789n, pop3_imap_out: 3_333n },
};

export const ALICE_EXPECTED = Object.fromEntries(Object.entries(SAMPLE_EXPECTED).filter(([k]) => k.startsWith('cpanel-alice.com')));

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ti-cpanel-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
