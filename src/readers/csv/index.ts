// CSV reader (`source.type: "csv"`): the canonical wide and long layouts of docs/reference/mail-sources.md §5.1, with a column
// mapping, units (§5.3) and dates/time zones (§5.4). docs/sources/csv.md describes it for operators.
//
// By concern: config.ts (the pipeline block), frame.ts (bytes → records; every line accounted for), parse.ts
// (csv-parse: records → cells), header.ts, dates.ts, rows.ts (cells → rows or rejects), read.ts (one stretch of a
// file in one thread), parallel.ts + worker.ts (large files in byte ranges on worker threads).

import path from 'node:path';
import { TiError } from '../../errors.js';
import { STDIN_NAME, isPlainFile, openInput, type InputFile } from '../../input/files.js';
import type { SourceRecord } from '../../model.js';
import type { Normalizer } from '../../normalize.js';
import type { Reader, ReaderContext } from '../types.js';
import type { CsvReaderOptions, CsvSourceConfig } from './config.js';
import { describeHeader } from './header.js';
import { readParallel } from './parallel.js';
import { DEFAULT_READ_BYTES, readStretch } from './read.js';
import { EmitSink, type RowSink } from './rows.js';

export { csvSourceSchema, DEFAULT_MAX_RECORD_BYTES, type CsvReaderOptions, type CsvSourceConfig, type CsvSourceInput } from './config.js';

export function createCsvReader(cfg: CsvSourceConfig, opts: CsvReaderOptions = {}): Reader {
  return {
    label: 'csv',
    sliceInputs: (baseDir) => (cfg.path === '-' ? [] : [path.resolve(baseDir, cfg.path)]),
    read: async (ctx, emit: (rec: SourceRecord) => void) => {
      await readSingle(cfg, ctx, new EmitSink(emit), opts);
    },
    readInto: async (ctx, normalizer: Normalizer) => {
      if (await readParallel(cfg, ctx, normalizer, opts)) return;
      await readSingle(cfg, ctx, normalizer, opts);
    },
    check: async (ctx) => {
      const file = fileName(cfg);
      const got = await readStretch(
        { cfg, file, source: { stream: await openInput(inputOf(cfg, ctx), ctx) }, line: 1, headerOnly: true, ...signalOf(ctx) },
        new EmitSink(() => undefined),
        { reject: () => undefined, ignored: () => undefined },
      );
      if (!got.header) throw emptyFile(file);
      return describeHeader(got.header, cfg, file);
    },
  };
}

/** The whole input in this thread. */
export async function readSingle(cfg: CsvSourceConfig, ctx: ReaderContext, sink: RowSink, opts: CsvReaderOptions): Promise<void> {
  const file = fileName(cfg);
  const readChunkBytes = opts.readChunkBytes ?? DEFAULT_READ_BYTES;
  const input = inputOf(cfg, ctx);
  // A plain file is read into one reused buffer; standard input and gzip come as a stream (openInput also says
  // why a file cannot be opened).
  const source = input.path !== undefined && (await isPlainFile(input))
    ? { path: input.path, offset: 0 }
    : { stream: await openInput(input, ctx, { highWaterMark: readChunkBytes }) };
  const got = await readStretch(
    {
      cfg, file, source, line: 1, ...(opts.readChunkBytes ? { readChunkBytes: opts.readChunkBytes } : {}), ...signalOf(ctx),
      ...(ctx.rowsRead ? { rowsRead: (n: number) => ctx.rowsRead?.(n) } : {}),
    },
    sink,
    { reject: (r) => ctx.reject(r), ignored: (what, count) => ctx.ignored(what, count) },
  );
  if (!got.header) throw emptyFile(file);
  got.rows.finish();
}

/** The name rejects and records carry: the path as configured, `<stdin>` for `-`. */
export function fileName(cfg: CsvSourceConfig): string {
  return cfg.path === '-' ? STDIN_NAME : cfg.path;
}

export function inputOf(cfg: CsvSourceConfig, ctx: ReaderContext): InputFile {
  return cfg.path === '-' ? { name: STDIN_NAME } : { name: cfg.path, path: path.resolve(ctx.baseDir, cfg.path) };
}

export function emptyFile(file: string): TiError {
  return new TiError('TI_SOURCE_HEADER', `${file}: the file is empty (no header line)`, { file });
}

function signalOf(ctx: ReaderContext): { signal?: AbortSignal } {
  return ctx.signal ? { signal: ctx.signal } : {};
}
