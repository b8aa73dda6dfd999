// Lines of a byte stream, for readers of line-oriented sources (mail logs). One synchronous call per line
// (a callback, not an async iterator: an await per line would cost more than parsing it). Memory holds one
// chunk and the unfinished line at its end, never the file.
//
// Chunks are cut at their last '\n' byte before decoding: a newline byte never occurs inside a UTF-8
// multi-byte sequence, so each decoded piece is whole characters and no StringDecoder is needed.

import { closeSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';

/** A line that has to be carried from one read to the next for longer than this is cut here (the rest, up to its
 *  newline, is dropped): a file without newlines (binary, or one huge line) must not be read into memory whole.
 *  Log lines are a few hundred bytes. */
export const MAX_LINE_BYTES = 1 << 20;

export interface LineOptions {
  signal?: AbortSignal;
  maxLineBytes?: number;
}

/**
 * Calls `onLine(line, lineNumber)` for every line of `source` (1-based numbers; a trailing '\r' and the '\n'
 * are removed; a last line without '\n' counts). `onLine` returns false to stop early; the source is then
 * destroyed. Resolves with the number of lines seen.
 */
export async function forEachLine(
  source: Readable,
  onLine: (line: string, lineNumber: number) => boolean | void,
  opts: LineOptions = {},
): Promise<number> {
  const maxLine = opts.maxLineBytes ?? MAX_LINE_BYTES;
  let n = 0;
  let carry: Buffer | undefined;
  /** Dropping the rest of an over-long line until its newline. */
  let skipping = false;
  let stopped = false;
  const emit = (line: string): boolean => onLine(withoutCr(line), ++n) !== false;
  try {
    for await (const raw of source) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      let chunk = raw as Buffer;
      let start = 0;
      if (skipping) {
        const nl = chunk.indexOf(10);
        if (nl < 0) continue;
        skipping = false;
        start = nl + 1;
      }
      if (carry !== undefined) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0) {
          carry = Buffer.concat([carry, chunk.subarray(start)]);
          if (carry.length > maxLine) {
            if (!emit(carry.subarray(0, maxLine).toString('utf8'))) return stop();
            carry = undefined;
            skipping = true;
          }
          continue;
        }
        const first = Buffer.concat([carry, chunk.subarray(start, nl)]);
        carry = undefined;
        if (!emit((first.length > maxLine ? first.subarray(0, maxLine) : first).toString('utf8'))) return stop();
        start = nl + 1;
      }
      const last = chunk.lastIndexOf(10);
      if (last >= start) {
        const text = chunk.toString('utf8', start, last);
        let pos = 0;
        for (;;) {
          const nl = text.indexOf('\n', pos);
          if (nl < 0) {
            if (!emit(text.slice(pos))) return stop();
            break;
          }
          if (!emit(text.slice(pos, nl))) return stop();
          pos = nl + 1;
        }
        start = last + 1;
      }
      if (start < chunk.length) {
        chunk = chunk.subarray(start);
        if (chunk.length > maxLine) {
          if (!emit(chunk.subarray(0, maxLine).toString('utf8'))) return stop();
          skipping = true;
        } else {
          // Copied: a subarray would keep the whole chunk alive.
          carry = Buffer.from(chunk);
        }
      }
    }
    if (carry !== undefined && carry.length > 0) emit(carry.toString('utf8'));
    return n;
  } finally {
    if (stopped) source.destroy();
  }

  function stop(): number {
    stopped = true;
    return n;
  }
}

/** Bytes read at a time by forEachLineOfFile (one buffer, reused), and decoded into one string at a time. */
const BLOCK_BYTES = 1 << 20;
const DECODE_BYTES = 64 << 10;

/**
 * forEachLine for a plain file, faster: blocks read synchronously into one reused buffer (no stream, no buffer per
 * read), lines cut the same way. The event loop gets a turn after every block, so signals are still seen.
 */
export async function forEachLineOfFile(
  file: string,
  onLine: (line: string, lineNumber: number) => boolean | void,
  opts: LineOptions = {},
): Promise<number> {
  const maxLine = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const size = Math.max(BLOCK_BYTES, maxLine + 1);
  const buf = Buffer.allocUnsafe(size);
  const fd = openSync(file, 'r');
  let n = 0;
  /** Bytes of an unfinished line kept at the start of buf. */
  let filled = 0;
  let skipping = false;
  const emit = (line: string): boolean => onLine(withoutCr(line), ++n) !== false;
  try {
    for (;;) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      const got = readSync(fd, buf, filled, size - filled, null);
      let total = filled + got;
      let start = 0;
      if (got === 0) {
        if (filled > 0 && !skipping) emit(buf.toString('utf8', 0, filled));
        return n;
      }
      if (skipping) {
        const nl = buf.indexOf(10, filled);
        if (nl < 0 || nl >= total) {
          filled = 0;
          continue;
        }
        skipping = false;
        start = nl + 1;
      }
      const last = buf.lastIndexOf(10, total - 1);
      if (last < start) {
        if (total - start > maxLine) {
          // A line longer than maxLine: cut it, drop the rest up to its newline.
          if (!emit(buf.toString('utf8', start, start + maxLine))) return n;
          skipping = true;
          filled = 0;
        } else if (start > 0) {
          buf.copy(buf, 0, start, total);
          filled = total - start;
        } else {
          filled = total;
        }
        continue;
      }
      // Decoded a window at a time: strings under V8's large-object size stay in the young generation and die
      // there; one string per megabyte would go to the old generation and wait for a full collection (RSS).
      for (let from = start; from <= last; ) {
        let to = from + DECODE_BYTES >= last ? last : buf.lastIndexOf(10, from + DECODE_BYTES);
        if (to < from) to = buf.indexOf(10, from + DECODE_BYTES);
        const text = buf.toString('utf8', from, to);
        let pos = 0;
        for (;;) {
          const nl = text.indexOf('\n', pos);
          if (nl < 0) {
            if (!emit(text.slice(pos))) return n;
            break;
          }
          if (!emit(text.slice(pos, nl))) return n;
          pos = nl + 1;
        }
        from = to + 1;
      }
      total -= last + 1;
      if (total > 0) buf.copy(buf, 0, last + 1, last + 1 + total);
      filled = total;
      if (filled > maxLine) {
        if (!emit(buf.toString('utf8', 0, maxLine))) return n;
        skipping = true;
        filled = 0;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Looks at the first lines of a stream that cannot be opened twice (standard input) and gives back a stream that
 * still has every byte: `probe` is called per line until it returns true, or `maxBytes` have been looked at.
 */
export async function peekLines(
  source: Readable,
  probe: (line: string) => boolean,
  maxBytes = 4 << 20,
): Promise<Readable> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let seen = 0;
  let text = '';
  let ended = false;
  for (;;) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      if (text.length > 0) probe(text.replace(/\r$/, ''));
      break;
    }
    const chunk = Buffer.from(r.value);
    head.push(chunk);
    seen += chunk.length;
    text += chunk.toString('latin1');
    let found = false;
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      const line = Buffer.from(text.slice(0, nl), 'latin1').toString('utf8').replace(/\r$/, '');
      text = text.slice(nl + 1);
      if (probe(line)) {
        found = true;
        break;
      }
    }
    if (found || seen >= maxBytes) break;
  }
  return Readable.from(
    (async function* () {
      yield* head;
      if (ended) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })(),
    { objectMode: false },
  );
}

/** A line without the CR of a CRLF ending. */
function withoutCr(line: string): string {
  return line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}
