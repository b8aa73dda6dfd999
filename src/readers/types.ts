// The reader contract. A reader turns one source into SourceRecords and pushes them to `emit`
// (push, not pull: a synchronous call per record keeps ingest close to bare csv-parse speed).
// It never throws for a bad row: it calls `reject` with the location and goes on.
// It throws TiError (exit 2) only when the source as a whole cannot be read.

import type { Logger } from 'pino';
import type { HttpObserver } from '../http/index.js';
import type { Rejection, SourceRecord } from '../model.js';
import type { Normalizer } from '../normalize.js';

export type { Rejection } from '../model.js';

export interface ReaderContext {
  /** Directory of the pipeline file: relative paths are resolved against it. */
  baseDir: string;
  /** Inclusive run window (dates `YYYY-MM-DD`) from --from/--to; readers of APIs use it to bound requests. */
  window: { from?: string; to?: string };
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Report a rejected row/key; the run goes on and exits 1. */
  reject(r: Rejection): void;
  /** A name the source itself says does not exist (e.g. OpenSRS error 2): counted in targets.unresolved. */
  unresolved(name: string, origin: { file: string; line: number }, reason: string): void;
  /** Something dropped on purpose and counted (unknown protocol, http/ftp rows...): not an error. */
  ignored(what: string, count?: number): void;
  signal?: AbortSignal;
  /** Attempts and retries of the source's HTTP client (API readers), for run events and metrics. */
  http?: HttpObserver;
  /** Standard input, for `path: "-"` (tests pass their own stream). */
  stdin?: NodeJS.ReadableStream;
  /** `--workers`: threads a reader may use for one large input (undefined: the reader decides; 1: none). */
  workers?: number;
  /** Rows a `readInto` reader handed to the Normalizer, reported in batches as they are read (progress). */
  rowsRead?(count: number): void;
}

export interface Reader {
  /** The source as the report names it: `csv`, `cpanel/api`, `opensrs`… */
  readonly label: string;
  /**
   * The input files whose content names an additive slice (their sha256, unless reconcile.slice is given);
   * empty when the source has none (an API, stdin).
   */
  sliceInputs?(baseDir: string): string[];
  /** Read the whole source, calling `emit` once per record. Resolves when the source is exhausted. */
  read(ctx: ReaderContext, emit: (rec: SourceRecord) => void): Promise<void>;
  /**
   * Optional fast path: the rows go straight into the run's Normalizer (no SourceRecord per row), possibly read by
   * worker threads whose partial sums are merged into it. Rejections still go to `ctx.reject`; the rows read are
   * reported through `ctx.rowsRead`.
   */
  readInto?(ctx: ReaderContext, normalizer: Normalizer): Promise<void>;
  /** Check the source can be opened and has a usable header/shape, without importing (`validate`). */
  check?(ctx: ReaderContext): Promise<string>;
}
