// Large files on worker threads (issue 13): the file is split into byte ranges at record boundaries, each range
// is read by a worker thread into a Normalizer of its own, and the partial sums are merged exactly (bigint) in
// file order. The result — sums, line spans, rejects (with their exact line numbers, in file order), held-back
// metrics, ignored counts — is what one thread reading the whole file produces (test/csv/parallel.test.ts).
//
// Splitting needs no pass over the file. The header is read here; then each range starts at a line start near
// size × k / N and ends at the first record boundary at or after the next range's start (read.ts `stopAt`). A
// quoted field may hold line breaks, so a range may start inside a record: the range before it then ends past
// that start (the framer reads the whole record), which shows when the ranges are chained in order, and that
// range is read again here from where the previous one really ended — framing from a true record boundary is
// deterministic, so everything else stands. Line numbers: a range counts its lines from 1, and is shifted by
// the lines of the ranges before it.
//
// A sum past xs:long (which rows count and which are refused depends on their order) or any row a worker's
// Normalizer refused sends the file back to one thread: rare (values near 2^63), and exact either way.
//
// Default: files of `parallelFromBytes` (16 MiB) or more are read by os.availableParallelism() threads; `--workers
// N` sets N (1: no threads). The calling thread reads the first range itself while N − 1 worker threads read the
// others: one isolate fewer to start (its start-up and its code's warm-up cost CPU the ranges need). Standard input
// and gzip files are read in one thread (no byte ranges).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TiError, type ErrorCode } from '../../errors.js';
import { inputSize, isPlainFile } from '../../input/files.js';
import type { Rejection } from '../../model.js';
import type { Normalizer, NormalizerState } from '../../normalize.js';
import type { ReaderContext } from '../types.js';
import type { CsvReaderOptions, CsvSourceConfig } from './config.js';
import { readStretch, type StretchResult } from './read.js';
import { EmitSink } from './rows.js';
import { readRange, readRejects, type RangeJob, type RangeResult } from './range.js';

/** Default `parallelFromBytes`: below it a file is read faster than workers start. */
export const PARALLEL_FROM_BYTES = 16 * 1024 * 1024;

/** How many threads read this input: 1 = none. */
export function workersFor(ctx: ReaderContext, size: number, opts: CsvReaderOptions): number {
  if (ctx.workers !== undefined) return ctx.workers;
  return size >= (opts.parallelFromBytes ?? PARALLEL_FROM_BYTES) ? os.availableParallelism() : 1;
}

/**
 * Reads the file on worker threads into `normalizer` when it is large (or --workers says so) and can be split;
 * false when it cannot (standard input, gzip, one worker): then the caller reads it in one thread.
 */
export async function readParallel(cfg: CsvSourceConfig, ctx: ReaderContext, normalizer: Normalizer, opts: CsvReaderOptions): Promise<boolean> {
  if (cfg.path === '-') return false;
  const file = cfg.path;
  const input = { name: file, path: path.resolve(ctx.baseDir, file) };
  const size = await inputSize(input);
  const n = workersFor(ctx, size, opts);
  if (n <= 1 || !(await isPlainFile(input))) return false;

  // The header, and where the rows start.
  const head = await readStretch(
    { cfg, file, source: { path: input.path, offset: 0 }, line: 1, headerOnly: true, ...(opts.readChunkBytes ? { readChunkBytes: opts.readChunkBytes } : {}) },
    new EmitSink(() => undefined),
    { reject: () => undefined, ignored: () => undefined },
  );
  const header = head.header;
  if (!header) throw new TiError('TI_SOURCE_HEADER', `${file}: the file is empty (no header line)`, { file });
  if (head.endOffset >= size) {
    head.rows.finish();
    return true; // a header and nothing else
  }
  const eol = head.lineBreak === 'cr' ? 0x0d : 0x0a;
  const starts = await rangeStarts(input.path, head.endOffset, size, n, eol);
  const spill = mkdtempSync(path.join(os.tmpdir(), 'traffic-import-csv-'));
  try {
    const jobs: RangeJob[] = starts.map((start, k) => ({
      cfg, file, path: input.path, start,
      stopAt: starts[k + 1] ?? Infinity,
      // The first range knows its line number; the others count from 1 and are shifted when chained.
      line: k === 0 ? head.endLine : 1,
      header: { names: header.names },
      headerLine: head.headerLine,
      lineBreak: head.lineBreak ?? 'lf',
      window: ctx.window,
      spill: path.join(spill, `rejects-${k}.jsonl`),
      ...(opts.readChunkBytes ? { readChunkBytes: opts.readChunkBytes } : {}),
    }));
    const results = await runWorkers(jobs, ctx.signal);
    return await chain(ctx, normalizer, jobs, results, head);
  } finally {
    rmSync(spill, { recursive: true, force: true });
  }
}

/**
 * Chains the ranges in file order: merges each valid range, reads again in this thread any range that started
 * inside a record, then replays the rejects in order. Falls back to one thread (false → caller) when a sum
 * would pass xs:long.
 */
async function chain(ctx: ReaderContext, normalizer: Normalizer, jobs: RangeJob[], results: RangeResult[], head: StretchResult): Promise<boolean> {
  let pos = head.endOffset;
  let line = head.endLine;
  const parts: { result: RangeResult; lineOffset: number }[] = [];
  for (let k = 0; k < jobs.length; k++) {
    const job = jobs[k] as RangeJob;
    let result = results[k] as RangeResult;
    if (pos >= job.stopAt) continue; // the range before read this one whole (a record spanning it)
    if (job.start !== pos) {
      // This range started inside a record the previous one finished: read it again from where that ended.
      const again: RangeJob = { ...job, start: pos, line };
      result = await readRange(again);
      parts.push({ result, lineOffset: 0 });
      line = result.endLine;
    } else {
      const lineOffset = line - job.line;
      parts.push({ result, lineOffset });
      line = result.endLine + lineOffset;
    }
    pos = result.endOffset;
  }
  if (parts.some((p) => p.result.normalizerRejected) || !mergeAll(normalizer, parts)) {
    normalizer.reset();
    return false; // read again in one thread: see the file comment
  }
  let rows = 0;
  const ignored = new Map<string, number>();
  for (const { result, lineOffset } of parts) {
    for await (const r of readRejects(result)) ctx.reject(lineOffset === 0 ? r : shiftLine(r, lineOffset));
    rows += result.rows;
    for (const [what, count] of result.ignored) ignored.set(what, (ignored.get(what) ?? 0) + count);
  }
  for (const [what, count] of ignored) ctx.ignored(what, count);
  head.rows.finish();
  ctx.rowsRead?.(rows);
  return true;
}

function mergeAll(normalizer: Normalizer, parts: { result: RangeResult; lineOffset: number }[]): boolean {
  for (const { result, lineOffset } of parts) {
    if (!normalizer.merge(result.state as NormalizerState, lineOffset)) return false;
  }
  return true;
}

function shiftLine(r: Rejection, by: number): Rejection {
  return { ...r, line: r.line + by };
}

/**
 * Range starts: the rows' start, then the first line start at or after each of n − 1 evenly spaced offsets
 * (ascending, distinct, before the end of the file).
 */
export async function rangeStarts(file: string, from: number, size: number, n: number, eol: number): Promise<number[]> {
  const starts = [from];
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (let k = 1; k < n; k++) {
      let at = Math.max(from + Math.floor(((size - from) * k) / n), (starts[starts.length - 1] as number) + 1);
      // The first line start at or after `at`: just after the first line break at or after at − 1.
      let start = -1;
      let p = at - 1;
      while (start < 0 && p < size) {
        const { bytesRead } = await handle.read(buf, 0, buf.length, p);
        if (bytesRead === 0) break;
        const i = buf.subarray(0, bytesRead).indexOf(eol);
        if (i >= 0) start = p + i + 1;
        else p += bytesRead;
      }
      if (start < 0 || start >= size) break;
      if (start > (starts[starts.length - 1] as number)) starts.push(start);
      at = start;
    }
  } finally {
    await handle.close();
  }
  return starts;
}

// ── threads ──

/** The worker script: next to this module once built; from the TypeScript sources (tests), the built one. */
function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../../dist/readers/csv/worker.js', import.meta.url);
}

/**
 * Range 0 in this thread, one worker per other range (started first, so they boot while this thread reads);
 * resolves with every range's result in order, or rejects with the first failure.
 */
function runWorkers(jobs: RangeJob[], signal: AbortSignal | undefined): Promise<RangeResult[]> {
  const url = workerUrl();
  return new Promise((resolve, reject) => {
    const results: RangeResult[] = new Array(jobs.length);
    const workers: Worker[] = [];
    let pending = jobs.length;
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    };
    const onAbort = (): void => fail(signal?.reason ?? new DOMException('aborted', 'AbortError'));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) return onAbort();
    jobs.forEach((job, k) => {
      if (k === 0) return;
      const worker = new Worker(url, { workerData: job });
      workers.push(worker);
      worker.once('message', (msg: { result?: RangeResult; error?: { name: string; code?: string; message: string; details?: Record<string, unknown> } }) => {
        if (msg.error) {
          const e = msg.error;
          fail(e.code ? new TiError(e.code as ErrorCode, e.message, e.details) : Object.assign(new Error(e.message), { name: e.name }));
          return;
        }
        results[k] = msg.result as RangeResult;
        if (--pending === 0 && !failed) {
          signal?.removeEventListener('abort', onAbort);
          resolve(results);
        }
      });
      worker.once('error', fail);
      worker.once('exit', (code) => {
        if (results[k] === undefined && !failed) fail(new Error(`CSV worker ${k} exited with code ${code}`));
      });
    });
    readRange(jobs[0] as RangeJob).then((result) => {
      if (failed) return;
      results[0] = result;
      if (--pending === 0) {
        signal?.removeEventListener('abort', onAbort);
        resolve(results);
      }
    }, fail);
  });
}
