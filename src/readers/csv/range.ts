// One byte range of a CSV file read into a Normalizer of its own: what a worker thread does (worker.ts), and
// what parallel.ts does in its own thread for a range that has to be read again. Rejects are kept in order, in
// memory up to a bound and in a spill file beyond it, to be replayed by the main thread once the ranges before
// are known good.

import { appendFileSync, createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Rejection } from '../../model.js';
import { Normalizer, type NormalizerState } from '../../normalize.js';
import type { CsvSourceConfig } from './config.js';
import type { LineBreak } from './frame.js';
import { resolveHeader } from './header.js';
import { readStretch } from './read.js';

export interface RangeJob {
  cfg: CsvSourceConfig;
  file: string;
  path: string;
  /** First byte: a line start, believed to be a record boundary. */
  start: number;
  /** Stop at the first record boundary at or after this offset (Infinity: the end of the file). */
  stopAt: number;
  /** Number given to the line at `start` (1 when the lines before are not counted yet). */
  line: number;
  /** The header's names (read by the main thread) and its line. */
  header: { names: string[] };
  headerLine: number;
  lineBreak: LineBreak;
  window: { from?: string; to?: string };
  /** Where rejects beyond REJECTS_IN_MEMORY go. */
  spill: string;
  readChunkBytes?: number;
}

export interface RangeResult {
  /** Where the range really ended (a record boundary) and the number of the line there. */
  endOffset: number;
  endLine: number;
  /** Rows handed to the Normalizer. */
  rows: number;
  state: NormalizerState;
  /** The range's Normalizer refused a row (a sum past xs:long): the merge would not be exact. */
  normalizerRejected: boolean;
  /** Rejects in order: these, or (when `spilled` > 0) all of them in the spill file. */
  rejects: Rejection[];
  spilled: number;
  spill: string;
  ignored: [string, number][];
}

/** Rejects a range keeps in memory before writing them to its spill file. */
const REJECTS_IN_MEMORY = 10_000;

export async function readRange(job: RangeJob): Promise<RangeResult> {
  let normalizerRejected = false;
  const normalizer = new Normalizer({ window: job.window, reject: () => void (normalizerRejected = true) });
  const rejects: Rejection[] = [];
  let spilled = 0;
  const spill = (): void => {
    appendFileSync(job.spill, rejects.map((r) => `${JSON.stringify(r)}\n`).join(''));
    spilled += rejects.length;
    rejects.length = 0;
  };
  const got = await readStretch(
    {
      cfg: job.cfg,
      file: job.file,
      source: { path: job.path, offset: job.start },
      line: job.line,
      stopAt: job.stopAt,
      header: { header: resolveHeader(job.header.names, job.cfg, job.file), line: job.headerLine },
      lineBreak: job.lineBreak,
      ...(job.readChunkBytes ? { readChunkBytes: job.readChunkBytes } : {}),
    },
    normalizer,
    {
      reject: (r) => {
        rejects.push(r);
        if (rejects.length >= REJECTS_IN_MEMORY) spill();
      },
      ignored: () => undefined, // counted by the rows reader, taken below
    },
  );
  if (spilled > 0 && rejects.length > 0) spill();
  return {
    endOffset: got.endOffset,
    endLine: got.endLine,
    rows: got.rows.rowsOut,
    state: normalizer.exportState(),
    normalizerRejected,
    rejects,
    spilled,
    spill: job.spill,
    ignored: got.rows.takeIgnored(),
  };
}

/** A range's rejects in order. */
export async function* readRejects(result: RangeResult): AsyncGenerator<Rejection> {
  if (result.spilled === 0) {
    yield* result.rejects;
    return;
  }
  const lines = createInterface({ input: createReadStream(result.spill), crlfDelay: Infinity });
  for await (const line of lines) if (line !== '') yield JSON.parse(line) as Rejection;
}
