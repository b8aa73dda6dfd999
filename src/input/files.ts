// Opening file sources, shared by every reader that reads files (CSV, mail logs): a path, a glob, `-` for
// standard input, gzip (by content, not only by name), and errors that name the file. Readers parse; this
// module only turns what the pipeline file says into byte streams.

import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { TiError, errorMessage } from '../errors.js';

/** What a reader needs of the run to open its inputs. */
export interface InputContext {
  /** Relative paths are resolved against it (the pipeline file's directory). */
  baseDir: string;
  /** Standard input for `-` (tests pass their own stream). */
  stdin?: NodeJS.ReadableStream;
}

/** One input to read: the name used in rejects and reports, and its absolute path (absent for stdin). */
export interface InputFile {
  /** As the operator wrote it (`-` is shown as `<stdin>`); rejects carry this name. */
  name: string;
  /** Absolute path; undefined for standard input. */
  path?: string;
}

export const STDIN_NAME = '<stdin>';

/**
 * The inputs named by `specs`: each a path, a glob (`/var/log/mail.log*`) or `-`. Globs expand in name order;
 * a glob that matches nothing is an error (a silently empty source must not look like a quiet day), and so is a
 * plain path that does not exist. Duplicates (a file named twice) are read once.
 */
export async function expandInputs(specs: string | readonly string[], ctx: InputContext): Promise<InputFile[]> {
  const list = typeof specs === 'string' ? [specs] : specs;
  // tinyglobby is loaded here, not with the module: most runs read one named file (the CSV reader never globs).
  const { glob, isDynamicPattern } = await import('tinyglobby');
  const out: InputFile[] = [];
  const seen = new Set<string>();
  for (const spec of list) {
    if (spec === '-') {
      if (!seen.has(STDIN_NAME)) out.push({ name: STDIN_NAME });
      seen.add(STDIN_NAME);
      continue;
    }
    const abs = path.resolve(ctx.baseDir, spec);
    const matches = isDynamicPattern(spec)
      ? (await glob(toGlob(abs), { absolute: true, onlyFiles: true, dot: true, expandDirectories: false })).sort()
      : [abs];
    if (matches.length === 0) {
      throw new TiError('TI_SOURCE_UNREADABLE', `${spec}: no file matches`, { file: spec });
    }
    for (const file of matches) {
      if (seen.has(file)) continue;
      seen.add(file);
      out.push({ name: isDynamicPattern(spec) ? path.relative(ctx.baseDir, file) || file : spec, path: file });
    }
  }
  return out;
}

/** tinyglobby wants forward slashes, also on Windows. */
function toGlob(abs: string): string {
  return abs.split(path.sep).join('/');
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * A byte stream of the input, gunzipped when it is gzip (a `.gz` name, or the gzip magic bytes: rotated logs are
 * not always named so). Opened up front, so a missing or unreadable file is reported as such before any parsing.
 */
export async function openInput(input: InputFile, ctx: InputContext, opts: { highWaterMark?: number } = {}): Promise<Readable> {
  if (input.path === undefined) {
    const stdin = (ctx.stdin ?? process.stdin) as Readable;
    return sniffGzip(stdin);
  }
  let handle;
  try {
    handle = await open(input.path, 'r');
  } catch (err) {
    throw new TiError('TI_SOURCE_UNREADABLE', `${input.name} (${input.path}): ${errorMessage(err)}`, { file: input.name }, { cause: err });
  }
  const head = Buffer.alloc(2);
  let gz = input.path.toLowerCase().endsWith('.gz');
  try {
    if (!gz) {
      const { bytesRead } = await handle.read(head, 0, 2, 0);
      gz = bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
    }
  } catch (err) {
    await handle.close();
    throw new TiError('TI_SOURCE_UNREADABLE', `${input.name} (${input.path}): ${errorMessage(err)}`, { file: input.name }, { cause: err });
  }
  const raw = handle.createReadStream(opts.highWaterMark ? { highWaterMark: opts.highWaterMark } : {});
  return gz ? gunzip(raw) : raw;
}

/**
 * Whether a file input can be read in byte ranges: a regular file that is not gzip (by name or content). Readers
 * that split large files between threads ask this first.
 */
export async function isPlainFile(input: InputFile): Promise<boolean> {
  if (input.path === undefined || input.path.toLowerCase().endsWith('.gz')) return false;
  let handle;
  try {
    handle = await open(input.path, 'r');
    if (!(await handle.stat()).isFile()) return false;
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return !(bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]);
  } catch {
    return false; // openInput reports why
  } finally {
    await handle?.close();
  }
}

/** Size in bytes of a file input (0 for stdin): readers use it to decide on parallel parsing, progress uses it. */
export async function inputSize(input: InputFile): Promise<number> {
  if (input.path === undefined) return 0;
  try {
    return (await stat(input.path)).size;
  } catch {
    return 0;
  }
}

/** Last modification time of a file input in ms since the epoch; undefined for stdin or a file that cannot be stat'ed. */
export async function inputMtime(input: InputFile): Promise<number | undefined> {
  if (input.path === undefined) return undefined;
  try {
    return (await stat(input.path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** `raw` gunzipped; an error of either side (a truncated .gz, a read error) ends the returned stream with it. */
function gunzip(raw: Readable): Readable {
  const out = new PassThrough();
  pipeline(raw, createGunzip(), out).catch((err: unknown) => out.destroy(err as Error));
  return out;
}

/** Standard input may be gzip too (`zcat`-less pipelines): look at its first bytes without losing them. */
function sniffGzip(src: Readable): Readable {
  const out = new PassThrough();
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  (async () => {
    let head = Buffer.alloc(0);
    let ended = false;
    while (head.length < 2) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      head = Buffer.concat([head, Buffer.from(r.value)]);
    }
    const rest = Readable.from((async function* () {
      if (head.length > 0) yield head;
      if (ended) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })(), { objectMode: false });
    const isGz = head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
    await (isGz ? pipeline(rest, createGunzip(), out) : pipeline(rest, out));
  })().catch((err: unknown) => out.destroy(err as Error));
  return out;
}
