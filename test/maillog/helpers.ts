// Helpers for the maillog reader tests: run the reader on files or lines, and pick real lines out of the captured
// samples (samples/maillog/capture/, written by scripts/maillog-samples.sh from real Postfix 3.7 + Dovecot 2.3).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { silentLogger } from '../../src/log.js';
import type { Metric } from '../../src/model.js';
import { createMaillogReader, maillogSourceSchema, type MaillogSourceConfig } from '../../src/readers/maillog/index.js';
import type { Rejection } from '../../src/readers/types.js';
import { ROOT } from '../support/cli.js';

export const SAMPLES = path.join(ROOT, 'samples', 'maillog');
export const CAPTURE = path.join(SAMPLES, 'capture');

/** A record as the tests compare it: metrics as bigint, absent ones absent. */
export interface Row {
  date: string;
  domain: string;
  metrics: Partial<Record<Metric, bigint>>;
  /** Metrics held back because a rejected line belonged to them (absent when none). */
  held?: Metric[];
}

export interface ReadResult {
  rows: Row[];
  ignored: Record<string, number>;
  rejects: Rejection[];
  /** Rows as `date domain` → metrics, for lookups. */
  by(date: string, domain: string): Partial<Record<Metric, bigint>> | undefined;
}

/** Runs the reader; `source` is what a pipeline file's source object holds (without `type`), checked by the schema. */
export async function readLog(source: Readonly<Record<string, unknown>>, opts: { baseDir?: string; stdin?: Readable } = {}): Promise<ReadResult> {
  const cfg: MaillogSourceConfig = maillogSourceSchema.parse({ type: 'maillog', ...source });
  const rows: Row[] = [];
  const ignored: Record<string, number> = {};
  const rejects: Rejection[] = [];
  await createMaillogReader(cfg).read(
    {
      baseDir: opts.baseDir ?? SAMPLES,
      window: {},
      env: {},
      log: silentLogger(),
      reject: (r) => rejects.push(r),
      unresolved: () => {},
      ignored: (what, n = 1) => {
        ignored[what] = (ignored[what] ?? 0) + n;
      },
      ...(opts.stdin ? { stdin: opts.stdin } : {}),
    },
    (rec) => rows.push({ date: rec.date, domain: rec.target.domain!, metrics: rec.metrics, ...(rec.held ? { held: Object.keys(rec.held) as Metric[] } : {}) }),
  );
  return { rows, ignored, rejects, by: (date, domain) => rows.find((r) => r.date === date && r.domain === domain)?.metrics };
}

/** Lines of a capture file (name relative to samples/maillog/capture). */
export function captured(name: string): string[] {
  return readFileSync(path.join(CAPTURE, name), 'utf8').replace(/\n$/, '').split('\n');
}

/** The captured lines that mention any of `needles` (queue ids, users), in file order. */
export function linesWith(name: string, ...needles: string[]): string[] {
  return captured(name).filter((l) => needles.some((n) => l.includes(n)));
}

/** Writes `files` (name → lines or bytes) into a fresh temporary directory and returns it. */
export function scratch(files: Record<string, string[] | Buffer>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ti-maillog-'));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), Array.isArray(content) ? `${content.join('\n')}\n` : content);
  }
  return dir;
}

/** Common settings of the samples: Berlin time, the server's own host name ignored, the bare login mapped. */
export const SAMPLE_SOURCE = {
  timezone: 'Europe/Berlin',
  year: 2026,
  edges: 'keep',
  ignoreDomains: ['mail.hosting.example', 'localhost'],
} as const;
